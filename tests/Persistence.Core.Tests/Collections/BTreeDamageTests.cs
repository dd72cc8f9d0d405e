using Persistence.Tests.Storage;

namespace Persistence.Tests.Collections;

/// <summary>
/// A tree whose records are damaged (an empty node on a path, a node that is its own child, keys or
/// separators out of order, a length counter that disagrees with the buckets) answers lookups,
/// enumerations and copies with <see cref="CorruptDatabaseException"/>, never a null reference, a walk
/// without end, a silent miss or an index out of range. This class alone uses BTree&lt;long, long&gt; in this process.
/// </summary>
public sealed class BTreeDamageTests
{
    private const int Keys = 20_000;

    /// <summary>A database with a tree of <see cref="Keys"/> entries whose root node, before the commit, <paramref name="damage"/> changed.</summary>
    private static Database DamagedTree(Action<BTreeNode<long, long>> damage) => DamagedTree(tree =>
    {
        var root = Assert.IsType<BTreeNode<long, long>>(tree.Core.Root);
        Assert.True(root._count >= 2);
        root.Change();
        damage(root);
    });

    /// <summary>A database with a tree of <see cref="Keys"/> entries that <paramref name="damage"/> changed behind its back before the commit.</summary>
    private static Database DamagedTree(Action<BTree<long, long>> damage)
    {
        var db = TestDatabase.InMemory();
        using var writer = db.OpenConnection();
        var tree = new BTree<long, long>();
        for (var key = 0L; key < Keys; key++) tree.Add(key, key);
        writer.Root["tree"] = tree;
        writer.Commit();
        damage(tree);
        writer.Commit();
        return db;
    }

    private static void EveryReadIsRefusedAsDamage(Database db, string message)
    {
        using var reader = db.OpenConnection();
        var tree = (BTree<long, long>)reader.Root["tree"];
        foreach (var read in new Action[] { () => tree.ContainsKey(Keys - 1), () => tree.Add(Keys, 0), () => tree.ToList() })
        {
            var error = Assert.Throws<CorruptDatabaseException>(read);
            Assert.Contains(message, error.Message);
        }
    }

    [Fact]
    public void An_empty_node_on_the_way_down_is_reported_as_damage()
    {
        using var db = DamagedTree(root => root._count = 0);
        EveryReadIsRefusedAsDamage(db, "has no child there");
    }

    [Fact]
    public void A_node_that_is_its_own_child_is_reported_as_damage_instead_of_walking_forever()
    {
        using var db = DamagedTree(root =>
        {
            for (var i = 0; i < root._count; i++) root._children[i] = root;
        });
        EveryReadIsRefusedAsDamage(db, "levels deep");
    }

    [Fact]
    public void Separators_of_a_node_out_of_order_are_reported_as_damage()
    {
        using var db = DamagedTree(tree =>
        {
            // The last node above the buckets, which each read below passes.
            var node = Assert.IsType<BTreeNode<long, long>>(tree.Core.Root);
            while (node._children[node._count - 1] is BTreeNode<long, long> child) node = child;
            Assert.True(node._count >= 3);
            node.Change();
            (node._keys[1], node._keys[2]) = (node._keys[2], node._keys[1]);
        });
        EveryReadIsRefusedAsDamage(db, "out of order");
    }

    [Fact]
    public void Keys_of_a_bucket_out_of_order_are_reported_as_damage_on_every_read_of_it()
    {
        using var db = DamagedTree(tree =>
        {
            // The last bucket, which each read below reaches.
            var bucket = tree.Core.BucketOf(Keys - 1);
            Assert.True(bucket._count >= 3);
            bucket.Change();
            (bucket._keys[0], bucket._keys[1]) = (bucket._keys[1], bucket._keys[0]);
        });
        EveryReadIsRefusedAsDamage(db, "out of order");
        // Still refused when asked again: the damaged bucket is not taken as checked.
        using var reader = db.OpenConnection();
        var tree = (BTree<long, long>)reader.Root["tree"];
        for (var i = 0; i < 2; i++) Assert.Throws<CorruptDatabaseException>(() => tree.TryGetValue(Keys - 1, out _));
    }

    [Fact]
    public void A_length_counter_that_disagrees_with_the_buckets_is_reported_as_damage_by_a_copy()
    {
        foreach (var wrong in new[] { -3L, 3L })
        {
            using var db = DamagedTree(tree => tree.Core.Length!.Add(wrong));
            using var reader = db.OpenConnection();
            var tree = (BTree<long, long>)reader.Root["tree"];
            Assert.Equal(Keys + wrong, tree.Count);
            // ToList and ToArray copy into room made for Count entries.
            foreach (var copy in new Action[] { () => tree.ToList(), () => tree.ToArray(), () => tree.Keys.ToList() })
            {
                var error = Assert.Throws<CorruptDatabaseException>(copy);
                Assert.Contains($"says it holds {Keys + wrong} entries, but its buckets hold {(wrong < 0 ? "more" : "fewer")}", error.Message);
            }
        }
    }

    [Fact]
    public void A_length_counter_no_tree_of_its_depth_can_reach_is_reported_as_damage_naming_the_tree()
    {
        using var directory = new TempDirectory();
        var path = directory.File("tree.db");
        Oid treeOid;
        using (var db = Database.Open(path))
        using (var writer = db.OpenConnection())
        {
            var tree = new BTree<long, long>();
            for (var key = 0L; key < Keys; key++) tree.Add(key, key);
            writer.Root["tree"] = tree;
            writer.Commit();
            treeOid = tree.PersistentOid;
        }
        // A counter changed in its record (with the checksums made to hold again): below zero, or beyond
        // what a tree of two levels holds.
        foreach (var damaged in new[] { -3L, long.MinValue, int.MaxValue + 1L, 1L << 56 })
        {
            using (var db = Database.Open(path))
            using (var writer = db.OpenConnection())
            {
                var length = ((BTree<long, long>)writer.Root["tree"]).Core.Length!;
                length.Add(damaged - length.ExactValue);
                writer.Commit();
            }
            using (var db = Database.Open(path, new DatabaseOptions { ReadOnly = true }))
            using (var reader = db.OpenConnection())
            {
                var tree = (BTree<long, long>)reader.Root["tree"];
                foreach (var count in new Func<long>[] { () => tree.Count, () => tree.LongCount })
                {
                    var error = Assert.Throws<CorruptDatabaseException>(() => count());
                    Assert.Equal(treeOid, error.Oid);
                    Assert.Contains($"says it holds {damaged} entries", error.Message);
                }
                Assert.Equal(Keys - 1, tree[Keys - 1]);
            }
        }
    }

    [Fact]
    public void A_set_less_itself_is_empty_as_a_HashSet_is()
    {
        var set = new BTreeSet<long> { 1, 2, 3 };
        set.ExceptWith(set);
        Assert.Empty(set);
        var hash = new HashSet<long> { 1, 2, 3 };
        hash.ExceptWith(hash);
        Assert.Equal(hash.Count, set.Count);
    }
}
