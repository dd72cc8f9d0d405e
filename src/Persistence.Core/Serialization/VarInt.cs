using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;

namespace Persistence.Serialization;

/// <summary>
/// Variable-length unsigned integers as the stored formats write them (docs/FORMAT.md): 7 bits a
/// byte from the lowest, the high bit set on every byte but the last, 1 to 10 bytes for 64 bits.
/// Signed differences are zigzag-mapped first (0, −1, 1, −2 … → 0, 1, 2, 3 …).
/// </summary>
internal static class VarInt
{
    /// <summary>The most bytes a 64-bit value takes.</summary>
    public const int MaxLength = 10;

    /// <summary>How many bytes <paramref name="value"/> takes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Size(ulong value) => 1 + (63 - BitOperations.LeadingZeroCount(value | 1)) / 7;

    /// <summary>Writes <paramref name="value"/> at the start of <paramref name="into"/> (room for <see cref="Size"/> bytes) and returns how many bytes it took.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Write(Span<byte> into, ulong value)
    {
        var i = 0;
        while (value >= 0x80)
        {
            into[i++] = (byte)(value | 0x80);
            value >>= 7;
        }
        into[i++] = (byte)value;
        return i;
    }

    /// <summary>Reads a value at <paramref name="position"/> and moves past it; false if the bytes end first or it has more than 64 bits.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool TryRead(ReadOnlySpan<byte> source, ref int position, out ulong value)
    {
        var p = position;
        if ((uint)p < (uint)source.Length)
        {
            var first = source[p];
            if (first < 0x80)
            {
                value = first;
                position = p + 1;
                return true;
            }
            if ((uint)(p + 1) < (uint)source.Length && source[p + 1] < 0x80)
            {
                value = (first & 0x7FUL) | ((ulong)source[p + 1] << 7);
                position = p + 2;
                return true;
            }
        }
        return TryReadLong(source, ref position, out value);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static bool TryReadLong(ReadOnlySpan<byte> source, ref int position, out ulong value)
    {
        // With eight bytes at hand, a value of up to 56 bits is read at once: the first byte whose
        // high bit is clear ends it, and the 7-bit groups before it are gathered in one step.
        if (Bmi2.X64.IsSupported && BitConverter.IsLittleEndian && (uint)position <= (uint)source.Length && source.Length - position >= 8)
        {
            var word = Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref MemoryMarshal.GetReference(source), position));
            var ends = ~word & 0x8080808080808080UL;
            if (ends != 0)
            {
                var length = (BitOperations.TrailingZeroCount(ends) >> 3) + 1;
                var bytes = length == 8 ? word : word & ((1UL << (8 * length)) - 1);
                value = Bmi2.X64.ParallelBitExtract(bytes, 0x7F7F7F7F7F7F7F7FUL);
                position += length;
                return true;
            }
        }
        value = 0;
        for (var shift = 0; shift < 64 && (uint)position < (uint)source.Length; shift += 7)
        {
            var b = source[position++];
            if (shift == 63 && b > 1) return false;
            value |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80) return true;
        }
        return false;
    }

    /// <summary>Maps a signed value to an unsigned one, small magnitudes to small values.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong ZigZag(long value) => (ulong)((value << 1) ^ (value >> 63));

    /// <summary>The inverse of <see cref="ZigZag"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static long UnZigZag(ulong value) => (long)(value >> 1) ^ -(long)(value & 1);
}
