using System.Diagnostics;
using Microsoft.Data.Sqlite;

namespace Persistence.Workloads;

/// <summary>
/// B3, in a new process: open the database B1 wrote (ours: the random-order BTree; SQLite: the
/// <c>INTEGER PRIMARY KEY</c> table, <c>ORDER BY k</c> being its rowid order), then read every entry
/// in key order, checking order and values. The first pass loads every bucket (SQLite: reads every
/// page); a second pass in the same process reads what is loaded.
/// </summary>
internal static class B3BTreeScan
{
    public static readonly Metric EntriesPerSecond = new("B3", "entries/s, first pass ↑", true, 0,
        Target.AtLeast(2_000_000, "≥ 2,000,000/s"));

    public static readonly Metric SecondPassPerSecond = new("B3", "entries/s, second pass in the same process ↑", true, 0);

    public static void Run(Side side, RunState state)
    {
        var entries = state.Options.Entries;
        state.Results.Label("B3", $"B3 new process: ordered scan of {entries:N0} entries (SQLite: SELECT k, v FROM p ORDER BY k)");
        var path = BTreeData.ReadDatabase(state, side);
        using var child = ChildProcess.Start("B3", side, path);
        child.WaitStarted();
        var result = child.Result();
        if (result["entries"] != entries || result["entries2"] != entries || result["wrong"] != 0)
            throw new InvalidOperationException($"the passes read {result["entries"]} and {result["entries2"]} entries, not {entries}, {result["wrong"]} out of order or with a wrong value");
        var first = entries / (result["passMs"] / 1000);
        var second = entries / (result["pass2Ms"] / 1000);
        state.Record(EntriesPerSecond, side, first);
        state.Record(SecondPassPerSecond, side, second);
        state.Progress($"B3 {side.Name()}: {first:N0} entries/s (second pass {second:N0}/s)");
    }

    /// <summary>In the child.</summary>
    public static Dictionary<string, double> Child(ChildArguments arguments)
    {
        Passes passes;
        if (arguments.Side == Side.Persistence)
        {
            using var database = Ours.Open(arguments.Database);
            using var connection = database.OpenConnection();
            var tree = BTreeData.Tree(connection);
            passes = TwoPasses(() => ScanOurs(tree));
        }
        else
        {
            using var connection = Sql.Open(arguments.Database);
            using var select = Sql.Prepare(connection, "SELECT k, v FROM p ORDER BY k");
            passes = TwoPasses(() => ScanSqlite(select));
        }
        return new()
        {
            ["entries"] = passes.First.Count,
            ["passMs"] = passes.FirstTime.TotalMilliseconds,
            ["entries2"] = passes.Second.Count,
            ["pass2Ms"] = passes.SecondTime.TotalMilliseconds,
            ["wrong"] = passes.First.Wrong + passes.Second.Wrong,
        };
    }

    private readonly record struct Passes((int Count, int Wrong) First, TimeSpan FirstTime, (int Count, int Wrong) Second, TimeSpan SecondTime);

    /// <summary>Runs <paramref name="scan"/> twice, timing each pass.</summary>
    private static Passes TwoPasses(Func<(int Count, int Wrong)> scan)
    {
        var started = Stopwatch.GetTimestamp();
        var first = scan();
        var firstTime = Stopwatch.GetElapsedTime(started);
        started = Stopwatch.GetTimestamp();
        var second = scan();
        return new Passes(first, firstTime, second, Stopwatch.GetElapsedTime(started));
    }

    /// <summary>Counts the entries; an entry is wrong unless its key is the next one (keys are 0..N−1) and its value matches.</summary>
    private static (int Count, int Wrong) ScanOurs(BTree<int, long> tree)
    {
        var (count, wrong) = (0, 0);
        foreach (var (key, value) in tree)
        {
            if (key != count || value != BTreeData.ValueOf(key)) wrong++;
            count++;
        }
        return (count, wrong);
    }

    private static (int Count, int Wrong) ScanSqlite(SqliteCommand select)
    {
        var (count, wrong) = (0, 0);
        using var reader = select.ExecuteReader();
        while (reader.Read())
        {
            var key = reader.GetInt32(0);
            if (key != count || reader.GetInt64(1) != BTreeData.ValueOf(key)) wrong++;
            count++;
        }
        return (count, wrong);
    }
}
