using Persistence.Storage;
using Persistence.Tests.Models;

namespace Persistence.Tests.Connections;

// Objects name their connection by a number beside their oid (ConnectionNumbers); a number is given
// back when its connection is let go of, after its objects were marked as released.
public class ConnectionNumberTests
{
    [Fact]
    public void A_connection_disposed_while_its_database_is_disposed_gives_its_number_back_once()
    {
        using var folder = new TempFolder();
        var path = folder.File("race.db");
        using (var setUp = Database.Open(path))
            TestDatabase.Store(setUp, "node", new Node { Label = "n" });
        using var barrier = new Barrier(2);
        for (var round = 0; round < 2_000; round++)
        {
            var db = Database.Open(path, new DatabaseOptions { ConnectionPoolSize = 0 });
            var connection = db.OpenConnection();
            _ = ((Node)connection.Root["node"]).Label;
            connection.Commit();
            Exception? closing = null;
            var thread = new Thread(() =>
            {
                barrier.SignalAndWait();
                closing = Record.Exception(connection.Dispose);
            });
            thread.Start();
            barrier.SignalAndWait();
            db.Dispose();
            thread.Join();
            Assert.True(closing is null or ConnectionClosedException, $"round {round}: {closing}");
        }

        // A number given back twice would be handed to two connections open at once.
        using var check = Database.Open(path);
        using var first = check.OpenConnection();
        using var second = check.OpenConnection();
        var a = first.Root["node"];
        var b = second.Root["node"];
        Assert.Same(first, a.PersistentConnection);
        Assert.Same(second, b.PersistentConnection);
    }

    [Fact]
    public void Objects_of_a_connection_let_go_of_stay_readable_but_cannot_load_change_or_move()
    {
        using var db = TestDatabase.InMemory();
        TestDatabase.Store(db, "list", new Node { Label = "a", Next = new Node { Label = "b" } });
        Node a;
        Node b;
        // The test databases keep no pool, so closing lets the connection go.
        using (var reader = db.OpenConnection())
        {
            a = (Node)reader.Root["list"];
            Assert.Equal("a", a.Label);
            b = a.Next!;
            Assert.Equal(PersistentState.Ghost, b.PersistentState);
            Assert.Same(reader, a.PersistentConnection);
        }

        Assert.Null(a.PersistentConnection);
        Assert.Equal("a", a.Label);
        Assert.Equal(0, a.PersistentSerial);
        Assert.Throws<ConnectionClosedException>(() => b.Label);
        Assert.Throws<ConnectionClosedException>(() => a.Label = "changed");

        using var other = db.OpenConnection();
        other.Root["moved"] = a;
        var refused = Assert.Throws<CrossConnectionReferenceException>(other.Commit);
        Assert.Contains("a connection that was closed", refused.Message);
    }

    [Fact]
    public void A_number_taken_again_does_not_make_the_objects_of_its_last_connection_belong_to_the_next()
    {
        using var db = TestDatabase.InMemory();
        TestDatabase.Store(db, "ada", new Customer { Name = "Ada" });
        Customer old;
        using (var first = db.OpenConnection()) old = (Customer)first.Root["ada"];

        // More connections than there are numbers, one after another: numbers are given back and
        // taken again, the first connection's among them.
        for (var k = 0; k < 70_000; k++) db.OpenConnection().Dispose();

        using var next = db.OpenConnection();
        Assert.Null(old.PersistentConnection);
        next.Root["copy"] = old;
        Assert.Throws<CrossConnectionReferenceException>(next.Commit);
        next.Abort();
        Assert.Equal("Ada", ((Customer)next.Root["ada"]).Name);
        Assert.NotSame(old, next.Root["ada"]);
    }

    [Fact]
    public void Threads_that_open_and_let_go_of_connections_at_once_never_see_an_object_change_owner()
    {
        using var db = TestDatabase.InMemory();
        using (var setup = db.OpenConnection())
        {
            for (var t = 0; t < 4; t++) setup.Root[$"c{t}"] = new Customer { Name = "0" };
            setup.Commit();
        }
        var failures = new System.Collections.Concurrent.ConcurrentQueue<Exception>();
        var threads = Enumerable.Range(0, 4).Select(t => new Thread(() =>
        {
            try
            {
                Work(t);
            }
            catch (Exception e)
            {
                failures.Enqueue(e);
            }
        })).ToList();
        foreach (var thread in threads) thread.Start();
        foreach (var thread in threads) thread.Join();
        Assert.Empty(failures);
        using var check = db.OpenConnection();
        for (var t = 0; t < 4; t++) Assert.Equal("500", ((Customer)check.Root[$"c{t}"]).Name);

        void Work(int t)
        {
            Customer? previous = null;
            for (var i = 1; i <= 500; i++)
            {
                // Each connection is let go of when it closes (no pool), so numbers change hands
                // between the threads all the time.
                using (var connection = db.OpenConnection())
                {
                    var customer = (Customer)connection.Root[$"c{t}"];
                    Assert.Equal((i - 1).ToString(), customer.Name);
                    customer.Name = i.ToString();
                    connection.Commit();
                    Assert.Same(connection, customer.PersistentConnection);
                    if (previous is not null)
                    {
                        Assert.NotSame(previous, customer);
                        Assert.Null(previous.PersistentConnection);
                        Assert.Equal((i - 1).ToString(), previous.Name);
                        Assert.Throws<ConnectionClosedException>(() => previous.Name = "lost");
                    }
                    previous = customer;
                }
            }
        }
    }

    [Fact]
    public void Disposing_the_database_lets_go_of_its_connections_idle_or_in_a_transaction_of_the_disposing_thread()
    {
        var db = TestDatabase.InMemory();
        var idle = db.OpenConnection();
        idle.Root["ada"] = new Customer { Name = "Ada" };
        idle.Commit();
        var ada = (Customer)idle.Root["ada"];
        Assert.Equal("Ada", ada.Name);
        idle.Abort();
        // A read starts a transaction, which this one leaves open.
        var busy = db.OpenConnection();
        var adaToo = (Customer)busy.Root["ada"];
        Assert.Equal("Ada", adaToo.Name);

        db.Dispose();
        // Both were let go of (their numbers given back): the busy one's transaction is this thread's.
        // One in a transaction of another thread keeps its number (see the next test).
        Assert.Null(ada.PersistentConnection);
        Assert.Null(adaToo.PersistentConnection);
        Assert.True(busy.IsClosed);
        foreach (var customer in new[] { ada, adaToo })
        {
            Assert.Equal("Ada", customer.Name);
            Assert.Throws<ConnectionClosedException>(() => customer.Name = "Ada L.");
        }
    }

    [Fact]
    public void Disposing_the_database_leaves_another_threads_transaction_to_that_thread()
    {
        var db = TestDatabase.InMemory();
        using (var setup = db.OpenConnection())
        {
            setup.Root["ada"] = new Customer { Name = "Ada" };
            setup.Commit();
        }
        using var changed = new ManualResetEventSlim();
        using var disposed = new ManualResetEventSlim();
        Customer? ada = null;
        Exception? commitError = null;
        var worker = new Thread(() =>
        {
            var connection = db.OpenConnection();
            ada = (Customer)connection.Root["ada"];
            ada.Name = "Ada L.";
            changed.Set();
            if (!disposed.Wait(TimeSpan.FromSeconds(30))) return;
            commitError = Record.Exception(connection.Commit);
        });
        worker.Start();
        Assert.True(changed.Wait(TimeSpan.FromSeconds(30)));

        db.Dispose();
        // The worker's change is still its own: not turned back into a ghost from this thread, and the
        // connection keeps its number while the worker may still use it.
        Assert.Equal(PersistentState.Changed, ada!.PersistentState);
        Assert.NotNull(ada.PersistentConnection);
        disposed.Set();
        Assert.True(worker.Join(TimeSpan.FromSeconds(30)));
        Assert.IsType<ConnectionClosedException>(commitError);
    }

    [Fact]
    public void A_pooled_connection_reopening_while_the_database_is_disposed_is_let_go_of_and_not_handed_out()
    {
        var (storage, db, ada) = PooledWithAda();
        // The connection waits in the pool, its objects with it; reopening it catches up (a poll), which
        // the storage holds until the database is disposed.
        Assert.NotNull(ada.PersistentConnection);
        storage.PauseNextPoll();
        Connection? reopened = null;
        Exception? error = null;
        var opener = new Thread(() => error = Record.Exception(() => reopened = db.OpenConnection()));
        opener.Start();
        Assert.True(storage.Paused.Wait(TimeSpan.FromSeconds(30)));
        db.Dispose();
        storage.Resume.Set();
        Assert.True(opener.Join(TimeSpan.FromSeconds(30)));

        Assert.Null(reopened);
        Assert.IsType<ObjectDisposedException>(error);
        Assert.Null(ada.PersistentConnection);
        Assert.Throws<ConnectionClosedException>(() => ada.Name = "Ada L.");
        storage.Close();
    }

    [Fact]
    public void A_pooled_connection_that_fails_to_reopen_is_let_go_of_and_the_next_open_works()
    {
        var (storage, db, ada) = PooledWithAda();
        storage.FailNextPoll();
        Assert.Throws<IOException>(db.OpenConnection);
        // Let go of, its number given back, rather than left half open outside the pool.
        Assert.Null(ada.PersistentConnection);
        using (var next = db.OpenConnection())
        {
            Assert.Equal("Ada", ((Customer)next.Root["ada"]).Name);
        }
        db.Dispose();
        storage.Close();
    }

    /// <summary>A database with a pool, whose one connection stored Ada and waits in the pool with her.</summary>
    private static (PausingStorage Storage, Database Db, Customer Ada) PooledWithAda()
    {
        var storage = new PausingStorage(new MemoryStorage());
        var db = Database.Open(storage, new DatabaseOptions { ConnectionPoolSize = 1 });
        using var first = db.OpenConnection();
        first.Root["ada"] = new Customer { Name = "Ada" };
        first.Commit();
        return (storage, db, (Customer)first.Root["ada"]);
    }

    /// <summary>A storage that can hold one poll until told to go on, or fail one, and that the database's Dispose leaves open (the test disposes it).</summary>
    private sealed class PausingStorage(IStorage inner) : DelegatingStorage(inner)
    {
        private int _pause;
        private int _fail;

        public ManualResetEventSlim Paused { get; } = new();

        public ManualResetEventSlim Resume { get; } = new();

        public void PauseNextPoll() => Volatile.Write(ref _pause, 1);

        public void FailNextPoll() => Volatile.Write(ref _fail, 1);

        public override StorageChanges Poll(long sinceTid)
        {
            if (Interlocked.Exchange(ref _fail, 0) == 1) throw new IOException("The storage could not be read (test).");
            if (Interlocked.Exchange(ref _pause, 0) == 1)
            {
                Paused.Set();
                Resume.Wait(TimeSpan.FromSeconds(30));
            }
            return base.Poll(sinceTid);
        }

        public override void Dispose()
        {
        }

        public void Close()
        {
            base.Dispose();
            Paused.Dispose();
            Resume.Dispose();
        }
    }

    [Fact]
    public void An_oid_beyond_what_an_object_can_hold_is_refused_with_a_clear_error()
    {
        var node = new Node();
        node.ObjectOid = new Oid(PersistentObject.LargestOid);
        Assert.Equal(PersistentObject.LargestOid, node.PersistentOid.Value);
        var refused = Assert.Throws<PersistenceException>(() => node.ObjectOid = new Oid(PersistentObject.LargestOid + 1));
        Assert.Contains("beyond the largest oid", refused.Message);
        Assert.Equal(PersistentObject.LargestOid, node.PersistentOid.Value);
    }
}
