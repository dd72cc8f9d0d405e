using Persistence.Storage;

namespace Persistence.Workloads;

/// <summary>
/// MEM, in a new process: load every person (1,000,000 unless --objects says otherwise) in one
/// connection whose cache holds them all, and measure the managed heap with
/// <see cref="GC.GetTotalMemory(bool)"/> before and after. The overhead per person is what the heap
/// grew by, less the fields' payload: the five field slots (Name and Email references, Age, Friend
/// reference, Created: 36 bytes) and the Name and Email strings' own sizes. It includes the object
/// header, the bookkeeping every persistent object carries, the connection's oid map, and the
/// collection's buckets. Ours is measured twice: with the shared record cache off
/// (<see cref="DatabaseOptions.RecordCacheBytes"/> = 0: the cost of a loaded object proper) and with
/// the default options (the 64 MiB record cache, which keeps records only while more than one
/// connection is open, so a lone connection's loads do not fill it). SQLite's column is the baseline an
/// application gets without an object database: the rows read into plain objects
/// (<see cref="Row"/>, the same five fields) in a <see cref="Dictionary{TKey, TValue}"/> by id.
/// A third child of ours reads every person in one transaction with the default cache, calling
/// <see cref="Connection.ReleaseUnchanged"/> every <see cref="ReleaseEvery"/> persons, and reports
/// what the heap grew by: what a long pass holds when it lets go as it goes.
/// </summary>
internal static class MemOverhead
{
    /// <summary>The field slots of a person: two string references, an int, a reference, a DateTime.</summary>
    public const int FieldSlotBytes = 8 + 4 + 8 + 8 + 8;

    public static readonly Metric Overhead = new("MEM", "overhead B/object, record cache off (SQLite: plain objects in a Dictionary) ↓", false, 1,
        Target.AtMost(64, "≤ 64 B/object"));

    public static readonly Metric OverheadDefault = new("MEM", "overhead B/object, default options (64 MiB record cache, one connection open) ↓", false, 1, OursOnly: true);

    /// <summary>How many persons the releasing pass reads between two calls of <see cref="Connection.ReleaseUnchanged"/>.</summary>
    public const int ReleaseEvery = 10_000;

    public static readonly Metric HoldingPass = new("MEM", "heap growth MiB of that pass (default options, the cache holding every person) ↓", false, 1, OursOnly: true);

    public static readonly Metric ReleasingPass = new("MEM", $"heap growth MiB, the same pass in one transaction calling ReleaseUnchanged every {ReleaseEvery:N0} persons (default options) ↓", false, 1, OursOnly: true);

    public static void Run(Side side, RunState state)
    {
        state.Results.Label("MEM", $"MEM new process: load {state.Objects:N0} persons in one connection, GC.GetTotalMemory before/after, less the fields");
        var path = state.DatabasePath(side);
        state.Progress($"MEM {side.Name()}: creating the database of {state.Objects:N0} persons");
        W1Insert.Populate(side, path, state.Data);
        if (side == Side.Persistence)
        {
            var proper = Measure(side, path, state.Objects, recordCacheBytes: 0)["overheadPerObject"];
            var defaults = Measure(side, path, state.Objects, recordCacheBytes: -1);
            var releasing = Measure(side, path, state.Objects, recordCacheBytes: -1, ReleaseEvery)["heapGrowthMiB"];
            state.Record(Overhead, side, proper);
            state.Record(OverheadDefault, side, defaults["overheadPerObject"]);
            state.Record(HoldingPass, side, defaults["heapGrowthMiB"]);
            state.Record(ReleasingPass, side, releasing);
            state.Progress($"MEM Persistence: {proper:F1} B/object overhead with the record cache off, {defaults["overheadPerObject"]:F1} with the default options; " +
                $"heap growth {defaults["heapGrowthMiB"]:F1} MiB holding every person, {releasing:F1} MiB releasing as it goes");
        }
        else
        {
            var overhead = Measure(side, path, state.Objects, recordCacheBytes: 0)["overheadPerObject"];
            state.Record(Overhead, side, overhead);
            state.Progress($"MEM SQLite (plain objects): {overhead:F1} B/object overhead");
        }
    }

    private static Dictionary<string, double> Measure(Side side, string path, int objects, long recordCacheBytes, int releaseEvery = 0)
    {
        using var child = ChildProcess.Start("MEM", side, path, ("objects", objects), ("recordCacheBytes", recordCacheBytes), ("releaseEvery", releaseEvery));
        child.WaitStarted();
        var result = child.Result();
        if ((int)result["objects"] != objects) throw new InvalidOperationException($"loaded {result["objects"]} persons, not {objects}");
        return result;
    }

    /// <summary>In the child.</summary>
    public static Dictionary<string, double> Child(ChildArguments arguments)
    {
        var objects = arguments.Int("objects");
        var recordCacheBytes = arguments.Long("recordCacheBytes");
        var releaseEvery = arguments.Int("releaseEvery");
        return arguments.Side == Side.Persistence
            ? ChildOurs(arguments.Database, objects, recordCacheBytes < 0 ? null : recordCacheBytes, releaseEvery)
            : ChildSqlite(arguments.Database);
    }

    private static Dictionary<string, double> ChildOurs(string path, int objects, long? recordCacheBytes, int releaseEvery)
    {
        // A pass that releases as it goes keeps the default cache; one that holds every person needs room for them all.
        using var database = Ours.Open(path, cacheSize: releaseEvery > 0 ? null : objects + 10_000, recordCacheBytes: recordCacheBytes);
        using var connection = database.OpenConnection();
        var persons = Ours.Persons(connection);
        _ = persons.Count;
        // The oid index (8 bytes an object, the storage's whether objects are loaded or not) is read
        // before the first measure: an open leaves its pages in the checkpoint file until first use,
        // and a checkpoint reads them all.
        ((FileStorage)database.Storage).Checkpoint();
        var before = GC.GetTotalMemory(forceFullCollection: true);
        long payload = 0;
        var count = 0;
        foreach (var (_, person) in persons)
        {
            payload += FieldSlotBytes + StringBytes(person.Name) + StringBytes(person.Email);
            count++;
            if (releaseEvery > 0 && count % releaseEvery == 0) connection.ReleaseUnchanged();
        }
        var after = GC.GetTotalMemory(forceFullCollection: true);
        GC.KeepAlive(persons);
        GC.KeepAlive(connection);
        return Result(before, after, payload, count, connection.LoadedCount);
    }

    private static Dictionary<string, double> ChildSqlite(string path)
    {
        using var connection = Sql.Open(path);
        using var select = Sql.Prepare(connection, "SELECT id, name, age, email, friend, created FROM persons ORDER BY id");
        var before = GC.GetTotalMemory(forceFullCollection: true);
        var rows = new Dictionary<int, Row>();
        long payload = 0;
        using (var reader = select.ExecuteReader())
        {
            while (reader.Read())
            {
                var row = new Row
                {
                    Name = reader.GetString(1),
                    Age = reader.GetInt32(2),
                    Email = reader.GetString(3),
                    Friend = reader.IsDBNull(4) ? null : rows[reader.GetInt32(4)],
                    Created = new DateTime(reader.GetInt64(5), DateTimeKind.Utc),
                };
                rows.Add(reader.GetInt32(0), row);
                payload += FieldSlotBytes + StringBytes(row.Name) + StringBytes(row.Email);
            }
        }
        var after = GC.GetTotalMemory(forceFullCollection: true);
        GC.KeepAlive(rows);
        return Result(before, after, payload, rows.Count, rows.Count);
    }

    private static Dictionary<string, double> Result(long before, long after, long payload, int count, int loaded) => new()
    {
        ["heapGrowthMiB"] = (after - before) / (1024.0 * 1024.0),
        ["objects"] = count,
        ["loaded"] = loaded,
        ["heapBefore"] = before,
        ["heapAfter"] = after,
        ["payload"] = payload,
        ["overheadPerObject"] = (after - before - payload) / (double)count,
    };

    /// <summary>A string's own size on a 64-bit runtime: header and method table (16), length (4), UTF-16 characters and a terminator, rounded up to 8.</summary>
    public static long StringBytes(string s) => Math.Max(24, (16 + 4 + (2L * (s.Length + 1)) + 7) & ~7L);

    /// <summary>A person as a plain object (what an application keeps after reading a row).</summary>
    private sealed class Row
    {
        public required string Name { get; init; }

        public int Age { get; init; }

        public required string Email { get; init; }

        public Row? Friend { get; init; }

        public DateTime Created { get; init; }
    }
}
