using FsCheck;
using FsCheck.Fluent;

namespace Persistence.Tests.Collections;

public class KeySearchTests
{
    // The answer of a plain binary search over the same range: the index, or the complement of the insertion point.
    private static int Expected<T>(T[] keys, int start, int end, T key) => Array.BinarySearch(keys, start, end - start, key);

    private static bool AgreesEverywhere<T>(T[] keys, Func<T, T> next, Func<T, T> previous) where T : struct, System.Numerics.IBinaryInteger<T>
    {
        Array.Sort(keys);
        keys = keys.Distinct().ToArray();
        for (var start = 0; start <= keys.Length; start += Math.Max(1, keys.Length / 5))
            for (var end = start; end <= keys.Length; end += Math.Max(1, keys.Length / 7))
            {
                var probes = keys.SelectMany(k => new[] { k, next(k), previous(k) }).Append(T.Zero);
                foreach (var key in probes)
                {
                    if (KeySearch.Interpolate(keys, start, end, key) != Expected(keys, start, end, key)) return false;
                }
            }
        return true;
    }

    [Fact]
    public void Finds_what_a_binary_search_finds_in_any_sorted_run_of_ints() =>
        Prop.ForAll<int[]>(keys => AgreesEverywhere(keys ?? [], k => k == int.MaxValue ? k : k + 1, k => k == int.MinValue ? k : k - 1))
            .Check(Config.QuickThrowOnFailure.WithMaxTest(300));

    [Fact]
    public void Finds_what_a_binary_search_finds_in_any_sorted_run_of_longs() =>
        Prop.ForAll<long[]>(keys => AgreesEverywhere(keys ?? [], k => k == long.MaxValue ? k : k + 1, k => k == long.MinValue ? k : k - 1))
            .Check(Config.QuickThrowOnFailure.WithMaxTest(300));

    [Fact]
    public void Finds_every_key_of_runs_spread_evenly_unevenly_and_to_the_ends_of_the_range()
    {
        var runs = new List<long[]>
        {
            Enumerable.Range(1_000, 300).Select(i => (long)i).ToArray(),
            Enumerable.Range(0, 300).Select(i => (long)i * 7 + 3).ToArray(),
            // Doubling gaps: an interpolation's guesses land far from the keys.
            Enumerable.Range(0, 62).Select(i => 1L << i).ToArray(),
            Enumerable.Range(0, 200).Select(i => i < 199 ? i : long.MaxValue).ToArray(),
            new[] { long.MinValue, long.MinValue + 1, -1, 0, 1, long.MaxValue - 1, long.MaxValue },
            // Neighbours too close for doubles to tell apart.
            Enumerable.Range(0, 100).Select(i => (1L << 60) + i).Prepend(long.MinValue).Append(long.MaxValue).ToArray(),
        };
        var random = new Random(7);
        var spread = Enumerable.Range(0, 500).Select(_ => random.NextInt64()).Distinct().ToArray();
        Array.Sort(spread);
        runs.Add(spread);

        foreach (var keys in runs)
        {
            for (var i = 0; i < keys.Length; i++)
            {
                Assert.Equal(i, KeySearch.Interpolate(keys, 0, keys.Length, keys[i]));
                if (i + 1 < keys.Length && keys[i + 1] - keys[i] > 1)
                    Assert.Equal(~(i + 1), KeySearch.Interpolate(keys, 0, keys.Length, keys[i] + 1));
            }
            // An empty run: the key would go at its start.
            Assert.Equal(~1, KeySearch.Interpolate(keys, 1, 1, keys[0]));
        }
    }

    [Fact]
    public void Keys_of_another_type_are_refused_rather_than_read_as_longs() =>
        Assert.Throws<NotSupportedException>(() => KeySearch.Interpolate(new short[] { 1, 2, 3 }, 0, 3, (short)2));
}
