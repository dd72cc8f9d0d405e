using Persistence.Storage;
using Persistence.Tests.Models;

namespace Persistence.Tests.Connections;

/// <summary>
/// A written object that another transaction changed meanwhile merges the other change inside the
/// vote, with the commit lock held, instead of failing the vote and voting again.
/// </summary>
public class ConflictMergeTests
{
    /// <summary>Counts the storage transactions connections begin.</summary>
    private sealed class CountingStorage(IStorage inner) : DelegatingStorage(inner)
    {
        public int Begun;

        public override IStorageTransaction Begin()
        {
            Interlocked.Increment(ref Begun);
            return base.Begin();
        }
    }

    private static (Database Db, CountingStorage Storage) CounterDatabase(IStorage inner)
    {
        var storage = new CountingStorage(inner);
        var db = Database.Open(storage, TestDatabase.Cold());
        using var setup = db.OpenConnection();
        setup.Root["counter"] = new PersistentCounter(10);
        setup.Commit();
        return (db, storage);
    }

    /// <summary>Commits <paramref name="connection"/> and checks that it took one storage transaction: the merge happened within its vote.</summary>
    private static void CommitsInOneVote(CountingStorage storage, Connection connection)
    {
        var before = storage.Begun;
        connection.Commit();
        Assert.Equal(1, storage.Begun - before);
    }

    [Fact]
    public void A_counter_changed_by_another_commit_merges_within_one_vote()
    {
        var (db, storage) = CounterDatabase(new MemoryStorage());
        using (db)
        {
            using var first = db.OpenConnection();
            using var second = db.OpenConnection();
            ((PersistentCounter)first.Root["counter"]).Add(5);
            ((PersistentCounter)second.Root["counter"]).Add(7);
            first.Commit();
            CommitsInOneVote(storage, second);

            Assert.Equal(22, ((PersistentCounter)second.Root["counter"]).Value);
            using var check = db.OpenConnection();
            Assert.Equal(22, ((PersistentCounter)check.Root["counter"]).Value);
        }
    }

    [Fact]
    public void On_the_file_storage_merges_chain_across_several_commits_in_between()
    {
        using var folder = new TempFolder();
        var (db, storage) = CounterDatabase(FileStorage.Open(folder.File("merge.persist")));
        using (db)
        {
            using var late = db.OpenConnection();
            ((PersistentCounter)late.Root["counter"]).Add(100);
            for (var i = 0; i < 3; i++)
            {
                using var other = db.OpenConnection();
                ((PersistentCounter)other.Root["counter"]).Increment();
                other.Commit();
            }
            CommitsInOneVote(storage, late);

            using var check = db.OpenConnection();
            Assert.Equal(113, ((PersistentCounter)check.Root["counter"]).Value);
        }
    }

    [Fact]
    public void Without_the_revision_it_started_from_a_counter_conflicts_instead_of_adding_its_whole_value()
    {
        using var folder = new TempFolder();
        var file = FileStorage.Open(folder.File("packed.persist"));
        // No record cache, which would still hold the revision the pack drops.
        using (var db = Database.Open(file, new DatabaseOptions { RecordCacheBytes = 0, ConnectionPoolSize = 0 }))
        {
            using (var setup = db.OpenConnection())
            {
                setup.Root["counter"] = new PersistentCounter(10);
                setup.Commit();
            }
            using var late = db.OpenConnection();
            ((PersistentCounter)late.Root["counter"]).Increment();
            using (var other = db.OpenConnection())
            {
                ((PersistentCounter)other.Root["counter"]).Increment();
                other.Commit();
            }
            // The pack keeps the newest revisions only: the one the late transaction started from is gone.
            file.Pack();
            Assert.Throws<ConflictException>(late.Commit);
            late.Abort();
            ((PersistentCounter)late.Root["counter"]).Increment();
            late.Commit();

            using var check = db.OpenConnection();
            Assert.Equal(12, ((PersistentCounter)check.Root["counter"]).Value);
        }
    }

    [Fact]
    public void A_commit_of_many_new_objects_still_merges_a_counter_another_commit_changed()
    {
        var (db, storage) = CounterDatabase(new MemoryStorage());
        using (db)
        {
            // The catalog learns the class first: its first object's commit stores the catalog too.
            using (var setup = db.OpenConnection())
            {
                setup.Root["chain"] = new Node { Label = "first" };
                setup.Commit();
            }
            using var first = db.OpenConnection();
            using var second = db.OpenConnection();
            ((PersistentCounter)first.Root["counter"]).Add(5);
            // Forty new objects, more than the merge looks through one by one for the new ones.
            Node? chain = null;
            for (var i = 0; i < 40; i++) chain = new Node { Label = $"node {i}", Next = chain };
            second.Root["chain"] = chain!;
            ((PersistentCounter)second.Root["counter"]).Add(7);
            first.Commit();
            CommitsInOneVote(storage, second);

            using var check = db.OpenConnection();
            Assert.Equal(22, ((PersistentCounter)check.Root["counter"]).Value);
            var labels = new List<string?>();
            for (var node = (Node?)check.Root["chain"]; node is not null; node = node.Next) labels.Add(node.Label);
            Assert.Equal(Enumerable.Range(0, 40).Reverse().Select(i => $"node {i}"), labels);
        }
    }

    [Fact]
    public void A_merge_does_not_hide_a_conflict_on_an_object_that_was_only_read()
    {
        var (db, _) = CounterDatabase(new MemoryStorage());
        using (db)
        {
            using (var setup = db.OpenConnection())
            {
                setup.Root["limit"] = new PersistentCounter(1);
                setup.Commit();
            }
            using var first = db.OpenConnection();
            using var second = db.OpenConnection();
            // The second transaction increments only while the limit allows: it reads the limit.
            if (((PersistentCounter)second.Root["limit"]).Value > 0) ((PersistentCounter)second.Root["counter"]).Increment();
            ((PersistentCounter)first.Root["limit"]).Decrement();
            ((PersistentCounter)first.Root["counter"]).Increment();
            first.Commit();

            Assert.Throws<ConflictException>(second.Commit);
            second.Abort();
            using var check = db.OpenConnection();
            Assert.Equal((11L, 0L), (((PersistentCounter)check.Root["counter"]).Value, ((PersistentCounter)check.Root["limit"]).Value));
        }
    }
}
