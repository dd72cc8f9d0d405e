using FsCheck;
using FsCheck.Fluent;
using Persistence.Tests.Models;

namespace Persistence.Tests.Serialization;

/// <summary>Every supported property type, with generated values, survives a commit and a load in a fresh connection.</summary>
public class RoundTripTests
{
    private static Everything RoundTrip(Everything value)
    {
        using var db = TestDatabase.InMemory();
        var loaded = TestDatabase.RoundTrip(db, value);
        // Touch a property so the state is read while the database is open.
        _ = loaded.Bool;
        return loaded;
    }

    private static void Check(Property property) =>
        property.Check(Config.QuickThrowOnFailure.WithMaxTest(60));

    [Fact]
    public void Integers_round_trip() => Check(Prop.ForAll<bool, byte, sbyte>((a, b, c) =>
    {
        var got = RoundTrip(new Everything { Bool = a, Byte = b, SByte = c });
        return got.Bool == a && got.Byte == b && got.SByte == c;
    }).And(Prop.ForAll<short, ushort, int>((a, b, c) =>
    {
        var got = RoundTrip(new Everything { Int16 = a, UInt16 = b, Int32 = c });
        return got.Int16 == a && got.UInt16 == b && got.Int32 == c;
    })).And(Prop.ForAll<uint, long, ulong>((a, b, c) =>
    {
        var got = RoundTrip(new Everything { UInt32 = a, Int64 = b, UInt64 = c });
        return got.UInt32 == a && got.Int64 == b && got.UInt64 == c;
    })));

    [Fact]
    public void Floating_point_decimal_and_char_round_trip_bit_for_bit() => Check(Prop.ForAll<float, double, decimal>((a, b, c) =>
    {
        var got = RoundTrip(new Everything { Single = a, Double = b, Decimal = c });
        return BitConverter.SingleToInt32Bits(got.Single) == BitConverter.SingleToInt32Bits(a)
            && BitConverter.DoubleToInt64Bits(got.Double) == BitConverter.DoubleToInt64Bits(b)
            && decimal.GetBits(got.Decimal).SequenceEqual(decimal.GetBits(c));
    }).And(Prop.ForAll<char, string?, byte[]?>((a, b, c) =>
    {
        var got = RoundTrip(new Everything { Char = a, String = b, Bytes = c });
        return got.Char == a && got.String == b && (c is null ? got.Bytes is null : got.Bytes!.SequenceEqual(c));
    })));

    [Fact]
    public void Strings_with_any_unicode_round_trip() => Check(Prop.ForAll(
        ArbMap.Default.ArbFor<NonNull<string>>(),
        text =>
        {
            // Lone surrogates cannot be UTF-8 encoded; they are replaced, as in every UTF-8 store.
            var value = text.Get;
            var got = RoundTrip(new Everything { String = value }).String;
            return value.Any(char.IsSurrogate) || got == value;
        }));

    [Fact]
    public void Dates_times_and_guids_round_trip() => Check(Prop.ForAll<DateTime, DateTimeOffset, Guid>((a, b, c) =>
    {
        var got = RoundTrip(new Everything { DateTime = a, DateTimeOffset = b, Guid = c, DateOnly = DateOnly.FromDateTime(a), TimeOnly = TimeOnly.FromDateTime(a), TimeSpan = b.Offset });
        return got.DateTime == a && got.DateTime.Kind == a.Kind && got.DateTimeOffset == b && got.DateTimeOffset.Offset == b.Offset
            && got.Guid == c && got.DateOnly == DateOnly.FromDateTime(a) && got.TimeOnly == TimeOnly.FromDateTime(a) && got.TimeSpan == b.Offset;
    }));

    [Fact]
    public void Enums_and_nullables_round_trip() => Check(Prop.ForAll<int?, DateTime?, long>((a, b, c) =>
    {
        var tier = (Tier)(Math.Abs(c) % 3);
        var permissions = (Permissions)c;
        var got = RoundTrip(new Everything { NullableInt = a, NullableDateTime = b, Tier = tier, Permissions = permissions });
        return got.NullableInt == a && got.NullableDateTime == b && got.Tier == tier && got.Permissions == permissions;
    }));

    [Fact]
    public void Arrays_lists_and_dictionaries_of_values_round_trip() => Check(Prop.ForAll<int[]?, List<int?>?, Dictionary<string, long>?>((a, b, c) =>
    {
        var strings = a?.Select(i => i.ToString()).ToList();
        var got = RoundTrip(new Everything { Ints = a, NullableInts = b, Map = c, Strings = strings });
        return Same(got.Ints, a) && Same(got.NullableInts, b) && Same(got.Strings, strings)
            && (c is null ? got.Map is null : got.Map!.Count == c.Count && c.All(kv => got.Map[kv.Key] == kv.Value));
    }));

    [Fact]
    public void Persistent_values_round_trip() => Check(Prop.ForAll<string?, int, decimal>((street, zip, amount) =>
    {
        var address = new Address(street!, zip);
        var money = zip % 2 == 0 ? null : new Money(amount, street ?? "");
        var got = RoundTrip(new Everything { Address = address, MaybeAddress = zip % 3 == 0 ? null : address, Money = money });
        return got.Address == address && got.MaybeAddress == (zip % 3 == 0 ? null : address) && got.Money == money;
    }));

    [Fact]
    public void Persistent_collections_of_references_round_trip()
    {
        using var db = TestDatabase.InMemory();
        var nodes = new PersistentDictionary<string, Node> { ["a"] = new Node { Label = "A" }, ["b"] = new Node { Label = "B" } };
        nodes["self"] = nodes["a"];
        var got = TestDatabase.RoundTrip(db, new Everything { Nodes = nodes }).Nodes!;
        Assert.Equal(3, got.Count);
        Assert.Equal("A", got["a"].Label);
        Assert.Same(got["a"], got["self"]);
    }

    private static bool Same<T>(IEnumerable<T>? got, IEnumerable<T>? expected) =>
        expected is null ? got is null : got is not null && got.SequenceEqual(expected);
}
