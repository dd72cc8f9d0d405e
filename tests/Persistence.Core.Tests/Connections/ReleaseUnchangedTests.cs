using Persistence.Tests.Models;

namespace Persistence.Tests.Connections;

/// <summary>
/// <see cref="Connection.ReleaseUnchanged"/>: a transaction lets go of what it loaded and goes on,
/// reading the same snapshot, keeping its changes and the checks of its reads.
/// </summary>
public class ReleaseUnchangedTests
{
    private const int Count = 5_000;
    private const int Every = 500;

    private static Database WithTree()
    {
        var db = TestDatabase.InMemory();
        db.Transact(c =>
        {
            var tree = new BTree<int, Node>();
            for (var i = 0; i < Count; i++) tree[i] = new Node { Label = "n" + i };
            c.Root["tree"] = tree;
        });
        return db;
    }

    private static BTree<int, Node> Tree(Connection connection) => (BTree<int, Node>)connection.Root["tree"];

    /// <summary>Walks <paramref name="entries"/>, checking each label and releasing every <see cref="Every"/> entries; returns the keys met and the most objects loaded at a release.</summary>
    private static (List<int> Keys, int MostLoaded) Walk(Connection connection, IEnumerable<KeyValuePair<int, Node>> entries)
    {
        var keys = new List<int>();
        var mostLoaded = 0;
        foreach (var (key, node) in entries)
        {
            Assert.Equal("n" + key, node.Label);
            keys.Add(key);
            if (keys.Count % Every != 0) continue;
            mostLoaded = Math.Max(mostLoaded, connection.LoadedCount);
            Assert.True(connection.ReleaseUnchanged() > 0);
        }
        return (keys, mostLoaded);
    }

    [Fact]
    public void A_pass_that_releases_as_it_goes_reads_every_entry_once_in_order_and_holds_few_objects()
    {
        using var db = WithTree();
        using var reader = db.OpenConnection();
        reader.GhostSlack = 100;

        var (keys, mostLoaded) = Walk(reader, Tree(reader));
        Assert.Equal(Enumerable.Range(0, Count), keys);
        // The persons since the last release, and the buckets and nodes they lie in (a pass that does not release holds all 5,000 and more).
        Assert.InRange(mostLoaded, Every, Every + 100);
        reader.ReleaseUnchanged();
        // The ghosts let go of too: the identity map does not keep a ghost of each object met.
        Assert.InRange(reader.KnownCount, 0, 1_000);

        (keys, _) = Walk(reader, Tree(reader).Reverse());
        Assert.Equal(Enumerable.Range(0, Count).Reverse(), keys);
        (keys, _) = Walk(reader, Tree(reader).Range(1_234, 3_456));
        Assert.Equal(Enumerable.Range(1_234, 3_456 - 1_234 + 1), keys);
        reader.Commit();

        // Without releases the same pass holds every person.
        foreach (var (key, node) in Tree(reader)) Assert.Equal("n" + key, node.Label);
        Assert.True(reader.LoadedCount > Count, $"{reader.LoadedCount} loaded");
    }

    [Fact]
    public void A_release_reads_only_loaded_objects_however_many_ghosts_the_identity_map_holds()
    {
        using var db = TestDatabase.InMemory();
        db.Transact(c =>
        {
            var nodes = new PersistentList<Node>();
            for (var i = 0; i < 2_000; i++) nodes.Add(new Node { Label = "n" + i });
            c.Root["nodes"] = nodes;
        });
        using var reader = db.OpenConnection();
        // The list holds a ghost of each of the 2,000 nodes, all in the identity map.
        var nodes = (PersistentList<Node>)reader.Root["nodes"];
        var reads = reader.ReleaseReads;

        // Fifty releases, each after ten nodes were read.
        for (var i = 0; i < 500; i++)
        {
            Assert.Equal("n" + i, nodes[i].Label);
            if (i % 10 == 9) Assert.Equal(10, reader.ReleaseUnchanged());
        }

        // Each release meets the ten nodes it lets go of, and what stays loaded (the root, the list);
        // walking the ghosts too, each read the 2,000 nodes and more.
        Assert.InRange(reader.ReleaseReads - reads, 50 * 10, 50 * 15);
    }

    [Fact]
    public void A_set_and_a_list_are_enumerated_across_releases()
    {
        using var db = TestDatabase.InMemory();
        db.Transact(c =>
        {
            var set = new BTreeSet<int>();
            var list = new PersistentList<Node>();
            for (var i = 0; i < Count; i++)
            {
                set.Add(i);
                if (i < 300) list.Add(new Node { Label = "l" + i });
            }
            c.Root["set"] = set;
            c.Root["list"] = list;
        });
        using var reader = db.OpenConnection();
        var seen = new List<int>();
        foreach (var element in (BTreeSet<int>)reader.Root["set"])
        {
            seen.Add(element);
            if (seen.Count % Every == 0) reader.ReleaseUnchanged();
        }
        Assert.Equal(Enumerable.Range(0, Count), seen);

        var labels = new List<string?>();
        Node? first = null;
        foreach (var node in (PersistentList<Node>)reader.Root["list"])
        {
            first ??= node;
            labels.Add(node.Label);
            if (labels.Count % 50 == 0) reader.ReleaseUnchanged();
        }
        Assert.Equal(Enumerable.Range(0, 300).Select(i => "l" + i), labels);
        Assert.Equal(PersistentState.Ghost, first!.PersistentState);
        Assert.Equal("l0", first.Label);
    }

    [Fact]
    public void Objects_the_caller_keeps_stay_loaded_through_releases_and_the_rest_go()
    {
        using var db = TestDatabase.InMemory();
        db.Transact(c =>
        {
            var shared = new Node { Label = "shared" };
            var tree = new BTree<int, Node>();
            for (var i = 0; i < Count; i++) tree[i] = new Node { Label = "n" + i, Next = shared };
            c.Root["tree"] = tree;
            c.Root["shared"] = shared;
        });
        using var reader = db.OpenConnection();
        var shared = (Node)reader.Root["shared"];
        var count = 0;
        foreach (var (key, node) in Tree(reader))
        {
            Assert.Equal("shared", node.Next!.Label);
            if (++count % Every != 0) continue;
            reader.ReleaseUnchanged(keep: obj => ReferenceEquals(obj, shared));
            Assert.Equal(PersistentState.UpToDate, shared.PersistentState);
            Assert.Equal(PersistentState.Ghost, node.PersistentState);
        }
        Assert.Equal(Count, count);
        Assert.Equal(0, reader.ReleaseUnchanged(keep: _ => true));
        Assert.True(reader.ReleaseUnchanged() > 0);
        Assert.Equal(PersistentState.Ghost, shared.PersistentState);
    }

    [Fact]
    public void Changes_and_new_objects_stay_through_a_release_and_commit()
    {
        using var db = WithTree();
        using (var writer = db.OpenConnection())
        {
            var tree = Tree(writer);
            var changed = tree[10];
            changed.Label = "changed";
            var added = new Node { Label = "added" };
            tree[-1] = added;
            var read = tree[11];
            Assert.Equal("n11", read.Label);

            Assert.True(writer.ReleaseUnchanged() > 0);

            Assert.Equal(PersistentState.Ghost, read.PersistentState);
            Assert.Equal(PersistentState.Changed, changed.PersistentState);
            Assert.Equal("changed", changed.Label);
            Assert.Equal("added", added.Label);
            Assert.Same(changed, tree[10]);
            Assert.Equal("n11", read.Label);
            writer.Commit();
        }
        using var reader = db.OpenConnection();
        Assert.Equal("changed", Tree(reader)[10].Label);
        Assert.Equal("added", Tree(reader)[-1].Label);
        Assert.Equal(Count + 1, Tree(reader).Count);
    }

    [Fact]
    public void A_released_object_reloads_from_the_transactions_snapshot()
    {
        using var db = WithTree();
        using var reader = db.OpenConnection();
        var node = Tree(reader)[7];
        Assert.Equal("n7", node.Label);
        db.Transact(c => Tree(c)[7].Label = "newer");

        reader.ReleaseUnchanged();

        Assert.Equal(PersistentState.Ghost, node.PersistentState);
        Assert.Equal("n7", node.Label);
        reader.Abort();
        Assert.Equal("newer", node.Label);
    }

    /// <summary>In a reader that lets go of every ghost at once: reads a and b, releases them, and returns b and what it derived from a.</summary>
    private static (Node B, string Derived) ReadAThenRelease(Connection reader)
    {
        reader.GhostSlack = 0;
        var a = (Node)reader.Root["a"];
        var b = (Node)reader.Root["b"];
        var derived = "derived from " + a.Label;
        Assert.True(reader.ReleaseUnchanged() > 0);
        return (b, derived);
    }

    [Fact]
    public void A_read_before_a_release_still_conflicts_with_another_transactions_change_though_the_connection_let_go_of_the_object()
    {
        using var db = TestDatabase.WithTwoNodes(TestDatabase.InMemory());
        using var reader = db.OpenConnection();
        var (b, derived) = ReadAThenRelease(reader);
        Assert.Equal(0, reader.KnownCount - reader.LoadedCount);
        db.Transact(c => ((Node)c.Root["a"]).Label = "a1");
        b.Label = derived;

        var conflict = Assert.Throws<ConflictException>(reader.Commit);
        using var other = db.OpenConnection();
        Assert.Equal([((Node)other.Root["a"]).PersistentOid], conflict.Oids);
    }

    [Fact]
    public void Reads_after_a_release_that_nothing_else_changed_commit()
    {
        using var db = TestDatabase.WithTwoNodes(TestDatabase.InMemory());
        using var reader = db.OpenConnection();
        var (b, derived) = ReadAThenRelease(reader);
        b.Label = derived;
        reader.Commit();

        using var other = db.OpenConnection();
        Assert.Equal("derived from a0", ((Node)other.Root["b"]).Label);
    }

    [Fact]
    public void A_read_of_an_object_loaded_before_the_transaction_still_conflicts_after_a_release()
    {
        using var db = TestDatabase.WithTwoNodes(TestDatabase.InMemory());
        using var reader = db.OpenConnection();
        var (a, b) = ReadSetTests.LoadedBefore(reader);

        var derived = "derived from " + a.Label;
        reader.ReleaseUnchanged();
        Assert.Equal(PersistentState.Ghost, a.PersistentState);
        db.Transact(c => ((Node)c.Root["a"]).Label = "a1");
        b.Label = derived;

        var conflict = Assert.Throws<ConflictException>(reader.Commit);
        Assert.Equal([a.PersistentOid], conflict.Oids);
    }
}
