using Persistence.Serialization;
using Persistence.Storage;

namespace Persistence;

/// <summary>
/// A unit of work on a database: it loads objects on demand (one instance per oid), tracks their
/// changes, and stores them with <see cref="Commit"/> or forgets them with <see cref="Abort"/>.
/// A connection and the objects it loaded belong to one thread at a time.
/// </summary>
/// <remarks>
/// Between transaction boundaries a connection reads the database as of its snapshot: other
/// connections' commits become visible at its next <see cref="Commit"/> or <see cref="Abort"/>,
/// when the objects they changed turn back into ghosts. Disposing a connection aborts what was not
/// committed.
/// </remarks>
public sealed class Connection : IDisposable, IReferenceResolver
{
    private readonly Database _database;
    private readonly IStorage _storage;
    private readonly SchemaCatalog _catalog;
    private readonly Dictionary<ulong, PersistentObject> _objects = [];
    private readonly List<PersistentObject> _changed = [];
    private readonly List<PersistentObject> _added = [];
    private readonly Queue<PersistentObject> _pending = new();
    private readonly RecordBuffer _buffer = new(64 * 1024);
    private readonly List<(PersistentObject Object, RecordSlice Record)> _records = [];
    // The loaded objects, oldest activation first: a doubly linked list through the objects themselves.
    private PersistentObject? _oldestLoaded;
    private PersistentObject? _newestLoaded;
    private int _loadedCount;
    private long _snapshot;
    private bool _committing;
    private bool _closed;

    internal Connection(Database database)
    {
        _database = database;
        _storage = database.Storage;
        _catalog = database.Catalog;
        CacheSize = database.Options.CacheSize;
        _snapshot = _storage.LastTid;
    }

    /// <summary>The database this connection works on.</summary>
    public Database Database => _database;

    /// <summary>The root object: a persistent dictionary from names to the objects you keep at the top of the graph.</summary>
    public PersistentDictionary<string, PersistentObject> Root =>
        Get(Oid.Root) as PersistentDictionary<string, PersistentObject>
        ?? throw new CorruptDatabaseException("The root object is not a persistent dictionary", -1, Oid.Root);

    /// <summary>The tid of the committed state this connection reads (its snapshot).</summary>
    public long Snapshot => _snapshot;

    /// <summary>
    /// How many loaded objects the connection keeps between transactions before it turns those
    /// loaded longest ago back into ghosts. Changed objects are never dropped.
    /// </summary>
    public int CacheSize { get; set; }

    /// <summary>How many objects (ghosts included) the connection knows by oid.</summary>
    public int KnownCount => _objects.Count;

    /// <summary>How many of them are loaded (not ghosts).</summary>
    public int LoadedCount => _loadedCount;

    /// <summary>Whether the current transaction has changes to store.</summary>
    public bool HasChanges => _changed.Count > 0;

    /// <summary>Whether the connection is closed.</summary>
    public bool IsClosed => _closed;

    /// <summary>Returns the object with the given oid (a ghost until it is touched).</summary>
    /// <exception cref="KeyNotFoundException">No object with that oid exists in this connection's snapshot.</exception>
    public PersistentObject Get(Oid oid)
    {
        EnsureOpen();
        if (_objects.TryGetValue(oid.Value, out var known)) return known;
        var record = _storage.LoadBefore(oid, _snapshot + 1)
            ?? throw new KeyNotFoundException($"No object with {oid} exists in this database (as of this connection's snapshot).");
        var span = record.Data.Span;
        uint typeId;
        try
        {
            typeId = RecordFormat.TypeId(span);
        }
        catch (FormatException e)
        {
            throw new CorruptDatabaseException(e.Message, -1, oid, e);
        }
        var ghost = Materialize(new ObjectReference(oid, typeId));
        Load(ghost, record);
        return ghost;
    }

    /// <summary>Returns the object with the given oid as a <typeparamref name="T"/>.</summary>
    public T Get<T>(Oid oid) where T : PersistentObject =>
        Get(oid) as T ?? throw new InvalidCastException($"{oid} is not a {typeof(T).Name}.");

    /// <summary>
    /// Stores every change of this transaction: the changed objects and every new object reachable
    /// from them. Returns when the storage has made the transaction durable. Then moves to the
    /// newest committed state (objects others changed become ghosts).
    /// </summary>
    /// <exception cref="ConflictException">Another transaction changed an object this one wrote. Call <see cref="Abort"/> and redo the work.</exception>
    public void Commit()
    {
        EnsureOpen();
        if (_changed.Count == 0)
        {
            Refresh(committedTid: 0, stored: null);
            return;
        }
        if (_storage.IsReadOnly)
            throw new StorageLockedException("This database is open read-only: the changes cannot be committed. Call Abort() to drop them.");
        _committing = true;
        _buffer.Clear();
        _records.Clear();
        IStorageTransaction? transaction = null;
        long tid;
        try
        {
            foreach (var obj in _changed) _pending.Enqueue(obj);
            while (_pending.TryDequeue(out var obj))
            {
                var binding = _catalog.BindForWrite(obj.PersistentType);
                obj._typeId = binding.TypeId;
                var writer = _buffer.BeginRecord(binding.TypeId, binding.Version, this);
                RecordSlice record;
                try
                {
                    obj.WriteState(ref writer);
                }
                finally
                {
                    // Leave the buffer ready for the next record even if WriteState threw.
                    record = writer.Complete();
                }
                _records.Add((obj, record));
            }
            transaction = _storage.Begin();
            foreach (var (obj, record) in _records)
                transaction.Store(obj._oid, obj._serial, _buffer.Memory(record));
            transaction.Vote();
            tid = transaction.Finish();
        }
        catch
        {
            transaction?.Abort();
            _pending.Clear();
            ForgetAdded();
            _records.Clear();
            _committing = false;
            throw;
        }
        finally
        {
            transaction?.Dispose();
        }

        _committing = false;
        foreach (var (obj, _) in _records)
        {
            var wasNew = obj._serial == 0;
            obj._serial = tid;
            obj._state = PersistentState.UpToDate;
            if (wasNew) LinkLoaded(obj);
        }
        var stored = new HashSet<ulong>(_records.Count);
        foreach (var (obj, _) in _records) stored.Add(obj._oid.Value);
        _records.Clear();
        _changed.Clear();
        _added.Clear();
        Refresh(tid, stored);
    }

    /// <summary>
    /// Forgets every change of this transaction: changed objects become ghosts and reload their
    /// committed state when touched; new objects stay new. Then moves to the newest committed state.
    /// </summary>
    public void Abort()
    {
        EnsureOpen();
        foreach (var obj in _changed)
        {
            if (obj._state == PersistentState.Changed) MakeGhost(obj);
        }
        _changed.Clear();
        Refresh(committedTid: 0, stored: null);
    }

    /// <summary>Aborts what was not committed and closes the connection. Its objects can no longer load or change.</summary>
    public void Dispose() => Close();

    internal void Close()
    {
        if (_closed) return;
        foreach (var obj in _changed)
            if (obj._state == PersistentState.Changed) MakeGhost(obj);
        _changed.Clear();
        _closed = true;
        _database.Closed(this);
    }

    // ---- Called by PersistentObject ----

    internal static Connection OwnerOf(PersistentObject obj) =>
        obj._connection ?? throw new InvalidOperationException("This object is not stored in a database yet, so it has nothing to load.");

    internal void Activate(PersistentObject obj)
    {
        EnsureOpen();
        var record = _storage.LoadBefore(obj._oid, _snapshot + 1)
            ?? throw new CorruptDatabaseException($"The object is referenced but no revision of it exists as of tid {_snapshot}", -1, obj._oid);
        Load(obj, record);
    }

    internal void Register(PersistentObject obj)
    {
        EnsureOpen();
        if (_committing)
            throw new InvalidOperationException("A persistent object was changed while its connection was committing (for example from a WriteState override). Change objects before Commit().");
        obj._state = PersistentState.Changed;
        _changed.Add(obj);
    }

    // ---- IReferenceResolver ----

    /// <inheritdoc />
    ObjectReference IReferenceResolver.Resolve(PersistentObject target)
    {
        if (target._connection is null)
        {
            if (!_committing)
                throw new InvalidOperationException("New objects get their oid when a commit reaches them.");
            var binding = _catalog.BindForWrite(target.PersistentType);
            target._connection = this;
            target._oid = _storage.NewOid();
            target._serial = 0;
            target._typeId = binding.TypeId;
            target._state = PersistentState.Changed;
            _objects.Add(target._oid.Value, target);
            _added.Add(target);
            _pending.Enqueue(target);
            return new ObjectReference(target._oid, binding.TypeId);
        }
        if (target._connection != this)
        {
            throw new CrossConnectionReferenceException(
                $"An object of class '{target.PersistentType.Name}' ({target._oid}) belongs to another connection{(target._connection._database == _database ? "" : " of another database")} and cannot be stored in this one. Load it through this connection (Get({target._oid.Value})) or copy its values into a new object.");
        }
        return new ObjectReference(target._oid, target._typeId);
    }

    /// <inheritdoc />
    PersistentObject IReferenceResolver.Materialize(ObjectReference reference) => Materialize(reference);

    private PersistentObject Materialize(ObjectReference reference)
    {
        if (_objects.TryGetValue(reference.Oid.Value, out var known)) return known;
        var binding = _catalog.BindForRead(reference.TypeId, 0);
        var ghost = binding.Type.CreateGhost();
        ghost._connection = this;
        ghost._oid = reference.Oid;
        ghost._typeId = reference.TypeId;
        ghost._state = PersistentState.Ghost;
        _objects.Add(reference.Oid.Value, ghost);
        return ghost;
    }

    // ---- Loading ----

    private void Load(PersistentObject obj, StoredRecord record)
    {
        var span = record.Data.Span;
        try
        {
            var binding = _catalog.BindForRead(RecordFormat.TypeId(span), RecordFormat.SchemaVersion(span));
            if (binding.Type != obj.PersistentType)
                throw new SchemaMismatchException(
                    $"{obj._oid} is stored as a '{binding.StoredName}' but was referenced as a '{obj.PersistentType.Name}'.",
                    binding.StoredName);
            var state = RecordFormat.State(span);
            if (binding.IsCurrent)
            {
                Read(obj, state);
            }
            else
            {
                var converted = SchemaTranscoder.Convert(state, binding.StoredFields, binding.Type.Fields, binding.StoredName);
                Read(obj, converted);
            }
        }
        catch (FormatException e)
        {
            obj.ClearState();
            throw new CorruptDatabaseException(e.Message.TrimEnd('.'), -1, obj._oid, e);
        }
        catch
        {
            obj.ClearState();
            throw;
        }
        obj._serial = record.Tid;
        obj._state = PersistentState.UpToDate;
        LinkLoaded(obj);
    }

    private void Read(PersistentObject obj, ReadOnlySpan<byte> state)
    {
        var reader = new RecordReader(state, this);
        obj.ReadState(ref reader);
        if (reader.Remaining != 0)
            throw new FormatException($"A record of '{obj.PersistentType.Name}' has {reader.Remaining} bytes after its last field.");
    }

    // ---- Transaction boundaries ----

    private void Refresh(long committedTid, HashSet<ulong>? stored)
    {
        var changes = _storage.Poll(_snapshot);
        foreach (var oid in changes.ChangedOids)
        {
            // What this connection just stored is current unless someone committed after it.
            if (stored is not null && changes.LastTid == committedTid && stored.Contains(oid.Value)) continue;
            if (_objects.TryGetValue(oid.Value, out var obj) && obj._state == PersistentState.UpToDate) MakeGhost(obj);
        }
        _snapshot = Math.Max(changes.LastTid, committedTid);
        Evict();
    }

    private void Evict()
    {
        for (var budget = _loadedCount; budget > 0 && _loadedCount > CacheSize && _oldestLoaded is { } oldest; budget--)
        {
            if (oldest._state == PersistentState.UpToDate)
            {
                MakeGhost(oldest);
            }
            else
            {
                // A changed object cannot be dropped: move it to the young end and go on.
                Unlink(oldest);
                LinkLoaded(oldest);
            }
        }
    }

    private void MakeGhost(PersistentObject obj)
    {
        obj.ClearState();
        obj._state = PersistentState.Ghost;
        Unlink(obj);
    }

    private void ForgetAdded()
    {
        foreach (var obj in _added)
        {
            _objects.Remove(obj._oid.Value);
            obj._connection = null;
            obj._oid = default;
            obj._typeId = 0;
            obj._serial = 0;
            obj._state = PersistentState.New;
        }
        _added.Clear();
    }

    private void LinkLoaded(PersistentObject obj)
    {
        obj._olderLoaded = _newestLoaded;
        obj._newerLoaded = null;
        if (_newestLoaded is null) _oldestLoaded = obj;
        else _newestLoaded._newerLoaded = obj;
        _newestLoaded = obj;
        _loadedCount++;
    }

    private void Unlink(PersistentObject obj)
    {
        if (obj._olderLoaded is null && obj._newerLoaded is null && _oldestLoaded != obj) return;
        if (obj._olderLoaded is null) _oldestLoaded = obj._newerLoaded;
        else obj._olderLoaded._newerLoaded = obj._newerLoaded;
        if (obj._newerLoaded is null) _newestLoaded = obj._olderLoaded;
        else obj._newerLoaded._olderLoaded = obj._olderLoaded;
        obj._olderLoaded = obj._newerLoaded = null;
        _loadedCount--;
    }

    private void EnsureOpen()
    {
        if (_closed)
            throw new ConnectionClosedException("This connection is closed, and so are the objects it loaded. Open a new connection and load the objects again through it.");
    }
}
