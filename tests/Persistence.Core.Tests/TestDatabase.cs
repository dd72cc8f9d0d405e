using Persistence.Storage;

namespace Persistence.Tests;

/// <summary>A temporary folder for database files, deleted with the test.</summary>
public sealed class TempFolder : IDisposable
{
    public TempFolder()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "persistence-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
            // A file still open on some platform: leave it to the temp cleaner.
        }
    }
}

/// <summary>Opens databases for tests: in memory, or in a file under a temp folder.</summary>
public static class TestDatabase
{
    /// <summary>
    /// A database in memory. Its pool keeps no closed connections, so every connection a test opens
    /// starts cold and really reads what the previous one stored.
    /// </summary>
    public static Database InMemory(int cacheSize = 10_000, TransactionIsolation isolation = TransactionIsolation.Serializable) =>
        Database.Open(new MemoryStorage(), Cold(cacheSize, isolation));

    /// <summary>Options with no connection pool (see <see cref="InMemory"/>).</summary>
    public static DatabaseOptions Cold(int cacheSize = 10_000, TransactionIsolation isolation = TransactionIsolation.Serializable) =>
        new() { CacheSize = cacheSize, ConnectionPoolSize = 0, Isolation = isolation };

    /// <summary>Stores two nodes under the root, "a" labelled a0 and "b" labelled b0, and returns the database.</summary>
    public static Database WithTwoNodes(Database db)
    {
        using var setup = db.OpenConnection();
        setup.Root["a"] = new Models.Node { Label = "a0" };
        setup.Root["b"] = new Models.Node { Label = "b0" };
        setup.Commit();
        return db;
    }

    /// <summary>Stores <paramref name="value"/> under the root as <paramref name="key"/>, through a connection of its own, and returns the commit's tid.</summary>
    public static long Store(Database db, string key, PersistentObject value)
    {
        using var writer = db.OpenConnection();
        writer.Root[key] = value;
        writer.Commit();
        return db.Storage.LastTid;
    }

    /// <summary>Stores <paramref name="value"/> under the root and returns a fresh connection's copy of it.</summary>
    public static T RoundTrip<T>(Database db, T value) where T : PersistentObject
    {
        using (var writer = db.OpenConnection())
        {
            writer.Root["value"] = value;
            writer.Commit();
        }
        var reader = db.OpenConnection();
        return (T)reader.Root["value"];
    }
}
