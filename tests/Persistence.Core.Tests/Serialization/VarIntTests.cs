using FsCheck;
using FsCheck.Fluent;
using Persistence.Serialization;

namespace Persistence.Tests.Serialization;

public class VarIntTests
{
    [Fact]
    public void Every_length_reads_back_with_or_without_bytes_after_it()
    {
        for (var bits = 0; bits <= 64; bits++)
        {
            var value = bits == 0 ? 0 : ulong.MaxValue >> (64 - bits);
            var bytes = new byte[VarInt.MaxLength + 8];
            var size = VarInt.Write(bytes, value);
            Assert.Equal(VarInt.Size(value), size);
            Assert.Equal(Math.Max(1, (bits + 6) / 7), size);
            // Followed by more bytes (the eight-byte path where there is room) and ending right after it.
            foreach (var length in new[] { bytes.Length, size })
            {
                var position = 0;
                Assert.True(VarInt.TryRead(bytes.AsSpan(0, length), ref position, out var read), $"{bits} bits, {length} bytes");
                Assert.Equal(value, read);
                Assert.Equal(size, position);
            }
        }
    }

    [Fact]
    public void Values_read_back_at_any_position_among_others() =>
        Prop.ForAll<ulong[], byte>((values, skip) =>
        {
            values ??= [];
            var bytes = new byte[skip % 16 + VarInt.MaxLength * values.Length];
            var position = skip % 16;
            foreach (var value in values) position += VarInt.Write(bytes.AsSpan(position), value);
            var end = position;
            position = skip % 16;
            foreach (var value in values)
            {
                if (!VarInt.TryRead(bytes.AsSpan(0, end), ref position, out var read) || read != value) return false;
            }
            return position == end;
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(300));

    [Fact]
    public void A_value_cut_short_or_of_more_than_64_bits_does_not_read()
    {
        var bytes = new byte[20];
        var size = VarInt.Write(bytes, 1UL << 50);
        for (var cut = 0; cut < size; cut++)
        {
            var position = 0;
            Assert.False(VarInt.TryRead(bytes.AsSpan(0, cut), ref position, out _), $"cut at {cut}");
        }

        var overlong = new byte[20];
        overlong.AsSpan(0, 10).Fill(0xFF);
        overlong[10] = 0x01;
        var at = 0;
        Assert.False(VarInt.TryRead(overlong, ref at, out _));
        // 64 bits whose tenth byte carries more than the last bit.
        overlong.AsSpan(0, 9).Fill(0x80);
        overlong[9] = 0x02;
        at = 0;
        Assert.False(VarInt.TryRead(overlong, ref at, out _));
    }
}
