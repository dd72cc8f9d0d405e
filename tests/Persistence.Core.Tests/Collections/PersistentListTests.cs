using FsCheck;
using FsCheck.Fluent;
using Persistence.Tests.Models;

namespace Persistence.Tests.Collections;

/// <summary>PersistentList: every change stored, nothing written for calls that change nothing, List-like members.</summary>
public class PersistentListTests
{
    private static Dictionary<string, (Action<PersistentList<string>> Change, string[] Expected)> Changes() => new()
    {
        ["Add"] = (l => l.Add("e"), ["c", "a", "d", "b", "e"]),
        ["AddRange"] = (l => l.AddRange(["e", "f"]), ["c", "a", "d", "b", "e", "f"]),
        ["AddRange of itself"] = (l => l.AddRange(l), ["c", "a", "d", "b", "c", "a", "d", "b"]),
        ["Insert"] = (l => l.Insert(1, "e"), ["c", "e", "a", "d", "b"]),
        ["Insert at the end"] = (l => l.Insert(4, "e"), ["c", "a", "d", "b", "e"]),
        ["InsertRange"] = (l => l.InsertRange(0, new[] { "e", "f" }.Where(_ => true)), ["e", "f", "c", "a", "d", "b"]),
        ["Indexer"] = (l => l[2] = "x", ["c", "a", "x", "b"]),
        ["Remove"] = (l => Assert.True(l.Remove("d")), ["c", "a", "b"]),
        ["RemoveAt"] = (l => l.RemoveAt(0), ["a", "d", "b"]),
        ["RemoveRange"] = (l => l.RemoveRange(1, 2), ["c", "b"]),
        ["RemoveAll"] = (l => Assert.Equal(2, l.RemoveAll(x => x is "a" or "b")), ["c", "d"]),
        ["Clear"] = (l => l.Clear(), []),
        ["Sort"] = (l => l.Sort(), ["a", "b", "c", "d"]),
        ["Sort by comparison"] = (l => l.Sort((x, y) => string.CompareOrdinal(y, x)), ["d", "c", "b", "a"]),
        ["Reverse"] = (l => l.Reverse(), ["b", "d", "a", "c"]),
        ["Reverse a range"] = (l => l.Reverse(1, 2), ["c", "d", "a", "b"]),
    };

    private static Dictionary<string, Action<PersistentList<string>>> NoOps() => new()
    {
        ["Remove of an absent element"] = l => Assert.False(l.Remove("x")),
        ["RemoveAll matching nothing"] = l => Assert.Equal(0, l.RemoveAll(x => x.Length > 1)),
        ["RemoveRange of nothing"] = l => l.RemoveRange(2, 0),
        ["AddRange of nothing"] = l => l.AddRange([]),
        ["InsertRange of nothing"] = l => l.InsertRange(1, Enumerable.Empty<string>()),
        ["Reverse of one element"] = l => l.Reverse(1, 1),
        ["Sort of sorted elements"] = l => l.Sort((x, y) => 0),
        ["Indexer with the same string"] = l => l[0] = new string('c', 1),
        ["Insert at a bad index"] = l => Assert.Throws<ArgumentOutOfRangeException>(() => l.Insert(5, "x")),
        ["RemoveAt at a bad index"] = l => Assert.Throws<ArgumentOutOfRangeException>(() => l.RemoveAt(4)),
        ["Indexer at a bad index"] = l => Assert.Throws<ArgumentOutOfRangeException>(() => l[-1] = "x"),
        ["Indexer read at a bad index"] = l => Assert.Contains("less than the count, 4", Assert.Throws<ArgumentOutOfRangeException>(() => l[4]).Message),
        ["RemoveRange past the end"] = l => Assert.Throws<ArgumentException>(() => l.RemoveRange(3, 2)),
        ["Queries"] = l => Assert.Equal(
            (1, 2, "a", "a", 3, true, false, 4, "c,a"),
            (l.IndexOf("a"), l.IndexOf("d", 1), l.Find(x => x != "c"), l.FindLast(x => x is "a" or "c"), l.FindLastIndex(x => x == "b"),
             l.Exists(x => x == "b"), l.TrueForAll(x => x == "b"), l.Count, string.Join(",", l.GetRange(0, 2)))),
    };

    public static TheoryData<string> ChangeNames => [.. Changes().Keys];

    public static TheoryData<string> NoOpNames => [.. NoOps().Keys];

    private static CollectionFile StoreCadb()
    {
        var file = new CollectionFile();
        file.Store(new PersistentList<string> { "c", "a", "d", "b" });
        return file;
    }

    [Theory]
    [MemberData(nameof(ChangeNames))]
    public void Each_change_is_stored_and_seen_by_a_cold_database(string name)
    {
        using var file = StoreCadb();
        var (change, expected) = Changes()[name];
        file.Change(change);
        Assert.Equal(expected, file.Read<PersistentList<string>, string[]>(l => l.ToArray()));
    }

    [Theory]
    [MemberData(nameof(NoOpNames))]
    public void A_call_that_leaves_the_list_as_it_was_writes_nothing(string name)
    {
        using var file = StoreCadb();
        file.WritesNothing(NoOps()[name]);
        Assert.Equal(["c", "a", "d", "b"], file.Read<PersistentList<string>, string[]>(l => l.ToArray()));
    }

    [Fact]
    public void Reversing_elements_that_read_the_same_both_ways_writes_nothing()
    {
        using var file = new CollectionFile();
        file.Store(new PersistentList<string> { "x", "y", new string('x', 1) });
        file.WritesNothing<PersistentList<string>>(l => l.Reverse());
        file.Change<PersistentList<string>>(l => l.Reverse(0, 2));
        Assert.Equal(["y", "x", "x"], file.Read<PersistentList<string>, string[]>(l => l.ToArray()));
    }

    [Fact]
    public void Sorting_sorted_elements_leaves_even_equal_ones_where_they_are()
    {
        var list = new PersistentList<string> { "b1", "a1", "a2", "b2" };
        list.Sort((x, y) => x[0].CompareTo(y[0]));
        var order = list.ToArray();
        list.Sort((x, y) => x[0].CompareTo(y[0]));
        Assert.Equal(order, list.ToArray());
        Assert.Equal(["a", "a", "b", "b"], list.Select(x => x[..1]));
    }

    [Fact]
    public void Assigning_an_equal_value_that_stores_differently_is_a_change()
    {
        var utc = new DateTime(2024, 1, 2, 3, 4, 5, DateTimeKind.Utc);
        using var file = new CollectionFile();
        file.Store(new PersistentList<DateTime> { utc });
        file.WritesNothing<PersistentList<DateTime>>(_ => { });
        // Equal by DateTime.Equals (same ticks), but another kind: the stored bytes differ.
        file.Change<PersistentList<DateTime>>(l => l[0] = DateTime.SpecifyKind(utc, DateTimeKind.Unspecified));
        Assert.Equal(DateTimeKind.Unspecified, file.Read<PersistentList<DateTime>, DateTime>(l => l[0]).Kind);
    }

    [Fact]
    public void Assigning_the_same_integer_writes_nothing_and_another_one_is_stored()
    {
        using var file = new CollectionFile();
        file.Store(new PersistentList<int> { 1, 2 });
        file.WritesNothing<PersistentList<int>>(l => l[1] = 2);
        file.Change<PersistentList<int>>(l => l[1] = 3);
        Assert.Equal([1, 3], file.Read<PersistentList<int>, int[]>(l => l.ToArray()));
    }

    [Fact]
    public void Abort_undoes_every_change()
    {
        using var db = TestDatabase.InMemory();
        using var connection = db.OpenConnection();
        var list = new PersistentList<Guid?> { Guid.Empty, null };
        connection.Root["list"] = list;
        connection.Commit();

        list.Add(Guid.NewGuid());
        list.Reverse();
        list.RemoveAt(0);
        connection.Abort();

        Assert.Equal([Guid.Empty, null], list);
        using var other = db.OpenConnection();
        Assert.Equal([Guid.Empty, null], (PersistentList<Guid?>)other.Root["list"]);
    }

    [Fact]
    public void Values_of_several_types_round_trip()
    {
        using var db = TestDatabase.InMemory();
        var local = new DateTime(2023, 3, 4, 5, 6, 7, DateTimeKind.Local);
        var guid = Guid.NewGuid();
        Assert.Equal([3, 1, 3], TestDatabase.RoundTrip(db, new PersistentList<int> { 3, 1, 3 }));
        Assert.Equal(["b", null, ""], TestDatabase.RoundTrip(db, new PersistentList<string?> { "b", null, "" }));
        Assert.Equal([guid, Guid.Empty], TestDatabase.RoundTrip(db, new PersistentList<Guid> { guid, Guid.Empty }));
        Assert.Equal(DateTimeKind.Local, Assert.Single(TestDatabase.RoundTrip(db, new PersistentList<DateTime> { local })).Kind);
        Assert.Equal([null, 5L], TestDatabase.RoundTrip(db, new PersistentList<long?> { null, 5 }));
        Assert.Equal([new Money(1, "EUR"), null], TestDatabase.RoundTrip(db, new PersistentList<Money?> { new Money(1, "EUR"), null }));
    }

    [Fact]
    public void Persistent_elements_load_as_ghosts_and_are_found_by_identity_without_loading()
    {
        using var db = TestDatabase.InMemory();
        using (var writer = db.OpenConnection())
        {
            var shared = new Node { Label = "shared" };
            writer.Root["list"] = new PersistentList<Node> { new() { Label = "first" }, shared, shared };
            writer.Root["shared"] = shared;
            writer.Commit();
        }

        using var reader = db.OpenConnection();
        var list = (PersistentList<Node>)reader.Root["list"];
        var shared2 = (Node)reader.Root["shared"];
        Assert.Same(list[1], list[2]);
        Assert.Same(shared2, list[1]);
        Assert.Equal((1, 2), (list.IndexOf(shared2), list.LastIndexOf(shared2)));
        Assert.Equal(-1, list.IndexOf(new Node { Label = "shared" }));
        Assert.All(list, n => Assert.Equal(PersistentState.Ghost, n.PersistentState));

        Assert.Equal("first", list[0].Label);
        Assert.Equal(PersistentState.UpToDate, list[0].PersistentState);
        Assert.Equal(PersistentState.Ghost, list[1].PersistentState);
    }

    [Fact]
    public void RemoveAll_asks_the_predicate_once_per_element_in_order()
    {
        var list = new PersistentList<int> { 1, 2, 3, 4, 5, 6 };
        var asked = new List<int>();
        Assert.Equal(3, list.RemoveAll(x =>
        {
            asked.Add(x);
            return x % 2 == 0;
        }));
        Assert.Equal([1, 2, 3, 4, 5, 6], asked);
        Assert.Equal([1, 3, 5], list);
    }

    [Fact]
    public void Changing_the_list_while_enumerating_it_throws()
    {
        var list = new PersistentList<int> { 1, 2, 3 };
        Assert.Throws<InvalidOperationException>(() =>
        {
            foreach (var item in list) list.Add(item);
        });
        Assert.Throws<InvalidOperationException>(() =>
        {
            foreach (var item in list) list[0] = item + 1;
        });
    }

    [Fact]
    public void A_list_reloaded_by_an_abort_while_enumerated_throws_instead_of_showing_stale_elements()
    {
        using var db = TestDatabase.InMemory();
        using var connection = db.OpenConnection();
        var list = new PersistentList<int> { 1, 2 };
        connection.Root["list"] = list;
        connection.Commit();
        list.Add(3);

        using var enumerator = list.GetEnumerator();
        Assert.True(enumerator.MoveNext());
        connection.Abort();
        Assert.Throws<InvalidOperationException>(() => enumerator.MoveNext());
        Assert.Equal([1, 2], list);
    }

    [Fact]
    public void Random_edits_match_List_and_write_exactly_when_the_elements_change() =>
        Prop.ForAll<int[], int, byte>((initial, a, operation) =>
        {
            var b = a >> 12;
            int[] start = [.. initial.Select(x => x & 7)];
            var expected = new List<int>(start);
            using var db = TestDatabase.InMemory();
            using (var writer = db.OpenConnection())
            {
                writer.Root["list"] = new PersistentList<int>(start);
                writer.Commit();
            }
            using var connection = db.OpenConnection();
            var list = (PersistentList<int>)connection.Root["list"];
            var answer = Apply(list, expected, a, b, operation % 9);
            var wrote = connection.HasChanges;
            connection.Commit();

            using var reader = db.OpenConnection();
            var stored = (PersistentList<int>)reader.Root["list"];
            return answer && stored.SequenceEqual(expected) && wrote == !expected.SequenceEqual(start);
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(200));

    /// <summary>Applies one edit to both lists; returns whether they agreed on its result.</summary>
    private static bool Apply(PersistentList<int> list, List<int> expected, int a, int b, int operation)
    {
        var count = expected.Count;
        var index = count == 0 ? 0 : (int)((uint)a % (uint)count);
        var length = count - index == 0 ? 0 : (int)((uint)b % (uint)(count - index + 1));
        switch (operation)
        {
            case 0: return list.Remove(a & 7) == expected.Remove(a & 7);
            case 1: return list.RemoveAll(x => x == (a & 7)) == expected.RemoveAll(x => x == (a & 7));
            case 2: list.Sort(); expected.Sort(); return true;
            case 3: list.Reverse(index, length); expected.Reverse(index, length); return true;
            case 4: list.RemoveRange(index, length); expected.RemoveRange(index, length); return true;
            case 5: list.AddRange(Enumerable.Repeat(b & 7, length)); expected.AddRange(Enumerable.Repeat(b & 7, length)); return true;
            case 6:
                if (count == 0) return true;
                list[index] = b & 7;
                expected[index] = b & 7;
                return true;
            case 7: return list.IndexOf(a & 7) == expected.IndexOf(a & 7) && list.LastIndexOf(a & 7) == expected.LastIndexOf(a & 7);
            default: return list.FindIndex(x => x > (a & 7)) == expected.FindIndex(x => x > (a & 7));
        }
    }
}
