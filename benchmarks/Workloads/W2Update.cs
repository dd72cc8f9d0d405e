using System.Diagnostics;

namespace Persistence.Workloads;

/// <summary>
/// W2: transactions that each change one random person's Age and commit durably, one after another
/// in one process on the database W1 made. Reports transactions/s (the whole loop: finding the person,
/// changing it, committing) and the latency of the commit call alone (median, p99).
/// </summary>
internal static class W2Update
{
    private const int Seed = 2;

    public static readonly Metric TransactionsPerSecond = new("W2", "txn/s ↑", true, 0,
        new Target("≥ 0.8× fsync floor and ≥ 1.5× SQLite", input =>
            input.FsyncMs is not { } fsync || input.Sqlite is not { } sqlite ? null
            : input.Ours >= 0.8 * (1000 / fsync) && input.Ours >= 1.5 * sqlite));

    public static readonly Metric CommitMedianMs = new("W2", "commit latency median ms ↓", false, 2);

    public static readonly Metric CommitP99Ms = new("W2", "commit latency p99 ms ↓", false, 2);

    public static void Run(Side side, RunState state)
    {
        var count = state.UpdateTransactions;
        state.Results.Label("W2", $"W2 {count:N0} transactions, each changes one random person's Age (durable commit)");
        var ids = PersonData.RandomIds(count, state.Objects, Seed + state.Run);
        var latencies = new double[count];
        var elapsed = side == Side.Persistence
            ? RunOurs(state.DatabasePath(side), ids, latencies)
            : RunSqlite(state.DatabasePath(side), ids, latencies);
        var rate = count / elapsed.TotalSeconds;
        var median = Stats.Percentile(latencies, 0.5);
        var p99 = Stats.Percentile(latencies, 0.99);
        state.Record(TransactionsPerSecond, side, rate);
        state.Record(CommitMedianMs, side, median);
        state.Record(CommitP99Ms, side, p99);
        state.Progress($"W2 {side.Name()}: {rate:N0} txn/s, commit median {median:F2} ms, p99 {p99:F2} ms (fsync {state.FsyncMs:F2} ms)");
    }

    private static TimeSpan RunOurs(string path, int[] ids, double[] latencies)
    {
        using var database = Ours.Open(path);
        using var connection = database.OpenConnection();
        var persons = Ours.Persons(connection);
        var started = Stopwatch.GetTimestamp();
        for (var i = 0; i < ids.Length; i++)
        {
            var person = Ours.Find(persons, ids[i]);
            person.Age = person.Age + 1;
            var commit = Stopwatch.GetTimestamp();
            connection.Commit();
            latencies[i] = Stopwatch.GetElapsedTime(commit).TotalMilliseconds;
        }
        return Stopwatch.GetElapsedTime(started);
    }

    private static TimeSpan RunSqlite(string path, int[] ids, double[] latencies)
    {
        using var connection = Sql.Open(path);
        using var begin = Sql.Prepare(connection, "BEGIN IMMEDIATE");
        using var commit = Sql.Prepare(connection, "COMMIT");
        using var update = Sql.Prepare(connection, "UPDATE persons SET age = age + 1 WHERE id = $p0", 1);
        var id = update.Parameters[0];
        var started = Stopwatch.GetTimestamp();
        for (var i = 0; i < ids.Length; i++)
        {
            begin.ExecuteNonQuery();
            id.Value = ids[i];
            if (update.ExecuteNonQuery() != 1) throw new InvalidOperationException($"person {ids[i]} not found");
            var committing = Stopwatch.GetTimestamp();
            commit.ExecuteNonQuery();
            latencies[i] = Stopwatch.GetElapsedTime(committing).TotalMilliseconds;
        }
        return Stopwatch.GetElapsedTime(started);
    }
}
