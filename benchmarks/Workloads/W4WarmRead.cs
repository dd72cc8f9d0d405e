using System.Diagnostics;
using Microsoft.Data.Sqlite;

namespace Persistence.Workloads;

/// <summary>
/// W4: a second full pass over every person (Name and Age) in the W3 child, right after its first:
/// our persons are loaded objects now; SQLite runs the query again over its page cache.
/// </summary>
internal static class W4WarmRead
{
    public static readonly Metric NanosecondsPerObject = new("W4", "ns/object ↓", false, 1, Target.AtMost(20, "≤ 20 ns/object"));

    public static (int Count, long Checksum, TimeSpan Elapsed) Ours(BTree<int, Person> persons)
    {
        var started = Stopwatch.GetTimestamp();
        var (count, checksum) = FullScan.Ours(persons);
        return (count, checksum, Stopwatch.GetElapsedTime(started));
    }

    public static (int Count, long Checksum, TimeSpan Elapsed) Sqlite(SqliteCommand selectNameAndAge)
    {
        var started = Stopwatch.GetTimestamp();
        var (count, checksum) = FullScan.Sqlite(selectNameAndAge);
        return (count, checksum, Stopwatch.GetElapsedTime(started));
    }

    /// <summary>Records what the W3 child measured for W4.</summary>
    public static void Record(Side side, RunState state, Dictionary<string, double> childResult) =>
        state.Record(NanosecondsPerObject, side, childResult["pass2Ms"] * 1e6 / childResult["objects2"]);
}
