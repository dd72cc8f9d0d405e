using FsCheck;
using FsCheck.Fluent;
using Persistence.Serialization;
using Persistence.Storage;
using Persistence.Tests.Models;

namespace Persistence.Tests.Collections;

/// <summary>PersistentSet: every change stored, nothing written for calls that change nothing, set algebra as HashSet's.</summary>
public class PersistentSetTests
{
    private static Dictionary<string, (Action<PersistentSet<string>> Change, string[] Expected)> Changes() => new()
    {
        ["Add"] = (s => Assert.True(s.Add("d")), ["a", "b", "c", "d"]),
        ["ICollection.Add"] = (s => ((ICollection<string>)s).Add("d"), ["a", "b", "c", "d"]),
        ["Remove"] = (s => Assert.True(s.Remove("b")), ["a", "c"]),
        ["RemoveWhere"] = (s => Assert.Equal(2, s.RemoveWhere(x => x != "b")), ["b"]),
        ["Clear"] = (s => s.Clear(), []),
        ["UnionWith"] = (s => s.UnionWith(["c", "d", "e", "d"]), ["a", "b", "c", "d", "e"]),
        ["IntersectWith"] = (s => s.IntersectWith(["c", "a", "x"]), ["a", "c"]),
        ["ExceptWith"] = (s => s.ExceptWith(["c", "x", "a"]), ["b"]),
        ["SymmetricExceptWith"] = (s => s.SymmetricExceptWith(["c", "x", "x"]), ["a", "b", "x"]),
        ["ExceptWith itself"] = (s => s.ExceptWith(s), []),
    };

    private static Dictionary<string, Action<PersistentSet<string>>> NoOps() => new()
    {
        ["Add of a present element"] = s => Assert.False(s.Add("a")),
        ["Remove of an absent element"] = s => Assert.False(s.Remove("x")),
        ["Remove of an element that differs in case"] = s => Assert.False(s.Remove("A")),
        ["RemoveWhere matching nothing"] = s => Assert.Equal(0, s.RemoveWhere(x => x.Length > 1)),
        ["UnionWith a subset"] = s => s.UnionWith(["c", "a", "a"]),
        ["UnionWith itself"] = s => s.UnionWith(s),
        ["IntersectWith a superset"] = s => s.IntersectWith(["a", "b", "c", "d"]),
        ["IntersectWith itself"] = s => s.IntersectWith(s),
        ["ExceptWith a disjoint set"] = s => s.ExceptWith(["x", "y"]),
        ["SymmetricExceptWith nothing"] = s => s.SymmetricExceptWith([]),
        ["Queries"] = s => Assert.True(s.Contains("a") && s.IsSubsetOf(["a", "b", "c"]) && s.Overlaps(["b"]) && s.SetEquals(s) && s.Count == 3),
    };

    public static TheoryData<string> ChangeNames => [.. Changes().Keys];

    public static TheoryData<string> NoOpNames => [.. NoOps().Keys];

    private static CollectionFile StoreAbc()
    {
        var file = new CollectionFile();
        file.Store(new PersistentSet<string> { "a", "b", "c" });
        return file;
    }

    private static string[] Sorted(PersistentSet<string> set) => [.. set.Order(StringComparer.Ordinal)];

    [Theory]
    [MemberData(nameof(ChangeNames))]
    public void Each_change_is_stored_and_seen_by_a_cold_database(string name)
    {
        using var file = StoreAbc();
        var (change, expected) = Changes()[name];
        file.Change(change);
        Assert.Equal(expected, file.Read<PersistentSet<string>, string[]>(Sorted));
    }

    [Theory]
    [MemberData(nameof(NoOpNames))]
    public void A_call_that_leaves_the_set_as_it_was_writes_nothing(string name)
    {
        using var file = StoreAbc();
        file.WritesNothing(NoOps()[name]);
        Assert.Equal(["a", "b", "c"], file.Read<PersistentSet<string>, string[]>(Sorted));
    }

    [Fact]
    public void Clearing_an_empty_set_writes_nothing()
    {
        using var file = new CollectionFile();
        file.Store(new PersistentSet<string>());
        file.WritesNothing<PersistentSet<string>>(s => s.Clear());
    }

    [Fact]
    public void Abort_undoes_every_change()
    {
        using var db = TestDatabase.InMemory();
        using var connection = db.OpenConnection();
        var set = new PersistentSet<int> { 1, 2, 3 };
        connection.Root["set"] = set;
        connection.Commit();

        set.Add(4);
        set.ExceptWith([1, 2]);
        Assert.Equal([3, 4], set.Order());
        connection.Abort();

        Assert.Equal([1, 2, 3], set.Order());
        using var other = db.OpenConnection();
        Assert.Equal([1, 2, 3], ((PersistentSet<int>)other.Root["set"]).Order());
    }

    [Fact]
    public void Strings_compare_ordinally()
    {
        var set = new PersistentSet<string> { "a", "A", "e\u0301", "\u00e9" };
        Assert.Equal(4, set.Count);
        Assert.Equal((true, true, false), (set.Contains("A"), set.Contains("\u00e9"), set.Contains("\u0065\u0301\u0301")));
    }

    [Fact]
    public void Values_of_several_types_round_trip()
    {
        using var db = TestDatabase.InMemory();
        var guids = new[] { Guid.NewGuid(), Guid.Empty };
        var utc = new DateTime(2024, 5, 6, 7, 8, 9, DateTimeKind.Utc);
        var local = new DateTime(2024, 5, 6, 7, 8, 10, DateTimeKind.Local);

        Assert.Equal([int.MinValue, -1, 0, int.MaxValue], TestDatabase.RoundTrip(db, new PersistentSet<int> { 0, -1, int.MaxValue, int.MinValue }).Order());
        Assert.Equal(guids.Order(), TestDatabase.RoundTrip(db, new PersistentSet<Guid>(guids)).Order());
        var dates = TestDatabase.RoundTrip(db, new PersistentSet<DateTime> { utc, local }).Order().ToArray();
        Assert.Equal([(utc, DateTimeKind.Utc), (local, DateTimeKind.Local)], dates.Select(d => (d, d.Kind)));
        Assert.Equal([null, 1, 2], TestDatabase.RoundTrip(db, new PersistentSet<int?> { 2, null, 1 }).Order());
        Assert.Equal([null, "", "x"], TestDatabase.RoundTrip(db, new PersistentSet<string?> { "x", null, "" }).Order(StringComparer.Ordinal));
        Assert.Equal([Tier.Basic, Tier.Gold], TestDatabase.RoundTrip(db, new PersistentSet<Tier> { Tier.Gold, Tier.Basic }).Order());
        Assert.Equal([new Address("a", 1), new Address("b", 2)], TestDatabase.RoundTrip(db, new PersistentSet<Address> { new("b", 2), new("a", 1), new("a", 1) }).OrderBy(a => a.Street));
    }

    [Fact]
    public void Persistent_elements_load_as_ghosts_compare_by_identity_and_load_when_touched()
    {
        using var db = TestDatabase.InMemory();
        using (var writer = db.OpenConnection())
        {
            writer.Root["set"] = new PersistentSet<Node> { new() { Label = "x" }, new() { Label = "y" } };
            writer.Root["x"] = writer.Root["set"] is PersistentSet<Node> s ? s.First(n => n.Label == "x") : null!;
            writer.Commit();
        }

        using var reader = db.OpenConnection();
        var set = (PersistentSet<Node>)reader.Root["set"];
        Assert.All(set, n => Assert.Equal(PersistentState.Ghost, n.PersistentState));
        var x = (Node)reader.Root["x"];
        Assert.Equal((true, false), (set.Contains(x), set.Contains(new Node { Label = "x" })));
        Assert.False(set.Add(x));
        Assert.All(set, n => Assert.Equal(PersistentState.Ghost, n.PersistentState));
        Assert.False(reader.HasChanges);

        Assert.Equal(["x", "y"], set.Select(n => n.Label).Order());
        Assert.All(set, n => Assert.Equal(PersistentState.UpToDate, n.PersistentState));
    }

    [Fact]
    public void Persistent_elements_compare_by_identity_even_when_their_class_defines_equality()
    {
        using var db = TestDatabase.InMemory();
        using (var writer = db.OpenConnection())
        {
            var set = new PersistentSet<Label> { new() { Text = "same" }, new() { Text = "same" } };
            Assert.Equal(2, set.Count);
            writer.Root["set"] = set;
            writer.Commit();
        }

        using var reader = db.OpenConnection();
        var loaded = (PersistentSet<Label>)reader.Root["set"];
        var first = loaded.First();
        Assert.Equal((2, true, false), (loaded.Count, loaded.Contains(first), loaded.Contains(new Label { Text = "same" })));
        // Hashing and comparing never read Text, so the elements are still ghosts.
        Assert.All(loaded, l => Assert.Equal(PersistentState.Ghost, l.PersistentState));
    }

    [Fact]
    public void Adding_new_persistent_elements_stores_them()
    {
        using var file = new CollectionFile();
        file.Store(new PersistentSet<Node>());
        file.Change<PersistentSet<Node>>(s => s.UnionWith([new Node { Label = "a" }, new Node { Label = "b" }]));
        Assert.Equal(["a", "b"], file.Read<PersistentSet<Node>, string[]>(s => [.. s.Select(n => n.Label!).Order()]));
    }

    [Fact]
    public void Changing_the_set_while_enumerating_it_throws()
    {
        var set = new PersistentSet<int> { 1, 2, 3 };
        Assert.Throws<InvalidOperationException>(() =>
        {
            foreach (var item in set) set.Add(item + 10);
        });
    }

    [Fact]
    public void A_set_reloaded_by_an_abort_while_enumerated_throws_instead_of_showing_stale_elements()
    {
        using var db = TestDatabase.InMemory();
        using var connection = db.OpenConnection();
        var set = new PersistentSet<int> { 1, 2, 3 };
        connection.Root["set"] = set;
        connection.Commit();
        set.Remove(1);

        using var enumerator = set.GetEnumerator();
        Assert.True(enumerator.MoveNext());
        connection.Abort();
        Assert.Throws<InvalidOperationException>(() => enumerator.MoveNext());
        Assert.Equal(3, set.Count);
    }

    [Fact]
    public void A_record_that_holds_an_element_twice_is_reported_as_corruption()
    {
        var storage = new TamperingStorage(new MemoryStorage());
        using var db = Database.Open(storage, TestDatabase.Cold());
        Oid oid;
        using (var writer = db.OpenConnection())
        {
            var set = new PersistentSet<int> { 7, 8 };
            writer.Root["set"] = set;
            writer.Commit();
            oid = set.PersistentOid;
        }
        var record = storage.Load(oid)!.Value.Data.ToArray();
        var state = record.AsSpan(RecordFormat.StateOffset(record));
        Assert.Equal(2 + 1, state[0]); // the count plus one, in one byte
        // The same element twice: the second becomes a copy of the first.
        state.Slice(1, 4).CopyTo(state.Slice(5, 4));
        storage.Replacements[oid] = record;

        using var reader = db.OpenConnection();
        var error = Assert.Throws<CorruptDatabaseException>(() => reader.Get<PersistentSet<int>>(oid).Count);
        Assert.Contains("twice", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Set_algebra_matches_HashSet_and_writes_exactly_when_the_set_changes() =>
        Prop.ForAll<int[], int[], byte>((initial, other, operation) =>
        {
            int[] start = [.. initial.Select(x => x & 15)];
            int[] argument = [.. other.Select(x => x & 15)];
            var expected = new HashSet<int>(start);
            var op = operation % 12;

            using var db = TestDatabase.InMemory();
            using (var writer = db.OpenConnection())
            {
                writer.Root["set"] = new PersistentSet<int>(start);
                writer.Commit();
            }
            using var connection = db.OpenConnection();
            var set = (PersistentSet<int>)connection.Root["set"];
            var answer = Apply(set, argument, op);
            var expectedAnswer = Apply(expected, argument, op);
            var wrote = connection.HasChanges;
            connection.Commit();

            using var reader = db.OpenConnection();
            var stored = (PersistentSet<int>)reader.Root["set"];
            return answer == expectedAnswer &&
                   stored.Order().SequenceEqual(expected.Order()) &&
                   wrote == !expected.SetEquals(start);
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(300));

    /// <summary>One of twelve set operations: the six changes return false, the six questions their answer.</summary>
    private static bool Apply(ISet<int> set, int[] other, int operation)
    {
        switch (operation)
        {
            case 0: set.UnionWith(other); return false;
            case 1: set.IntersectWith(other); return false;
            case 2: set.ExceptWith(other); return false;
            case 3: set.SymmetricExceptWith(other); return false;
            case 4: return other.Length > 0 && set.Add(other[0]);
            case 5: return other.Length > 0 && set.Remove(other[0]);
            case 6: return set.IsSubsetOf(other);
            case 7: return set.IsProperSubsetOf(other);
            case 8: return set.IsSupersetOf(other);
            case 9: return set.IsProperSupersetOf(other);
            case 10: return set.Overlaps(other);
            default: return set.SetEquals(other);
        }
    }
}

/// <summary>A persistent class with value equality, which persistent collections must not use.</summary>
[Persistent]
public partial class Label
{
    public partial string? Text { get; set; }

    public override bool Equals(object? obj) => obj is Label other && other.Text == Text;

    public override int GetHashCode() => Text?.GetHashCode(StringComparison.Ordinal) ?? 0;
}
