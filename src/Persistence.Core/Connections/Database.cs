using System.ComponentModel;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;
using Persistence.Serialization;
using Persistence.Storage;

namespace Persistence;

/// <summary>
/// A database: one storage, its schema catalog, a cache of committed records shared by all
/// connections, and a pool of connections. Thread-safe; open one per storage and process, and a
/// connection per thread (or unit of work).
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
    private static readonly TimeSpan StatePollInterval = TimeSpan.FromMilliseconds(20);

    private readonly bool _ownsStorage;
    private readonly Lock _gate = new();
    // How many times a connection was handed out (see Connection.Opening).
    private long _openings;
    private readonly List<Connection> _open = [];
    private readonly Stack<Connection> _pool = new();

    /// <summary>How many closed connections wait in the pool (for tests).</summary>
    internal int PooledCount
    {
        get
        {
            lock (_gate) return _pool.Count;
        }
    }
    private readonly RecordCache _cache;
    // The storage when it is a file: connections load through scan windows of their own there (NewScanReader).
    private readonly FileStorage? _file;
    private readonly object _stateSignal = new();
    private TaskCompletionSource _stateChanged = new(TaskCreationOptions.RunContinuationsAsynchronously);
    // How many WaitForStateAsync calls are waiting (see Committed).
    private int _asyncStateWaiters;
    private bool _disposed;
    private readonly DatabaseCounts _counts;

    static Database()
    {
        // The root's class and the counter are part of the library, so it registers them itself.
        PersistentDictionary<string, PersistentObject>.Register(ValueCodecs.String!, "str", ValueCodecs.Reference<PersistentObject>(), RootElementName);
        PersistentTypes.Register(PersistentCounter.TypeInfo);
    }

    private Database(IStorage storage, DatabaseOptions options, bool ownsStorage)
    {
        Storage = storage;
        _file = storage as FileStorage;
        Options = options;
        _ownsStorage = ownsStorage;
        try
        {
            Catalog = new SchemaCatalog(storage);
            if (storage.Load(Oid.Root) is null)
            {
                // Only the schema catalog is stored before the root (by the commit that creates it);
                // objects of other oids without a root mean the root's record was damaged or lost.
                // Creating a new root then would hide everything the database holds.
                var held = storage.LastTid > 0 ? storage.Iterate().Select(record => record.Oid).FirstOrDefault(oid => oid != Oid.Catalog) : Oid.Null;
                if (!held.IsNull) throw NoRoot(storage, held);
                CreateRoot();
            }
            _cache = new RecordCache(options.RecordCacheBytes, storage.LastTid);
            _counts = new DatabaseCounts(this, _file?.FilePath ?? storage.GetType().Name);
            // The connections' snapshots are known here: a file another process packs is kept for them (see ReleaseReplacedFiles).
            _file?.KeepReplacedFiles();
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

    /// <summary>
    /// A number that rises with every commit to the database, from any connection or process sharing
    /// its storage: the tid of the newest transaction. A commit that stores classes or collection types
    /// the storage has not seen (or whose fields changed) first writes each one's schema, in a
    /// transaction of its own, so it raises the number by more than one. Reading it catches up with
    /// other processes.
    /// </summary>
    public long StateNumber => Poll(_cache.KnownThrough).LastTid;

    /// <summary>Opens (or creates) a database in a file, with the embedded file storage.</summary>
    /// <param name="path">The data file; created if missing.</param>
    /// <param name="options">Settings; null for the defaults.</param>
    public static Database Open(string path, DatabaseOptions? options = null)
    {
        options ??= new DatabaseOptions();
        var storage = FileStorage.Open(path, new FileStorageOptions { ReadOnly = options.ReadOnly, Durability = options.Durability, PageCacheBytes = options.PageCacheBytes });
        return new Database(storage, options, ownsStorage: true);
    }

    /// <summary>
    /// Copies the database, while it is in use, to <paramref name="path"/>: every transaction committed
    /// when the backup starts, consistently, flushed to disk (see <see cref="FileStorage.Backup"/>).
    /// </summary>
    /// <param name="path">Where the backup goes; an existing file there is replaced, unless it is this database or one a program has open for writing.</param>
    /// <returns>The tid (state number) of the last transaction in the backup.</returns>
    /// <exception cref="NotSupportedException">The database is not in a file (its storage is not a <see cref="FileStorage"/>).</exception>
    /// <exception cref="ArgumentException"><paramref name="path"/> is the data file itself (or a file it keeps beside it: its lock file, index checkpoint, a pack's new file), by whatever path,
    /// or a database that a program has open for writing (where that can be told: on Linux).</exception>
    /// <exception cref="PersistenceException">The copy could not be written (the message says why: a full disk, permissions).</exception>
    public long Backup(string path) => Storage is FileStorage file
        ? file.Backup(path)
        : throw new NotSupportedException($"Backup copies a database file, but this database keeps its records in a {Storage.GetType().Name}. Copy its records another way (e.g. IStorage.Iterate).");

    /// <summary>
    /// Rewrites the database file, while it is in use, with only what is reachable from the root and the
    /// history this process's open connections still read (see <see cref="FileStorage.Pack"/>); the
    /// open connections of other processes read on as before.
    /// </summary>
    /// <remarks>
    /// A connection reads the state of its snapshot until its next <see cref="Connection.Commit"/> or
    /// <see cref="Connection.Abort"/>, so the revisions every connection open in this process can still
    /// see are kept, like the history after <paramref name="keepHistoryAfterTid"/>: their reads go on
    /// as before. Connections in other processes are not known here, and need not be: a process that
    /// moves to the packed file keeps the file it replaced open (with its index) while its connections'
    /// snapshots from before the switch read it, and loads what the packed file no longer holds from
    /// there, so their reads go on as before too; it closes that file once they all moved past it (at a
    /// Commit(), Abort() or close). A connection left open for long, with no Commit() or Abort() since,
    /// keeps the history after its snapshot from being packed away (in its process, the replaced file
    /// open, its disk space not yet freed): end such transactions first to reclaim the most.
    /// </remarks>
    /// <param name="keepHistoryAfterTid">Also keep every revision a reader whose snapshot is this tid
    /// (a <see cref="StateNumber"/>) or later can see; null for none beyond what open connections need.</param>
    /// <returns>What the pack did: sizes before and after, the live objects, the time it took, and how many open connections
    /// kept history (<see cref="PackResult.ConnectionsKeepingHistory"/>: one never disposed keeps it at every pack).</returns>
    /// <exception cref="NotSupportedException">The database is not in a file (its storage is not a <see cref="FileStorage"/>).</exception>
    /// <exception cref="StorageLockedException">The database is open read-only, or another process is packing it (a pack run
    /// periodically can skip that turn); nothing was changed.</exception>
    /// <exception cref="PersistenceException">The new file could not be written (the message says why); nothing was changed.</exception>
    public PackResult Pack(long? keepHistoryAfterTid = null)
    {
        if (_file is null)
            throw new NotSupportedException($"Pack rewrites a database file, but this database keeps its records in a {Storage.GetType().Name}, which has no file to rewrite.");
        var holding = 0;
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_open.Count > 0)
            {
                // One look at each snapshot: the oldest is kept, and one older than both the history asked for and the
                // newest state is a connection keeping what changed since.
                var asked = Math.Min(keepHistoryAfterTid ?? long.MaxValue, _file.LastTid);
                var oldest = keepHistoryAfterTid ?? long.MaxValue;
                foreach (var connection in _open)
                {
                    var snapshot = connection.Snapshot;
                    if (snapshot < asked) holding++;
                    oldest = Math.Min(oldest, snapshot);
                }
                keepHistoryAfterTid = oldest;
            }
        }
        return _file.Pack(keepHistoryAfterTid) with { ConnectionsKeepingHistory = holding };
    }

    /// <summary>
    /// How this program reads each schema version of each class the database holds, with the number of objects
    /// reachable from the root stored in each (see <see cref="DatabaseInspector.CheckSchema"/>): check a copy of a
    /// deployed database with a new version of the program before it goes out, and the layouts it cannot load
    /// (<see cref="SchemaCheck.Unreadable"/>) show up before an object fails to load. Reads the newest committed
    /// state, walking every reachable object once.
    /// </summary>
    /// <param name="cancellationToken">Stops the walk (<see cref="OperationCanceledException"/>).</param>
    public SchemaCheck CheckSchema(CancellationToken cancellationToken = default)
    {
        lock (_gate) ObjectDisposedException.ThrowIf(_disposed, this);
        using var inspector = new DatabaseInspector(Storage);
        return inspector.CheckSchema(cancellationToken);
    }

    /// <summary>Opens a database on a storage. The database disposes the storage when it is disposed.</summary>
    public static Database Open(IStorage storage, DatabaseOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(storage);
        return new Database(storage, options ?? new DatabaseOptions(), ownsStorage: true);
    }

    /// <summary>
    /// Opens a connection: a consistent view of the database and a cache of the objects it loads.
    /// A connection closed earlier is reused, with its warm cache, when the pool has one.
    /// </summary>
    public Connection OpenConnection() => OpenConnection(Options.Isolation);

    /// <summary>
    /// Opens a connection (as <see cref="OpenConnection()"/>) whose commits check what <paramref name="isolation"/>
    /// says, whatever <see cref="DatabaseOptions.Isolation"/> is: a report that reads for seconds and then
    /// writes its result can commit under <see cref="TransactionIsolation.Snapshot"/> while the other
    /// connections stay serializable. A pooled connection takes the isolation it is opened with.
    /// </summary>
    public Connection OpenConnection(TransactionIsolation isolation)
    {
        if (isolation is not (TransactionIsolation.Serializable or TransactionIsolation.Snapshot))
            throw new ArgumentOutOfRangeException(nameof(isolation), isolation, "Use TransactionIsolation.Serializable or TransactionIsolation.Snapshot.");
        Connection? pooled;
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            // Open from the moment it leaves the pool: its snapshot stays among those whose changes the
            // storage keeps (see ForgetChanges) while it catches up with them.
            if (_pool.TryPop(out pooled)) _open.Add(pooled);
        }
        if (pooled is not null)
        {
            try
            {
                pooled.Reopen();
            }
            catch
            {
                // Still closed (it opens only once caught up), so no Dispose let go of it: give its number back here.
                lock (_gate) _open.Remove(pooled);
                pooled.Release();
                throw;
            }
            pooled.Isolation = isolation;
            lock (_gate)
            {
                if (!_disposed) return pooled.OpenedHere();
            }
            // Disposed while it caught up: Dispose passed over it while it was still closed (or closes
            // it now, whichever claims it first), so it is closed here and not handed out.
            pooled.CloseFromDatabase();
            throw new ObjectDisposedException(nameof(Database));
        }
        return Track(new Connection(this, readOnly: false, autoRefresh: false) { Isolation = isolation }).OpenedHere();
    }

    /// <summary>
    /// Opens a connection that refuses changes. With <paramref name="autoRefresh"/>, it moves to the
    /// newest committed state by itself: each access to <see cref="Connection.Root"/> starts a new read
    /// at the newest state if at least 100 ms passed since the last one, so commits by other
    /// connections and processes show within that time. Everything reached from one access to
    /// <see cref="Connection.Root"/> until the next comes from one snapshot: a read never mixes two states.
    /// </summary>
    public Connection OpenReadOnlyConnection(bool autoRefresh = false)
    {
        lock (_gate) ObjectDisposedException.ThrowIf(_disposed, this);
        return Track(new Connection(this, readOnly: true, autoRefresh)).OpenedHere();
    }

    /// <summary>
    /// The unit of work (<see cref="Transact{T}(Func{Connection, T}, int, TransactionIsolation?)"/>, <see cref="TransactAsync{T}(Func{Connection, Task{T}}, int, CancellationToken, TransactionIsolation?)"/>)
    /// whose work the current flow runs, if any: a Transact called inside it, on the same database, joins it.
    /// </summary>
    private static readonly AsyncLocal<UnitOfWork?> CurrentWork = new();

    /// <summary>A unit of work under way: its database and connection, until it ends (a task the work left running may still see it then).</summary>
    private sealed class UnitOfWork(Database database, Connection connection)
    {
        public Database Database { get; } = database;

        public Connection Connection { get; } = connection;

        /// <summary>
        /// What a joined unit of work's work threw in this attempt, if anything: its changes cannot be undone
        /// apart from the outer work's, so the attempt must not commit even if the outer work went on.
        /// </summary>
        public Exception? Doomed { get; set; }

        // Objects of connections opened before the work that the work changed (see NoteChangeAroundWork).
        private List<PersistentObject>? _changedOutside;

        public void ChangedOutside(PersistentObject obj)
        {
            lock (this) (_changedOutside ??= []).Add(obj);
        }

        /// <summary>Starts an attempt: no joined work failed in it, and it changed nothing outside yet.</summary>
        public void BeginAttempt()
        {
            Doomed = null;
            lock (this) _changedOutside = null;
        }

        /// <summary>
        /// Refuses the commit of an attempt if the work changed an object of a connection opened before it
        /// and left that change pending, which this commit would not store (the other connection's next Commit() would,
        /// its Abort() would lose it).
        /// </summary>
        private void ThrowIfChangedOutside(string method)
        {
            List<PersistentObject>? changed;
            lock (this) (changed, _changedOutside) = (_changedOutside, null);
            if (changed is null) return;
            foreach (var obj in changed)
            {
                if (obj.PersistentState != PersistentState.Changed) continue;
                throw new InvalidOperationException(
                    $"The work of {method} changed an object of class '{obj.PersistentType.Name}' ({obj.ObjectOid}) that belongs to a connection opened before the work, and left the change pending: " +
                    $"{method} commits only the connection it gives the work, so nothing was committed (the other connection's Commit() would store that change, its Abort() drop it). " +
                    $"Load the object through the work's connection (connection.Get(new Oid({obj.ObjectOid.Value})), or from its Root) and change it there: the work keeps no objects from outside, nor between attempts.");
            }
        }

        /// <summary>Runs joined work on this unit's connection, noting a failure of it (see <see cref="Doomed"/>).</summary>
        public T RunJoined<T>(Func<Connection, T> work)
        {
            try
            {
                return work(Connection);
            }
            catch (Exception failure)
            {
                Doomed ??= failure;
                throw;
            }
        }

        /// <summary>Runs joined async work on this unit's connection, noting a failure of it (see <see cref="Doomed"/>).</summary>
        public async Task<T> RunJoinedAsync<T>(Func<Connection, Task<T>> work)
        {
            try
            {
                return await work(Connection).ConfigureAwait(false);
            }
            catch (Exception failure)
            {
                Doomed ??= failure;
                throw;
            }
        }

        /// <summary>Before the commit of an attempt: refuses it for either reason below.</summary>
        /// <summary>
        /// Commits an attempt whose work returned <paramref name="result"/>, unless it is unfit to (see
        /// <see cref="ThrowIfUnfitToCommit"/>) or <paramref name="cancellationToken"/> was cancelled while the
        /// work ran (a web request whose client went away: the caller will not learn of the result).
        /// </summary>
        public void Commit<T>(T result, string method, CancellationToken cancellationToken = default)
        {
            ThrowIfUnfitToCommit(method);
            cancellationToken.ThrowIfCancellationRequested();
            Connection.Commit();
            KeepOutOfPoolIfHandedOut(Connection, result);
        }

        private void ThrowIfUnfitToCommit(string method)
        {
            ThrowIfDoomed(method);
            ThrowIfChangedOutside(method);
        }

        /// <summary>
        /// Refuses the commit of an attempt if joined work failed in it and the outer work went on
        /// (a conflict as it was, so the attempt is retried; anything else as the reason the unit cannot commit).
        /// </summary>
        private void ThrowIfDoomed(string method)
        {
            if (Doomed is not { } failure) return;
            Doomed = null;
            if (failure is ConflictException) ExceptionDispatchInfo.Throw(failure);
            throw new InvalidOperationException(
                $"A {method} inside this one's work, which joined it, failed ({failure.GetType().Name}: {failure.Message}), and the outer work went on. " +
                "Its changes are part of the outer unit of work and cannot be undone apart from it, so nothing is committed. Let the exception end the outer work, " +
                "or do the inner work where a failure of it need not undo the rest (a connection of its own, outside the outer work).",
                failure);
        }

        private volatile bool _ended;

        /// <summary>Whether the unit of work has ended (its connection closed, maybe handed to other work by the pool).</summary>
        public bool Ended
        {
            get => _ended;
            set => _ended = value;
        }
    }

    /// <summary>Numbers a connection handed out, in the order they are (see <see cref="Connection.Opening"/>).</summary>
    internal long NextOpening() => Interlocked.Increment(ref _openings);

    /// <summary>
    /// Notes the first change of <paramref name="obj"/> in a transaction of <paramref name="connection"/> when the
    /// current flow runs the work of a Transact of this database on a connection opened after that one: the work
    /// changed an object it took from outside (its own connections, opened in the work, are its business), which
    /// Transact does not commit. Before it commits, Transact refuses a change so noted that is still pending.
    /// </summary>
    internal void NoteChangeAroundWork(Connection connection, PersistentObject obj)
    {
        if (JoinedUnit() is { } unit && unit.Connection != connection && connection.Opening < unit.Connection.Opening) unit.ChangedOutside(obj);
    }

    /// <summary>The unit of work of this database that the current flow runs the work of, or null.</summary>
    private UnitOfWork? JoinedUnit() =>
        CurrentWork.Value is { Ended: false } outer && outer.Database == this ? outer : null;

    /// <summary>
    /// Runs a unit of work in a transaction and commits it. On a <see cref="ConflictException"/> it
    /// aborts, waits a short random time and runs the work again, up to <paramref name="maxAttempts"/>
    /// times; any other exception aborts and propagates. The work must not keep objects between attempts.
    /// Called inside the work of another Transact (or TransactAsync) on this database, it joins that unit
    /// of work: <paramref name="work"/> runs on its connection and commits with it, and a conflict retries
    /// the outer work (so helpers that each call Transact compose into one transaction). If joined work
    /// throws, the outer attempt does not commit, even if the outer work catches the exception and goes on.
    /// <paramref name="isolation"/> chooses what the commit checks, as <see cref="OpenConnection(TransactionIsolation)"/>
    /// does (by default <see cref="DatabaseOptions.Isolation"/>).
    /// </summary>
    /// <returns>The result of the attempt that committed (joined: the work's result).</returns>
    public T Transact<T>(Func<Connection, T> work, int maxAttempts = 10, TransactionIsolation? isolation = null)
    {
        ArgumentNullException.ThrowIfNull(work);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxAttempts, 1);
        if (JoinedUnit() is { } joined) return Joining(joined, isolation).RunJoined(work);
        var unit = StartUnit(isolation);
        var connection = unit.Connection;
        var outer = CurrentWork.Value;
        CurrentWork.Value = unit;
        Exception? failure = null;
        try
        {
            for (var attempt = 1; ; attempt++)
            {
                try
                {
                    unit.BeginAttempt();
                    var result = work(connection);
                    unit.Commit(result, nameof(Transact));
                    return result;
                }
                catch (Exception attemptFailure)
                {
                    failure = attemptFailure;
                    EndFailedAttempt(connection, attemptFailure, attempt, maxAttempts, nameof(Transact));
                    failure = null;
                }
                Thread.Sleep(Backoff(attempt));
                CatchUpAfterBackoff(connection);
            }
        }
        finally
        {
            unit.Ended = true;
            CurrentWork.Value = outer;
            DisposeAfterWork(connection, failure);
        }
    }

    /// <summary>Runs a unit of work in a transaction, retrying on conflicts (see <see cref="Transact{T}(Func{Connection, T}, int, TransactionIsolation?)"/>).</summary>
    public void Transact(Action<Connection> work, int maxAttempts = 10, TransactionIsolation? isolation = null)
    {
        ArgumentNullException.ThrowIfNull(work);
        Transact<bool>(connection =>
        {
            work(connection);
            return true;
        }, maxAttempts, isolation);
    }

    /// <summary>
    /// Runs a unit of work in a transaction like <see cref="Transact{T}(Func{Connection, T}, int, TransactionIsolation?)"/>,
    /// waiting between attempts without blocking a thread.
    /// </summary>
    public Task<T> TransactAsync<T>(Func<Connection, T> work, int maxAttempts = 10, CancellationToken cancellationToken = default, TransactionIsolation? isolation = null)
    {
        ArgumentNullException.ThrowIfNull(work);
        return RunTransactionAsync(connection => Task.FromResult(work(connection)), maxAttempts, cancellationToken, isolation);
    }

    /// <summary>
    /// Runs asynchronous work in a transaction and commits it once the work has completed, retrying on
    /// conflicts like <see cref="Transact{T}(Func{Connection, T}, int, TransactionIsolation?)"/> and waiting between attempts
    /// without blocking a thread. The work may await: the connection follows it to whatever thread it
    /// resumes on, used by one thread at a time (await each use of it before the next).
    /// </summary>
    /// <param name="work">The work; it runs again after a conflict.</param>
    /// <param name="maxAttempts">How many attempts a conflict may take before the call gives up.</param>
    /// <param name="cancellationToken">Checked before each attempt, after the work before its commit, and
    /// during the waits between attempts: a cancellation by then commits nothing and raises
    /// <see cref="OperationCanceledException"/>. A commit under way is not interrupted; work that awaits
    /// passes the token to its own awaits.</param>
    /// <param name="isolation">What the commit checks (see <see cref="OpenConnection(TransactionIsolation)"/>); by
    /// default <see cref="DatabaseOptions.Isolation"/>. Work that only reads for long and then writes its result
    /// conflicts less under <see cref="TransactionIsolation.Snapshot"/>. Refused inside another unit of work that
    /// commits under another isolation (the inner one joins it).</param>
    /// <returns>The result of the attempt that committed.</returns>
    public Task<T> TransactAsync<T>(Func<Connection, Task<T>> work, int maxAttempts = 10, CancellationToken cancellationToken = default, TransactionIsolation? isolation = null)
    {
        ArgumentNullException.ThrowIfNull(work);
        return RunTransactionAsync(work, maxAttempts, cancellationToken, isolation);
    }

    /// <summary>Runs asynchronous work in a transaction, retrying on conflicts (see <see cref="TransactAsync{T}(Func{Connection, Task{T}}, int, CancellationToken, TransactionIsolation?)"/>).</summary>
    public Task TransactAsync(Func<Connection, Task> work, int maxAttempts = 10, CancellationToken cancellationToken = default, TransactionIsolation? isolation = null)
    {
        ArgumentNullException.ThrowIfNull(work);
        return RunTransactionAsync(async connection =>
        {
            await work(connection).ConfigureAwait(false);
            return true;
        }, maxAttempts, cancellationToken, isolation);
    }

    private async Task<T> RunTransactionAsync<T>(Func<Connection, Task<T>> work, int maxAttempts, CancellationToken cancellationToken, TransactionIsolation? isolation)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxAttempts, 1);
        if (JoinedUnit() is { } joined) return await Joining(joined, isolation).RunJoinedAsync(work).ConfigureAwait(false);
        // Opened in this method's async flow, which the work's awaits continue: the connection goes on
        // from whatever thread they resume on.
        var unit = StartUnit(isolation);
        var connection = unit.Connection;
        // Set in this method's flow: the caller's flow does not see it once the method returns.
        CurrentWork.Value = unit;
        Exception? failure = null;
        try
        {
            for (var attempt = 1; ; attempt++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                try
                {
                    unit.BeginAttempt();
                    var result = await work(connection).ConfigureAwait(false);
                    unit.Commit(result, nameof(TransactAsync), cancellationToken);
                    return result;
                }
                catch (Exception attemptFailure)
                {
                    failure = attemptFailure;
                    EndFailedAttempt(connection, attemptFailure, attempt, maxAttempts, nameof(TransactAsync));
                    failure = null;
                }
                await Task.Delay(Backoff(attempt), cancellationToken).ConfigureAwait(false);
                CatchUpAfterBackoff(connection);
            }
        }
        finally
        {
            unit.Ended = true;
            DisposeAfterWork(connection, failure);
        }
    }

    /// <summary>A new unit of work, on a connection of the isolation asked for, else of <see cref="DatabaseOptions.Isolation"/>.</summary>
    private UnitOfWork StartUnit(TransactionIsolation? isolation)
    {
        var connection = isolation is { } asked ? OpenConnection(asked) : OpenConnection();
        connection.BeginUnitOfWork();
        return new UnitOfWork(this, connection);
    }

    /// <summary>A unit of work to join, refused when it commits under another isolation than the one asked for.</summary>
    private static UnitOfWork Joining(UnitOfWork outer, TransactionIsolation? isolation)
    {
        if (isolation is { } asked && asked != outer.Connection.Isolation)
            throw new InvalidOperationException(
                $"This Transact runs inside another unit of work, which it joins, and that one commits under {outer.Connection.Isolation} isolation, not the {asked} asked for. " +
                "Ask for the isolation on the outermost Transact or TransactAsync, or leave it out of the inner one.");
        return outer;
    }

    /// <summary>
    /// A unit of work that returns persistent objects of its connection (PERSIST022 warns of it): the
    /// connection is let go of at its end rather than pooled. Pooled, its cache, the returned objects among
    /// it, would be the next unit's, which changes them in place: the caller reading a returned object
    /// saw that unit's changes before they were committed, or rolled back. Let go of, they keep what they
    /// loaded. Only the result itself, the items of a tuple and a sequence of persistent objects are seen.
    /// </summary>
    private static void KeepOutOfPoolIfHandedOut<T>(Connection connection, T result)
    {
        if (HandsOut(result)) connection.KeepOutOfPool();
    }

    // Generic, so a result of a value type other than a tuple (the bool of Transact(Action)) is tested unboxed.
    private static bool HandsOut<TValue>(TValue value)
    {
        if (value is PersistentObject or IEnumerable<PersistentObject>) return true;
        if (value is not ITuple tuple) return false;
        for (var i = 0; i < tuple.Length; i++)
        {
            if (HandsOut(tuple[i])) return true;
        }
        return false;
    }

    /// <summary>
    /// Aborts an attempt of a unit of work that threw <paramref name="failure"/>, and returns when a
    /// conflict leaves attempts to retry it. Otherwise throws what the caller of <paramref name="method"/>
    /// learns: the failure itself, or for the last attempt's conflict one that says the method gave up.
    /// The failure is what the caller learns of, not the abort's: a task the work left running inside a
    /// call on the connection refuses the abort.
    /// </summary>
    private static void EndFailedAttempt(Connection connection, Exception failure, int attempt, int maxAttempts, string method)
    {
        // A closed connection (disposed by the work, or with the Database) has nothing to abort or retry on.
        var retryable = !connection.IsClosed;
        try
        {
            if (retryable) connection.Abort();
        }
        catch (PersistenceException abortFailure) when (abortFailure != failure)
        {
            retryable = false;
        }
        if (retryable && failure is ConflictException conflict)
        {
            if (attempt < maxAttempts) return;
            if (conflict.GetType() == typeof(ConflictException)) throw GaveUp(method, conflict, maxAttempts);
        }
        ExceptionDispatchInfo.Throw(failure);
    }

    /// <summary>Disposes a unit of work's connection; a failure of the dispose does not replace the work's <paramref name="failure"/>.</summary>
    private static void DisposeAfterWork(Connection connection, Exception? failure)
    {
        try
        {
            connection.Dispose();
        }
        catch (PersistenceException disposeFailure) when (failure is not null && disposeFailure != failure)
        {
        }
    }

    // Transact runs its work synchronously, on the calling thread: an async lambda would return at its
    // first await, and the commit would store only what came before it while the rest ran later, on a
    // connection the pool had handed on. These overloads are what an async lambda binds to, so the
    // compiler refuses it with this message. (Not for ValueTask: an async lambda converts to both, and
    // the compiler would call the call ambiguous instead of giving the message; the analyzers refuse
    // work returning a ValueTask or any other awaitable, PERSIST017.)
    private const string AsyncWorkMessage =
        "Transact runs synchronous work: an async lambda returns at its first await, and the commit would store only what came before it. " +
        "Pass async work to TransactAsync, which awaits it before it commits. " +
        "(A synchronous lambda that only throws binds here too: cast it to Action<Connection>, or Func<Connection, T>.)";

    /// <summary>Not allowed: Transact runs synchronous work (use TransactAsync for async work).</summary>
    [Obsolete(AsyncWorkMessage, error: true)]
    [EditorBrowsable(EditorBrowsableState.Never)]
    public void Transact(Func<Connection, Task> work, int maxAttempts = 10, TransactionIsolation? isolation = null) => throw new NotSupportedException(AsyncWorkMessage);

    /// <summary>Not allowed: Transact runs synchronous work (use TransactAsync for async work).</summary>
    [Obsolete(AsyncWorkMessage, error: true)]
    [EditorBrowsable(EditorBrowsableState.Never)]
    public T Transact<T>(Func<Connection, Task<T>> work, int maxAttempts = 10, TransactionIsolation? isolation = null) => throw new NotSupportedException(AsyncWorkMessage);

    // Work waiting for another commit inside Transact never sees it: the work reads its snapshot until
    // it returns, so a loop of "look, wait, look again" spins (the state is reached at once) and looks
    // at the same state every time.
    private void ThrowIfWaitingInWork(string method)
    {
        if (JoinedUnit() is not null)
            throw new InvalidOperationException(
                $"{method} was called inside the work of Transact or TransactAsync, which reads one snapshot until the work returns: a commit it waits for would not show in that work. " +
                $"Return from the work (with the connection's Snapshot if nothing was found: var (job, seen) = db.Transact(c => (TryTake(c), c.Snapshot))), then {method}(seen + 1, ...) and run Transact again.");
    }

    /// <summary>
    /// Blocks until <see cref="StateNumber"/> reaches <paramref name="state"/> (commits by this process
    /// wake it at once; other processes' commits are noticed within a few tens of milliseconds).
    /// </summary>
    /// <returns>True if the state was reached, false if the time ran out.</returns>
    /// <exception cref="InvalidOperationException">Called inside the work of <see cref="Transact{T}(Func{Connection, T}, int, TransactionIsolation?)"/> or
    /// <see cref="TransactAsync{T}(Func{Connection, T}, int, CancellationToken, TransactionIsolation?)"/>, whose snapshot moves only when the work ends: return from the work and wait between transactions.</exception>
    public bool WaitForState(long state, TimeSpan timeout)
    {
        ThrowIfWaitingInWork(nameof(WaitForState));
        var started = Stopwatch.GetTimestamp();
        while (true)
        {
            if (StateNumber >= state) return true;
            var left = timeout - Stopwatch.GetElapsedTime(started);
            if (left <= TimeSpan.Zero) return false;
            lock (_stateSignal) Monitor.Wait(_stateSignal, left < StatePollInterval ? left : StatePollInterval);
        }
    }

    /// <summary>Waits without blocking a thread until <see cref="StateNumber"/> reaches <paramref name="state"/>.</summary>
    /// <returns>True if the state was reached, false if the time ran out.</returns>
    /// <exception cref="InvalidOperationException">Called inside the work of Transact or TransactAsync (see <see cref="WaitForState"/>).</exception>
    public async Task<bool> WaitForStateAsync(long state, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        ThrowIfWaitingInWork(nameof(WaitForStateAsync));
        var started = Stopwatch.GetTimestamp();
        // Counted before the task is taken and the state read, so a commit that makes the state after
        // this look replaces the task (see Committed).
        Interlocked.Increment(ref _asyncStateWaiters);
        try
        {
            while (true)
            {
                var changed = Volatile.Read(ref _stateChanged).Task;
                if (StateNumber >= state) return true;
                var left = timeout - Stopwatch.GetElapsedTime(started);
                if (left <= TimeSpan.Zero) return false;
                var delay = Task.Delay(left < StatePollInterval ? left : StatePollInterval, cancellationToken);
                await Task.WhenAny(changed, delay).ConfigureAwait(false);
                cancellationToken.ThrowIfCancellationRequested();
            }
        }
        finally
        {
            Interlocked.Decrement(ref _asyncStateWaiters);
        }
    }

    /// <summary>Closes every connection (aborting what they did not commit) and the storage.</summary>
    public void Dispose()
    {
        Connection[] open;
        lock (_gate)
        {
            if (_disposed) return;
            _disposed = true;
            _counts.Dispose();
            open = [.. _open];
            _open.Clear();
            foreach (var pooled in _pool) pooled.Release();
            _pool.Clear();
        }
        foreach (var connection in open) connection.CloseFromDatabase();
        if (_ownsStorage) Storage.Dispose();
    }

    // ---- Used by connections ----

    /// <summary>The bytes the shared record cache holds now.</summary>
    internal long RecordCacheBytes => _cache.Bytes;

    /// <summary>What the database counts for its metrics (see <see cref="DatabaseMetrics"/>).</summary>
    internal DatabaseCounts Counts => _counts;

    /// <summary>The objects the connections open or pooled now have loaded (see <see cref="DatabaseMetrics"/>).</summary>
    internal long LoadedByConnections()
    {
        long loaded = 0;
        lock (_gate)
        {
            foreach (var connection in _open) loaded += connection.LoadsCounted;
            foreach (var connection in _pool) loaded += connection.LoadsCounted;
        }
        return loaded;
    }

    /// <summary>How many connections are open and how many pooled now.</summary>
    internal (int Open, int Pooled) ConnectionCounts()
    {
        lock (_gate) return (_open.Count, _pool.Count);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal StoredRecord? LoadBefore(Oid oid, long beforeTid, FileStorage.ScanReader? scans = null)
    {
        if (_cache.TryGet(oid, beforeTid - 1, out var cached)) return cached;
        // A connection's own scan windows (see FileStorage.NewScanReader) may use the buffer of this
        // record again at its next load: the connection decodes the record before that, and the cache
        // keeps a copy (it copies every record that is a slice of a larger buffer, as records read from
        // a file are: their header comes before them).
        var record = scans is null ? Storage.LoadBefore(oid, beforeTid) : _file!.LoadBefore(oid, beforeTid, scans);
        // The cache is there for connections open side by side. A lone connection keeps the objects it
        // loads itself, so copying their records as well would only cost time and memory (30% of a
        // new process's first pass over 100,000 objects). The count is read without the lock: a load
        // racing an open or a close may keep a record or not, either of which is right.
        if (record is { } found && _open.Count > 1) _cache.Put(found, beforeTid - 1);
        return record;
    }

    /// <summary>Scan windows for a connection of this database (null if its storage is not a file, so a connection has them only then).</summary>
    internal FileStorage.ScanReader? NewScanReader() => _file?.NewScanReader();

    /// <summary>The storage when it is a file (null for other storages): connections take new oids from it a run at a time.</summary>
    internal FileStorage? File => _file;

    /// <summary>
    /// Whether the storage switched to a packed file since it opened (a pack of this process's or another's):
    /// objects that connections loaded before it may have been removed (see Connection.Get).
    /// </summary>
    internal bool Packed => _file is { FileEpoch: > 0 };

    /// <summary>
    /// The oids written after <paramref name="sinceTid"/>, up to the newest transaction the last
    /// <see cref="Poll"/> found, or a few more (a storage that no longer remembers that far back, or
    /// cannot tell without looking for new transactions, answers what <see cref="IStorage.Poll"/> does).
    /// </summary>
    /// <param name="sinceTid">The tid after which changes count.</param>
    /// <param name="into">A set the caller keeps from call to call, cleared here and filled.</param>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal HashSet<Oid> ChangedSince(long sinceTid, HashSet<Oid> into)
    {
        into.Clear();
        if (Storage is IKnownChanges known && known.TryCollectKnownChanges(sinceTid, into)) return into;
        into.UnionWith(Storage.Poll(sinceTid).ChangedOids);
        return into;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal StorageChanges Poll(long sinceTid)
    {
        // Ask from no later than the cache knows, so the answer also covers what the cache must drop.
        var changes = Storage.Poll(Math.Min(sinceTid, _cache.KnownThroughOrEmptyAt(sinceTid)));
        _cache.Apply(changes);
        if (Storage is IKnownChanges known && known.KnownChangeCount > ForgetChangesAbove) ForgetChanges(known);
        return changes;
    }

    // The changes a storage may keep for this database's polls before it is told which it can forget.
    private const int ForgetChangesAbove = 4096;

    /// <summary>
    /// Lets the storage forget the changes no poll of this database will ask for: every poll asks for
    /// the changes after a connection's snapshot (open or pooled) or after what the record cache knows,
    /// so those after the oldest of them are all that is needed. Without this, a storage keeps the
    /// oids of about the last million changes (16 MB), whether anyone asks for them or not, and a bulk
    /// load grows that log by doubling (W1: 4 MB of allocations for 100,000 new persons).
    /// </summary>
    private void ForgetChanges(IKnownChanges known)
    {
        long oldest;
        lock (_gate)
        {
            oldest = OldestOpenSnapshot(_cache.KnownThrough);
            foreach (var connection in _pool) oldest = Math.Min(oldest, connection.Snapshot);
        }
        known.ForgetChangesThrough(oldest);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal void Committed()
    {
        _counts.Committed();
        lock (_stateSignal) Monitor.PulseAll(_stateSignal);
        // A new task only when someone waits for one: a commit would otherwise allocate two objects for nothing.
        // The barrier keeps the count's read after the new state: a waiter counted too late to be seen here reads that state.
        Interlocked.MemoryBarrier();
        if (Volatile.Read(ref _asyncStateWaiters) > 0)
            Interlocked.Exchange(ref _stateChanged, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
    }

    internal void Closed(Connection connection)
    {
        lock (_gate)
        {
            _open.Remove(connection);
            if (!_disposed && connection.Poolable && _pool.Count < Options.ConnectionPoolSize) _pool.Push(connection);
            else connection.Release();
        }
        if (_file is { HoldsReplacedFiles: true }) ReleaseReplacedFiles();
    }

    /// <summary>
    /// Tells the file storage the oldest snapshot the open connections hold, so it closes the data files
    /// packs by other processes replaced that none of them reads any more (see FileStorage.KeepReplacedFiles).
    /// Called at a connection's transaction boundary and close while the storage keeps such a file. A
    /// pooled connection reads nothing until it is handed out again, at the newest state. The newest tid
    /// is read before the connections are looked at: one that opens meanwhile takes a snapshot no older.
    /// </summary>
    internal void ReleaseReplacedFiles()
    {
        var file = _file!;
        var newest = file.LastTid;
        long oldest;
        lock (_gate) oldest = OldestOpenSnapshot(newest);
        file.ReleaseReplacedFiles(oldest);
    }

    /// <summary>The oldest snapshot an open connection holds, or <paramref name="atMost"/> if that is older; with the lock held.</summary>
    private long OldestOpenSnapshot(long atMost)
    {
        foreach (var connection in _open) atMost = Math.Min(atMost, connection.Snapshot);
        return atMost;
    }

    /// <summary>
    /// Counts a new connection among the open ones, then has it take its snapshot: in that order, a
    /// <see cref="Pack"/> or a trim of the storage's change log (see ForgetChanges) never misses a
    /// snapshot that is about to be read.
    /// </summary>
    private Connection Track(Connection connection)
    {
        lock (_gate)
        {
            if (_disposed)
            {
                connection.Release();
                throw new ObjectDisposedException(nameof(Database));
            }
            _open.Add(connection);
        }
        try
        {
            connection.TakeFirstSnapshot();
        }
        catch
        {
            lock (_gate) _open.Remove(connection);
            connection.Release();
            throw;
        }
        return connection;
    }

    /// <summary>
    /// Moves a connection whose attempt conflicted to the newest state once its back-off is over, so
    /// the next attempt starts from what others committed while it waited. The abort right after the
    /// conflict moved it too, but to the state of that moment: a retry ran on a snapshot as old as the
    /// back-off and, where others kept committing, conflicted again until <c>Transact</c> gave up.
    /// </summary>
    private void CatchUpAfterBackoff(Connection connection)
    {
        AfterBackoff?.Invoke();
        connection.Abort();
    }

    /// <summary>Called when a retry's back-off is over, before the connection moves to the newest state (for tests).</summary>
    internal Action? AfterBackoff { get; set; }

    /// <summary>Called right after a new connection took its first snapshot, before it is handed out (for tests; see Track).</summary>
    internal Action? FirstSnapshotTaken { get; set; }

    /// <summary>The conflict of a unit of work's last attempt, as the caller of <paramref name="method"/> (Transact or TransactAsync) learns of it.</summary>
    private static ConflictException GaveUp(string method, ConflictException conflict, int attempts) => new(
        $"Database.{method} gave up after {attempts} attempt(s), each of which conflicted with other transactions. The last: {conflict.Message} " +
        "Allow more attempts (maxAttempts), or have the work change fewer objects that others change too (a PersistentCounter merges concurrent increments of a count; it hands out no ids, as two transactions that increment it at once read the same value).",
        conflict.Oids);

    private static TimeSpan Backoff(int attempt) =>
        TimeSpan.FromMilliseconds(Random.Shared.Next(1, 1 + Math.Min(100, 2 << Math.Min(attempt, 10))));

    private static CorruptDatabaseException NoRoot(IStorage storage, Oid held) => new(
        $"The database has no root object (oid 1), though it holds objects ({held} among them): the root's record was damaged or lost. " +
        $"A new root is not created, which would hide every object it held.{(storage is FileStorage file ? $" FileStorage.Verify(\"{file.FilePath}\") checks the file's transactions" : "")}",
        -1, Oid.Root);

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
