using System.Runtime.CompilerServices;
using Persistence.Storage;
using Persistence.Tests.Models;

namespace Persistence.Tests.Connections;

/// <summary>
/// A transaction follows the async flow that opened its connection across awaits that resume on other
/// threads, one thread at a time; other flows, and a second thread while one is inside a call, are refused.
/// </summary>
public class AsyncFlowTests
{
    /// <summary>An await that always resumes on a new thread (the flow's context goes with it, as with any await).</summary>
    private readonly struct ResumeOnNewThread : INotifyCompletion
    {
        public ResumeOnNewThread GetAwaiter() => this;
        public bool IsCompleted => false;
        public void OnCompleted(Action continuation) => new Thread(() => continuation()).Start();
        public void GetResult() { }
    }

    /// <summary>A storage whose loads can be held, to keep a thread inside a call on a connection.</summary>
    private sealed class HeldLoads(IStorage inner) : DelegatingStorage(inner)
    {
        public ManualResetEventSlim Entered { get; } = new();
        public ManualResetEventSlim Release { get; } = new(initialState: true);

        public override StoredRecord? LoadBefore(Oid oid, long tid)
        {
            Hold();
            return base.LoadBefore(oid, tid);
        }

        public override StoredRecord? Load(Oid oid)
        {
            Hold();
            return base.Load(oid);
        }

        private void Hold()
        {
            Entered.Set();
            Release.Wait(TimeSpan.FromSeconds(30));
        }
    }

    private static Database TwoNodes(IStorage? storage = null) =>
        TestDatabase.WithTwoNodes(Database.Open(storage ?? new MemoryStorage(), new DatabaseOptions { ConnectionPoolSize = 0, RecordCacheBytes = 0 }));

    private static (string A, string B) Labels(Database db)
    {
        using var check = db.OpenConnection();
        return (((Node)check.Root["a"]).Label!, ((Node)check.Root["b"]).Label!);
    }

    [Fact]
    public async Task A_transaction_goes_on_after_an_await_that_resumes_on_another_thread()
    {
        using var db = TwoNodes();
        var threads = new HashSet<int>();
        using (var connection = db.OpenConnection())
        {
            threads.Add(Environment.CurrentManagedThreadId);
            ((Node)connection.Root["a"]).Label = "before the await";
            await new ResumeOnNewThread();
            threads.Add(Environment.CurrentManagedThreadId);
            ((Node)connection.Root["b"]).Label = "after it";
            await new ResumeOnNewThread();
            threads.Add(Environment.CurrentManagedThreadId);
            connection.Commit();
            ((Node)connection.Root["a"]).Label += ", then a second transaction";
            await new ResumeOnNewThread();
            threads.Add(Environment.CurrentManagedThreadId);
            // Disposed (it aborts the second transaction) on the thread the method resumed on.
        }

        Assert.Equal(4, threads.Count);
        Assert.Equal(("before the await", "after it"), Labels(db));
    }

    [Fact]
    public async Task TransactAsync_awaits_async_work_and_commits_after_it()
    {
        using var db = TwoNodes();
        var attempts = 0;
        var label = await db.TransactAsync(async connection =>
        {
            attempts++;
            var a = (Node)connection.Root["a"];
            var read = a.Label;
            await new ResumeOnNewThread();
            if (attempts == 1)
            {
                // Another writer changes what this attempt read: it conflicts, and the retry reads the change.
                using var other = db.OpenConnection();
                ((Node)other.Root["a"]).Label = "theirs";
                other.Commit();
            }
            await new ResumeOnNewThread();
            a.Label = read + " and mine";
            ((Node)connection.Root["b"]).Label = "b" + attempts;
            return a.Label;
        });

        Assert.Equal((2, "theirs and mine"), (attempts, label));
        Assert.Equal(("theirs and mine", "b2"), Labels(db));

        // Without a result, and a failure aborts what the work did.
        await db.TransactAsync(async connection =>
        {
            await new ResumeOnNewThread();
            ((Node)connection.Root["b"]).Label = "no result";
        });
        await Assert.ThrowsAsync<InvalidOperationException>(() => db.TransactAsync(async connection =>
        {
            ((Node)connection.Root["a"]).Label = "never";
            await new ResumeOnNewThread();
            throw new InvalidOperationException("boom");
        }));
        Assert.Equal(("theirs and mine", "no result"), Labels(db));
    }

    [Fact]
    public void Code_that_did_not_open_the_connection_is_refused_during_a_transaction()
    {
        using var db = TwoNodes();
        var connection = db.OpenConnection();
        ((Node)connection.Root["a"]).Label = "changed here";
        // A thread started without this flow's context: other code (another request, say).
        Exception? fromOtherCode = null;
        var thread = new Thread(() => fromOtherCode = Record.Exception(() => ((Node)connection.Root["b"]).Label = "other code"));
        thread.UnsafeStart();
        thread.Join();
        var error = Assert.IsType<ConnectionThreadException>(fromOtherCode);
        Assert.Contains("connection per thread or per request", error.Message);
        // Nor may it end the transaction, or dispose the connection under it.
        Exception? abort = null, dispose = null;
        thread = new Thread(() =>
        {
            abort = Record.Exception(connection.Abort);
            dispose = Record.Exception(connection.Dispose);
        });
        thread.UnsafeStart();
        thread.Join();
        Assert.IsType<ConnectionThreadException>(abort);
        Assert.IsType<ConnectionThreadException>(dispose);
        Assert.False(connection.IsClosed);

        // After the boundary, other code may take the connection over.
        connection.Commit();
        thread = new Thread(() => fromOtherCode = Record.Exception(() =>
        {
            ((Node)connection.Root["b"]).Label = "other code";
            connection.Commit();
        }));
        thread.UnsafeStart();
        thread.Join();
        Assert.Null(fromOtherCode);
        connection.Dispose();
        Assert.Equal(("changed here", "other code"), Labels(db));
    }

    [Fact]
    public async Task Tasks_of_the_flow_running_side_by_side_are_refused_and_change_nothing_committed()
    {
        using var db = Database.Open(new MemoryStorage(), new DatabaseOptions { ConnectionPoolSize = 0 });
        TestDatabase.Store(db, "tree", new BTree<int, string>());
        var connection = db.OpenConnection();
        var tree = (BTree<int, string>)connection.Root["tree"];
        Assert.Empty(tree);
        // Two tasks of the flow that opened the connection, both running when they use it.
        using var bothRunning = new Barrier(2);
        Task Writer(int first) => Task.Run(() =>
        {
            bothRunning.SignalAndWait();
            for (var i = first; i < 20_000; i += 2) tree[i] = "w";
        });
        var error = await Record.ExceptionAsync(() => Task.WhenAll(Writer(0), Writer(1)));

        Assert.Contains("side by side", Assert.IsType<ConnectionThreadException>(error).Message);
        connection.Abort();
        Assert.Empty(tree);
        connection.Dispose();
        using var check = db.OpenConnection();
        Assert.Empty((BTree<int, string>)check.Root["tree"]);
    }

    [Fact]
    public async Task Other_code_disposes_a_connection_whose_opener_left_it_in_a_transaction_and_it_is_let_go_of()
    {
        using var db = TestDatabase.WithTwoNodes(Database.Open(new MemoryStorage(), new DatabaseOptions { ConnectionPoolSize = 4 }));
        Node? a = null;
        // A request that fails in the middle of a transaction: the code that opened the connection has
        // ended, and its scope disposes the connection from other code.
        async Task<Connection> FailHalfway()
        {
            var connection = db.OpenConnection();
            a = (Node)connection.Root["a"];
            a.Label = "not committed";
            await new ResumeOnNewThread();
            return connection;
        }
        var left = await FailHalfway();
        Exception? dispose = null;
        var thread = new Thread(() => dispose = Record.Exception(left.Dispose));
        thread.UnsafeStart();
        thread.Join();

        Assert.Null(dispose);
        Assert.True(left.IsClosed);
        Assert.Throws<ConnectionClosedException>(() => a!.Label = "after");
        using (var next = db.OpenConnection()) Assert.NotSame(left, next);
        Assert.Equal(("a0", "b0"), Labels(db));
    }

    [Fact]
    public void Other_code_disposes_a_connection_whose_opening_thread_ended_in_a_transaction()
    {
        using var db = TestDatabase.WithTwoNodes(Database.Open(new MemoryStorage(), new DatabaseOptions { ConnectionPoolSize = 4 }));
        // A thread with no context of its own: it ends without the runtime telling the flow's count.
        Connection? left = null;
        var opener = new Thread(() =>
        {
            left = db.OpenConnection();
            ((Node)left.Root["a"]).Label = "not committed";
        });
        opener.UnsafeStart();
        opener.Join();

        left!.Dispose();
        Assert.True(left.IsClosed);
        using (var next = db.OpenConnection()) Assert.NotSame(left, next);
        Assert.Equal(("a0", "b0"), Labels(db));
    }

    [Fact]
    public void Another_thread_may_not_change_an_object_already_changed_in_the_transaction()
    {
        using var db = TwoNodes();
        using var connection = db.OpenConnection();
        var a = (Node)connection.Root["a"];
        a.Label = "changed here";
        // A second change of a changed object needs no call on the connection, and was not checked.
        Exception? fromOtherThread = null;
        var thread = new Thread(() => fromOtherThread = Record.Exception(() => a.Label = "and from another thread"));
        thread.Start();
        thread.Join();
        Assert.IsType<ConnectionThreadException>(fromOtherThread);
        Assert.Equal("changed here", a.Label);
        connection.Commit();
        Assert.Equal(("changed here", "b0"), Labels(db));
    }

    [Fact]
    public void Parallel_over_one_connection_is_refused()
    {
        using var db = Database.Open(new MemoryStorage(), new DatabaseOptions { ConnectionPoolSize = 0 });
        TestDatabase.Store(db, "tree", new BTree<int, string>());
        using var connection = db.OpenConnection();
        var tree = (BTree<int, string>)connection.Root["tree"];
        tree[-1] = "started here";
        // Two bodies, each on its own thread, both running before they write.
        using var bothRunning = new Barrier(2);
        var error = Record.Exception(() => Parallel.For(0, 2, new ParallelOptions { MaxDegreeOfParallelism = 2 }, body =>
        {
            Assert.True(bothRunning.SignalAndWait(TimeSpan.FromSeconds(30)));
            for (var i = body; i < 20_000; i += 2) tree[i] = "p";
        }));
        Assert.IsType<ConnectionThreadException>(Assert.IsType<AggregateException>(error).InnerExceptions[0]);
        connection.Abort();
        Assert.Empty(tree);
    }

    [Fact]
    public async Task TransactAsync_reports_the_work_s_failure_when_a_task_it_left_is_inside_a_call()
    {
        var storage = new HeldLoads(new MemoryStorage());
        using var db = TwoNodes(storage);
        Task<string?>? left = null;
        var failure = await Record.ExceptionAsync(() => db.TransactAsync(async connection =>
        {
            var root = connection.Root;
            storage.Entered.Reset();
            storage.Release.Reset();
            // A task the work does not await, inside a call (loading "a") when the work fails.
            left = Task.Run(() => ((Node)root["a"]).Label);
            // Awaiting, the work leaves the connection to that task, which takes it over.
            for (var waited = 0; !storage.Entered.IsSet && waited < 3_000; waited++) await Task.Delay(10);
            throw new InvalidOperationException("the work failed");
        }));
        storage.Release.Set();

        Assert.Equal("the work failed", Assert.IsType<InvalidOperationException>(failure).Message);
        Assert.Equal("a0", await left!);
    }

    [Fact]
    public async Task A_database_disposed_while_a_thread_of_the_flow_disposes_its_connection_gives_the_number_back_once()
    {
        // The opener leaves the flow at an await; the thread it resumes on disposes the connection, in a
        // transaction, while the opener's thread disposes the database.
        using var barrier = new Barrier(2);
        for (var round = 0; round < 3_000; round++)
        {
            var db = TwoNodes();
            Exception? closing = null;
            async Task ChangeThenDispose()
            {
                var connection = db.OpenConnection();
                ((Node)connection.Root["a"]).Label = "not committed";
                await new ResumeOnNewThread();
                barrier.SignalAndWait();
                closing = Record.Exception(connection.Dispose);
            }
            var disposed = ChangeThenDispose();
            barrier.SignalAndWait();
            var disposing = Record.Exception(db.Dispose);
            await disposed.WaitAsync(TimeSpan.FromSeconds(30));
            Assert.True(closing is null or ConnectionClosedException, $"round {round}: {closing}");
            Assert.Null(disposing);
        }

        // A number given back twice would be handed to two connections open at once.
        using var check = TwoNodes();
        using var first = check.OpenConnection();
        using var second = check.OpenConnection();
        Assert.Same(first, first.Root["a"].PersistentConnection);
        Assert.Same(second, second.Root["a"].PersistentConnection);
    }

    [Fact]
    public async Task Many_flows_each_with_its_own_connection_interleave_on_the_thread_pool()
    {
        using var db = TwoNodes();
        using (var setup = db.OpenConnection())
        {
            setup.Root["counter"] = new PersistentCounter();
            setup.Commit();
        }
        const int flows = 16, rounds = 20;
        await Task.WhenAll(Enumerable.Range(0, flows).Select(async flow =>
        {
            for (var i = 0; i < rounds; i++)
            {
                await db.TransactAsync(async connection =>
                {
                    var counter = (PersistentCounter)connection.Root["counter"];
                    await Task.Yield();
                    counter.Increment();
                    await Task.Delay(1);
                    connection.Root["last" + flow] = new Node { Label = i.ToString() };
                }, maxAttempts: 100);
            }
        }));

        using var check = db.OpenConnection();
        Assert.Equal(flows * rounds, ((PersistentCounter)check.Root["counter"]).Value);
        Assert.All(Enumerable.Range(0, flows), flow => Assert.Equal((rounds - 1).ToString(), ((Node)check.Root["last" + flow]).Label));
    }
}

/// <summary>The count of threads inside the flow that opened a connection stays right when flows open connections inside one another.</summary>
public class NestedFlowTests
{
    [Fact]
    public async Task A_connection_opened_in_an_async_method_while_the_caller_holds_one_is_left_by_its_flow_when_the_method_returns()
    {
        using var db = Database.Open(new MemoryStorage(), new DatabaseOptions { ConnectionPoolSize = 4 });
        using var outer = db.OpenConnection();
        Connection? inner = null;

        // The method's flow holds both openings; returning restores the caller's, which holds the outer one alone.
        async Task OpenInner()
        {
            inner = db.OpenConnection();
            await Task.CompletedTask;
        }
        await OpenInner();

        // Its opening flow has ended, so the caller disposing it is not other code racing the opener: it is pooled.
        inner!.Dispose();
        Assert.Equal((1, 1), db.ConnectionCounts());
    }

    [Fact]
    public async Task Thousands_of_connections_left_open_in_one_flow_still_open_and_close_in_order()
    {
        using var db = Database.Open(new MemoryStorage(), new DatabaseOptions { ConnectionPoolSize = 0 });
        var open = new List<Connection>();
        for (var i = 0; i < 3000; i++) open.Add(db.OpenConnection());
        // A flow that holds them all switches threads with them.
        Assert.Equal(0, await Task.Run(() => open[^1].Root.Count));
        foreach (var connection in open) connection.Dispose();
        Assert.Equal((0, 0), db.ConnectionCounts());
    }
}
