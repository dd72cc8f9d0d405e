using System.Diagnostics;
using Microsoft.Data.Sqlite;

namespace Persistence.Workloads;

/// <summary>
/// W7: 8 processes at once, each running read-modify-write transactions on its own person (Age + 1)
/// and on one shared counter (ours: the PersistentCounter under the root, which merges concurrent
/// increments; SQLite: the row of <c>counters</c>, in the same transaction), retrying on conflict.
/// The children open the database and warm up, then wait for each other: once every child has warmed
/// up (and no one commits), each catches up with what the others committed meanwhile, as a process
/// that had just opened the database would be current, and waits again; the parent starts them
/// together and times until the last one reports. A child that is done keeps its database open and
/// exits only once every child is done, so no closing or exiting process takes the cores from those
/// still timed. Then the parent checks that no update was lost: the counter rose by 8 × 200 = 1,600
/// and each person's Age by 200.
/// </summary>
internal static class W7Contention
{
    private const int SqliteBusy = 5;
    private const int SqliteLocked = 6;

    public static readonly Metric TransactionsPerSecond = new("W7", "txn/s, all processes ↑", true, 0, Target.RatioAtLeast(5, "≥ 5× SQLite"));

    public static readonly Metric Conflicts = new("W7", "conflicts (retried transactions) ↓", false, 0, NoRatio: true);

    public static readonly Metric FinalCounter = new("W7", "final counter (expected: 8 × transactions)", true, 0, NoRatio: true);

    public static readonly Metric LostUpdates = new("W7", "lost updates ↓", false, 0, Target.AtMost(0, "0"), NoRatio: true);

    public static void Run(Side side, RunState state)
    {
        var processes = state.ContentionProcesses;
        var transactions = state.ContentionTransactions;
        state.Results.Label("W7", $"W7 {processes} processes at once × {transactions:N0} read-modify-write transactions (own person + shared counter), retry on conflict");
        var path = state.DatabasePath(side);
        // One person per process, spread over the buckets.
        var ids = Enumerable.Range(0, processes).Select(k => (k * (state.Objects / processes)) + 7).ToArray();

        var children = new List<ChildProcess>();
        try
        {
            foreach (var id in ids)
                children.Add(ChildProcess.Start("W7", side, path, ("person", id), ("transactions", transactions), ("warmup", WarmUpTransactions(transactions))));
            foreach (var child in children)
            {
                child.WaitStarted();
                child.WaitReady();
            }
            // The parent reads the first result while others are still timed.
            ChildProcess.WarmUpResults();
            // Every child has warmed up: each catches up.
            foreach (var child in children) child.Go();
            foreach (var child in children) child.WaitReady();
            // After the children's warm-up transactions, which change the same objects.
            var (agesBefore, counterBefore) = Read(side, path, ids);
            foreach (var child in children) child.Go();
            var results = children.Select(child => child.ReadResult()).ToList();
            foreach (var child in children) child.Release();
            foreach (var child in children) child.WaitForExit();
            // From the first child's first transaction to the last child's last commit, on the
            // machine's monotonic clock (the same in every process): closing the databases and exiting
            // come after and are not throughput.
            var elapsed = Stopwatch.GetElapsedTime((long)results.Min(r => r["started"]), (long)results.Max(r => r["ended"]));

            var committed = results.Sum(r => r["transactions"]);
            var conflicts = results.Sum(r => r["conflicts"]);
            var (agesAfter, counterAfter) = Read(side, path, ids);
            var lost = (counterBefore + committed - counterAfter)
                + ids.Select((_, i) => agesBefore[i] + transactions - agesAfter[i]).Sum();
            var rate = committed / elapsed.TotalSeconds;
            state.Record(TransactionsPerSecond, side, rate);
            state.Record(Conflicts, side, conflicts);
            state.Record(FinalCounter, side, counterAfter);
            state.Record(LostUpdates, side, lost);
            state.Progress($"W7 {side.Name()}: {rate:N0} txn/s, {conflicts:N0} conflicts, counter {counterBefore} → {counterAfter} (expected +{committed:N0}), lost updates {lost}");
            if (lost != 0 || counterAfter != counterBefore + (long)processes * transactions)
                state.Fail($"W7 on {side.Name()}: counter {counterBefore} → {counterAfter} after {committed} transactions, {lost} lost updates");
        }
        finally
        {
            foreach (var child in children) child.Dispose();
        }
    }

    /// <summary>
    /// The fewest transactions each child runs before it reports ready, not timed: a long-running
    /// program commits with compiled code and warm caches, while a fresh process first compiles the
    /// commit path (and .NET recompiles hot methods optimized in the background for a while), which is
    /// start-up, not throughput. The children go on until the runtime has settled (<see cref="WarmUp"/>).
    /// SQLite's children warm up the same way.
    /// </summary>
    private static int WarmUpTransactions(int transactions) => Math.Max(transactions * 2, 20);

    /// <summary>The persons' ages and the counter, read in the parent before and after.</summary>
    private static (long[] Ages, long Counter) Read(Side side, string path, int[] ids)
    {
        if (side == Side.Persistence)
        {
            using var database = Ours.Open(path);
            using var connection = database.OpenReadOnlyConnection();
            var persons = Ours.Persons(connection);
            return (ids.Select(id => (long)Ours.Find(persons, id).Age).ToArray(), Ours.Counter(connection).Value);
        }
        using var sqlite = Sql.Open(path);
        using var age = Sql.Prepare(sqlite, "SELECT age FROM persons WHERE id = $p0", 1);
        var ages = ids.Select(id =>
        {
            age.Parameters[0].Value = id;
            return (long)age.ExecuteScalar()!;
        }).ToArray();
        return (ages, (long)Sql.Scalar(sqlite, "SELECT value FROM counters WHERE id = 1")!);
    }

    /// <summary>In the child: reports its result itself (see <see cref="ChildProcess.ReportAndWaitForExit"/>), so returns null.</summary>
    public static Dictionary<string, double>? Child(ChildArguments arguments)
    {
        var id = arguments.Int("person");
        var transactions = arguments.Int("transactions");
        var warmUp = arguments.Int("warmup");
        // Its report comes while others are still timed.
        ChildProcess.WarmUpResults();
        if (arguments.Side == Side.Persistence) ChildOurs(arguments.Database, id, transactions, warmUp);
        else ChildSqlite(arguments.Database, id, transactions, warmUp);
        return null;
    }

    /// <summary>What a child reports.</summary>
    private static Dictionary<string, double> Result(int transactions, int conflicts, long started, long ended) => new()
    {
        ["transactions"] = transactions,
        ["conflicts"] = conflicts,
        ["started"] = started,
        ["ended"] = ended,
        ["ms"] = Stopwatch.GetElapsedTime(started, ended).TotalMilliseconds,
    };

    private static void ChildOurs(string path, int id, int transactions, int warmUp)
    {
        using var database = Ours.Open(path);
        using var connection = database.OpenConnection();
        WarmUp.Run(batch => RunOurs(connection, id, batch), warmUp);
        ChildProcess.SignalReadyAndWait();
        // Catch up with the others' warm-up transactions: the next transaction starts from the newest state.
        connection.Abort();
        ChildProcess.SignalReadyAndWait();

        var started = Stopwatch.GetTimestamp();
        var conflicts = RunOurs(connection, id, transactions);
        var ended = Stopwatch.GetTimestamp();
        ChildProcess.ReportAndWaitForExit(Result(transactions, conflicts, started, ended));
    }

    /// <summary>The read-modify-write transactions; returns how many conflicts were retried.</summary>
    private static int RunOurs(Connection connection, int id, int transactions)
    {
        var conflicts = 0;
        for (var i = 0; i < transactions; i++)
        {
            while (true)
            {
                try
                {
                    var person = Ours.Find(Ours.Persons(connection), id);
                    person.Age = person.Age + 1;
                    Ours.Counter(connection).Increment();
                    connection.Commit();
                    break;
                }
                catch (ConflictException)
                {
                    connection.Abort();
                    conflicts++;
                }
            }
        }
        return conflicts;
    }

    private static void ChildSqlite(string path, int id, int transactions, int warmUp)
    {
        using var connection = Sql.Open(path);
        using var begin = Sql.Prepare(connection, "BEGIN IMMEDIATE");
        using var commit = Sql.Prepare(connection, "COMMIT");
        using var rollback = Sql.Prepare(connection, "ROLLBACK");
        using var selectAge = Sql.Prepare(connection, "SELECT age FROM persons WHERE id = $p0", 1);
        using var updateAge = Sql.Prepare(connection, "UPDATE persons SET age = $p1 WHERE id = $p0", 2);
        using var selectCounter = Sql.Prepare(connection, "SELECT value FROM counters WHERE id = 1");
        using var updateCounter = Sql.Prepare(connection, "UPDATE counters SET value = $p0 WHERE id = 1", 1);
        selectAge.Parameters[0].Value = id;
        updateAge.Parameters[0].Value = id;
        WarmUp.Run(Run, warmUp);
        ChildProcess.SignalReadyAndWait();
        // A read brings the connection's page cache up to the others' warm-up transactions.
        _ = selectCounter.ExecuteScalar();
        ChildProcess.SignalReadyAndWait();

        var started = Stopwatch.GetTimestamp();
        var conflicts = Run(transactions);
        var ended = Stopwatch.GetTimestamp();
        ChildProcess.ReportAndWaitForExit(Result(transactions, conflicts, started, ended));

        int Run(int count)
        {
            var conflicts = 0;
            for (var i = 0; i < count; i++)
            {
                while (true)
                {
                    var begun = false;
                    try
                    {
                        begin.ExecuteNonQuery();
                        begun = true;
                        var age = (long)selectAge.ExecuteScalar()!;
                        updateAge.Parameters[1].Value = age + 1;
                        updateAge.ExecuteNonQuery();
                        var counter = (long)selectCounter.ExecuteScalar()!;
                        updateCounter.Parameters[0].Value = counter + 1;
                        updateCounter.ExecuteNonQuery();
                        commit.ExecuteNonQuery();
                        break;
                    }
                    catch (SqliteException e) when (e.SqliteErrorCode is SqliteBusy or SqliteLocked)
                    {
                        if (begun) rollback.ExecuteNonQuery();
                        conflicts++;
                    }
                }
            }
            return conflicts;
        }
    }
}
