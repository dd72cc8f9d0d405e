namespace Persistence.Tests.Collections;

/// <summary>
/// A tree whose node records are damaged (an empty node on a path, a node that is its own child)
/// answers lookups and enumerations with <see cref="CorruptDatabaseException"/>, never a null
/// reference or a walk without end. This class alone uses BTree&lt;long, long&gt; in this process.
/// </summary>
public sealed class BTreeDamageTests
{
    private const int Keys = 20_000;

    /// <summary>A database with a tree of <see cref="Keys"/> entries whose root node, before the commit, <paramref name="damage"/> changed.</summary>
    private static Database DamagedTree(Action<BTreeNode<long, long>> damage)
    {
        var db = TestDatabase.InMemory();
        using var writer = db.OpenConnection();
        var tree = new BTree<long, long>();
        for (var key = 0L; key < Keys; key++) tree.Add(key, key);
        writer.Root["tree"] = tree;
        writer.Commit();
        var root = Assert.IsType<BTreeNode<long, long>>(tree.Core.Root);
        Assert.True(root._count >= 2);
        root.Change();
        damage(root);
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
