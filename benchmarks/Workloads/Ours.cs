using Persistence.Storage;

namespace Persistence.Workloads;

/// <summary>
/// The Persistence side: how the harness opens a database, where the persons live, and the pack call.
/// </summary>
internal static class Ours
{
    /// <summary>Printed with the results ("collection: …").</summary>
    public const string CollectionDescription =
        "root[\"persons\"] is a BTree<int, Person> keyed by id (its buckets and nodes are records of their own: changing a person rewrites " +
        "that person, adding one rewrites the bucket it goes in). root[\"counter\"] is a PersistentCounter.";

    public const string PersonsKey = "persons";
    public const string CounterKey = "counter";

    public static string DataFile(string directory) => Path.Combine(directory, "persons.db");

    /// <summary>Opens the database with the default options (FileStorage, durable commits) unless told otherwise.</summary>
    public static Database Open(string path, int? cacheSize = null, long? recordCacheBytes = null)
    {
        var defaults = new DatabaseOptions();
        return Database.Open(path, new DatabaseOptions
        {
            CacheSize = cacheSize ?? defaults.CacheSize,
            RecordCacheBytes = recordCacheBytes ?? defaults.RecordCacheBytes,
        });
    }

    public static BTree<int, Person> Persons(Connection connection) => (BTree<int, Person>)connection.Root[PersonsKey];

    public static PersistentCounter Counter(Connection connection) => (PersistentCounter)connection.Root[CounterKey];

    public static Person Find(BTree<int, Person> persons, int id) => persons[id];

    /// <summary>
    /// Packs the database; null when the storage has no pack (then W6 prints "n/a: pack not available").
    /// The one line to change if the pack API changes.
    /// </summary>
    public static PackResult? Pack(Database database) => (database.Storage as FileStorage)?.Pack();
}

internal static class Files
{
    public static long Length(string path) => File.Exists(path) ? new FileInfo(path).Length : 0;

    /// <summary>The file and every file whose name starts with its name plus '.' or '-' (SQLite's -wal, -shm; our .lock, .index).</summary>
    public static long LengthWithSiblings(string path)
    {
        var directory = Path.GetDirectoryName(path)!;
        var name = Path.GetFileName(path);
        long total = 0;
        foreach (var file in new DirectoryInfo(directory).EnumerateFiles())
        {
            if (file.Name == name || file.Name.StartsWith(name + ".", StringComparison.Ordinal) || file.Name.StartsWith(name + "-", StringComparison.Ordinal))
                total += file.Length;
        }
        return total;
    }

    public static void DeleteDirectory(string directory)
    {
        try
        {
            if (System.IO.Directory.Exists(directory)) System.IO.Directory.Delete(directory, recursive: true);
        }
        catch (IOException e)
        {
            Console.Error.WriteLine($"warning: could not delete {directory}: {e.Message}");
        }
    }
}
