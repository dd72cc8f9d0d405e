using System.Diagnostics;

namespace Persistence.Workloads;

/// <summary>
/// B2, in a new process: open the database B1 wrote (ours: the random-order BTree; SQLite: the
/// <c>INTEGER PRIMARY KEY</c> table), then look up N / 10 random keys (100,000 at N = 1,000,000; the
/// same sequence on both sides), reading each value. Timed from after the open. The first lookups
/// load the buckets (SQLite: read the pages) they reach; later ones find more of them loaded, so the
/// first 10% are reported apart as the cold part.
/// </summary>
internal static class B2BTreeLookups
{
    private const int Seed = 62;

    public static readonly Metric LookupsPerSecond = new("B2", "lookups/s ↑", true, 0, Target.RatioAtLeast(2, "≥ 2× SQLite"));

    public static readonly Metric ColdLookupsPerSecond = new("B2", "lookups/s, first 10% of them (coldest) ↑", true, 0);

    public static readonly Metric OpenMs = new("B2", "open ms (new process) ↓", false, 1);

    public static void Run(Side side, RunState state)
    {
        var entries = state.Options.Entries;
        var lookups = Math.Max(entries / 10, 100);
        state.Results.Label("B2", $"B2 new process: {lookups:N0} random point lookups in {entries:N0} entries (SQLite: INTEGER PRIMARY KEY)");
        var path = BTreeData.ReadDatabase(state, side);
        using var child = ChildProcess.Start("B2", side, path, ("entries", entries), ("lookups", lookups), ("seed", Seed + state.Run));
        child.WaitStarted();
        var result = child.Result();
        if (result["misses"] != 0) throw new InvalidOperationException($"{result["misses"]} of {lookups} lookups found no value or a wrong one");
        var rate = lookups / (result["lookupMs"] / 1000);
        var cold = result["coldLookups"] / (result["coldMs"] / 1000);
        state.Record(LookupsPerSecond, side, rate);
        state.Record(ColdLookupsPerSecond, side, cold);
        state.Record(OpenMs, side, result["openMs"]);
        state.Progress($"B2 {side.Name()}: {rate:N0} lookups/s (first 10%: {cold:N0}/s), open {result["openMs"]:F1} ms");
    }

    /// <summary>In the child.</summary>
    public static Dictionary<string, double> Child(ChildArguments arguments)
    {
        var keys = PersonData.RandomIds(arguments.Int("lookups"), arguments.Int("entries"), arguments.Int("seed"));
        var coldCount = Math.Max(keys.Length / 10, 1);
        int misses;
        TimeSpan open, cold, all;
        var started = Stopwatch.GetTimestamp();
        if (arguments.Side == Side.Persistence)
        {
            using var database = Ours.Open(arguments.Database);
            using var connection = database.OpenConnection();
            var tree = BTreeData.Tree(connection);
            open = Stopwatch.GetElapsedTime(started);
            (misses, cold, all) = LookUpOurs(tree, keys, coldCount);
        }
        else
        {
            using var connection = Sql.Open(arguments.Database);
            open = Stopwatch.GetElapsedTime(started);
            (misses, cold, all) = LookUpSqlite(connection, keys, coldCount);
        }
        return new()
        {
            ["openMs"] = open.TotalMilliseconds,
            ["lookups"] = keys.Length,
            ["lookupMs"] = all.TotalMilliseconds,
            ["coldLookups"] = coldCount,
            ["coldMs"] = cold.TotalMilliseconds,
            ["misses"] = misses,
        };
    }

    // The timed loops are methods of their own (see W5Lookups.LookUpOurs).

    private static (int Misses, TimeSpan Cold, TimeSpan All) LookUpOurs(BTree<int, long> tree, int[] keys, int coldCount)
    {
        var misses = 0;
        var cold = TimeSpan.Zero;
        var started = Stopwatch.GetTimestamp();
        for (var i = 0; i < keys.Length; i++)
        {
            if (i == coldCount) cold = Stopwatch.GetElapsedTime(started);
            if (!tree.TryGetValue(keys[i], out var value) || value != BTreeData.ValueOf(keys[i])) misses++;
        }
        return (misses, cold, Stopwatch.GetElapsedTime(started));
    }

    private static (int Misses, TimeSpan Cold, TimeSpan All) LookUpSqlite(Microsoft.Data.Sqlite.SqliteConnection connection, int[] keys, int coldCount)
    {
        var misses = 0;
        var cold = TimeSpan.Zero;
        var started = Stopwatch.GetTimestamp();
        using var select = Sql.Prepare(connection, "SELECT v FROM p WHERE k = $p0", 1);
        var parameter = select.Parameters[0];
        for (var i = 0; i < keys.Length; i++)
        {
            if (i == coldCount) cold = Stopwatch.GetElapsedTime(started);
            parameter.Value = keys[i];
            if (select.ExecuteScalar() is not long value || value != BTreeData.ValueOf(keys[i])) misses++;
        }
        return (misses, cold, Stopwatch.GetElapsedTime(started));
    }
}
