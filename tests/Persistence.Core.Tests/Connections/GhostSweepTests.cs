using Persistence.Tests.Models;

namespace Persistence.Tests.Connections;

public class GhostSweepTests
{
    private const int Count = 3_000;

    private static Database WithTree(int cacheSize)
    {
        var db = TestDatabase.InMemory(cacheSize);
        using var writer = db.OpenConnection();
        var tree = new BTree<int, Node>();
        for (var i = 0; i < Count; i++) tree[i] = new Node { Label = "n" + i };
        writer.Root["tree"] = tree;
        writer.Commit();
        return db;
    }

    private static void Collect()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
    }

    [Fact]
    public void A_connection_that_walks_through_more_objects_than_its_cache_holds_does_not_keep_a_ghost_of_each()
    {
        using var db = WithTree(cacheSize: 50);
        using var reader = db.OpenConnection();
        reader.GhostSlack = 100;
        for (var round = 0; round < 3; round++)
        {
            var tree = (BTree<int, Node>)reader.Root["tree"];
            foreach (var (key, node) in tree) Assert.Equal("n" + key, node.Label);
            reader.Abort();
        }
        Collect();
        // A walk after the collection: what was let go of and collected is made anew, and reads right.
        var again = (BTree<int, Node>)reader.Root["tree"];
        foreach (var (key, node) in again) Assert.Equal("n" + key, node.Label);
        reader.Abort();

        Assert.InRange(reader.LoadedCount, 0, 50);
        // Without the sweep the identity map would hold every node and bucket met: more than 3,000.
        Assert.InRange(reader.KnownCount, 0, reader.LoadedCount + 100 + 200);
        Collect();
        reader.Abort();
        Assert.InRange(reader.WeakGhostCount, 0, 2 * Count);
    }

    [Fact]
    public void A_ghost_the_application_still_holds_stays_the_one_object_of_its_oid_after_the_connection_lets_go_of_it()
    {
        using var db = WithTree(cacheSize: 10);
        using var reader = db.OpenConnection();
        reader.GhostSlack = 0;
        var kept = ((BTree<int, Node>)reader.Root["tree"])[5];
        Assert.Equal("n5", kept.Label);
        var tree = (BTree<int, Node>)reader.Root["tree"];
        foreach (var (key, node) in tree) Assert.Equal("n" + key, node.Label);
        reader.Abort();
        Assert.Equal(PersistentState.Ghost, kept.PersistentState);
        Assert.True(reader.WeakGhostCount > 0, "the sweep let go of no ghost");
        Collect();

        var found = ((BTree<int, Node>)reader.Root["tree"])[5];
        Assert.Same(kept, found);
        Assert.Same(kept, reader.Get(kept.PersistentOid));
        Assert.Equal("n5", kept.Label);

        // A change through the kept reference is the change of that oid.
        kept.Label = "changed";
        reader.Commit();
        using var other = db.OpenConnection();
        Assert.Equal("changed", ((BTree<int, Node>)other.Root["tree"])[5].Label);
    }
}
