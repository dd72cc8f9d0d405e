using System.Diagnostics;

namespace Persistence.Workloads;

/// <summary>
/// W1: insert N persons, committing every 1,000 (durably: default durability on both sides). Timed
/// from opening the new database to closing it (our index checkpoint at close, SQLite's WAL checkpoint
/// at close included). Reports objects/s and the size of the database's files after closing.
/// </summary>
internal static class W1Insert
{
    public const int CommitEvery = 1000;

    public static readonly Metric ObjectsPerSecond = new("W1", "objects/s ↑", true, 0,
        Target.All("≥ 1,000,000/s and ≥ 6× SQLite", Target.AtLeast(1_000_000, ""), Target.RatioAtLeast(6, "")));

    public static readonly Metric FileMegabytes = new("W1", "file MB, all files after close ↓", false, 1,
        Target.RatioAtMost(1.5, "≤ 1.5× SQLite"));

    public static readonly Metric DataFileMegabytes = new("W1", "data file MB (without .index/.lock, -wal/-shm) ↓", false, 1);

    public static void Run(Side side, RunState state)
    {
        state.Results.Label("W1", $"W1 insert {state.Objects:N0} persons, commit every {CommitEvery:N0}");
        var path = state.DatabasePath(side);
        var elapsed = Populate(side, path, state.Data);
        var (data, all) = (Files.Length(path), Files.LengthWithSiblings(path));
        var rate = state.Objects / elapsed.TotalSeconds;
        state.Record(ObjectsPerSecond, side, rate);
        state.Record(FileMegabytes, side, all / 1e6);
        state.Record(DataFileMegabytes, side, data / 1e6);
        // Once a run, beside our side: the floor under the W1 target on this machine.
        var floor = side == Side.Persistence && state.Reports("W1") ? W1Floor.Measure(state.SideDirectory(side), state.Data) : (double?)null;
        if (floor is { } f) state.Record(W1Floor.ObjectsPerSecond, side, f);
        state.Progress($"W1 {side.Name()}: {rate:N0} objects/s, {all / 1e6:F1} MB ({data / 1e6:F1} MB data file)"
            + (floor is { } g ? $"; plain objects written and flushed (the floor): {g:N0} objects/s" : ""));
    }

    /// <summary>Creates the database at <paramref name="path"/> with every person of <paramref name="data"/>; returns the time taken.</summary>
    public static TimeSpan Populate(Side side, string path, PersonData data)
    {
        var started = Stopwatch.GetTimestamp();
        if (side == Side.Persistence) PopulateOurs(path, data);
        else PopulateSqlite(path, data);
        return Stopwatch.GetElapsedTime(started);
    }

    private static void PopulateOurs(string path, PersonData data)
    {
        using var database = Ours.Open(path);
        using var connection = database.OpenConnection();
        var persons = new BTree<int, Person>();
        connection.Root[Ours.PersonsKey] = persons;
        connection.Root[Ours.CounterKey] = new PersistentCounter();
        // The persons made so far, for Friend references to earlier ones (a bulk loader keeps them).
        var made = new Person[data.Count];
        for (var id = 0; id < data.Count; id++)
        {
            var friend = data.Friends[id];
            var person = new Person
            {
                Name = data.Names[id],
                Age = data.Ages[id],
                Email = data.Emails[id],
                Friend = friend < 0 ? null : made[friend],
                Created = data.Created[id],
            };
            made[id] = person;
            persons.Add(id, person);
            if ((id + 1) % CommitEvery == 0) connection.Commit();
        }
        connection.Commit();
    }

    private static void PopulateSqlite(string path, PersonData data)
    {
        using var connection = Sql.Open(path);
        Sql.Execute(connection, Sql.CreateSchema);
        using var begin = Sql.Prepare(connection, "BEGIN IMMEDIATE");
        using var commit = Sql.Prepare(connection, "COMMIT");
        using var insert = Sql.Prepare(connection, "INSERT INTO persons(id, name, age, email, friend, created) VALUES ($p0, $p1, $p2, $p3, $p4, $p5)", 6);
        var p = insert.Parameters;
        var open = false;
        for (var id = 0; id < data.Count; id++)
        {
            if (!open)
            {
                begin.ExecuteNonQuery();
                open = true;
            }
            var friend = data.Friends[id];
            p[0].Value = id;
            p[1].Value = data.Names[id];
            p[2].Value = data.Ages[id];
            p[3].Value = data.Emails[id];
            p[4].Value = friend < 0 ? DBNull.Value : friend;
            p[5].Value = data.Created[id].Ticks;
            insert.ExecuteNonQuery();
            if ((id + 1) % CommitEvery == 0)
            {
                commit.ExecuteNonQuery();
                open = false;
            }
        }
        if (open) commit.ExecuteNonQuery();
    }
}
