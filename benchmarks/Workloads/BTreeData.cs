using Microsoft.Data.Sqlite;

namespace Persistence.Workloads;

/// <summary>
/// What the BTree workloads (B1–B3) share: the entries (int keys 0..N−1, each with a long value
/// computed from its key), the order they are inserted in, where the databases live, and the SQLite
/// schemas. Ours is a <c>BTree&lt;int, long&gt;</c> in <c>root["btree"]</c>.
/// </summary>
internal static class BTreeData
{
    public const string TreeKey = "btree";

    public const int CommitEvery = 1000;

    /// <summary>The seed of the random insert order; the same on both sides.</summary>
    private const int OrderSeed = 6;

    /// <summary>B1's SQLite table: "an indexed table", the key in an index beside the rowid.</summary>
    public const string CreateIndexedTable = "CREATE TABLE t(k INTEGER NOT NULL, v INTEGER); CREATE INDEX t_k ON t(k);";

    /// <summary>B2 and B3's SQLite table: the key is the rowid (SQLite's fastest lookup and ordered scan).</summary>
    public const string CreateKeyTable = "CREATE TABLE p(k INTEGER PRIMARY KEY, v INTEGER);";

    public const string Description =
        "B1–B3: ours a BTree<int, long> in root[\"btree\"] (default DatabaseOptions); SQLite t(k INTEGER NOT NULL, v INTEGER) with an index on k for B1, " +
        "p(k INTEGER PRIMARY KEY, v INTEGER) (k is the rowid) for B2 and B3, built in the same random order (untimed); keys 0..N−1, value = 10 × key + 1 (B1 also inserts random 64-bit values, a mix of the key, in random order). " +
        "B2 and B3 read our B1 random-order file; both sides' files were just written and closed, so the OS page cache is warm, while each process starts with empty caches of its own";

    /// <summary>Which insert order a B1 database was filled in.</summary>
    public enum Order
    {
        Random,
        Increasing,
    }

    /// <summary>Which values the entries of a B1 database hold.</summary>
    public enum Values
    {
        /// <summary>10 × key + 1: what B2 and B3 read and check.</summary>
        FromKey,

        /// <summary>
        /// A 64-bit mix of the key: unrelated to the key order, so nothing in a bucket's values is
        /// smaller than 8 bytes (the case packed integer arrays cannot help).
        /// </summary>
        Random,
    }

    public static long ValueOf(int key) => (10L * key) + 1;

    public static long ValueOf(int key, Values values) => values == Values.FromKey ? ValueOf(key) : RandomValueOf(key);

    private static long RandomValueOf(int key)
    {
        var x = (ulong)key + 0x9E3779B97F4A7C15UL;
        x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9UL;
        x = (x ^ (x >> 27)) * 0x94D049BB133111EBUL;
        return (long)(x ^ (x >> 31));
    }

    /// <summary>Keys 0..<paramref name="entries"/>−1 in the given order (the random one from a fixed seed).</summary>
    public static int[] Keys(int entries, Order order)
    {
        var keys = new int[entries];
        for (var i = 0; i < entries; i++) keys[i] = i;
        if (order == Order.Random) new Random(OrderSeed).Shuffle(keys);
        return keys;
    }

    public static string OursFile(RunState state, Order order, Values values = Values.FromKey) =>
        Path.Combine(state.SideDirectory(Side.Persistence), FileName(order, values) + ".db");

    public static string IndexedSqliteFile(RunState state, Order order, Values values = Values.FromKey) =>
        Path.Combine(state.SideDirectory(Side.Sqlite), FileName(order, values) + ".sqlite");

    private static string FileName(Order order, Values values) =>
        $"btree-{order.ToString().ToLowerInvariant()}" + (values == Values.FromKey ? "" : "-random-values");

    public static string KeySqliteFile(RunState state) => Path.Combine(state.SideDirectory(Side.Sqlite), "btree-pk.sqlite");

    /// <summary>The database B2 and B3 read on <paramref name="side"/>: ours from B1 (random order), SQLite's rowid table (built here once per run, untimed).</summary>
    public static string ReadDatabase(RunState state, Side side)
    {
        if (side == Side.Persistence) return OursFile(state, Order.Random);
        var path = KeySqliteFile(state);
        if (File.Exists(path)) return path;
        state.Progress("B2/B3 SQLite: building the INTEGER PRIMARY KEY table (untimed)");
        using var connection = Sql.Open(path);
        Sql.Execute(connection, CreateKeyTable);
        // One transaction: the same tree shape as batches of 1,000 give, without a thousand fsyncs.
        InsertSqlite(connection, "INSERT INTO p(k, v) VALUES ($p0, $p1)", Keys(state.Options.Entries, Order.Random), int.MaxValue);
        return path;
    }

    public static BTree<int, long> Tree(Connection connection) => (BTree<int, long>)connection.Root[TreeKey];

    /// <summary>Inserts <paramref name="keys"/> in order into a new tree, committing every <see cref="CommitEvery"/>.</summary>
    public static void InsertOurs(string path, int[] keys, Values values = Values.FromKey)
    {
        using var database = Ours.Open(path);
        using var connection = database.OpenConnection();
        var tree = new BTree<int, long>();
        connection.Root[TreeKey] = tree;
        for (var i = 0; i < keys.Length; i++)
        {
            tree.Add(keys[i], ValueOf(keys[i], values));
            if ((i + 1) % CommitEvery == 0) connection.Commit();
        }
        connection.Commit();
    }

    /// <summary>Runs the two-parameter <paramref name="insertSql"/> (key, value) for each key, prepared, one transaction per <paramref name="batch"/> keys.</summary>
    public static void InsertSqlite(SqliteConnection connection, string insertSql, int[] keys, int batch = CommitEvery, Values values = Values.FromKey)
    {
        using var begin = Sql.Prepare(connection, "BEGIN IMMEDIATE");
        using var commit = Sql.Prepare(connection, "COMMIT");
        using var insert = Sql.Prepare(connection, insertSql, 2);
        var (key, value) = (insert.Parameters[0], insert.Parameters[1]);
        batch = Math.Clamp(batch, 1, Math.Max(keys.Length, 1));
        for (var start = 0; start < keys.Length; start += batch)
        {
            begin.ExecuteNonQuery();
            for (var i = start; i < Math.Min(start + batch, keys.Length); i++)
            {
                key.Value = keys[i];
                value.Value = ValueOf(keys[i], values);
                insert.ExecuteNonQuery();
            }
            commit.ExecuteNonQuery();
        }
    }
}
