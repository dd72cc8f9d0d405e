using Persistence.Storage;
using Persistence.Tests.Models;

namespace Persistence.Tests.Connections;

public class RecordCacheTests
{
    private static StoredRecord Record(ulong oid, long tid, int size = 100) => new(new Oid(oid), tid, new byte[size]);

    [Fact]
    public void The_cache_stays_within_its_byte_budget_counting_its_own_overhead()
    {
        var cache = new RecordCache(budgetBytes: 64 * 1024, knownThrough: 10);
        for (ulong oid = 3; oid < 5_000; oid++) cache.Put(Record(oid, 5), snapshot: 10);
        Assert.InRange(cache.Bytes, 1, 64 * 1024);
        Assert.True(cache.TryGet(new Oid(4_999), 10, out _));
        Assert.False(cache.TryGet(new Oid(3), 10, out _));
    }

    [Fact]
    public void An_empty_cache_knows_through_any_tid_asked_for_and_one_with_entries_only_through_what_it_applied()
    {
        var cache = new RecordCache(budgetBytes: 1 << 20, knownThrough: 10);
        Assert.Equal(15, cache.KnownThroughOrEmptyAt(15));
        Assert.Equal(15, cache.KnownThroughOrEmptyAt(12));

        // A revision read at an older snapshot is not taken for the current one.
        cache.Put(Record(3, tid: 7), snapshot: 13);
        cache.Apply(new StorageChanges(20, []));
        Assert.True(cache.TryGet(new Oid(3), 13, out _));
        Assert.False(cache.TryGet(new Oid(3), 14, out _));

        // With an entry, the poll must start from what was applied, so the entry can be invalidated.
        cache.Put(Record(4, tid: 18), snapshot: 20);
        Assert.Equal(20, cache.KnownThroughOrEmptyAt(30));
        cache.Apply(new StorageChanges(30, [new Oid(4)]));
        Assert.True(cache.TryGet(new Oid(4), 20, out _));
        Assert.False(cache.TryGet(new Oid(4), 30, out _));
    }

    [Fact]
    public void A_cached_revision_serves_only_the_snapshots_it_is_valid_for()
    {
        var cache = new RecordCache(budgetBytes: 1 << 20, knownThrough: 10);
        cache.Put(Record(3, tid: 7), snapshot: 10);
        Assert.True(cache.TryGet(new Oid(3), 8, out var hit));
        Assert.Equal(7, hit.Tid);
        Assert.False(cache.TryGet(new Oid(3), 6, out _));

        // Someone commits a new revision at tid 12: the old one stays valid up to 10 only.
        cache.Apply(new StorageChanges(12, [new Oid(3)]));
        Assert.True(cache.TryGet(new Oid(3), 10, out _));
        Assert.False(cache.TryGet(new Oid(3), 12, out _));

        // Replacing the same object over and over keeps memory bounded and serves the newest.
        for (var tid = 13; tid < 20_000; tid++)
        {
            cache.Put(Record(3, tid), snapshot: tid);
            cache.Apply(new StorageChanges(tid, []));
        }
        Assert.True(cache.TryGet(new Oid(3), 19_999, out var newest));
        Assert.Equal(19_999, newest.Tid);
        Assert.InRange(cache.Bytes, 1, 1 << 20);
    }

    [Fact]
    public void Records_a_connection_scanned_in_a_file_reach_the_cache_intact_for_another_connection()
    {
        using var folder = new TempFolder();
        using var db = Database.Open(folder.File("scan.persist"), TestDatabase.Cold());
        static string Label(int i) => $"node {i} ".PadRight(100, '.');
        TestDatabase.Store(db, "nodes", Nodes(5_000, Label));
        using var first = db.OpenConnection();
        using var second = db.OpenConnection();

        // The first connection's pass reads the file's blocks into buffers it uses again (its own scan
        // windows); with two connections open, what it loads goes to the shared cache as well.
        var i = 0;
        foreach (var (key, node) in (BTree<int, Node>)first.Root["nodes"]) Assert.Equal((i++, Label(key)), (key, node.Label));
        Assert.Equal(5_000, i);
        var storage = (FileStorage)db.Storage;
        var reads = storage.LoadReadCalls;

        // The second connection's pass is served by the cache alone, and every record there is whole.
        i = 0;
        foreach (var (key, node) in (BTree<int, Node>)second.Root["nodes"]) Assert.Equal((i++, Label(key)), (key, node.Label));
        Assert.Equal(5_000, i);
        Assert.Equal(reads, storage.LoadReadCalls);
    }

    private static BTree<int, Node> Nodes(int count, Func<int, string> label)
    {
        var tree = new BTree<int, Node>();
        for (var i = 0; i < count; i++) tree[i] = new Node { Label = label(i) };
        return tree;
    }
}
