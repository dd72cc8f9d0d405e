using Microsoft.Data.Sqlite;

namespace Persistence.Workloads;

/// <summary>
/// The SQLite side: one table, WAL, synchronous=FULL, prepared statements, BEGIN IMMEDIATE for writes.
/// </summary>
internal static class Sql
{
    public const string Description =
        "Microsoft.Data.Sqlite, one table persons(id INTEGER PRIMARY KEY, name TEXT, age INT, email TEXT, friend INT, created INT) " +
        "and counters(id INTEGER PRIMARY KEY, value INT); journal_mode=WAL, synchronous=FULL, busy_timeout=10000, prepared statements, " +
        "BEGIN IMMEDIATE … COMMIT for writes, no connection pooling (every open is a real open)";

    public const string CreateSchema =
        "CREATE TABLE persons(id INTEGER PRIMARY KEY, name TEXT, age INT, email TEXT, friend INT, created INT);" +
        "CREATE TABLE counters(id INTEGER PRIMARY KEY, value INT NOT NULL);" +
        "INSERT INTO counters(id, value) VALUES (1, 0);";

    public static string DataFile(string directory) => Path.Combine(directory, "persons.sqlite");

    public static SqliteConnection Open(string path)
    {
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder
        {
            DataSource = path,
            Pooling = false,
            Mode = SqliteOpenMode.ReadWriteCreate,
        }.ToString());
        connection.Open();
        Execute(connection, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA busy_timeout=10000;");
        return connection;
    }

    public static void Execute(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    public static object? Scalar(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return command.ExecuteScalar();
    }

    /// <summary>A prepared statement; its parameters are named <c>$p0</c>, <c>$p1</c>, … in order.</summary>
    public static SqliteCommand Prepare(SqliteConnection connection, string sql, int parameters = 0)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        for (var i = 0; i < parameters; i++) command.Parameters.Add(new SqliteParameter("$p" + i, 0));
        command.Prepare();
        return command;
    }

    public static string Version()
    {
        using var connection = new SqliteConnection("Data Source=:memory:");
        connection.Open();
        return (string)Scalar(connection, "SELECT sqlite_version()")!;
    }
}
