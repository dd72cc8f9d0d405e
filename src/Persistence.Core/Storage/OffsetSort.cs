using System.Numerics;
using System.Runtime.CompilerServices;

namespace Persistence.Storage;

/// <summary>
/// Sorts file offsets, the order in which a pack reads and copies records: a radix sort (linear in
/// the count, a few passes of 11 bits each over the offsets' width).
/// </summary>
/// <remarks>
/// A pack runs once in a process, often its first and only pass over so many records, so it must
/// be fast without the runtime having warmed anything up: this code is compiled fully optimized on
/// first use, where <see cref="Array.Sort{TKey, TValue}(TKey[], TValue[], int, int)"/> for these
/// types is not precompiled and would run as unoptimized code for the whole of a pack.
/// </remarks>
internal static class OffsetSort
{
    private const int DigitBits = 11;
    private const int Buckets = 1 << DigitBits;
    private const int InsertionLimit = 64;

    /// <summary>
    /// Sorts the first <paramref name="count"/> <paramref name="keys"/> (non-negative) in place, moving
    /// each of <paramref name="values"/> (if given) with its key. Uses as much memory again while it runs.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Sort(long[] keys, ulong[]? values, int count)
    {
        if (count <= InsertionLimit)
        {
            InsertionSort(keys, values, count);
            return;
        }
        long all = 0;
        for (var i = 0; i < count; i++) all |= keys[i];
        if (all < 0) ThrowNegative();
        var bits = 64 - BitOperations.LeadingZeroCount((ulong)all);
        var keysFrom = keys;
        var keysTo = new long[count];
        var valuesFrom = values;
        var valuesTo = values is null ? null : new ulong[count];
        var starts = new int[Buckets];
        for (var shift = 0; shift < bits; shift += DigitBits)
        {
            Array.Clear(starts);
            for (var i = 0; i < count; i++) starts[(int)(keysFrom[i] >> shift) & (Buckets - 1)]++;
            var sum = 0;
            for (var b = 0; b < Buckets; b++)
            {
                var n = starts[b];
                starts[b] = sum;
                sum += n;
            }
            if (valuesFrom is null)
            {
                for (var i = 0; i < count; i++)
                {
                    var key = keysFrom[i];
                    keysTo[starts[(int)(key >> shift) & (Buckets - 1)]++] = key;
                }
            }
            else
            {
                for (var i = 0; i < count; i++)
                {
                    var key = keysFrom[i];
                    var at = starts[(int)(key >> shift) & (Buckets - 1)]++;
                    keysTo[at] = key;
                    valuesTo![at] = valuesFrom[i];
                }
            }
            (keysFrom, keysTo) = (keysTo, keysFrom);
            (valuesFrom, valuesTo) = (valuesTo, valuesFrom);
        }
        if (!ReferenceEquals(keysFrom, keys))
        {
            keysFrom.AsSpan(0, count).CopyTo(keys);
            valuesFrom?.AsSpan(0, count).CopyTo(values);
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void ThrowNegative() => throw new ArgumentOutOfRangeException("keys", "Offsets are not negative.");

    // Short lists only: not worth compiling fully optimized.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void InsertionSort(long[] keys, ulong[]? values, int count)
    {
        for (var i = 1; i < count; i++)
        {
            var key = keys[i];
            var value = values is null ? 0 : values[i];
            var j = i - 1;
            for (; j >= 0 && keys[j] > key; j--)
            {
                keys[j + 1] = keys[j];
                if (values is not null) values[j + 1] = values[j];
            }
            keys[j + 1] = key;
            if (values is not null) values[j + 1] = value;
        }
    }
}
