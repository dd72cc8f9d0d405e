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
/// </summary>
internal static class MemOverhead
{
    /// <summary>The field slots of a person: two string references, an int, a reference, a DateTime.</summary>
    public const int FieldSlotBytes = 8 + 4 + 8 + 8 + 8;

    public static readonly Metric Overhead = new("MEM", "overhead B/object, record cache off (SQLite: plain objects in a Dictionary) ↓", false, 1,
        Target.AtMost(64, "≤ 64 B/object"));

    public static readonly Metric OverheadDefault = new("MEM", "overhead B/object, default options (64 MiB record cache, one connection open) ↓", false, 1, OursOnly: true);

    public static void Run(Side side, RunState state)
    {
        state.Results.Label("MEM", $"MEM new process: load {state.Objects:N0} persons in one connection, GC.GetTotalMemory before/after, less the fields");
        var path = state.DatabasePath(side);
        state.Progress($"MEM {side.Name()}: creating the database of {state.Objects:N0} persons");
        W1Insert.Populate(side, path, state.Data);
        if (side == Side.Persistence)
        {
            var proper = Measure(side, path, state.Objects, recordCacheBytes: 0);
            var defaults = Measure(side, path, state.Objects, recordCacheBytes: -1);
            state.Record(Overhead, side, proper);
            state.Record(OverheadDefault, side, defaults);
            state.Progress($"MEM Persistence: {proper:F1} B/object overhead with the record cache off, {defaults:F1} with the default options");
        }
        else
        {
            var overhead = Measure(side, path, state.Objects, recordCacheBytes: 0);
            state.Record(Overhead, side, overhead);
            state.Progress($"MEM SQLite (plain objects): {overhead:F1} B/object overhead");
        }
    }

    private static double Measure(Side side, string path, int objects, long recordCacheBytes)
    {
        using var child = ChildProcess.Start("MEM", side, path, ("objects", objects), ("recordCacheBytes", recordCacheBytes));
        child.WaitStarted();
        var result = child.Result();
        if ((int)result["objects"] != objects) throw new InvalidOperationException($"loaded {result["objects"]} persons, not {objects}");
        return result["overheadPerObject"];
    }

    /// <summary>In the child.</summary>
    public static Dictionary<string, double> Child(ChildArguments arguments)
    {
        var objects = arguments.Int("objects");
        var recordCacheBytes = arguments.Long("recordCacheBytes");
        return arguments.Side == Side.Persistence
            ? ChildOurs(arguments.Database, objects, recordCacheBytes < 0 ? null : recordCacheBytes)
            : ChildSqlite(arguments.Database);
    }

    private static Dictionary<string, double> ChildOurs(string path, int objects, long? recordCacheBytes)
    {
        using var database = Ours.Open(path, cacheSize: objects + 10_000, recordCacheBytes: recordCacheBytes);
        using var connection = database.OpenConnection();
        var persons = Ours.Persons(connection);
        _ = persons.Count;
        var before = GC.GetTotalMemory(forceFullCollection: true);
        long payload = 0;
        var count = 0;
        foreach (var (_, person) in persons)
        {
            payload += FieldSlotBytes + StringBytes(person.Name) + StringBytes(person.Email);
            count++;
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
