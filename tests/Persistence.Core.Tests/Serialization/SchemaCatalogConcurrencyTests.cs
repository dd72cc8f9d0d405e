using System.Text;
using Persistence.Storage;
using Persistence.Tests.Models;

namespace Persistence.Tests.Serialization;

/// <summary>
/// The schema catalog while other commits run: adding a class to it never waits for the commit lock
/// with the catalog's lock held (a vote that merges reads records through the catalog), and writers
/// adding the same class at once end with one entry.
/// </summary>
public class SchemaCatalogConcurrencyTests
{
    // Long enough for a loaded machine, short enough that a deadlock fails the test instead of hanging it.
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    /// <summary>
    /// A storage that, once armed, stops the arming thread's vote in its merge (where it holds the
    /// commit lock and is about to read the revisions it merges) until another thread has begun a
    /// transaction: the catalog's transaction for a class stored for the first time.
    /// </summary>
    private sealed class MergeMeetsCatalogStorage(IStorage inner) : DelegatingStorage(inner)
    {
        public readonly ManualResetEventSlim MergeHoldsCommitLock = new();
        public readonly ManualResetEventSlim CatalogBegun = new();
        public Thread? Merging;
        public Thread? Cataloguing;
        public Oid Merged;

        public override StoredRecord? Load(Oid oid)
        {
            // Connection.TryMerge loads the newest revision of the object it merges, inside the vote.
            if (Thread.CurrentThread == Merging && oid == Merged)
            {
                Merging = null;
                MergeHoldsCommitLock.Set();
                // Bounded: should the catalog's transaction never begin, the merge goes on without it.
                CatalogBegun.Wait(Bound);
            }
            return base.Load(oid);
        }

        public override IStorageTransaction Begin()
        {
            // The cataloguing thread's first transaction is the catalog's: a commit stores the classes
            // it meets as it serializes, before it begins its own.
            if (Thread.CurrentThread == Cataloguing)
            {
                Cataloguing = null;
                CatalogBegun.Set();
            }
            return base.Begin();
        }
    }

    private static IStorage Open(string kind, TempFolder folder) =>
        kind == "memory" ? new MemoryStorage() : FileStorage.Open(folder.File("catalog.db"));

    [Theory]
    [InlineData("memory")]
    [InlineData("file")]
    public async Task A_vote_merging_a_change_does_not_deadlock_with_a_commit_that_adds_a_class_to_the_catalog(string kind)
    {
        using var folder = new TempFolder();
        var storage = new MergeMeetsCatalogStorage(Open(kind, folder));
        var db = Database.Open(storage, TestDatabase.Cold());
        using (var setup = db.OpenConnection())
        {
            setup.Root["counter"] = new PersistentCounter(10);
            setup.Root["invoice"] = new Invoice { Number = 1 };
            setup.Commit();
            storage.Merged = ((PersistentCounter)setup.Root["counter"]).ObjectOid;
        }

        // The merging commit: its counter was changed by another commit since its snapshot, so its vote
        // merges the other change with the commit lock held.
        var merging = Task.Factory.StartNew(() =>
        {
            using var first = db.OpenConnection();
            using var second = db.OpenConnection();
            ((PersistentCounter)first.Root["counter"]).Add(5);
            ((PersistentCounter)second.Root["counter"]).Add(7);
            first.Commit();
            storage.Merging = Thread.CurrentThread;
            second.Commit();
        }, TaskCreationOptions.LongRunning);
        // Meanwhile a commit stores a Node, a class the catalog has not seen: the catalog commits the
        // new entry first. Its connection read an invoice last, so the merge's reads of counters bind
        // anew in the catalog, with its lock, rather than through the binding of the last read.
        var cataloguing = Task.Factory.StartNew(() =>
        {
            Assert.True(storage.MergeHoldsCommitLock.Wait(Bound), "The merge was never reached.");
            using var connection = db.OpenConnection();
            Assert.Equal(1, ((Invoice)connection.Root["invoice"]).Number);
            connection.Root["node"] = new Node { Label = "new class" };
            storage.Cataloguing = Thread.CurrentThread;
            connection.Commit();
        }, TaskCreationOptions.LongRunning);

        // Without the fix both hang for good (the catalog's lock against the commit lock): the database
        // is then left open, since disposing it would wait for them too.
        Assert.True(await Finishes(merging, cataloguing), "The commits deadlocked: the merge waits for the catalog, the catalog for the commit lock.");
        using (db)
        {
            using var check = db.OpenConnection();
            Assert.Equal(22, ((PersistentCounter)check.Root["counter"]).Value);
            Assert.Equal("new class", ((Node)check.Root["node"]).Label);
        }
    }

    /// <summary>
    /// A storage whose first transaction on each thread (the catalog's, see above) waits, for a while,
    /// until another has begun one too: writers that prepared a catalog entry from one version vote at once.
    /// </summary>
    private sealed class TogetherStorage(IStorage inner, Barrier barrier) : DelegatingStorage(inner)
    {
        private readonly ThreadLocal<bool> _begun = new();
        public int Conflicts;

        public override IStorageTransaction Begin()
        {
            var transaction = base.Begin();
            if (_begun.Value) return transaction;
            _begun.Value = true;
            barrier.SignalAndWait(TimeSpan.FromSeconds(15));
            return new CountingConflicts(this, transaction);
        }

        private sealed class CountingConflicts(TogetherStorage storage, IStorageTransaction inner) : IStorageTransaction
        {
            public void Store(Oid oid, long serial, ReadOnlyMemory<byte> data) => inner.Store(oid, serial, data);
            public void CheckCurrent(Oid oid, long serial) => inner.CheckCurrent(oid, serial);
            public long Finish() => inner.Finish();
            public void Abort() => inner.Abort();
            public void Dispose() => inner.Dispose();

            public void Vote()
            {
                try
                {
                    inner.Vote();
                }
                catch (ConflictException)
                {
                    Interlocked.Increment(ref storage.Conflicts);
                    throw;
                }
            }
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Writers_adding_the_same_class_at_once_end_with_one_catalog_entry(bool twoDatabases)
    {
        using var folder = new TempFolder();
        var path = folder.File("catalog.db");
        using var barrier = new Barrier(2);
        // Two databases on one file stand for two processes: each has a catalog of its own.
        using (var setup = Database.Open(path)) setup.Transact(c => c.Root["node"] = new Node { Label = "setup" });
        var storages = new TogetherStorage[2];
        var databases = new Database[2];
        storages[0] = new TogetherStorage(FileStorage.Open(path), barrier);
        databases[0] = Database.Open(storages[0], TestDatabase.Cold());
        storages[1] = twoDatabases ? new TogetherStorage(FileStorage.Open(path), barrier) : storages[0];
        databases[1] = twoDatabases ? Database.Open(storages[1], TestDatabase.Cold()) : databases[0];

        var writers = Enumerable.Range(0, 2).Select(w => Task.Factory.StartNew(() =>
            databases[w].Transact(c => c.Root[$"kennel{w}"] = new Kennel { Name = $"kennel {w}", Resident = new Dog { Name = $"dog {w}" } }),
            TaskCreationOptions.LongRunning)).ToArray();
        Assert.True(await Finishes(writers), "The writers did not finish.");
        foreach (var db in databases.Distinct()) db.Dispose();

        // Both prepared the entries from the same catalog, and one of them lost the race and reloaded.
        Assert.Equal(1, storages.Distinct().Sum(s => s.Conflicts));
        using var reopened = Database.Open(path, TestDatabase.Cold());
        using var check = reopened.OpenConnection();
        for (var w = 0; w < 2; w++)
        {
            var kennel = (Kennel)check.Root[$"kennel{w}"];
            Assert.Equal($"kennel {w}", kennel.Name);
            Assert.Equal($"dog {w}", kennel.Resident!.Name);
        }
        var catalog = Encoding.UTF8.GetString(reopened.Storage.Load(Oid.Catalog)!.Value.Data.Span);
        foreach (var name in new[] { typeof(Kennel).FullName!, typeof(Dog).FullName! })
            Assert.Equal(1, Occurrences(catalog, name));
    }

    /// <summary>Whether <paramref name="tasks"/> all finish within <see cref="Bound"/>; their failures are thrown.</summary>
    private static async Task<bool> Finishes(params Task[] tasks)
    {
        var all = Task.WhenAll(tasks);
        if (await Task.WhenAny(all, Task.Delay(Bound)) != all) return false;
        await all;
        return true;
    }

    private static int Occurrences(string text, string part)
    {
        var count = 0;
        for (var at = text.IndexOf(part, StringComparison.Ordinal); at >= 0; at = text.IndexOf(part, at + part.Length, StringComparison.Ordinal)) count++;
        return count;
    }

    [Theory]
    [InlineData("memory")]
    [InlineData("file")]
    public async Task A_merge_inside_the_vote_that_links_an_object_of_a_class_never_stored_does_not_hang(string kind)
    {
        using var folder = new TempFolder();
        using var db = Database.Open(Open(kind, folder));
        TestDatabase.Store(db, "holder", new NoteMergingHolder { Value = 1 });
        using var a = db.OpenConnection();
        using var b = db.OpenConnection();
        ((NoteMergingHolder)a.Root["holder"]).Value += 10;
        ((NoteMergingHolder)b.Root["holder"]).Value += 100;
        b.Commit();
        // a's vote merges b's change, and the merge links a note: a class the catalog must add, whose
        // transaction would wait for the commit lock a's own vote holds.
        var commit = Task.Run(a.Commit);
        Assert.Same(commit, await Task.WhenAny(commit, Task.Delay(Bound)));
        await commit;

        using var check = db.OpenConnection();
        var holder = (NoteMergingHolder)check.Root["holder"];
        Assert.Equal((111L, "merged"), (holder.Value, holder.Note?.Text));
    }
}

/// <summary>A value whose merge links a new object of a class stored nowhere else (see above).</summary>
[Persistent]
public partial class NoteMergingHolder
{
    public partial long Value { get; set; }

    public partial MergeNote? Note { get; set; }

    protected internal override bool ResolveConflict(PersistentObject? oldState, PersistentObject committedState)
    {
        var old = (NoteMergingHolder)oldState!;
        var committed = (NoteMergingHolder)committedState;
        Value = committed.Value + (Value - old.Value);
        Note = new MergeNote { Text = "merged" };
        return true;
    }
}

/// <summary>Stored only by <see cref="NoteMergingHolder"/>'s merge.</summary>
[Persistent]
public partial class MergeNote
{
    public partial string? Text { get; set; }
}
