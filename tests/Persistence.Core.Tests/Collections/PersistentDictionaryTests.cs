using Persistence.Tests.Models;

namespace Persistence.Tests.Collections;

/// <summary>PersistentDictionary: every change stored, nothing written for calls that change nothing, live key and value views.</summary>
public class PersistentDictionaryTests
{
    private static Dictionary<string, (Action<PersistentDictionary<string, int>> Change, string Expected)> Changes() => new()
    {
        ["Indexer, new key"] = (d => d["c"] = 3, "a=1,b=2,c=3"),
        ["Indexer, other value"] = (d => d["a"] = 10, "a=10,b=2"),
        ["Add"] = (d => d.Add("c", 3), "a=1,b=2,c=3"),
        ["ICollection.Add"] = (d => ((ICollection<KeyValuePair<string, int>>)d).Add(new("c", 3)), "a=1,b=2,c=3"),
        ["TryAdd"] = (d => Assert.True(d.TryAdd("c", 3)), "a=1,b=2,c=3"),
        ["GetOrAdd of a new key"] = (d => Assert.Equal(3, d.GetOrAdd("c", () => 3)), "a=1,b=2,c=3"),
        ["GetOrAdd of a new key, made of the key"] = (d => Assert.Equal(4, d.GetOrAdd("four", key => key.Length)), "a=1,b=2,four=4"),
        ["GetOrAdd of a new key, made of the key and an argument"] = (d => Assert.Equal(7, d.GetOrAdd("c", static (key, plus) => key.Length + plus, 6)), "a=1,b=2,c=7"),
        ["Remove"] = (d => Assert.True(d.Remove("a")), "b=2"),
        ["Remove with the value"] = (d => Assert.True(d.Remove("b", out var value) && value == 2), "a=1"),
        ["ICollection.Remove"] = (d => Assert.True(((ICollection<KeyValuePair<string, int>>)d).Remove(new("b", 2))), "a=1"),
        ["Clear"] = (d => d.Clear(), ""),
    };

    private static Dictionary<string, Action<PersistentDictionary<string, int>>> NoOps() => new()
    {
        ["Indexer, same value"] = d => d["a"] = 1,
        ["TryAdd of a present key"] = d => Assert.False(d.TryAdd("a", 5)),
        ["Add of a present key"] = d => Assert.Throws<ArgumentException>(() => d.Add("a", 5)),
        ["GetOrAdd of a present key"] = d => Assert.Equal(2, d.GetOrAdd("b", () => 5)),
        ["GetOrAdd of a present key, made of the key"] = d => Assert.Equal(2, d.GetOrAdd("b", key => 5)),
        ["Remove of an absent key"] = d => Assert.False(d.Remove("x", out _)),
        ["Remove of a key that differs in case"] = d => Assert.False(d.Remove("A")),
        ["ICollection.Remove of another value"] = d => Assert.False(((ICollection<KeyValuePair<string, int>>)d).Remove(new("a", 2))),
        ["Queries"] = d => Assert.Equal(
            (2, true, true, false, 0, 7, 1),
            (d.Count, d.ContainsKey("a"), d.ContainsValue(2), d.Keys.Contains("x"), d.GetValueOrDefault("x"), d.GetValueOrDefault("x", 7), d["a"])),
    };

    public static TheoryData<string> ChangeNames => [.. Changes().Keys];

    public static TheoryData<string> NoOpNames => [.. NoOps().Keys];

    private static string Show(PersistentDictionary<string, int> dictionary) =>
        string.Join(",", dictionary.OrderBy(e => e.Key, StringComparer.Ordinal).Select(e => $"{e.Key}={e.Value}"));

    private static CollectionFile StoreAb()
    {
        var file = new CollectionFile();
        file.Store(new PersistentDictionary<string, int> { ["a"] = 1, ["b"] = 2 });
        return file;
    }

    [Theory]
    [MemberData(nameof(ChangeNames))]
    public void Each_change_is_stored_and_seen_by_a_cold_database(string name)
    {
        using var file = StoreAb();
        var (change, expected) = Changes()[name];
        file.Change(change);
        Assert.Equal(expected, file.Read<PersistentDictionary<string, int>, string>(Show));
    }

    [Theory]
    [MemberData(nameof(NoOpNames))]
    public void A_call_that_leaves_the_dictionary_as_it_was_writes_nothing(string name)
    {
        using var file = StoreAb();
        file.WritesNothing(NoOps()[name]);
        Assert.Equal("a=1,b=2", file.Read<PersistentDictionary<string, int>, string>(Show));
    }

    [Fact]
    public void Keys_that_are_not_valid_text_are_refused_at_commit_instead_of_merging_into_one()
    {
        // Two lone surrogates would both be stored as U+FFFD: one key twice, a record no load accepts.
        using var db = TestDatabase.InMemory();
        using var connection = db.OpenConnection();
        connection.Root["d"] = new PersistentDictionary<string, int> { ["\ud800"] = 1, ["\udbff"] = 2 };
        var error = Assert.Throws<ArgumentException>(connection.Commit);
        Assert.Contains("lone surrogate", error.Message);
        // It says whose value it is.
        Assert.Contains("class 'Persistence.PersistentDictionary<str,i32>'", error.Message);
        connection.Abort();
        Assert.False(connection.Root.ContainsKey("d"));

        connection.Root["d"] = new PersistentDictionary<string, int> { ["\ud83d\ude00"] = 1 };
        connection.Commit();
        using var reader = db.OpenConnection();
        Assert.Equal(1, ((PersistentDictionary<string, int>)reader.Root["d"])["😀"]);
    }

    [Fact]
    public void Assigning_an_equal_string_writes_nothing_and_another_string_is_stored()
    {
        using var file = new CollectionFile();
        file.Store(new PersistentDictionary<string, string?> { ["k"] = "value", ["n"] = null });
        file.WritesNothing<PersistentDictionary<string, string?>>(d =>
        {
            d["k"] = string.Concat("val", "ue");
            d["n"] = null;
        });
        file.Change<PersistentDictionary<string, string?>>(d => d["n"] = "");
        Assert.Equal("", file.Read<PersistentDictionary<string, string?>, string?>(d => d["n"]));
    }

    [Fact]
    public void Abort_undoes_every_change()
    {
        using var db = TestDatabase.InMemory();
        using var connection = db.OpenConnection();
        var dictionary = new PersistentDictionary<string, int> { ["a"] = 1 };
        connection.Root["d"] = dictionary;
        connection.Commit();

        dictionary["a"] = 2;
        dictionary.Add("b", 3);
        connection.Abort();

        Assert.Equal("a=1", Show(dictionary));
        using var other = db.OpenConnection();
        Assert.Equal("a=1", Show((PersistentDictionary<string, int>)other.Root["d"]));
    }

    [Fact]
    public void Keys_and_values_are_read_only_views_that_follow_the_dictionary_through_changes_and_reloads()
    {
        using var db = TestDatabase.InMemory();
        using var connection = db.OpenConnection();
        var dictionary = new PersistentDictionary<string, int> { ["a"] = 1 };
        connection.Root["d"] = dictionary;
        connection.Commit();
        var keys = dictionary.Keys;
        var values = dictionary.Values;

        dictionary["b"] = 2;
        Assert.Equal(["a", "b"], keys.Order(StringComparer.Ordinal));
        Assert.Equal([1, 2], values.Order());
        connection.Abort();
        Assert.Equal(["a"], keys);
        Assert.Equal([1], values);
        Assert.Equal((1, 1, true, false), (keys.Count, values.Count, keys.Contains("a"), values.Contains(2)));
        var copy = new int[3];
        values.CopyTo(copy, 2);
        Assert.Equal([0, 0, 1], copy);
        Assert.Throws<ArgumentException>(() => keys.CopyTo(new string[1], 1));

        Assert.Throws<NotSupportedException>(() => ((ICollection<string>)keys).Add("x"));
        Assert.Throws<NotSupportedException>(() => ((ICollection<int>)values).Remove(1));
        Assert.True(((ICollection<string>)keys).IsReadOnly);
        Assert.False(connection.HasChanges);
    }

    [Fact]
    public void Values_of_several_types_round_trip()
    {
        using var db = TestDatabase.InMemory();
        var guid = Guid.NewGuid();
        var utc = new DateTime(2022, 2, 3, 4, 5, 6, DateTimeKind.Utc);
        var byGuid = TestDatabase.RoundTrip(db, new PersistentDictionary<Guid, DateTime?> { [guid] = utc, [Guid.Empty] = null });
        Assert.Equal((utc, DateTimeKind.Utc, (DateTime?)null), (byGuid[guid], byGuid[guid]!.Value.Kind, byGuid[Guid.Empty]));
        var byInt = TestDatabase.RoundTrip(db, new PersistentDictionary<int, Address> { [-5] = new("x", 1), [int.MaxValue] = new("y", 2) });
        Assert.Equal((new Address("x", 1), new Address("y", 2)), (byInt[-5], byInt[int.MaxValue]));
        var byTier = TestDatabase.RoundTrip(db, new PersistentDictionary<Tier, long> { [Tier.Gold] = long.MinValue });
        Assert.Equal(long.MinValue, byTier[Tier.Gold]);
    }

    [Fact]
    public void Persistent_keys_and_values_load_as_ghosts_and_keys_are_found_by_identity_without_loading()
    {
        using var db = TestDatabase.InMemory();
        using (var writer = db.OpenConnection())
        {
            var a = new Node { Label = "a" };
            writer.Root["ranks"] = new PersistentDictionary<Node, int> { [a] = 1, [new Node { Label = "b" }] = 2 };
            writer.Root["owners"] = new PersistentDictionary<string, Node> { ["a"] = a };
            writer.Root["a"] = a;
            writer.Commit();
        }

        using var reader = db.OpenConnection();
        var ranks = (PersistentDictionary<Node, int>)reader.Root["ranks"];
        var owners = (PersistentDictionary<string, Node>)reader.Root["owners"];
        var a2 = (Node)reader.Root["a"];
        Assert.Equal(1, ranks[a2]);
        Assert.False(ranks.ContainsKey(new Node { Label = "a" }));
        Assert.Same(a2, owners["a"]);
        Assert.Equal((true, false), (owners.Values.Contains(a2), owners.Values.Contains(new Node { Label = "a" })));
        Assert.All(ranks.Keys, n => Assert.Equal(PersistentState.Ghost, n.PersistentState));
        Assert.Equal(["a", "b"], ranks.Keys.Select(n => n.Label).Order());
        Assert.All(ranks.Keys, n => Assert.Equal(PersistentState.UpToDate, n.PersistentState));
    }

    [Fact]
    public void Adding_while_enumerating_throws_and_removing_is_allowed_as_with_Dictionary()
    {
        var dictionary = new PersistentDictionary<int, int> { [1] = 1, [2] = 2, [3] = 3 };
        Assert.Throws<InvalidOperationException>(() =>
        {
            foreach (var (key, _) in dictionary) dictionary[key + 10] = 0;
        });
        Assert.Throws<InvalidOperationException>(() =>
        {
            foreach (var key in dictionary.Keys) dictionary.Add(key + 20, 0);
        });

        var removing = new PersistentDictionary<int, int> { [1] = 1, [2] = 2, [3] = 3 };
        foreach (var (key, value) in removing)
        {
            if (value != 2) removing.Remove(key);
        }
        Assert.Equal([2], removing.Keys);
    }

    [Fact]
    public void A_dictionary_reloaded_by_an_abort_while_enumerated_throws_instead_of_showing_stale_entries()
    {
        using var db = TestDatabase.InMemory();
        using var connection = db.OpenConnection();
        var dictionary = new PersistentDictionary<string, int> { ["a"] = 1, ["b"] = 2 };
        connection.Root["d"] = dictionary;
        connection.Commit();
        dictionary.Remove("a");

        using var values = dictionary.Values.GetEnumerator();
        Assert.True(values.MoveNext());
        connection.Abort();
        Assert.Throws<InvalidOperationException>(() => values.MoveNext());
        Assert.Equal(2, dictionary.Count);
    }
}
