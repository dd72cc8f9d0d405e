using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Persistence.Serialization;
using Persistence.Storage;

namespace Persistence;

/// <summary>
/// A unit of work on a database: it loads objects on demand (one instance per oid), tracks their
/// changes, and stores them with <see cref="Commit"/> or forgets them with <see cref="Abort"/>.
/// </summary>
/// <remarks>
/// <para><b>Snapshots.</b> Between transaction boundaries a connection reads the database as of its
/// snapshot: objects changed by others after it are read as they were, so one transaction never sees a
/// mix of two states. At <see cref="Commit"/> and <see cref="Abort"/> it moves to the newest committed
/// state, and the objects others changed turn back into ghosts.</para>
/// <para><b>Conflicts.</b> With <see cref="TransactionIsolation.Serializable"/> (the default) a commit
/// fails with <see cref="ConflictException"/> if an object this transaction read or wrote was committed
/// by someone else after the snapshot; classes that can merge (<see cref="PersistentCounter"/>) resolve
/// such conflicts themselves. Read-only transactions never conflict.</para>
/// <para><b>Threads.</b> A connection and its objects are used by one thread at a time. A transaction
/// belongs to the code that started it (the first call after a boundary) until the next
/// <see cref="Commit"/> or <see cref="Abort"/>. When that code runs in the async flow that opened the
/// connection, the transaction follows the flow: after an <c>await</c> it goes on from whatever thread
/// the method resumed on. A call meanwhile from a thread of another flow, or while another thread is
/// inside a call on the connection, gets a <see cref="ConnectionThreadException"/>. (Reading a
/// property already read in the transaction is a plain field read and is not checked.)</para>
/// <para><b>Disposal.</b> Disposing a connection aborts what it did not commit (or commits it, when
/// <see cref="DatabaseOptions.AutocommitInterval"/> is set) and returns it to the database's pool.</para>
/// </remarks>
public sealed class Connection : IDisposable, IReferenceResolver
{
    // Merging conflicts is cheap and always makes progress for mergeable classes, so allow many rounds
    // (eight processes hammering one counter may lose the race for the commit lock several times in a row).
    private const int MaxResolveAttempts = 100;
    private static readonly TimeSpan AutoRefreshInterval = TimeSpan.FromMilliseconds(100);

    private readonly Database _database;
    private readonly IStorage _storage;
    private readonly SchemaCatalog _catalog;
    private readonly TimeSpan? _autocommit;
    private readonly ObjectTable _objects = new();
    private readonly List<PersistentObject> _changed = [];
    private readonly List<Held> _added = [];
    // Scan windows of this connection's own in a file storage (null for other storages): it decodes
    // each record it loads through them before the next load, so their buffers serve its scan reads
    // again (see FileStorage.NewScanReader).
    private readonly FileStorage.ScanReader? _scans;
    // The objects of _added as a set, for a merge's check (IsAdded); made by the first merge of a
    // commit with many new objects, and dropped whenever _added is cleared.
    private HashSet<PersistentObject>? _addedSet;
    // Objects loaded from a record with values in fields that a newer program stored and this program's
    // class lacks, with those fields: writing one back would lose them (null until the first such load).
    private Dictionary<ulong, string>? _withNewerFields;
    // What others changed after this connection's last commit (see Boundary), kept from commit to commit.
    private HashSet<Oid> _changedSince = [];
    // Objects read in this transaction, for the serializable check at commit: what it loaded, and what
    // it read of what was loaded before (noted once per transaction epoch; repeats are dropped at commit).
    private readonly ReadSet _read;
    // Under snapshot isolation, objects this transaction did not write but must find unchanged at its
    // commit (see RequireUnchanged); serializable isolation checks them with every read.
    private List<PersistentObject>? _unchanged;
    // The oids a commit's read checks have asked for (see StoreChanges), kept from commit to commit.
    private HashSet<ulong> _checkedOids = [];
    // New objects, and objects to write, held in a struct: storing a model's object into an array of
    // PersistentObject has the runtime check the array's element type against the object's class (a
    // bulk insert's thousands a commit); into an array of structs it does not.
    private readonly record struct Held(PersistentObject Object);
    private readonly Queue<Held> _pending = new();
    private readonly RecordBuffer _buffer = new(64 * 1024);
    // Loaded objects whose record is LargeRecordBytes or more, with those sizes (see EvictLarge).
    private Dictionary<ulong, (PersistentObject Object, int Bytes)>? _large;
    // Whether EvictLarge must look: a large object was noted since it last found those loaded within the
    // budget (until then their bytes can only fall, as objects turn into ghosts).
    private bool _largeToCheck;
    private readonly long _largeObjectCacheBytes;
    // The most a connection's record buffer keeps between commits (see CommitInCall).
    private const int KeptBufferBytes = 4 << 20;
    // Where records of another layout than their class's are converted before they are read (ReadConverted).
    private RecordBuffer? _conversions;
    // The records a commit stores; IsNew for the objects it gives oids to (stored from no revision).
    private readonly List<(PersistentObject Object, RecordSlice Record, bool IsNew)> _records = [];
    // The revisions that changed objects were rebased on by merging a conflicting change (see TryMerge),
    // newer than the snapshot; until the transaction's end.
    private Dictionary<ulong, long>? _rebased;
    // The conflict a commit of this transaction failed with, until Abort() (see FailTransaction).
    private ConflictException? _failedWith;
    private readonly ConflictResolver _mergeWhileVoting;
    // How many objects are loaded, and where eviction looks next in the identity map (see Evict).
    private int _loadedCount;
    private int _evictionHand;
    // Whether the identity map marks which objects are loaded (see ObjectTable.MarkLoaded): from the
    // first eviction on, so that a connection that never evicts pays nothing for the marks.
    private bool _marksLoaded;
    // The transaction epoch when this transaction began: objects touched since were used in it.
    private long _transactionEpoch;
    // Ghosts the identity map let go of (see SweepGhosts), by weak handles (no finalizer each, as a
    // WeakReference has; freed here): one that something still references is found again here, so an
    // oid stays one object; the others are collected.
    private Dictionary<ulong, GCHandle>? _weakGhosts;
    private int _weakGhostsAfterPurge;
    private long _snapshot;
    // The thread using the connection in this transaction (see BeginCall); null between transactions,
    // when the first thread to call starts the next one.
    private Claim? _claim;
    // Set at a transaction's boundary: the claim ends with the call the boundary was made in.
    private bool _releaseClaim;
    // This opening of the connection, as the async flow that opened it knows it (see OpenedHere).
    private FlowToken _openToken = new();

    /// <summary>When the connection was last handed out, among the database's connections (see <see cref="Database.NextOpening"/>).</summary>
    internal long Opening { get; private set; }
    private long _transactionStart;
    private long _lastRefresh;
    private bool _committing;
    // Running a unit of work of Database.Transact: no autocommit, which would commit part of it.
    private bool _unitOfWork;
    private bool _closed;
    // The number its objects carry (see ConnectionNumbers); Released once let go of (see Release).
    private int _number;
    // Objects this connection loaded, for the database's metrics (see DatabaseCounts).
    private long _loaded;
    // Objects the commit under way merged with others' changes, in its last attempt and the resolving before it (for the metrics).
    private int _merges;

    internal Connection(Database database, bool readOnly, bool autoRefresh)
    {
        _database = database;
        _storage = database.Storage;
        _catalog = database.Catalog;
        Isolation = database.Options.Isolation;
        _autocommit = database.Options.AutocommitInterval;
        // On a database opened read-only every connection is: changes are refused when made, not at the commit.
        IsReadOnly = readOnly || _storage.IsReadOnly;
        OpenedReadOnly = readOnly;
        AutoRefresh = autoRefresh;
        CacheSize = database.Options.CacheSize;
        _largeObjectCacheBytes = database.Options.LargeObjectCacheBytes;
        _mergeWhileVoting = MergeWhileVoting;
        _scans = database.NewScanReader();
        _file = database.File;
        _read = new ReadSet();
        _transactionEpoch = TransactionEpoch.Current;
        _number = ConnectionNumbers.Take(this);
    }

    /// <summary>
    /// Takes the connection's first snapshot, the newest committed state. Called once the database
    /// counts the connection among its open ones (see Database.Track), so a pack or a trim of the
    /// storage's change log in between keeps what the snapshot reads; until then its snapshot is 0,
    /// which keeps everything.
    /// </summary>
    internal void TakeFirstSnapshot()
    {
        Volatile.Write(ref _snapshot, _database.Poll(_storage.LastTid).LastTid);
        _transactionStart = _lastRefresh = Stopwatch.GetTimestamp();
        _database.FirstSnapshotTaken?.Invoke();
    }

    /// <summary>The database this connection works on.</summary>
    public Database Database => _database;

    /// <summary>Whether this connection refuses changes (see <see cref="Database.OpenReadOnlyConnection"/>; every connection of a database opened with <see cref="DatabaseOptions.ReadOnly"/>).</summary>
    public bool IsReadOnly { get; }

    /// <summary>Whether <see cref="Database.OpenReadOnlyConnection"/> opened it (such connections are not pooled).</summary>
    internal bool OpenedReadOnly { get; }

    /// <summary>Whether the connection may go back to the pool once closed (see <see cref="Close"/>).</summary>
    internal bool Poolable => !OpenedReadOnly && !_disposedByOtherCode && !_keptOutOfPool;

    // Set by a unit of work that handed its objects to its caller (see Database.KeepOutOfPoolIfHandedOut).
    private bool _keptOutOfPool;

    /// <summary>Has the connection let go of, not pooled, when it closes: code outside it holds its objects.</summary>
    internal void KeepOutOfPool() => _keptOutOfPool = true;

    // Disposed by other code than the one that left it in a transaction (see TakeOverToDispose).
    private bool _disposedByOtherCode;

    /// <summary>
    /// Whether this read-only connection moves to the newest state by itself: at each access to
    /// <see cref="Root"/>, if at least 100 ms have passed since it last did.
    /// </summary>
    public bool AutoRefresh { get; }

    /// <summary>
    /// The root object: a persistent dictionary from names to the objects you keep at the top of the
    /// graph. Accessing it is a safe point (autocommit and auto-refresh happen here).
    /// </summary>
    public PersistentDictionary<string, PersistentObject> Root
    {
        get
        {
            var claim = BeginCall();
            try
            {
                if (AutoRefresh && Stopwatch.GetElapsedTime(_lastRefresh) >= AutoRefreshInterval)
                {
                    _lastRefresh = Stopwatch.GetTimestamp();
                    Abort();
                    // The call goes on in the new transaction, which keeps the claim.
                    _releaseClaim = false;
                }
                MaybeAutocommit();
                return Get(Oid.Root) as PersistentDictionary<string, PersistentObject>
                    ?? throw new CorruptDatabaseException("The root object is not a persistent dictionary", -1, Oid.Root);
            }
            finally
            {
                EndCall(claim);
            }
        }
    }

    /// <summary>The tid of the committed state this connection reads (its snapshot).</summary>
    public long Snapshot => Volatile.Read(ref _snapshot);

    /// <summary>
    /// Which changes by others make this connection's commits fail: <see cref="DatabaseOptions.Isolation"/>,
    /// or what <see cref="Database.OpenConnection(TransactionIsolation)"/> opened it with.
    /// </summary>
    public TransactionIsolation Isolation { get; internal set; }

    /// <summary>
    /// How many loaded objects the connection keeps between transactions before it turns some back
    /// into ghosts, those the last transaction did not use first. Changed objects are never dropped.
    /// </summary>
    public int CacheSize { get; set; }

    /// <summary>
    /// How many objects the connection holds by oid: the loaded ones and the ghosts it keeps (once
    /// ghosts outnumber loaded objects by far, it lets go of them, and only those still referenced stay).
    /// </summary>
    public int KnownCount => _objects.Count;

    /// <summary>How many of them are loaded (not ghosts).</summary>
    public int LoadedCount => _loadedCount;

    /// <summary>The bytes of the read windows this connection's loads keep, its own and its file's (for tests; 0 on other storages).</summary>
    internal long KeptWindowBytes => _scans is { } scans ? _file!.KeptWindowBytes(scans) : 0;

    /// <summary>The bytes the buffer the commits write their records into holds room for (for tests).</summary>
    internal long RecordBufferCapacity => _buffer.Capacity;

    /// <summary>Whether the current transaction has changes to store.</summary>
    public bool HasChanges => _changed.Count > 0;

    /// <summary>Whether the connection is closed.</summary>
    public bool IsClosed => _closed;

    /// <summary>Returns the object with the given oid (loaded).</summary>
    /// <exception cref="KeyNotFoundException">No object with that oid exists in this connection's snapshot.</exception>
    public PersistentObject Get(Oid oid)
    {
        var claim = BeginCall();
        try
        {
            return GetInCall(oid);
        }
        finally
        {
            EndCall(claim);
        }
    }

    private PersistentObject GetInCall(Oid oid)
    {
        MaybeAutocommit();
        if (_objects.TryGetValue(oid.Value, out var known) || TryRecallGhost(oid.Value, out known))
        {
            // This connection may hold an object that a pack has removed since (once nothing reachable from
            // the root referred to it): after a pack, the snapshot is asked whether it still holds the object,
            // and a ghost is loaded from the record read for it.
            if (_database.Packed && oid != Oid.Root)
            {
                var current = _database.LoadBefore(oid, _snapshot + 1, _scans) ?? throw NoObject(oid, packed: true);
                if (known.State == PersistentState.Ghost) Load(known, current);
            }
            return known;
        }
        var record = _database.LoadBefore(oid, _snapshot + 1, _scans)
            ?? throw (oid == Oid.Root ? NoRoot() : NoObject(oid, _database.Packed));
        uint typeId;
        try
        {
            typeId = RecordFormat.TypeId(record.Data.Span);
        }
        catch (FormatException e)
        {
            throw new CorruptDatabaseException(e.Message, -1, oid, e);
        }
        var ghost = Materialize(new ObjectReference(oid, typeId));
        Load(ghost, record);
        return ghost;
    }

    private static KeyNotFoundException NoObject(Oid oid, bool packed) => new(
        $"No object with {oid} exists in this database (as of this connection's snapshot)." + (packed
            ? " The database was packed, and a pack removes the objects that nothing reachable from the root refers to any more: an oid kept from before may name an object deleted since."
            : ""));

    /// <summary>Returns the object with the given oid as a <typeparamref name="T"/>.</summary>
    /// <exception cref="InvalidCastException">The object is of another class (the message names it).</exception>
    /// <exception cref="SchemaMismatchException">The object is of a class this program does not define.</exception>
    public T Get<T>(Oid oid) where T : PersistentObject
    {
        var obj = Get(oid);
        if (obj is T wanted) return wanted;
        // A stand-in for a class the program does not define: its own load says which class to add or alias.
        if (obj is MissingClass) obj.Activate();
        throw new InvalidCastException($"{oid} is an object of class '{ClassNames.OfStored(obj.PersistentType.Name)}', which is not a '{ClassNames.Of<T>()}' nor derived from one. Ask for it as its own class (or a base class of it), or check where the oid came from.");
    }

    // The commit path, here and down to the file (the storage transaction's vote and finish, the
    // catch-up, the append, the group commit's flush and its locks and signal, the change log), is
    // compiled optimized on first use too (see "Loading" below): W2's 2,000 small durable commits in
    // the harness ran mostly as unoptimized code, 4,600-6,200 txn/s, and run at 6,100-7,000 now.

    /// <summary>
    /// Stores every change of this transaction: the changed objects and every new object reachable
    /// from them. Returns when the storage has made the transaction durable. Then moves to the
    /// newest committed state (objects others changed become ghosts).
    /// </summary>
    /// <exception cref="ConflictException">Another transaction changed an object this one read or wrote. Call <see cref="Abort"/> and redo the work
    /// right after it (to wait before a retry, wait before <see cref="Abort"/>, which moves the connection to the newest state).</exception>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Commit()
    {
        var claim = BeginCall();
        try
        {
            CommitInCall();
        }
        finally
        {
            EndCall(claim);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void CommitInCall()
    {
        if (_committing) throw CommittingError("committed again");
        if (_failedWith is { } failed) throw FailedTransaction("The transaction cannot be committed again", failed);
        if (_changed.Count == 0)
        {
            Boundary(committedTid: 0);
            return;
        }
        if (IsReadOnly || _storage.IsReadOnly)
            throw new StorageLockedException("This connection or database is read-only: the changes cannot be committed. Call Abort() to drop them.");
        _committing = true;
        var started = _database.Counts.CommitStarted();
        _merges = 0;
        long tid;
        try
        {
            for (var attempt = 1; ; attempt++)
            {
                SerializeChanges();
                try
                {
                    tid = StoreChanges();
                    break;
                }
                catch (ConflictException conflict) when (conflict is not ReadConflictException && attempt < MaxResolveAttempts)
                {
                    // Merged here, not in the filter: a filter runs before the storage transaction is
                    // disposed, and takes an exception of a ResolveConflict override for "no merge".
                    // The failed attempt's merges are made again (counted from here: see _merges).
                    _merges = 0;
                    if (!TryResolve(conflict.Oids)) throw;
                    // Every conflicting object merged the other change into its own: store again,
                    // after a short random pause once the race has been lost a few times.
                    if (attempt > 3) Thread.Sleep(Random.Shared.Next(0, Math.Min(attempt, 20)));
                }
            }
        }
        catch (ConflictException conflict)
        {
            FailCommit();
            if (conflict is ReadConflictException read) throw FailTransaction(_database.Counts.ReadConflicted(read));
            _database.Counts.Conflicted();
            throw FailTransaction(Describe(conflict));
        }
        catch
        {
            FailCommit();
            throw;
        }
        finally
        {
            _committing = false;
            GiveBackSpareOids();
            // The records are stored (or dropped): a buffer a commit of large objects grew is not kept for the next.
            _buffer.ClearAndShrink(KeptBufferBytes);
        }

        foreach (var (obj, record, isNew) in _records)
        {
            if (isNew) LinkLoaded(obj);
            if (record.Length >= LargeRecordBytes) NoteLarge(obj, record.Length);
        }
        // The stored objects stay changed until the boundary has seen whether others changed them since (see Boundary).
        _changed.Clear();
        _added.Clear();
        _addedSet = null;
        _database.Committed();
        if (_merges > 0) _database.Counts.Merged(_merges);
        try
        {
            Boundary(tid);
        }
        finally
        {
            // Should the boundary fail (a damaged file found while catching up), what was stored is
            // still committed: loaded at the commit's revision, not left marked changed.
            FinishStored();
        }
        _database.Counts.CommitEnded(started);
    }

    /// <summary>
    /// Forgets every change of this transaction: changed objects become ghosts and reload their
    /// committed state when touched; new objects stay new. Then moves to the newest committed state: the
    /// next transaction reads the state of this moment, so a retry after a conflict that waits (a back-off)
    /// waits before <see cref="Abort"/>, not after it.
    /// </summary>
    public void Abort()
    {
        var claim = BeginCall();
        try
        {
            if (_committing) throw CommittingError("aborted");
            DropChanges();
            Boundary(committedTid: 0);
        }
        finally
        {
            EndCall(claim);
        }
    }

    /// <summary>
    /// Turns the objects this connection has loaded and the transaction has not changed back into
    /// ghosts, within the transaction, and returns how many: a pass that reads more objects than memory
    /// should hold calls it every few thousand of them. The transaction goes on as before: what it let go
    /// of reloads from the same snapshot when it is next read, its changes and new objects stay, and a
    /// serializable commit still checks every read made before the call (by oid).
    /// </summary>
    /// <remarks>
    /// <para>Enumerations under way go on: a BTree's enumerator loads its bucket again, and lists,
    /// dictionaries, sets, a BTree's own object and counters stay loaded (each is one record, or holds
    /// only references to what is let go of).</para>
    /// <para>A value taken out of an object before the call and changed in place after it (a list
    /// property's list, an array) no longer belongs to the object, which reloads its own: change such
    /// values and call <see cref="PersistentObject.MarkChanged"/> before releasing, or read them again after.</para>
    /// </remarks>
    public int ReleaseUnchanged() => ReleaseUnchanged(keep: null);

    /// <summary>
    /// As <see cref="ReleaseUnchanged()"/>, but objects for which <paramref name="keep"/> returns true stay
    /// loaded: those the rest of the pass reads again and again (the customers of orders, the products of
    /// order lines), which would otherwise reload after every release.
    /// </summary>
    public int ReleaseUnchanged(Func<PersistentObject, bool>? keep)
    {
        var claim = BeginCall();
        try
        {
            if (_committing) throw CommittingError("asked to release its objects");
            KeepReadChecks();
            // The walk meets only the objects marked loaded (as eviction's hand does), not the ghosts the
            // identity map also holds: up to GhostSlack of them, which a pass releasing every few thousand
            // objects would otherwise read at every call (1,000,000 orders releasing every 100: 48 s of 59).
            MarkLoadedObjects();
            var released = 0;
            for (var slot = _objects.NextLoaded(0); slot < _objects.SlotCount; slot = _objects.NextLoaded(slot + 1))
            {
                var obj = _objects.At(slot)!;
                ReleaseReads++;
                if (obj.State == PersistentState.Ghost) _objects.UnmarkLoadedAt(slot);
                if (obj.State != PersistentState.UpToDate || obj.OwnerNumber != _number || obj.StaysLoadedOnRelease || (keep is not null && keep(obj))) continue;
                MakeGhost(obj, slot, released: true);
                released++;
            }
            SweepGhosts();
            return released;
        }
        finally
        {
            EndCall(claim);
        }
    }

    /// <summary>
    /// Before a release: the oids of the objects this transaction loaded that need a check at commit
    /// go to the read set's <see cref="ReadSet.Released"/>, as the identity map may let go of them once
    /// they are ghosts. The objects read that were loaded before (<see cref="ReadSet.Noted"/>) stay
    /// listed: the list holds them.
    /// </summary>
    private void KeepReadChecks()
    {
        foreach (var run in _read.Loaded)
        {
            for (var i = 0; i < run.Count; i++)
            {
                var oid = run.First + (ulong)i;
                if (_objects.TryGetValue(oid, out var obj) && NeedsReadCheck(obj)) _read.AddReleased(oid);
            }
        }
        _read.ForgetLoaded();
    }

    /// <summary>
    /// Ends the connection's use: aborts what was not committed (commits it when autocommit is on) and
    /// returns the connection, with its cache, to the database's pool. Its objects can no longer load or
    /// change, until the pool hands the connection to the next <see cref="Database.OpenConnection()"/>:
    /// they are its cache, so they belong to that work then (see <see cref="DatabaseOptions.ConnectionPoolSize"/>).
    /// </summary>
    public void Dispose() => Close();

    /// <summary>Closes the connection as the database is disposed, from whatever thread disposes it.</summary>
    internal void CloseFromDatabase()
    {
        if (_closed) return;
        // Closed first: a thread that has not claimed the connection yet cannot claim it any more.
        _closed = true;
        // Another thread in a transaction on it (a commit under way, say) is left alone, and keeps the
        // connection's number: its changes and read set are that thread's, which finds the connection
        // closed at its next call; clearing them from here would race with it, and it may be giving new
        // objects the number in a commit, or using the weak handles (a handle freed twice is worse than
        // one left to the end of the process). An idle connection is claimed, so no thread can start a
        // transaction on it, and let go of (its number given back); so is one in a transaction of the
        // disposing thread itself. That claim is replaced in one step: another thread of the flow taking
        // it over at the same moment (see TakeOver) either swaps it first, and the connection is left to
        // it, or fails its swap and finds the connection closed.
        _openToken.Closed = true;
        var claim = Volatile.Read(ref _claim);
        if (claim is not null && claim.Thread != Environment.CurrentManagedThreadId) return;
        if (Interlocked.CompareExchange(ref _claim, Claim.Closing, claim) != claim) return;
        DropChanges();
        _read.Clear();
        _unchanged?.Clear();
        // A pooled connection does not keep its scan buffers while no one uses it.
        _scans?.Clear();
        Release();
    }

    internal void Close()
    {
        if (_closed) return;
        try
        {
            // The claim is not ended: it is kept until the database has pooled the connection (see
            // below), and a pooled connection starts unclaimed (Reopen).
            _ = BeginCall();
        }
        catch (ConnectionClosedException)
        {
            // Closed meanwhile by its Database's Dispose.
            return;
        }
        catch (ConnectionThreadException)
        {
            if (!TakeOverToDispose()) throw;
            // Not pooled: the code that left it may still hold its objects, which must not become the
            // cache of the next connection handed out; let go of, they can no longer load or change.
            _disposedByOtherCode = true;
        }
        // Between transactions, by other code while the opening code still runs: let go of too.
        if (Volatile.Read(ref _openToken.Inside) > 0 && !OpenedInThisFlow()) _disposedByOtherCode = true;
        if (_committing) throw CommittingError("disposed");
        try
        {
            // A failed commit (a conflict) still closes the connection, dropping the changes, and is
            // reported to the caller: a connection that could not be disposed would never be let go of.
            // Another code's transaction is not committed for it.
            if (_autocommit is not null && !_unitOfWork && !_disposedByOtherCode && _changed.Count > 0 && !IsReadOnly && _failedWith is null) Commit();
        }
        finally
        {
            DropChanges();
            _read.Clear();
            _unchanged?.Clear();
            // Still claimed by this thread while the database takes it back (pools or releases it): a
            // Database.Dispose racing this could otherwise claim it too and release it a second time,
            // giving its number back twice. A pooled connection is claimed anew when handed out (Reopen).
            _closed = true;
            _openToken.Closed = true;
            _database.Closed(this);
        }
    }

    /// <summary>Makes a pooled connection usable again, at the newest committed state.</summary>
    internal void Reopen()
    {
        _claim = null;
        _unitOfWork = false;
        Boundary(committedTid: 0);
        _releaseClaim = false;
        // Open only once caught up: a Database.Dispose meanwhile passes over a closed connection, and
        // OpenConnection closes it after (see there), rather than two threads working on it at once.
        _closed = false;
    }

    // ---- Called by collections that merge ----

    /// <summary>
    /// Whether a merge of an object this transaction changed must keep true what it read of the object
    /// before (serializable isolation), for reads the object noted at <paramref name="epoch"/> (see
    /// <see cref="NotedInThisTransaction"/>).
    /// </summary>
    internal bool MergeKeepsReads(long epoch) => Isolation == TransactionIsolation.Serializable && NotedInThisTransaction(epoch);

    /// <summary>
    /// Under <see cref="TransactionIsolation.Snapshot"/>, has the commit check that <paramref name="obj"/>,
    /// read and not written, was not changed by another transaction since the snapshot, as serializable
    /// isolation checks every read (a BTree whose buckets this transaction writes: see BTreeCore).
    /// </summary>
    internal void RequireUnchanged(PersistentObject obj)
    {
        if (Isolation == TransactionIsolation.Snapshot && !IsReadOnly) (_unchanged ??= []).Add(obj);
    }

    /// <summary>Whether a note an object made at transaction epoch <paramref name="epoch"/> belongs to this connection's current transaction.</summary>
    internal bool NotedInThisTransaction(long epoch) => epoch != 0 && epoch >= _transactionEpoch;

    // ---- Called by PersistentObject ----

    internal static Connection OwnerOf(PersistentObject obj) =>
        ConnectionNumbers.Find(obj.OwnerNumber) ?? throw (obj.OwnerNumber == ConnectionNumbers.Released
            ? ObjectOfClosedError()
            : new InvalidOperationException("This object is not stored in a database yet, so it has nothing to load."));

    /// <summary>The first read in a transaction of an object whose connection was let go of: what was loaded stays readable, a ghost cannot load.</summary>
    internal static void TouchReleased(PersistentObject obj)
    {
        if (obj.State == PersistentState.Ghost) throw ObjectOfClosedError();
        obj.Touched = TransactionEpoch.Current;
    }

    /// <summary>For <see cref="Database.Transact{T}(Func{Connection, T}, int, TransactionIsolation?)"/>: the connection runs one unit of work, which autocommit must not split.</summary>
    internal void BeginUnitOfWork() => _unitOfWork = true;

    private static InvalidOperationException CommittingError(string what) => new(
        $"The connection was {what} while it was committing (from a WriteState or ResolveConflict override, say). Let the commit finish: a conflict it cannot resolve is thrown from Commit(); then call Abort().");

    // An object, not a call on the connection: the likeliest way to hold one is to have returned it
    // from Transact's work, whose connection closed when the work ended, so the message says that.
    private static ConnectionClosedException ObjectOfClosedError() =>
        new("The connection this object was loaded through is closed: what it had loaded stays readable, but the object cannot load or change. " +
            "Database.Transact and TransactAsync close their connection when the work ends, so return ids or values from the work rather than persistent objects; " +
            "a connection's Dispose closes it too, and disposing the Database closes them all. Load the object again through an open connection (from its Root, or connection.Get).");

    private static ConnectionClosedException ClosedError() =>
        new("This connection is closed (disposing its Database closes it too), and so are the objects it loaded. Open a new connection and load the objects again through it.");

    /// <summary>The first read of an object in a transaction: load it if it is a ghost, and note the read.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal void Touch(PersistentObject obj)
    {
        // A closed connection's objects are read as released ones are (what was loaded stays readable;
        // loading and changing are not), and so is an object that found this connection by a number it
        // no longer carries: it was let go of with the connection that had the number before, between
        // its look and now (see ConnectionNumbers).
        if (_closed || obj.OwnerNumber != _number)
        {
            TouchReleased(obj);
            return;
        }
        var claim = BeginCall();
        try
        {
            // What this transaction loads joins the read set as it is loaded (see Load).
            if (obj.State == PersistentState.Ghost) Activate(obj);
            else if (obj.State == PersistentState.UpToDate && Isolation == TransactionIsolation.Serializable && !IsReadOnly && obj.ChecksReads) _read.Add(obj);
            obj.Touched = TransactionEpoch.Current;
        }
        finally
        {
            EndCall(claim);
        }
    }

    internal void Register(PersistentObject obj)
    {
        // The object was let go of with the connection that had this number before (see Touch).
        // A closed connection in the pool keeps its number, and its objects with it, until it is handed out again.
        if (obj.OwnerNumber != _number || _closed) throw ObjectOfClosedError();
        var claim = BeginCall();
        try
        {
            RegisterInCall(obj);
        }
        finally
        {
            EndCall(claim);
        }
    }

    private void RegisterInCall(PersistentObject obj)
    {
        if (IsReadOnly)
            throw new InvalidOperationException(_storage.IsReadOnly
                ? "The database is open read-only (DatabaseOptions.ReadOnly), so its objects cannot be changed. Open it without ReadOnly to make changes."
                : "This connection is read-only, so its objects cannot be changed. Open a connection with Database.OpenConnection() to make changes.");
        if (_committing)
            throw new InvalidOperationException("A persistent object was changed while its connection was committing (for example from a WriteState or ResolveConflict override). Change objects before Commit().");
        // Not a safe point for autocommit: a setter's value is often computed from what the transaction
        // read (x.Balance = x.Balance + 10), and committing before the write would apply it in the next
        // transaction, after others' changes to the same object, unchecked.
        if (obj.State == PersistentState.Ghost) Activate(obj);
        if (obj.State != PersistentState.UpToDate) return;
        _database.NoteChangeAroundWork(this, obj);
        obj.State = PersistentState.Changed;
        obj.Touched = TransactionEpoch.Current;
        _changed.Add(obj);
    }

    // ---- IReferenceResolver ----

    /// <inheritdoc />
    ObjectReference IReferenceResolver.Resolve(PersistentObject target)
    {
        var owner = target.OwnerNumber;
        if (owner == 0)
        {
            if (!_committing)
                throw new InvalidOperationException("New objects get their oid when a commit reaches them.");
            var binding = _catalog.BindForWrite(target.PersistentType);
            target.ObjectOid = NextNewOid();
            target.OwnerNumber = _number;
            target.State = PersistentState.Changed;
            _objects.Add(target.ObjectOid.Value, target);
            _added.Add(new(target));
            _pending.Enqueue(new(target));
            // It is written after the objects queued before it: time for what it references to arrive.
            target.PrefetchReferences();
            return new ObjectReference(target.ObjectOid, binding.TypeId);
        }
        if (owner != _number)
        {
            var other = ConnectionNumbers.Find(owner);
            var whose = other is null ? "a connection that was closed" : other._database == _database ? "another connection" : "a connection of another database";
            throw new CrossConnectionReferenceException(
                $"An object of class '{target.PersistentType.Name}' ({target.ObjectOid}) belongs to {whose} and cannot be stored in this one. Load it through this connection (Get({target.ObjectOid.Value})) or copy its values into a new object.");
        }
        return new ObjectReference(target.ObjectOid, _catalog.BindForWrite(target.PersistentType).TypeId);
    }

    // The oids of a commit's new objects, taken from the file storage a run at a time: a bulk insert's
    // thousand new objects a commit took its oid lock a thousand times (W1). The runs grow from
    // FirstSpareOids up to LargestSpareOids within a commit, and what is left goes back at its end.
    private const int FirstSpareOids = 8;
    private const int LargestSpareOids = 256;
    // The storage when it is a file (null for other storages, which are asked per oid).
    private readonly FileStorage? _file;
    private ulong _spareOid;
    private int _spareOids;
    private int _spareRun;

    private Oid NextNewOid()
    {
        if (_spareOids == 0)
        {
            if (_file is null) return _storage.NewOid();
            _spareRun = _spareRun == 0 ? FirstSpareOids : Math.Min(_spareRun * 2, LargestSpareOids);
            (_spareOid, _spareOids) = _file.NewOids(_spareRun);
        }
        _spareOids--;
        return new Oid(_spareOid++);
    }

    /// <summary>At the end of a commit (stored or not): the oids taken for new objects and not used go back to the storage.</summary>
    private void GiveBackSpareOids()
    {
        if (_spareOids > 0) _file?.GiveBackOids(_spareOid, _spareOids);
        _spareOids = 0;
        _spareRun = 0;
    }

    /// <inheritdoc />
    PersistentObject IReferenceResolver.Materialize(ObjectReference reference) => Materialize(reference);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private PersistentObject Materialize(ObjectReference reference)
    {
        if (_objects.TryGetValue(reference.Oid.Value, out var known) || TryRecallGhost(reference.Oid.Value, out known)) return known;
        ReadBinding binding;
        try
        {
            binding = _catalog.BindForRead(reference.TypeId, 0);
        }
        catch (FormatException e)
        {
            // A type id the catalog lacks: damage, also where no record is being read (the root, a
            // tree's value taken from its bucket when it is first asked for).
            throw UnknownClass(reference, e);
        }
        var ghost = binding.Type.CreateGhost();
        ghost.ObjectOid = reference.Oid;
        ghost.OwnerNumber = _number;
        ghost.State = PersistentState.Ghost;
        _objects.Add(reference.Oid.Value, ghost);
        return ghost;
    }

    /// <summary>
    /// The object of the registered collection class C# names <paramref name="expected"/> that this connection has
    /// for <paramref name="target"/>'s oid, when the target is a collection of a class this program also uses and
    /// reads as that one (the property referring to it changed to a base class's or wider type arguments): the
    /// ghost <paramref name="target"/> is replaced by one of that class in the identity map (the referring field
    /// keeps the old ghost, and finds the new one here). Null when there is none: the target is not a ghost of this
    /// connection any more, or does not read as that class.
    /// </summary>
    internal PersistentObject? ReadAs(PersistentObject target, string expected)
    {
        if (target.OwnerNumber != _number || target.ObjectOid.IsNull) return null;
        var oid = target.ObjectOid.Value;
        if ((_objects.TryGetValue(oid, out var known) || TryRecallGhost(oid, out known)) && known != target) return known;
        if (target.State != PersistentState.Ghost || StoredNames.RegisteredReadAs(target.PersistentType, expected) is not { IsAbstract: false } type) return null;
        var ghost = type.CreateGhost();
        ghost.ObjectOid = target.ObjectOid;
        ghost.OwnerNumber = _number;
        ghost.State = PersistentState.Ghost;
        _objects.Remove(oid);
        _objects.Add(oid, ghost);
        return ghost;
    }

    private static CorruptDatabaseException UnknownClass(ObjectReference reference, FormatException e) =>
        new(e.Message.TrimEnd('.'), -1, reference.Oid, e);

    // ---- Loading ----

    // The load path, here and down to the file (Database.LoadBefore, FileStorage.LoadRevision and
    // ReadRevision, the record reader, the schema catalog, the identity map), is compiled optimized on
    // first use: in a new process the runtime promotes methods to optimized code only once no method
    // has been compiled for 100 ms, so a first pass over many objects otherwise runs unoptimized code
    // from start to end (W3: 100,000 persons in 175-207 ms that way, 115-130 ms now). The methods that
    // are small enough to be inlined are left to the runtime, which inlines them into these, or marked
    // to be inlined where it would not (a setter that can throw, the check for ghosts to recall): one
    // left out runs unoptimized code on every load until the runtime promotes it.

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Activate(PersistentObject obj)
    {
        if (_failedWith is not null && TryGetRebased(obj.ObjectOid, out _)) throw MergedInFailedCommit(obj);
        var record = _database.LoadBefore(obj.ObjectOid, _snapshot + 1, _scans);
        if (record is null) throw NoRevisionForSnapshot(obj);
        Load(obj, record.Value);
    }

    // The errors of the load path, built in methods of their own: a message with values in it is much
    // code to compile, and the methods that would build them are compiled optimized on first use. The
    // other optimized methods of the load and commit paths build theirs apart for the same reason.

    /// <summary>Why no revision of <paramref name="obj"/> is there for this snapshot: packed away since, removed by a pack, or damage.</summary>
    private PersistenceException NoRevisionForSnapshot(PersistentObject obj) =>
        _storage.Load(obj.ObjectOid) is not null
            ? _database.Counts.ReadConflicted(new ReadConflictException(
                $"{obj.ObjectOid} ({obj.PersistentType.Name}) changed after this connection's snapshot (tid {_snapshot}) and the revision the snapshot needs is no longer stored (the database was packed without keeping it). Call Abort() and retry. " +
                "(Database.Pack keeps what the connections open in its own process read, and a process whose file another process packed keeps the replaced file while its open connections read it; " +
                "FileStorage.Pack, called on the storage itself, keeps only the history after the keepHistoryAfterTid it is given, e.g. the StateNumber when the longest reader began.)",
                obj.ObjectOid))
            : Missing(obj);

    /// <summary>
    /// An object the storage has no revision of. Where no record this connection loaded refers to it and the
    /// database was packed, the connection held it from before a pack that removed it (unreachable from the
    /// root by then; a long-lived or pooled connection keeps what it loaded): a read conflict, which reading
    /// again from the root resolves. Otherwise a reference dangles (see <see cref="Dangling"/>).
    /// </summary>
    private PersistenceException Missing(PersistentObject obj)
    {
        var referrer = Referrer(obj.ObjectOid);
        if (!referrer.IsNull || !_database.Packed) return Dangling(obj.ObjectOid, referrer);
        return _database.Counts.ReadConflicted(new ReadConflictException(
            $"{obj.ObjectOid} ({obj.PersistentType.Name}) no longer exists in this database as of this connection's snapshot (tid {_snapshot}): the database was packed, " +
            "and a pack removes the objects that nothing reachable from the root refers to any more. This connection held the object from before that " +
            "(a connection keeps what it loaded, in the pool too) or was given its oid. Call Abort() and read the objects again from the root.",
            obj.ObjectOid));
    }

    /// <summary>An object this connection loaded whose record (in its snapshot) refers to <paramref name="oid"/>, or the null oid.</summary>
    private Oid Referrer(Oid oid)
    {
        for (var slot = _objects.NextOccupied(0); slot < _objects.SlotCount; slot = _objects.NextOccupied(slot + 1))
        {
            if (_objects.At(slot) is { State: not PersistentState.Ghost } loaded && loaded.ObjectOid != oid && Refers(loaded.ObjectOid, oid))
                return loaded.ObjectOid;
        }
        return Oid.Null;
    }

    /// <summary>
    /// A reference to an oid the storage has no revision of: the referring record or the referred one is
    /// damaged (or lost). Names <paramref name="referrer"/>, the object whose record refers to it, if one
    /// this connection loaded does (<see cref="Referrer"/>: their records read again, an error path only).
    /// </summary>
    private CorruptDatabaseException Dangling(Oid oid, Oid referrer)
    {
        return new CorruptDatabaseException(
            (referrer.IsNull
                ? $"{oid} is referenced by an object this connection loaded, whose record's reference list does not name it (that record's state is damaged)"
                : $"{oid} is referenced by {referrer}") +
            $", but the database holds no revision of it as of tid {_snapshot}: the reference dangles (a record of the two is damaged or lost). FileStorage.Verify checks the file's transactions",
            -1, oid);
    }

    /// <summary>Whether the record of <paramref name="referrer"/> in this connection's snapshot lists a reference to <paramref name="oid"/>.</summary>
    private bool Refers(Oid referrer, Oid oid)
    {
        try
        {
            return _database.LoadBefore(referrer, _snapshot + 1) is { } record && RecordFormat.Lists(record.Data.Span, oid);
        }
        catch (Exception e) when (e is PersistenceException or FormatException)
        {
            // Damaged too: not the one to name.
        }
        return false;
    }

    /// <summary>No root object in the snapshot: a database has one from the moment it is opened (see Database), so it was damaged or lost.</summary>
    private CorruptDatabaseException NoRoot() => new(
        $"The database has no root object as of tid {_snapshot}, though it had one when it was opened: its record was damaged or lost. FileStorage.Verify checks the file's transactions",
        -1, Oid.Root);

    private static SchemaMismatchException StoredAsAnotherClass(PersistentObject obj, ReadBinding binding) => new(
        obj.PersistentType.IsMissing
            ? $"{obj.ObjectOid} is an object of class '{binding.StoredName}', which was not registered when this connection first met the object, and is now; " +
              "the connection keeps the stand-in it made then. Register persistent classes before reading the database (a class library's generated " +
              "registration runs when the library is first used), or read the object through a new connection (DatabaseOptions.ConnectionPoolSize = 0 for one with an empty cache)."
            : binding.Type.IsMissing
                ? $"{obj.ObjectOid} was referenced as a '{obj.PersistentType.Name}' and is now stored as a '{binding.StoredName}' (another program renamed its class, " +
                  "or stored an object of another class in its place). " + StoredNames.WhyUnresolved(binding.StoredName)
                : $"{obj.ObjectOid} is stored as a '{binding.StoredName}' but was referenced as a '{obj.PersistentType.Name}'.",
        binding.StoredName);

    private static FormatException BytesAfterLastField(PersistentObject obj, int remaining) =>
        new($"A record of '{obj.PersistentType.Name}' has {remaining} bytes after its last field.");

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Load(PersistentObject obj, StoredRecord record)
    {
        _loaded++;
        if (record.Data.Length >= LargeRecordBytes) NoteLarge(obj, record.Data.Length);
        var newerFields = ReadRecord(obj, record);
        if (newerFields is not null) (_withNewerFields ??= [])[obj.ObjectOid.Value] = newerFields;
        else _withNewerFields?.Remove(obj.ObjectOid.Value);
        obj.State = PersistentState.UpToDate;
        LinkLoaded(obj);
        // Only a read-write serializable connection checks its reads (new objects a commit stores are
        // counted as loaded by LinkLoaded, not read).
        if (Isolation == TransactionIsolation.Serializable && !IsReadOnly) _read.AddLoaded(obj.ObjectOid.Value);
    }

    /// <summary>Reads <paramref name="record"/> into <paramref name="obj"/>; returns the fields of a newer program whose values it skipped (see <see cref="ReadBinding.NewerFields"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private string? ReadRecord(PersistentObject obj, StoredRecord record)
    {
        var span = record.Data.Span;
        try
        {
            var state = RecordFormat.State(span, out var typeId, out var schemaVersion);
            var binding = _catalog.BindForRead(typeId, schemaVersion);
            if (binding.Type != obj.PersistentType)
            {
                // A collection retyped for the property that refers to it (ReadAs).
                binding = StoredNames.ReadsAs(binding.Type, obj.PersistentType)
                    ? _catalog.BindForReadAs(typeId, schemaVersion, obj.PersistentType)
                    : throw StoredAsAnotherClass(obj, binding);
            }
            if (binding.Conversion is null) Read(obj, state);
            else ReadConverted(obj, state, binding);
            return binding.NewerFields is null ? null : NewerValues(state, binding);
        }
        catch (FormatException e)
        {
            obj.ClearState();
            throw new CorruptDatabaseException(e.Message.TrimEnd('.'), -1, obj.ObjectOid, e);
        }
        catch
        {
            obj.ClearState();
            throw;
        }
    }

    // A record of another layout than the class's: its state converted into a buffer the connection
    // keeps for it (taken while in use, should a read ever come back here before it ends).
    private void ReadConverted(PersistentObject obj, ReadOnlySpan<byte> state, ReadBinding binding)
    {
        var buffer = _conversions ?? new RecordBuffer();
        _conversions = null;
        try
        {
            Read(obj, SchemaTranscoder.Convert(state, binding.Conversion!.Value, buffer, binding.StoredName));
        }
        finally
        {
            _conversions = buffer;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Read(PersistentObject obj, ReadOnlySpan<byte> state)
    {
        var reader = new RecordReader(state, this);
        obj.ReadState(ref reader);
        if (reader.Remaining != 0) throw BytesAfterLastField(obj, reader.Remaining);
    }

    /// <summary>A copy of a stored revision that belongs to no connection (for conflict resolution).</summary>
    private PersistentObject Detached(PersistentObject of, StoredRecord record)
    {
        var copy = of.PersistentType.CreateGhost();
        copy.ObjectOid = of.ObjectOid;
        ReadRecord(copy, record);
        copy.State = PersistentState.New;
        return copy;
    }

    // ---- Committing ----

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void SerializeChanges()
    {
        _buffer.Clear();
        _records.Clear();
        _pending.Clear();
        foreach (var obj in _changed) _pending.Enqueue(new(obj));
        foreach (var held in _added) _pending.Enqueue(held);
        // The changed objects come first; every object after them is new (added before the commit, or
        // reached from another while serializing, which adds it to both _added and _pending).
        var changed = _changed.Count;
        while (_pending.TryDequeue(out var held))
        {
            if (_withNewerFields is not null && _records.Count < changed && _withNewerFields.TryGetValue(held.Object.ObjectOid.Value, out var fields))
                throw WouldLoseNewerFields(held.Object, fields);
            _records.Add((held.Object, Serialize(held.Object), _records.Count >= changed));
        }
    }

    // The fields of a newer program that the record holds values of (not defaults), joined for a message, or null.
    private static string? NewerValues(ReadOnlySpan<byte> state, ReadBinding binding)
    {
        var lost = SchemaTranscoder.SkippedValues(state, binding.Conversion!.Value);
        return lost.Count == 0 ? null : string.Join("', '", lost);
    }

    private static SchemaMismatchException WouldLoseNewerFields(PersistentObject obj, string fields) => new(
        $"{obj.ObjectOid} ({obj.PersistentType.Name}) was stored by a newer version of the program, with values in field(s) '{fields}' that this program's class " +
        "does not have; storing it would lose them, so the commit is refused. Call Abort() and change the object with the program that has those fields " +
        "(or add them to this class, or to the value that holds them). To drop them on purpose, give the class (or the value) a layout the database has not stored " +
        "before (add, remove or reorder a property).",
        obj.PersistentType.Name,
        fields);

    private RecordSlice Serialize(PersistentObject obj)
    {
        var binding = _catalog.BindForWrite(obj.PersistentType);
        var writer = _buffer.BeginRecord(binding.TypeId, binding.Version, this);
        RecordSlice record;
        try
        {
            obj.WriteState(ref writer);
        }
        catch (ArgumentException e) when (e is not ArgumentNullException)
        {
            // A value the format cannot hold (a string with a lone surrogate): say whose.
            throw CannotStore(obj, e);
        }
        finally
        {
            // Leave the buffer ready for the next record even if WriteState threw.
            record = writer.Complete();
        }
        return record;
    }

    private static ArgumentException CannotStore(PersistentObject obj, ArgumentException cause) =>
        new($"An object of class '{obj.PersistentType.Name}' ({obj.ObjectOid}) cannot be stored: {cause.Message}", cause);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private long StoreChanges()
    {
        using var transaction = _storage.Begin();
        // Our storages take a changed object as changed from the newest revision as of the snapshot and
        // check that at the vote, where they look the newest revision up anyway; others are given its tid.
        var ours = transaction as StorageTransactionBase;
        foreach (var (obj, record, isNew) in _records)
        {
            var oid = obj.ObjectOid;
            var data = _buffer.Memory(record);
            var asOfSnapshot = false;
            long serial;
            if (isNew) serial = 0;
            else if (TryGetRebased(oid, out var rebased)) serial = rebased;
            else if (ours is not null) (serial, asOfSnapshot) = (_snapshot, true);
            else serial = SerialOf(obj);
            // Composed by this connection's buffer: our storages need not check the record again.
            if (ours is not null) ours.StoreComposed(oid, serial, data, asOfSnapshot);
            else transaction.Store(oid, serial, data);
        }
        if (Isolation == TransactionIsolation.Serializable && _read.Count > 0)
        {
            var checkedOids = _checkedOids;
            checkedOids.Clear();
            foreach (var obj in _read.Noted) CheckRead(transaction, ours, obj, checkedOids);
            foreach (var run in _read.Loaded)
            {
                for (var i = 0; i < run.Count; i++)
                {
                    if (_objects.TryGetValue(run.First + (ulong)i, out var obj)) CheckRead(transaction, ours, obj, checkedOids);
                }
            }
            foreach (var run in _read.Released)
            {
                for (var i = 0; i < run.Count; i++) CheckReleasedRead(transaction, ours, new Oid(run.First + (ulong)i), checkedOids);
            }
            // A set grown by one large transaction is not kept for all the small ones after it.
            ReusedSet.DropIfLarge(ref _checkedOids);
        }
        if (_unchanged is { Count: > 0 } unchanged)
        {
            var checkedOids = _checkedOids;
            checkedOids.Clear();
            foreach (var obj in unchanged) CheckRead(transaction, ours, obj, checkedOids);
        }
        if (ours is not null) ours.Vote(_mergeWhileVoting);
        else transaction.Vote();
        return transaction.Finish();
    }

    /// <summary>The revision a merge rebased the changed object <paramref name="oid"/> on in this transaction, if one did.</summary>
    private bool TryGetRebased(Oid oid, out long tid)
    {
        tid = 0;
        return _rebased is not null && _rebased.TryGetValue(oid.Value, out tid);
    }

    /// <summary>
    /// The tid of the revision <paramref name="obj"/> (loaded or changed, not new) holds the state of:
    /// the revision a merge rebased it on, or else the newest revision as of the snapshot, which is the
    /// one it was loaded from (objects others changed since are turned into ghosts at each boundary).
    /// Objects do not keep it themselves: it would cost every object 8 bytes, for the few that need it
    /// (our storages check a commit's objects as of the snapshot, see StoreChanges).
    /// </summary>
    internal long SerialOf(PersistentObject obj) => SerialOf(obj.ObjectOid);

    private long SerialOf(Oid oid) => TryGetRebased(oid, out var rebased) ? rebased : _database.LoadBefore(oid, _snapshot + 1)?.Tid ?? 0;

    /// <summary>What the last commit stored and no one changed since is loaded at the commit's revision (which the new snapshot includes).</summary>
    private void FinishStored()
    {
        foreach (var (obj, _, _) in _records)
        {
            if (obj.State == PersistentState.Changed) obj.State = PersistentState.UpToDate;
        }
        _records.Clear();
    }

    /// <summary>Asks the storage to check at the vote that what this transaction read of <paramref name="obj"/> is still current (<paramref name="ours"/>: the transaction, if one of our storages').</summary>
    private void CheckRead(IStorageTransaction transaction, StorageTransactionBase? ours, PersistentObject obj, HashSet<ulong> checkedOids)
    {
        // Objects loaded in this transaction are in the read set whatever they are: skip those whose
        // reads need no check (a BTree's inner nodes, see PersistentObject.ChecksReads), and those
        // written, which the store checks.
        if (!NeedsReadCheck(obj) || !checkedOids.Add(obj.ObjectOid.Value)) return;
        CheckCurrent(transaction, ours, obj.ObjectOid);
    }

    /// <summary>
    /// Whether a read of <paramref name="obj"/> this transaction made is checked at commit: one of this
    /// connection's, not written (the store checks those), of a class whose reads count. A ghost here was
    /// read, then released (see <see cref="ReleaseUnchanged()"/>).
    /// </summary>
    private bool NeedsReadCheck(PersistentObject obj) =>
        obj.State is PersistentState.UpToDate or PersistentState.Ghost && obj.OwnerNumber == _number && obj.ChecksReads;

    /// <summary>Asks for the check of a read that <see cref="ReleaseUnchanged()"/> kept by oid (see <see cref="ReadSet.Released"/>), unless the transaction wrote the object since.</summary>
    private void CheckReleasedRead(IStorageTransaction transaction, StorageTransactionBase? ours, Oid oid, HashSet<ulong> checkedOids)
    {
        if (_objects.TryGetValue(oid.Value, out var obj) && obj.State is PersistentState.Changed or PersistentState.New) return;
        if (checkedOids.Add(oid.Value)) CheckCurrent(transaction, ours, oid);
    }

    private void CheckCurrent(IStorageTransaction transaction, StorageTransactionBase? ours, Oid oid)
    {
        if (ours is not null) ours.CheckCurrentAsOf(oid, _snapshot);
        else transaction.CheckCurrent(oid, SerialOf(oid));
    }

    /// <summary>
    /// Merges another transaction's change into a written object while the vote holds the commit lock
    /// (see <see cref="PersistentObject.ResolveConflict"/>), and returns the merged record; null to
    /// leave the conflict (to <see cref="TryResolve"/> and a second vote, or to the caller).
    /// </summary>
    private ReadOnlyMemory<byte>? MergeWhileVoting(Oid oid, long currentSerial)
    {
        SchemaCatalog.Voting = true;
        try
        {
            return MergeInVote(oid, currentSerial);
        }
        catch (SchemaCatalog.NeededInVote)
        {
            // The merged state links an object of a class the file has never stored: the catalog adds
            // it after this vote, when the merge is made again (TryResolve).
            return null;
        }
        finally
        {
            SchemaCatalog.Voting = false;
        }
    }

    private ReadOnlyMemory<byte>? MergeInVote(Oid oid, long currentSerial)
    {
        if (!TryMerge(oid, currentSerial, out var obj)) return null;
        var record = Serialize(obj);
        // The merged state reaches objects that are new in this transaction only now: they need oids
        // and records of their own, which this vote cannot add; the next attempt stores them.
        if (_pending.Count > 0) return null;
        _merges++;
        return _buffer.Memory(record);
    }

    private bool TryResolve(IReadOnlyList<Oid> oids)
    {
        if (oids.Count == 0) return false;
        foreach (var oid in oids)
        {
            if (!TryMerge(oid, currentSerial: null, out _)) return false;
        }
        _merges += oids.Count;
        return true;
    }

    /// <summary>
    /// Lets a changed object merge the newest committed revision into its state (three-way, with the
    /// revision it was read at as the common ancestor); on success it is based on that revision.
    /// </summary>
    /// <param name="oid">The object.</param>
    /// <param name="currentSerial">The newest revision's tid, if known (it must still be the newest).</param>
    /// <param name="obj">The object, when merged.</param>
    private bool TryMerge(Oid oid, long? currentSerial, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out PersistentObject? obj)
    {
        if (!_objects.TryGetValue(oid.Value, out obj) || obj.State != PersistentState.Changed || IsAdded(obj)) return false;
        if (_storage.Load(oid) is not { } committed || (currentSerial is { } expected && committed.Tid != expected)) return false;
        // The ancestor usually comes from the database's cache: it is what this transaction loaded.
        var basis = TryGetRebased(oid, out var rebased) ? rebased : _snapshot;
        // Without the revision the transaction started from (a pack dropped that history) a three-way
        // merge cannot tell this transaction's change from the other's (a counter would add its whole
        // value again): the commit fails with the conflict, and the work is redone.
        if (_database.LoadBefore(oid, basis + 1) is not { } revision) return false;
        if (!obj.ResolveConflict(Detached(obj, revision), Detached(obj, committed))) return false;
        (_rebased ??= [])[oid.Value] = committed.Tid;
        return true;
    }

    /// <summary>
    /// Whether <paramref name="obj"/> is new in the commit under way. A list's search costs a merge a
    /// step per new object, and a commit of many new objects may merge many changed ones (buckets that
    /// another writer filled too), so past a few the search goes through a set of them, which takes in
    /// what was added since it was last asked (_added only grows until it is cleared).
    /// </summary>
    private bool IsAdded(PersistentObject obj)
    {
        if (_added.Count <= 16)
        {
            foreach (var one in _added)
            {
                if (ReferenceEquals(one.Object, obj)) return true;
            }
            return false;
        }
        var added = _addedSet ??= new HashSet<PersistentObject>(ReferenceEqualityComparer.Instance);
        for (var i = added.Count; i < _added.Count; i++) added.Add(_added[i].Object);
        return added.Contains(obj);
    }

    // A retry loop that waits between Abort() and the work (a back-off) works on the state of the Abort:
    // where others keep committing, each attempt conflicts again (a soak: 20 of 31,000 updates of a hot
    // object gave up after 50 attempts that way, none in 900,000 commits that waited before Abort()).
    internal const string RetryAdvice =
        "Call Abort() and redo the work right after it: Abort() moves the connection to the newest state, so a retry that waits after Abort() (a back-off) " +
        "works on a state as old as the wait and conflicts again while others keep committing; wait before Abort() instead. Database.Transact does this for you.";

    private ConflictException Describe(ConflictException conflict)
    {
        // The message names the first few (see FirstNamed), so only those are described.
        var names = conflict.Oids.Select(oid =>
            _objects.TryGetValue(oid.Value, out var obj) ? $"{oid} ({obj.PersistentType.Name})" : oid.ToString());
        // After a pack, an object this connection held may be gone rather than changed.
        var removed = _database.Packed ? conflict.Oids.Where(oid => _storage.Load(oid) is null).ToList() : [];
        return new ConflictException(
            $"The commit conflicts with another transaction that changed {FirstNamed(names, conflict.Oids.Count)} after this transaction's snapshot (tid {_snapshot})." +
            (removed.Count == 0 ? "" : $" Of those, {FirstNamed(removed.Select(static oid => oid.ToString()), removed.Count)} no longer exist: a pack removed them, as nothing reachable from the root referred to them any more; read the objects again from the root after Abort().") +
            (OnlyRead(conflict.Oids) ? " " + OnlyReadAdvice : "") +
            (_unitOfWork ? "" : " " + RetryAdvice),
            conflict.Oids);
    }

    // A report that reads for seconds and then writes a summary conflicts with every writer that changed
    // what it read meanwhile, however often it is retried: the advice says so, and what to do instead.
    private const string OnlyReadAdvice =
        "This transaction only read them (serializable isolation checks every read): a long read that ends in a write conflicts again while others change what it reads. " +
        "Write its result in a short transaction of its own (from values it computed), or run it under snapshot isolation, which checks only what it writes: db.OpenConnection(TransactionIsolation.Snapshot), or Transact(work, isolation: TransactionIsolation.Snapshot).";

    /// <summary>Whether this transaction changed none of <paramref name="oids"/> (under serializable isolation: it only read them).</summary>
    private bool OnlyRead(IReadOnlyCollection<Oid> oids)
    {
        if (Isolation != TransactionIsolation.Serializable) return false;
        foreach (var oid in oids)
        {
            if (_objects.TryGetValue(oid.Value, out var obj) && obj.State == PersistentState.Changed) return false;
        }
        return true;
    }

    /// <summary>The first oids of a conflict, then how many more there are (all of them are in <see cref="ConflictException.Oids"/>).</summary>
    private static string FirstNamed(IEnumerable<string> names, int count) =>
        StorageTransactionBase.FirstNamed(names, count, " (ConflictException.Oids lists them all)");

    /// <summary>
    /// Ends what a commit that failed with <paramref name="conflict"/> leaves of the transaction: it can only be
    /// aborted (its snapshot conflicts with what others committed, so no later commit of it can succeed), and
    /// the objects its merges rebased on others' newer revisions (see TryMerge) hold a state from after the
    /// snapshot, mixed with this transaction's changes that were not stored: they become ghosts that refuse to
    /// load, rather than show a mix of two states (a tree whose count is the newer one and whose buckets are
    /// not, a bucket that links to one created after the snapshot). Abort() starts the next transaction.
    /// </summary>
    private ConflictException FailTransaction(ConflictException conflict)
    {
        _failedWith = conflict;
        if (_rebased is not null)
        {
            foreach (var oid in _rebased.Keys)
            {
                if (_objects.TryGetValue(oid, out var merged) && merged.State == PersistentState.Changed) MakeGhost(merged);
            }
        }
        return conflict;
    }

    /// <summary>Why <paramref name="obj"/>, merged by a commit that then failed, cannot load (see FailTransaction).</summary>
    private InvalidOperationException MergedInFailedCommit(PersistentObject obj) => FailedTransaction(
        $"{obj.ObjectOid} ({obj.PersistentType.Name}) cannot be read in this transaction any more: its failed commit merged another transaction's newer state into it, which was not stored",
        _failedWith!);

    /// <summary>What a call on a transaction whose commit failed with <paramref name="failure"/> raises (see FailTransaction).</summary>
    private static InvalidOperationException FailedTransaction(string refused, ConflictException failure) => new(
        $"{refused}: this transaction's commit failed with a conflict, and such a transaction can only be aborted. " +
        "Call Abort(), which drops its changes and moves the connection to the newest state, then redo the work (Database.Transact does this for you). " +
        $"The conflict: {failure.Message}",
        failure);

    private void FailCommit()
    {
        _pending.Clear();
        _records.Clear();
        foreach (var held in _added)
        {
            var obj = held.Object;
            _objects.Remove(obj.ObjectOid.Value);
            obj.OwnerNumber = 0;
            obj.ObjectOid = default;
            obj.State = PersistentState.New;
        }
        _added.Clear();
        _addedSet = null;
    }

    // ---- Transaction boundaries ----

    private void DropChanges()
    {
        _failedWith = null;
        foreach (var obj in _changed)
        {
            if (obj.State == PersistentState.Changed) MakeGhost(obj);
        }
        _changed.Clear();
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Boundary(long committedTid)
    {
        // A commit right after the snapshot (no transaction between) has nothing before it to learn:
        // only what came after it, not its own oids (W1: 1,000 a commit, looked up only to be skipped).
        var changes = _database.Poll(committedTid == _snapshot + 1 ? committedTid : _snapshot);
        HashSet<Oid>? changedAfterOurCommit = null;
        foreach (var oid in changes.ChangedArray)
        {
            if (!_objects.TryGetValue(oid.Value, out var obj)) continue;
            if (obj.State == PersistentState.Changed && committedTid != 0)
            {
                // What this commit just stored (still marked changed) is current unless someone changed
                // it after this commit: writers that commit side by side (other processes appending
                // while this commit waited for the disk) do not reload each other's objects.
                if (changes.LastTid == committedTid) continue;
                changedAfterOurCommit ??= _database.ChangedSince(committedTid, _changedSince);
                if (!changedAfterOurCommit.Contains(oid)) continue;
            }
            else if (obj.State != PersistentState.UpToDate)
            {
                continue;
            }
            MakeGhost(obj);
        }
        // A set grown by one large catch-up is not kept for all the small ones after it.
        if (changedAfterOurCommit is not null) ReusedSet.DropIfLarge(ref _changedSince);
        FinishStored();
        _rebased?.Clear();
        _snapshot = Math.Max(changes.LastTid, committedTid);
        // A file another process packed may have been kept for this connection's old snapshot (see Database.ReleaseReplacedFiles).
        if (_file is { HoldsReplacedFiles: true }) _database.ReleaseReplacedFiles();
        EvictLarge();
        Evict();
        SweepGhosts();
        _read.Clear();
        _unchanged?.Clear();
        TransactionEpoch.Advance();
        _transactionEpoch = TransactionEpoch.Current;
        _transactionStart = Stopwatch.GetTimestamp();
        _releaseClaim = true;
    }

    private void MaybeAutocommit()
    {
        if (_autocommit is { } interval && !_unitOfWork && _changed.Count > 0 && !_committing && Stopwatch.GetElapsedTime(_transactionStart) >= interval)
        {
            Commit();
            // The call goes on in the next transaction, which keeps the claim.
            _releaseClaim = false;
        }
    }

    /// <summary>
    /// Turns loaded objects back into ghosts until no more than <see cref="CacheSize"/> are loaded: a
    /// clock hand goes round the identity map, first passing over what the transaction that just ended
    /// used, then, if that was not enough, taking whatever it meets. Changed objects are never dropped.
    /// Objects carry nothing for this but the epoch they were last touched in, which every read checks anyway.
    /// The hand meets only loaded objects: the identity map marks them, from the first eviction on, and
    /// the ghosts it also holds (evicted objects, objects only referenced) are passed over unread (W1,
    /// 1,000 new persons a commit and a cache of 10,000: 2.9 objects read for each one evicted before).
    /// </summary>
    private void Evict()
    {
        if (_loadedCount <= CacheSize) return;
        MarkLoadedObjects();
        for (var pass = 0; pass < 2 && _loadedCount > CacheSize; pass++)
        {
            // At most once round the table a pass; the hand passes over other slots a stretch at a time.
            var slots = _objects.SlotCount;
            for (var moved = 0; moved < slots && _loadedCount > CacheSize;)
            {
                if (_evictionHand >= slots) _evictionHand = 0;
                var next = _objects.NextLoaded(_evictionHand);
                moved += next - _evictionHand + 1;
                _evictionHand = next + 1;
                if (next >= slots) continue;
                var obj = _objects.At(next)!;
                EvictionReads++;
                if (obj.State != PersistentState.UpToDate)
                {
                    // A changed object stays loaded; a mark left on a ghost goes.
                    if (obj.State == PersistentState.Ghost) _objects.UnmarkLoadedAt(next);
                    continue;
                }
                if (pass == 0 && obj.Touched >= _transactionEpoch) continue;
                MakeGhost(obj, next);
            }
        }
    }

    /// <summary>From the first walk over the loaded objects on, the identity map marks which it holds are loaded (see <see cref="ObjectTable.NextLoaded"/>).</summary>
    private void MarkLoadedObjects()
    {
        if (_marksLoaded) return;
        _objects.MarkAllLoaded(IsLoadedHere);
        _marksLoaded = true;
    }

    /// <summary>
    /// The size of a record from which its object counts as large (see <see cref="DatabaseOptions.LargeObjectCacheBytes"/>):
    /// documents, pages of text and binary values weigh as much as hundreds of small objects each, which
    /// <see cref="CacheSize"/> counts alike.
    /// </summary>
    internal const int LargeRecordBytes = 16 << 10;

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void NoteLarge(PersistentObject obj, int bytes)
    {
        (_large ??= [])[obj.ObjectOid.Value] = (obj, bytes);
        _largeToCheck = true;
    }

    /// <summary>
    /// Turns large objects (records of <see cref="LargeRecordBytes"/> or more) back into ghosts, the least
    /// recently used first, until those loaded take no more than <see cref="DatabaseOptions.LargeObjectCacheBytes"/>;
    /// changed objects stay. Used or not by the transaction that ended: one such object weighs as much as
    /// thousands of small ones, which <see cref="CacheSize"/> counts alike.
    /// </summary>
    private void EvictLarge()
    {
        if (!_largeToCheck || _large is not { Count: > 0 } large) return;
        long bytes = 0;
        List<(PersistentObject Object, int Bytes)>? held = null;
        List<ulong>? gone = null;
        foreach (var (oid, entry) in large)
        {
            // Made a ghost since (by a change of another transaction, or by Evict), or let go of.
            if (!IsLoadedHere(entry.Object) || entry.Object.ObjectOid.Value != oid) (gone ??= []).Add(oid);
            else
            {
                bytes += entry.Bytes;
                if (entry.Object.State == PersistentState.UpToDate) (held ??= []).Add(entry);
            }
        }
        if (gone is not null)
        {
            foreach (var oid in gone) large.Remove(oid);
        }
        if (bytes > _largeObjectCacheBytes && held is not null)
        {
            held.Sort(static (a, b) => a.Object.Touched.CompareTo(b.Object.Touched));
            foreach (var (obj, size) in held)
            {
                if (bytes <= _largeObjectCacheBytes) break;
                large.Remove(obj.ObjectOid.Value);
                MakeGhost(obj);
                bytes -= size;
            }
        }
        // Changed objects, which stay, may keep it over the budget: then it looks again at the next boundary.
        _largeToCheck = bytes > _largeObjectCacheBytes;
    }

    /// <summary>How many objects eviction's hand has read (for tests).</summary>
    internal long EvictionReads { get; private set; }

    /// <summary>How many objects <see cref="ReleaseUnchanged()"/> has read (for tests).</summary>
    internal long ReleaseReads { get; private set; }

    private bool IsLoadedHere(PersistentObject obj) =>
        obj.OwnerNumber == _number && obj.State is PersistentState.UpToDate or PersistentState.Changed;

    /// <summary>
    /// Turns <paramref name="obj"/> into a ghost; <paramref name="slot"/> is its slot in the identity map if
    /// the caller knows it (-1 if not); <paramref name="released"/> within the transaction (see <see cref="ReleaseUnchanged()"/>).
    /// </summary>
    private void MakeGhost(PersistentObject obj, int slot = -1, bool released = false)
    {
        if (IsLoadedHere(obj))
        {
            _loadedCount--;
            if (_marksLoaded)
            {
                if (slot >= 0) _objects.UnmarkLoadedAt(slot);
                else _objects.MarkLoaded(obj.ObjectOid.Value, loaded: false);
            }
        }
        if (released) obj.ClearStateOnRelease();
        else obj.ClearState();
        obj.State = PersistentState.Ghost;
        obj.Touched = 0;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void LinkLoaded(PersistentObject obj)
    {
        // A ghost the identity map let go of, loaded through a reference someone kept, is held again.
        if (_weakGhosts is { Count: > 0 } weak && weak.Remove(obj.ObjectOid.Value, out var handle))
        {
            handle.Free();
            _objects.Add(obj.ObjectOid.Value, obj);
        }
        _loadedCount++;
        if (_marksLoaded) _objects.MarkLoaded(obj.ObjectOid.Value, loaded: true);
    }

    /// <summary>
    /// How many ghosts the identity map may hold beyond the number of loaded objects before
    /// <see cref="SweepGhosts"/> lets them go: about 11 MB of them. A sweep reads every object the map
    /// holds and takes a weak handle for each ghost, which a bulk load through one connection would pay
    /// for nothing, as its ghosts stay referenced by the buckets that hold them: W1's 100,000 persons
    /// with a cache of 10,000 ran 10-40% slower with sweeps every 10,000 ghosts.
    /// </summary>
    internal int GhostSlack { get; set; } = 100_000;

    /// <summary>How many ghosts are held weakly (see <see cref="SweepGhosts"/>), the collected ones not yet purged included.</summary>
    internal int WeakGhostCount => _weakGhosts?.Count ?? 0;

    /// <summary>
    /// Lets go of the ghosts once they outnumber the loaded objects by <see cref="GhostSlack"/>: a
    /// ghost stays in the identity map after its object is evicted, or after a reference to it was
    /// read, so a connection that walks through more objects than its cache holds would otherwise keep
    /// one ghost (about 110 bytes) for every object it ever met. They move to a table of weak
    /// references, where one that is still referenced (by a loaded object, or by the application) is
    /// found again, and the others are collected; entries of collected ones are purged as that table grows.
    /// </summary>
    private void SweepGhosts()
    {
        var ghosts = _objects.Count - _loadedCount;
        if (ghosts <= _loadedCount + GhostSlack) return;
        var weak = _weakGhosts ??= [];
        // Purged before this sweep's ghosts join the table: they are all alive (the map held them until
        // now), and counting them among the survivors let the table grow to twice their number before the
        // next purge. Those of earlier sweeps have had collections since. (A pass over 1,000,000 persons
        // releasing every 10,000 ended holding 323,000 entries, about 9 MB, when this came after.)
        if (weak.Count + ghosts > (2 * _weakGhostsAfterPurge) + GhostSlack)
        {
            foreach (var (oid, handle) in weak)
            {
                if (handle.Target is not null) continue;
                handle.Free();
                weak.Remove(oid);
            }
            _weakGhostsAfterPurge = weak.Count;
        }
        _objects.RemoveWhere(
            static obj => obj.State == PersistentState.Ghost,
            obj =>
            {
                ref var slot = ref CollectionsMarshal.GetValueRefOrAddDefault(weak, obj.ObjectOid.Value, out var exists);
                if (exists) slot.Free();
                slot = GCHandle.Alloc(obj, GCHandleType.Weak);
            });
    }

    /// <summary>A ghost <see cref="SweepGhosts"/> let go of that is still alive, back in the identity map.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool TryRecallGhost(ulong oid, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out PersistentObject? obj)
    {
        obj = null;
        return _weakGhosts is { Count: > 0 } && RecallGhost(oid, out obj);
    }

    private bool RecallGhost(ulong oid, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out PersistentObject? obj)
    {
        obj = null;
        if (!_weakGhosts!.Remove(oid, out var handle)) return false;
        obj = (PersistentObject?)handle.Target;
        handle.Free();
        if (obj is null) return false;
        _objects.Add(oid, obj);
        return true;
    }

    /// <summary>How many times this connection loaded an object from a record, for the database's metrics.</summary>
    internal long LoadsCounted => Volatile.Read(ref _loaded);

    /// <summary>
    /// Lets go of a closed connection that will not be used again: its objects carry
    /// <see cref="ConnectionNumbers.Released"/> from now on (what they loaded stays readable; they
    /// cannot load or change), the weak handles of the ghosts it let go of are freed, and its number
    /// is given back. Called on the thread that closed it, or once no thread can claim it.
    /// </summary>
    internal void Release()
    {
        if (_number == ConnectionNumbers.Released) return;
        _database.Counts.LoadedByGone(_loaded);
        _large = null;
        for (var slot = _objects.NextOccupied(0); slot < _objects.SlotCount; slot = _objects.NextOccupied(slot + 1))
            _objects.At(slot)!.OwnerNumber = ConnectionNumbers.Released;
        if (_weakGhosts is { } weak)
        {
            foreach (var handle in weak.Values)
            {
                if (handle.Target is PersistentObject ghost) ghost.OwnerNumber = ConnectionNumbers.Released;
                handle.Free();
            }
            weak.Clear();
            _weakGhostsAfterPurge = 0;
        }
        // Every object that carried the number carries Released now (the weak handles' targets, seen
        // above, are the only objects of this connection outside the identity map), so it can be taken
        // again (Give's lock orders these writes before the next Take).
        ConnectionNumbers.Give(_number);
        _number = ConnectionNumbers.Released;
    }

    // ---- Threads ----
    //
    // A call on the connection (a first read or change of an object in the transaction, or a method of
    // the connection) runs between BeginCall and EndCall, marked in the transaction's claim as being
    // inside a call. The claim's own thread checks only its claim, with no interlocked instruction:
    // a first read of an object in a transaction costs no more than a few plain loads and stores.
    //
    // Another thread takes the claim over only if both ran in the async flow that opened the
    // connection, and only once no other thread runs code of that flow: the claim's thread has left it
    // (an await that resumed elsewhere, a method that returned). The runtime tells each thread's
    // switches of context to an AsyncLocal's handler, which counts the threads inside each opening's
    // flow (FlowToken.Inside). So tasks of the flow running side by side (Task.Run, Task.WhenAll,
    // Parallel) are refused even between calls, where plain field writes to objects already changed in
    // the transaction (a BTree bucket's arrays) would race unchecked.
    //
    // And the claim's thread must not be inside a call: the two sides follow Dekker's pattern. The
    // claim's thread marks itself busy before it reads whether the claim was revoked; the taker revokes
    // the claim before it reads whether its thread is busy. The taker's process-wide barrier (a few
    // microseconds, once an await resumes on another thread) stands for the barrier the claim's thread
    // leaves out, so one of the two sees the other's write: either the taker backs off and reports the
    // overlap, or the claim's thread finds its claim revoked and waits for the decision. This rests on
    // two things outside this file: the JIT keeps the owner's volatile store before its volatile load
    // (the memory model would let it swap them; it does not), and the process-wide barrier reaches every
    // core, which it does through the kernel's membarrier call (Linux 4.14 and later; without it, .NET
    // falls back to a trick that x64 honours).
    //
    // What the claim does not tell apart: other code that runs on the claim's own thread between two of
    // the flow's awaits (the check of the flow would cost an AsyncLocal lookup on every call); and a
    // connection opened inside an async method is of that method's flow: its caller, after the method
    // returned, is other code (the AsyncLocal's value is undone then).

    /// <summary>One thread's claim on the connection for a transaction (see BeginCall).</summary>
    private sealed class Claim(int thread, bool ofOpener)
    {
        /// <summary>Held by Database.Dispose's close of an idle connection: no thread's, never taken over.</summary>
        public static readonly Claim Closing = new(-1, ofOpener: false) { Owner = null };

        public readonly int Thread = thread;
        // The claiming thread itself: one that has ended has left the flow, though a thread that started
        // with no context of its own ends without the runtime telling FlowChanged (see TakeOverToDispose).
        public Thread? Owner { get; private init; } = System.Threading.Thread.CurrentThread;
        // Whether the claiming thread ran in the async flow that opened the connection.
        public readonly bool OfOpener = ofOpener;
        // Whether Thread is inside a call on the connection (written by Thread alone).
        public volatile bool Busy;
        // 1 while another thread of the opening flow decides whether to take the claim over.
        public int Revoked;
    }

    /// <summary>An opening of a connection, which the async flow that opened it holds (see OpenedHere).</summary>
    private sealed class FlowToken
    {
        public volatile bool Closed;
        // How many threads run in a context that holds this token now (see FlowChanged).
        public int Inside;
    }

    /// <summary>The connections an async flow opened, newest first.</summary>
    private sealed class FlowMark(FlowToken token, FlowMark? outer)
    {
        public readonly FlowToken Token = token;
        public readonly FlowMark? Outer = outer;
        // How many marks the chain from this one holds.
        public readonly int Depth = (outer?.Depth ?? 0) + 1;

        public static bool Holds(FlowMark? marks, FlowToken token) => Holds(marks, null, token);

        /// <summary>Whether the marks from <paramref name="marks"/> up to <paramref name="until"/> (not included) hold <paramref name="token"/>.</summary>
        public static bool Holds(FlowMark? marks, FlowMark? until, FlowToken token)
        {
            for (var mark = marks; mark is not null && !ReferenceEquals(mark, until); mark = mark.Outer)
            {
                if (ReferenceEquals(mark.Token, token)) return true;
            }
            return false;
        }

        /// <summary>
        /// The outer part two chains share (marks never change: a flow's new chain puts marks in front of its
        /// old one, or of the part of it StillOpen kept), found in steps as many as the marks in front of it.
        /// </summary>
        public static FlowMark? Shared(FlowMark? left, FlowMark? right)
        {
            while ((left?.Depth ?? 0) > (right?.Depth ?? 0)) left = left!.Outer;
            while ((right?.Depth ?? 0) > (left?.Depth ?? 0)) right = right!.Outer;
            while (!ReferenceEquals(left, right))
            {
                left = left!.Outer;
                right = right!.Outer;
            }
            return left;
        }
    }

    private static readonly AsyncLocal<FlowMark?> OpenedInFlow = new(FlowChanged);

    /// <summary>
    /// Counts, for each opening, the threads whose current context holds it. The runtime calls this on
    /// a thread whenever the value changes there: when it is set, and when the thread switches contexts
    /// (it starts or ends a work item, resumes after an await, returns from an async method).
    /// </summary>
    /// <remarks>
    /// Only the marks in front of the part the two chains share change: comparing the whole chains took time in
    /// the square of their length, and a flow that leaves connections undisposed grows its chain by one each
    /// (3,000 of them: 60 ms an open).
    /// </remarks>
    private static void FlowChanged(AsyncLocalValueChangedArgs<FlowMark?> change)
    {
        var (previous, current) = (change.PreviousValue, change.CurrentValue);
        var shared = FlowMark.Shared(previous, current);
        for (var mark = previous; !ReferenceEquals(mark, shared); mark = mark!.Outer)
        {
            if (!FlowMark.Holds(current, shared, mark!.Token)) Interlocked.Decrement(ref mark.Token.Inside);
        }
        for (var mark = current; !ReferenceEquals(mark, shared); mark = mark!.Outer)
        {
            if (!FlowMark.Holds(previous, shared, mark!.Token)) Interlocked.Increment(ref mark.Token.Inside);
        }
    }

    /// <summary>
    /// Notes in the calling async flow that it opened this connection (called by Database as it hands
    /// the connection out): a transaction started in this flow may go on from another thread of it.
    /// </summary>
    internal Connection OpenedHere()
    {
        Opening = _database.NextOpening();
        var token = new FlowToken();
        _openToken = token;
        OpenedInFlow.Value = new FlowMark(token, StillOpen(OpenedInFlow.Value));
        return this;
    }

    /// <summary>The marks without those of connections closed since (a pooled connection is opened anew under a new token).</summary>
    /// <remarks>Not recursive: a flow that leaves thousands of connections undisposed would overflow a thread pool thread's stack.</remarks>
    private static FlowMark? StillOpen(FlowMark? marks)
    {
        // The outer part from the outermost closed mark on is kept as it is; in front of it, the open marks are put again.
        FlowMark? outermostClosed = null;
        for (var mark = marks; mark is not null; mark = mark.Outer)
        {
            if (mark.Token.Closed) outermostClosed = mark;
        }
        if (outermostClosed is null) return marks;
        var front = new List<FlowToken>();
        for (var mark = marks; !ReferenceEquals(mark, outermostClosed); mark = mark!.Outer)
        {
            if (!mark!.Token.Closed) front.Add(mark.Token);
        }
        var kept = outermostClosed.Outer;
        for (var i = front.Count - 1; i >= 0; i--) kept = new FlowMark(front[i], kept);
        return kept;
    }

    private bool OpenedInThisFlow() => FlowMark.Holds(OpenedInFlow.Value, _openToken);

    /// <summary>
    /// Checks that the connection is open and that this thread may use it, claiming it for the
    /// transaction, and marks the call as under way. Returns the claim to pass to
    /// <see cref="EndCall"/>, or null for a call inside a call of the same thread.
    /// </summary>
    /// <remarks>Inlined: it runs on every first read of an object in a transaction (see Touch).</remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private Claim? BeginCall()
    {
        if (_closed) throw ClosedError();
        var claim = Volatile.Read(ref _claim);
        if (claim is not null && claim.Thread == Environment.CurrentManagedThreadId)
        {
            if (claim.Busy) return null;
            if (MarkBusy(claim)) return claim;
        }
        return ClaimForCall();
    }

    /// <summary>
    /// Marks this thread's own claim busy for a call, unless another thread has revoked it (the owner's
    /// side of the pattern described under Threads: the store before the load).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool MarkBusy(Claim claim)
    {
        claim.Busy = true;
        if (Volatile.Read(ref claim.Revoked) == 0) return true;
        claim.Busy = false;
        return false;
    }

    /// <summary>
    /// Checks that this thread holds the transaction before it changes an object already changed in it
    /// (a plain write otherwise, which another thread's could race with: two threads inserting into one
    /// BTree bucket's arrays). Takes the transaction over where a call would.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal void CheckWriter()
    {
        var claim = Volatile.Read(ref _claim);
        if (claim is not null && claim.Thread == Environment.CurrentManagedThreadId && Volatile.Read(ref claim.Revoked) == 0) return;
        WriteAsCall();
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void WriteAsCall() => EndCall(BeginCall());

    /// <summary>Ends a call begun by <see cref="BeginCall"/>; the claim too, if the call ended the transaction.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void EndCall(Claim? claim)
    {
        if (claim is null) return;
        if (_releaseClaim)
        {
            _releaseClaim = false;
            Volatile.Write(ref _claim, null);
        }
        claim.Busy = false;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private Claim? ClaimForCall()
    {
        var me = Environment.CurrentManagedThreadId;
        var wait = new SpinWait();
        while (true)
        {
            if (_closed) throw ClosedError();
            var current = Volatile.Read(ref _claim);
            if (current is null)
            {
                // Between transactions: this call starts the next one.
                var claim = new Claim(me, OpenedInThisFlow()) { Busy = true };
                if (Interlocked.CompareExchange(ref _claim, claim, null) is null) return claim;
            }
            else if (current.Thread == me)
            {
                // This thread's claim, which another thread of the flow is deciding whether to take over.
                if (Volatile.Read(ref current.Revoked) == 0)
                {
                    if (current.Busy) return null;
                    if (MarkBusy(current)) return current;
                }
                wait.SpinOnce();
            }
            else if (current.OfOpener && OpenedInThisFlow())
            {
                if (TakeOver(current, me) is { } taken) return taken;
            }
            else
            {
                throw UsedFromAnotherThread(me, current.Thread);
            }
        }
    }

    /// <summary>
    /// Takes the claim of another thread of the opening flow over, once no other thread runs code of
    /// the flow (the claim's thread has left it: an await it reached, a method it returned from) and
    /// unless that thread is inside a call; null if the claim ended meanwhile.
    /// </summary>
    private Claim? TakeOver(Claim current, int me)
    {
        // The claim's thread may still be on its way out of the flow (the await's continuation can run
        // here before that thread has returned from the method): wait a little for it. Tasks of the
        // flow running side by side stay in it, and are refused.
        var started = Stopwatch.GetTimestamp();
        var wait = new SpinWait();
        int inside;
        while ((inside = Volatile.Read(ref _openToken.Inside)) > 1)
        {
            if (_closed) throw ClosedError();
            if (Stopwatch.GetElapsedTime(started) > SideBySideWait) throw UsedSideBySide(me, current.Thread, inside);
            wait.SpinOnce();
        }
        if (!Revoke(current)) throw UsedAtOnce(me, current.Thread);
        // Checked again after the revoke: a thread that enters the flow counts itself in before it reads
        // whether its claim was revoked (see BeginCall and CheckWriter), so one of the two sees the other.
        var busy = current.Busy;
        if (busy || (inside = Volatile.Read(ref _openToken.Inside)) > 1)
        {
            Volatile.Write(ref current.Revoked, 0);
            throw busy ? UsedAtOnce(me, current.Thread) : UsedSideBySide(me, current.Thread, inside);
        }
        // Null when the claim's thread ended the transaction with its last call (and so the claim): start the next one.
        return Replace(current, me, ofOpener: true);
    }

    /// <summary>
    /// Revokes another thread's claim, then makes what that thread wrote before it read the revoke
    /// (Busy, and its count in the flow) visible here; false if a third thread is revoking it already.
    /// </summary>
    private static bool Revoke(Claim current)
    {
        if (Interlocked.CompareExchange(ref current.Revoked, 1, 0) != 0) return false;
        Interlocked.MemoryBarrierProcessWide();
        return true;
    }

    /// <summary>Puts a busy claim of this thread in place of the revoked <paramref name="current"/>; null if the claim ended meanwhile.</summary>
    private Claim? Replace(Claim current, int me, bool ofOpener)
    {
        var taken = new Claim(me, ofOpener) { Busy = true };
        return Interlocked.CompareExchange(ref _claim, taken, current) == current ? taken : null;
    }

    private PersistenceException UsedFromAnotherThread(int me, int owner) => _closed ? ClosedError() : new ConnectionThreadException(
        $"This connection is in a transaction that thread {owner} started, and was used from thread {me}. A transaction belongs to the code that started it until Commit() or Abort(); " +
        "it moves to another thread only within the async flow that opened the connection (after an await), one thread at a time. " +
        "Open a connection per thread or per request, or finish the transaction first.");

    /// <summary>
    /// For a Dispose by other code than the one whose transaction is under way: takes the transaction
    /// over once no thread runs the code that opened the connection (it ended, or waits at an await)
    /// and none is inside a call. A request's connection that its scope disposes after the request
    /// failed in a transaction, say, is let go of instead of staying claimed for ever.
    /// </summary>
    private bool TakeOverToDispose()
    {
        var me = Environment.CurrentManagedThreadId;
        var current = Volatile.Read(ref _claim);
        if (current is null || current == Claim.Closing || current.Thread == me || !OpenerLeft(current)) return false;
        if (!Revoke(current)) return false;
        if (current.Busy || !OpenerLeft(current))
        {
            Volatile.Write(ref current.Revoked, 0);
            return false;
        }
        return Replace(current, me, ofOpener: false) is not null;
    }

    /// <summary>
    /// Whether no thread runs the code that opened the connection any more; or else the claim's thread
    /// has ended (a thread that started with no context of its own ends without the runtime telling
    /// FlowChanged, so its count stays).
    /// </summary>
    private bool OpenerLeft(Claim claim) => Volatile.Read(ref _openToken.Inside) == 0 || claim.Owner is { IsAlive: false };

    // How long a thread of the opening flow waits for the others to leave it before it is refused.
    private static readonly TimeSpan SideBySideWait = TimeSpan.FromMilliseconds(100);

    private PersistenceException UsedSideBySide(int me, int owner, int inside) => _closed ? ClosedError() : new ConnectionThreadException(
        $"This connection's transaction is on thread {owner}, and thread {me} used it while {inside - 1} other thread(s) ran the same code side by side " +
        "(tasks started from the code that opened the connection: Task.Run, Task.WhenAll, Parallel, a new Thread; or that code blocked waiting for one, with .Wait() or .Result). " +
        "A connection and its objects are used by one thread at a time: open a connection per concurrent task, or await each task before the connection is used again.");

    private PersistenceException UsedAtOnce(int me, int owner) => _closed ? ClosedError() : new ConnectionThreadException(
        $"This connection was used from thread {me} while thread {owner} was inside a call on it. A connection and its objects are used by one thread at a time: " +
        "await each use before starting the next (not Task.WhenAll or Parallel over one connection), or open a connection per concurrent task.");
}
