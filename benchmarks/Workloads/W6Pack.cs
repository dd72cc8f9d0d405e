using System.Diagnostics;

namespace Persistence.Workloads;

/// <summary>
/// W6, after W2: compact the database. Ours: <see cref="Ours.Pack"/> (FileStorage.Pack) on an open
/// database; SQLite: VACUUM, then a WAL checkpoint (TRUNCATE) so the file holds the result. Reports the
/// time, the size of the data file before and after, and the live data rewritten per second (ours: the
/// bytes of the records kept; SQLite: the database after).
/// </summary>
internal static class W6Pack
{
    public const string NotAvailable = "n/a: pack not available";

    public static readonly Metric Seconds = new("W6", "seconds ↓", false, 3);

    public static readonly Metric MegabytesBefore = new("W6", "MB before (data file; SQLite: db + wal) ↓", false, 1);

    public static readonly Metric MegabytesAfter = new("W6", "MB after ↓", false, 1);

    public static readonly Metric LiveMegabytesPerSecond = new("W6", "live data MB/s ↑", true, 0, Target.AtLeast(200, "≥ 200 MB/s"));

    public static void Run(Side side, RunState state)
    {
        state.Results.Label("W6", "W6 after W2: pack (SQLite: VACUUM)");
        var path = state.DatabasePath(side);
        double seconds, before, after, live;
        if (side == Side.Persistence)
        {
            before = Files.Length(path);
            using var database = Ours.Open(path);
            var started = Stopwatch.GetTimestamp();
            var result = Ours.Pack(database);
            seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
            if (result is null)
            {
                foreach (var metric in new[] { Seconds, MegabytesBefore, MegabytesAfter, LiveMegabytesPerSecond }) state.Results.Declare(metric);
                state.Results.MarkUnavailable("W6", Side.Persistence, NotAvailable);
                state.Progress($"W6 Persistence: {NotAvailable}");
                return;
            }
            after = Files.Length(path);
            live = result.LiveBytes;
        }
        else
        {
            before = Files.Length(path) + Files.Length(path + "-wal");
            using var connection = Sql.Open(path);
            var started = Stopwatch.GetTimestamp();
            Sql.Execute(connection, "VACUUM");
            Sql.Execute(connection, "PRAGMA wal_checkpoint(TRUNCATE)");
            seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
            after = Files.Length(path) + Files.Length(path + "-wal");
            live = after;
        }
        state.Record(Seconds, side, seconds);
        state.Record(MegabytesBefore, side, before / 1e6);
        state.Record(MegabytesAfter, side, after / 1e6);
        state.Record(LiveMegabytesPerSecond, side, live / 1e6 / seconds);
        state.Progress($"W6 {side.Name()}: {seconds:F3} s, {before / 1e6:F1} MB → {after / 1e6:F1} MB, {live / 1e6 / seconds:F0} MB/s of live data");
    }
}
