using FsCheck;
using FsCheck.Fluent;

namespace Persistence.Tests.Collections;

/// <summary>
/// Random sequences of inserts, removals, lookups, ranges, commits, aborts and reopenings of the
/// database file, applied to a BTree and to a SortedDictionary: they must always agree. This class
/// alone uses BTree&lt;int, string&gt;, with buckets of 4 entries and nodes of 4 children.
/// </summary>
public sealed class BTreeModelTests : IDisposable
{
    private readonly TempFolder _folder = new();
    private int _runs;

    static BTreeModelTests() => BTreeTypes<int, string>.SetCapacities(4, 4);

    public void Dispose() => _folder.Dispose();

    [Fact]
    public void A_tree_agrees_with_a_sorted_dictionary_through_commits_aborts_and_reopenings() =>
        Prop.ForAll(Gen.Choose(0, int.MaxValue - 1).ArrayOf().ToArbitrary(), operations => Run(operations))
            .Check(Config.QuickThrowOnFailure.WithMaxTest(60).WithEndSize(150));

    private bool Run(int[] operations)
    {
        var path = _folder.File($"model{++_runs}.db");
        var db = Database.Open(path);
        var connection = db.OpenConnection();
        try
        {
            var tree = new BTree<int, string>();
            connection.Root["tree"] = tree;
            connection.Commit();
            var model = new SortedDictionary<int, string>();
            var committed = new SortedDictionary<int, string>();
            var step = 0;
            foreach (var operation in operations.Take(150))
            {
                step++;
                var code = operation % 24;
                var key = (operation >> 5) % 96;
                var other = (operation >> 13) % 96;
                switch (code)
                {
                    case < 8:
                        tree[key] = "v" + step;
                        model[key] = "v" + step;
                        break;
                    case < 10:
                        Assert.Equal(model.TryAdd(key, "a" + step), tree.TryAdd(key, "a" + step));
                        break;
                    case < 15:
                        Assert.Equal(model.Remove(key, out var removed), tree.Remove(key, out var got));
                        Assert.Equal(removed, got);
                        break;
                    case < 17:
                        Assert.Equal(model.TryGetValue(key, out var expected), tree.TryGetValue(key, out var actual));
                        Assert.Equal(expected, actual);
                        Assert.Equal(model.ContainsKey(other), tree.ContainsKey(other));
                        break;
                    case 17:
                    {
                        var (low, high) = (Math.Min(key, other), Math.Max(key, other));
                        var inRange = model.Where(e => e.Key >= low && e.Key <= high).ToList();
                        Assert.Equal(inRange, tree.Range(low, high).ToList());
                        inRange.Reverse();
                        Assert.Equal(inRange, tree.Range(low, high).Reverse().ToList());
                        Assert.Equal(model.Where(e => e.Key >= key).ToList(), tree.RangeFrom(key).ToList());
                        break;
                    }
                    case 18:
                        Assert.Equal(model.Count > 0, tree.TryGetFirst(out var first));
                        Assert.Equal(model.Count > 0, tree.TryGetLast(out var last));
                        if (model.Count > 0)
                        {
                            Assert.Equal(model.First(), first);
                            Assert.Equal(model.Last(), last);
                        }
                        break;
                    case < 21:
                        connection.Commit();
                        committed = new SortedDictionary<int, string>(model);
                        break;
                    case < 23:
                        connection.Abort();
                        model = new SortedDictionary<int, string>(committed);
                        tree = (BTree<int, string>)connection.Root["tree"];
                        break;
                    default:
                        connection.Dispose();
                        db.Dispose();
                        db = Database.Open(path);
                        connection = db.OpenConnection();
                        model = new SortedDictionary<int, string>(committed);
                        tree = (BTree<int, string>)connection.Root["tree"];
                        break;
                }
                Assert.Equal(model.Count, tree.Count);
            }
            Assert.Equal(model.ToList(), tree.ToList());
            Assert.Equal(model.Reverse().ToList(), tree.Reverse().ToList());
            tree.Core.Verify();
            return true;
        }
        finally
        {
            connection.Dispose();
            db.Dispose();
        }
    }
}
