using Persistence.Serialization;
using Persistence.Storage;

namespace Persistence;

/// <summary>
/// A database: one storage, its schema catalog, and the connections that work on it. Thread-safe;
/// open one per storage and process, and a connection per thread (or unit of work).
/// </summary>
/// <example>
/// <code>
/// using var db = Database.Open("shop.db");
/// using var connection = db.OpenConnection();
/// connection.Root["greeting"] = new Note { Text = "hello" };
/// connection.Commit();
/// </code>
/// </example>
public sealed class Database : IDisposable
{
    private readonly bool _ownsStorage;
    private readonly Lock _gate = new();
    private readonly List<Connection> _connections = [];
    private bool _disposed;

    static Database()
    {
        // The root's class is part of every database, so the library registers it itself.
        PersistentDictionary<string, PersistentObject>.Register(ValueCodecs.String!, "str", ValueCodecs.Reference<PersistentObject>(), RootElementName);
    }

    private Database(IStorage storage, DatabaseOptions options, bool ownsStorage)
    {
        Storage = storage;
        Options = options;
        _ownsStorage = ownsStorage;
        try
        {
            Catalog = new SchemaCatalog(storage);
            if (storage.Load(Oid.Root) is null) CreateRoot();
        }
        catch
        {
            if (ownsStorage) storage.Dispose();
            throw;
        }
    }

    internal const string RootElementName = "Persistence.PersistentObject";

    /// <summary>The storage the database keeps its records in.</summary>
    public IStorage Storage { get; }

    /// <summary>The settings the database was opened with.</summary>
    public DatabaseOptions Options { get; }

    internal SchemaCatalog Catalog { get; }

    /// <summary>Opens (or creates) a database in a file, with the embedded file storage.</summary>
    /// <param name="path">The data file; created if missing.</param>
    /// <param name="options">Settings; null for the defaults.</param>
    public static Database Open(string path, DatabaseOptions? options = null)
    {
        options ??= new DatabaseOptions();
        var storage = FileStorage.Open(path, new FileStorageOptions { ReadOnly = options.ReadOnly });
        return new Database(storage, options, ownsStorage: true);
    }

    /// <summary>Opens a database on a storage. The database disposes the storage when it is disposed.</summary>
    public static Database Open(IStorage storage, DatabaseOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(storage);
        return new Database(storage, options ?? new DatabaseOptions(), ownsStorage: true);
    }

    /// <summary>Opens a connection: a consistent view of the database and a cache of the objects it loads.</summary>
    public Connection OpenConnection()
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            var connection = new Connection(this);
            _connections.Add(connection);
            return connection;
        }
    }

    internal void Closed(Connection connection)
    {
        lock (_gate) _connections.Remove(connection);
    }

    /// <summary>Closes every connection (aborting what they did not commit) and the storage.</summary>
    public void Dispose()
    {
        Connection[] open;
        lock (_gate)
        {
            if (_disposed) return;
            _disposed = true;
            open = [.. _connections];
        }
        foreach (var connection in open) connection.Close();
        if (_ownsStorage) Storage.Dispose();
    }

    private void CreateRoot()
    {
        if (Storage.IsReadOnly)
            throw new PersistenceException("The database has no root object yet and is open read-only. Open it once for writing to create it.");
        var root = new PersistentDictionary<string, PersistentObject>();
        var binding = Catalog.BindForWrite(root.PersistentType);
        var buffer = new RecordBuffer();
        var writer = buffer.BeginRecord(binding.TypeId, binding.Version, null);
        root.WriteState(ref writer);
        var slice = writer.Complete();
        using var transaction = Storage.Begin();
        transaction.Store(Oid.Root, 0, buffer.Memory(slice));
        try
        {
            transaction.Vote();
            transaction.Finish();
        }
        catch (ConflictException)
        {
            // Another process created the root at the same moment; use theirs.
        }
    }
}
