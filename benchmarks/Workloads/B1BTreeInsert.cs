using System.Diagnostics;

namespace Persistence.Workloads;

/// <summary>
/// B1: insert N int keys (default 1,000,000) with a long value, committing every 1,000, durably, into
/// a new database: ours a <c>BTree&lt;int, long&gt;</c>, SQLite a table with an index on the key. Once in
/// a random order (every batch lands all over the tree: the general case, and the one the target is
/// for) and once in increasing order (every batch appends to the last bucket: ids, timestamps).
/// Timed from opening the new database to closing it. Our random-order file is what B2 and B3 read.
/// </summary>
internal static class B1BTreeInsert
{
    public static readonly Metric RandomPerSecond = new("B1", "entries/s, random order ↑", true, 0, Target.RatioAtLeast(5, "≥ 5× SQLite"));

    public static readonly Metric IncreasingPerSecond = new("B1", "entries/s, increasing order ↑", true, 0, Target.RatioAtLeast(5, "≥ 5× SQLite"));

    public static readonly Metric RandomMegabytes = new("B1", "file MB after close, random order (all files) ↓", false, 1);

    public static readonly Metric IncreasingMegabytes = new("B1", "file MB after close, increasing order (all files) ↓", false, 1);

    // Without a target: the rows are the ones above. Their values (10 × key + 1) grow with the
    // key, so packed they take a byte each; these rows show the same inserts with values that nothing
    // can pack (a random 64-bit number per key).
    public static readonly Metric RandomValuesPerSecond = new("B1", "entries/s, random order, random 64-bit values ↑", true, 0);

    public static readonly Metric RandomValuesMegabytes = new("B1", "file MB after close, random order, random 64-bit values ↓", false, 1);

    public static void Run(Side side, RunState state)
    {
        var entries = state.Options.Entries;
        state.Results.Label("B1", $"B1 insert {entries:N0} int keys into a BTree<int, long> (SQLite: indexed table), commit every {BTreeData.CommitEvery:N0}");
        Measure(side, state, BTreeData.Order.Random, RandomPerSecond, RandomMegabytes, keep: true);
        // Only B2 and B3 need B1, and they read the random-order file.
        if (!state.Reports("B1")) return;
        Measure(side, state, BTreeData.Order.Increasing, IncreasingPerSecond, IncreasingMegabytes, keep: false);
        Measure(side, state, BTreeData.Order.Random, RandomValuesPerSecond, RandomValuesMegabytes, keep: false, BTreeData.Values.Random);
    }

    private static void Measure(Side side, RunState state, BTreeData.Order order, Metric rate, Metric size, bool keep, BTreeData.Values values = BTreeData.Values.FromKey)
    {
        var keys = BTreeData.Keys(state.Options.Entries, order);
        var path = side == Side.Persistence ? BTreeData.OursFile(state, order, values) : BTreeData.IndexedSqliteFile(state, order, values);
        var started = Stopwatch.GetTimestamp();
        if (side == Side.Persistence)
        {
            BTreeData.InsertOurs(path, keys, values);
        }
        else
        {
            using var connection = Sql.Open(path);
            Sql.Execute(connection, BTreeData.CreateIndexedTable);
            BTreeData.InsertSqlite(connection, "INSERT INTO t(k, v) VALUES ($p0, $p1)", keys, values: values);
        }
        var elapsed = Stopwatch.GetElapsedTime(started);
        var perSecond = keys.Length / elapsed.TotalSeconds;
        var megabytes = Files.LengthWithSiblings(path) / 1e6;
        state.Record(rate, side, perSecond);
        state.Record(size, side, megabytes);
        var what = values == BTreeData.Values.FromKey ? "" : ", random 64-bit values";
        state.Progress($"B1 {side.Name()}, {order.ToString().ToLowerInvariant()} order{what}: {perSecond:N0} entries/s, {megabytes:F1} MB");
        // SQLite's B2 and B3 read a table of their own; the files nobody reads again go now (they are large).
        if (!keep || side == Side.Sqlite) DeleteWithSiblings(path);
    }

    private static void DeleteWithSiblings(string path)
    {
        var name = Path.GetFileName(path);
        foreach (var file in new DirectoryInfo(Path.GetDirectoryName(path)!).EnumerateFiles(name + "*")) file.Delete();
    }
}
