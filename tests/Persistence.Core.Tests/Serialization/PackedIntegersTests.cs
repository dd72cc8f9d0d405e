using FsCheck;
using FsCheck.Fluent;
using Persistence.Serialization;
using static Persistence.Tests.Serialization.RecordStates;

namespace Persistence.Tests.Serialization;

/// <summary>The <c>packed&lt;T&gt;</c> encoding of integer arrays (docs/FORMAT.md), which BTree buckets and nodes use.</summary>
public class PackedIntegersTests
{
    private static byte[] Packed<T>(T[] items) => State((ref RecordWriter w) => PackedIntegers.Write<T>(ref w, items));

    private static T[] ReadBack<T>(byte[] state, out int remaining)
    {
        var reader = new RecordReader(state, null);
        var items = PackedIntegers.Read<T>(ref reader, 0, 0, out var count)!;
        remaining = reader.Remaining;
        Assert.Equal(count, items.Length);
        return items;
    }

    private static bool RoundTrips<T>(T[] items, int width)
    {
        var state = Packed(items);
        var back = ReadBack<T>(state, out var remaining);
        var skipper = new RecordReader(state, null);
        PackedIntegers.Skip(ref skipper, width);
        // Never more than the mode byte longer than the plain array (i32 count, then the elements).
        var plain = 4 + (items.Length * width);
        return back.SequenceEqual(items) && remaining == 0 && skipper.Remaining == 0 && state.Length <= plain + 1;
    }

    [Fact]
    public void Any_array_of_each_integer_type_reads_back_as_written_and_is_at_most_one_byte_longer_than_plain()
    {
        var config = Config.QuickThrowOnFailure.WithMaxTest(200);
        Prop.ForAll<int[]>(items => RoundTrips(items, 4)).Check(config);
        Prop.ForAll<long[]>(items => RoundTrips(items, 8)).Check(config);
        Prop.ForAll<ulong[]>(items => RoundTrips(items, 8)).Check(config);
        Prop.ForAll<uint[]>(items => RoundTrips(items, 4)).Check(config);
        Prop.ForAll<short[]>(items => RoundTrips(items, 2)).Check(config);
        Prop.ForAll<ushort[]>(items => RoundTrips(items, 2)).Check(config);
        Prop.ForAll<byte[]>(items => RoundTrips(items, 1)).Check(config);
        Prop.ForAll<sbyte[]>(items => RoundTrips(items, 1)).Check(config);
        // Sorted arrays, as in a bucket.
        Prop.ForAll<long[]>(items => RoundTrips(items.Order().ToArray(), 8)).Check(config);
    }

    [Fact]
    public void Extreme_values_whose_differences_overflow_read_back()
    {
        Assert.True(RoundTrips(new[] { long.MinValue, long.MaxValue, 0, -1, long.MinValue, 1, long.MaxValue }, 8));
        Assert.True(RoundTrips(new[] { ulong.MaxValue, 0UL, ulong.MaxValue, 1UL << 63 }, 8));
        Assert.True(RoundTrips(new[] { int.MinValue, int.MaxValue, int.MinValue }, 4));
        Assert.True(RoundTrips(new[] { uint.MaxValue, 0u, uint.MaxValue }, 4));
        // Unrelated large numbers first (the writer gives up on differences early), then small steps.
        var random = new Random(3);
        var mixed = Enumerable.Range(0, 16).Select(_ => random.NextInt64()).Concat(Enumerable.Range(0, 200).Select(i => (long)i)).ToArray();
        Assert.True(RoundTrips(mixed, 8));
        Assert.True(RoundTrips(mixed.Reverse().ToArray(), 8));
    }

    [Fact]
    public void Increasing_keys_take_a_byte_each_and_random_ones_stay_plain()
    {
        var increasing = Enumerable.Range(1_000_000, 1_000).ToArray();
        // Count plus one (2 bytes for 1,001), mode, the first key (3 bytes for 2,000,000 zigzagged), then a byte per difference of 1.
        Assert.Equal(2 + 1 + 3 + 999, Packed(increasing).Length);

        var random = new Random(5);
        var scattered = Enumerable.Range(0, 1_000).Select(_ => random.NextInt64(long.MinValue, long.MaxValue)).ToArray();
        var state = Packed(scattered);
        Assert.Equal(2 + 1 + (8 * 1_000), state.Length);
        Assert.Equal(0, state[2]);
        Assert.Equal(scattered, ReadBack<long>(state, out _));
    }

    [Fact]
    public void Null_and_empty_arrays_are_distinct()
    {
        var empty = Packed(Array.Empty<int>());
        Assert.Single(empty);
        Assert.Empty(ReadBack<int>(empty, out _));

        var nullArray = State((ref RecordWriter w) => w.WriteCount(-1));
        var reader = new RecordReader(nullArray, null);
        Assert.Null(PackedIntegers.Read<int>(ref reader, 0, 0, out var count));
        Assert.Equal(-1, count);
    }

    [Fact]
    public void Reading_leaves_the_requested_free_slots_around_the_elements()
    {
        var reader = new RecordReader(Packed(new[] { 5, 6, 7 }), null);
        var items = PackedIntegers.Read<int>(ref reader, 1, 2, out var count)!;
        Assert.Equal(3, count);
        Assert.Equal([0, 5, 6, 7, 0, 0], items);
    }

    public static TheoryData<string, byte[]> DamagedStates => new()
    {
        // An unknown mode.
        { "mode 7", [3, 7, 1, 1] },
        // A count larger than the bytes that follow (stored plus one).
        { "count of 50", [51, 1, 2, 2] },
        // Plain mode cut short: two i32 need 8 bytes.
        { "plain, cut short", [3, 0, 1, 2, 3, 4, 5] },
        // A difference whose last byte is missing.
        { "varint cut short", [2, 1, 0x80] },
        // A difference of more than 64 bits.
        { "varint of 11 bytes", [2, 1, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01] },
        // 2^32 (zigzagged: 2^33) does not fit an i32.
        { "value beyond i32", [2, 1, 0x80, 0x80, 0x80, 0x80, 0x20] },
    };

    [Theory]
    [MemberData(nameof(DamagedStates))]
    public void Damaged_bytes_raise_a_format_error_naming_the_damage(string damage, byte[] state)
    {
        var error = Assert.Throws<FormatException>(() =>
        {
            var reader = new RecordReader(state, null);
            PackedIntegers.Read<int>(ref reader, 0, 0, out _);
        });
        Assert.True(error.Message.StartsWith("A record is damaged", StringComparison.Ordinal), $"{damage}: {error.Message}");
    }

    [Theory]
    [InlineData("packed<i8>")]
    [InlineData("packed<u64>")]
    [InlineData("packed<i32>?")]
    public void Packed_type_codes_of_integers_parse(string code) => Assert.Equal(code, TypeShape.Parse(code).Code);

    [Theory]
    [InlineData("packed<str>")]
    [InlineData("packed<f64>")]
    [InlineData("packed<i32,i32>")]
    [InlineData("packed<i32?>")]
    public void Packed_arrays_of_anything_but_integers_are_not_type_codes(string code) =>
        Assert.Throws<FormatException>(() => TypeShape.Parse(code));
}
