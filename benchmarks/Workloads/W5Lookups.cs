using System.Diagnostics;
using System.Runtime;

namespace Persistence.Workloads;

/// <summary>
/// W5, in a new process: open the database, then 10,000 lookups of random ids, reading each one's Name.
/// Timed from after the open; each lookup goes through the collection (bucket, then person), which
/// loads the bucket the first time it is needed.
/// </summary>
internal static class W5Lookups
{
    private const int Seed = 5;

    public static readonly Metric LookupsPerSecond = new("W5", "lookups/s ↑", true, 0, Target.RatioAtLeast(4, "≥ 4× SQLite"));

    public static readonly Metric CompilingMs = new("W5", "of the lookups' time: the runtime compiling first calls (JIT, on the lookups' thread), ms ↓", false, 1, NoRatio: true);

    public static void Run(Side side, RunState state)
    {
        state.Results.Label("W5", $"W5 new process: {state.Lookups:N0} random lookups by id reading Name");
        using var child = ChildProcess.Start("W5", side, state.DatabasePath(side), ("objects", state.Objects), ("lookups", state.Lookups), ("seed", Seed + state.Run));
        child.WaitStarted();
        var result = child.Result();
        var rate = result["lookups"] / (result["lookupMs"] / 1000);
        state.Record(LookupsPerSecond, side, rate);
        state.Record(CompilingMs, side, result["jitMs"]);
        state.Progress($"W5 {side.Name()}: {rate:N0} lookups/s (open {result["openMs"]:F1} ms; {result["lookupMs"]:F1} ms of lookups, of which {result["jitMs"]:F1} ms compiling)");
    }

    /// <summary>In the child.</summary>
    public static Dictionary<string, double> Child(ChildArguments arguments)
    {
        var ids = PersonData.RandomIds(arguments.Int("lookups"), arguments.Int("objects"), arguments.Int("seed"));
        var path = arguments.Database;
        long checksum = 0;
        TimeSpan open, lookups, compiling;
        var started = Stopwatch.GetTimestamp();
        if (arguments.Side == Side.Persistence)
        {
            using var database = Ours.Open(path);
            using var connection = database.OpenConnection();
            var persons = Ours.Persons(connection);
            open = Stopwatch.GetElapsedTime(started);
            var compiled = JitInfo.GetCompilationTime(currentThread: true);
            started = Stopwatch.GetTimestamp();
            checksum = LookUpOurs(persons, ids);
            lookups = Stopwatch.GetElapsedTime(started);
            compiling = JitInfo.GetCompilationTime(currentThread: true) - compiled;
        }
        else
        {
            using var connection = Sql.Open(path);
            open = Stopwatch.GetElapsedTime(started);
            var compiled = JitInfo.GetCompilationTime(currentThread: true);
            started = Stopwatch.GetTimestamp();
            using var select = Sql.Prepare(connection, "SELECT name FROM persons WHERE id = $p0", 1);
            checksum = LookUpSqlite(select, ids);
            lookups = Stopwatch.GetElapsedTime(started);
            compiling = JitInfo.GetCompilationTime(currentThread: true) - compiled;
        }
        return new()
        {
            ["openMs"] = open.TotalMilliseconds,
            ["lookups"] = ids.Length,
            ["lookupMs"] = lookups.TotalMilliseconds,
            ["jitMs"] = compiling.TotalMilliseconds,
            ["checksum"] = checksum,
        };
    }

    // The timed loops are methods of their own: in the child's method, the runtime's first optimized
    // compile of the loop (on-stack replacement, a few thousand lookups in) compiled the whole method,
    // the other side's code included, inside the timed lookups of both sides.

    private static long LookUpOurs(BTree<int, Person> persons, int[] ids)
    {
        long checksum = 0;
        foreach (var id in ids) checksum += Ours.Find(persons, id).Name.Length;
        return checksum;
    }

    private static long LookUpSqlite(Microsoft.Data.Sqlite.SqliteCommand select, int[] ids)
    {
        long checksum = 0;
        var parameter = select.Parameters[0];
        foreach (var id in ids)
        {
            parameter.Value = id;
            checksum += ((string)select.ExecuteScalar()!).Length;
        }
        return checksum;
    }
}
