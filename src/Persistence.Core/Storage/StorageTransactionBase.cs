using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using Persistence.Serialization;

namespace Persistence.Storage;

/// <summary>
/// The two-phase commit protocol shared by the storages in this assembly: phase checks, the
/// validation of stored records, duplicate detection and the conflict check at vote. A storage
/// supplies the commit lock, the current serial of an object and the actual commit, so every storage
/// refuses the same calls with the same errors.
/// </summary>
/// <remarks>
/// A transaction is used by one caller at a time (calls may come from different threads, one after
/// another). The commit lock is taken at <see cref="Vote()"/> and held until <see cref="Finish"/> or
/// <see cref="Abort"/>, so the conflict check stays true until the transaction is written; it is a
/// semaphore, not a monitor, because the thread that finishes need not be the one that voted.
/// Waiting for the disk (<see cref="CompleteCommit"/>) happens after the lock is released.
/// </remarks>
internal abstract class StorageTransactionBase : IStorageTransaction
{
    private enum Phase { Storing, Voted, Finished, Aborted }

    /// <summary>How many oids a conflict's message names before it says how many more there are.</summary>
    private const int MaxOidsInMessage = 10;

    /// <summary>
    /// The first few of <paramref name="names"/> (a conflict's oids, described), then how many more of
    /// <paramref name="count"/> there are, followed by <paramref name="more"/>: a long transaction can
    /// conflict over tens of thousands of objects, which its exception's Oids holds.
    /// </summary>
    internal static string FirstNamed(IEnumerable<string> names, int count, string more = "") =>
        string.Join(", ", names.Take(MaxOidsInMessage)) +
        (count > MaxOidsInMessage ? string.Create(CultureInfo.InvariantCulture, $" and {count - MaxOidsInMessage} more{more}") : "");

    private TransactionScratch? _scratch;
    private Phase _phase;

    /// <summary>Starts a transaction that keeps its pending work in <paramref name="scratch"/> (empty).</summary>
    protected StorageTransactionBase(TransactionScratch scratch) => _scratch = scratch;

    /// <summary>The records stored so far, in store order (until the transaction ends).</summary>
    protected List<PendingStore> Stores => _scratch!.Stores;

    /// <summary>The oids of the records stored so far (until the transaction ends).</summary>
    protected HashSet<ulong> StoredOids => _scratch!.StoredOids;

    /// <summary>The objects to check at vote without writing them (until the transaction ends).</summary>
    protected List<PendingCheck> Checks => _scratch!.Checks;

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Store(Oid oid, long serial, ReadOnlyMemory<byte> data) => Add(oid, serial, data, asOfSnapshot: false);

    /// <summary>
    /// Stores a new revision of an existing object changed from its newest revision as of
    /// <paramref name="snapshot"/>, whatever tid that was: the vote finds a conflict if the object has
    /// no revision then, or a newer one. The caller need not look the object's serial up; the vote does.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void StoreAsOf(Oid oid, long snapshot, ReadOnlyMemory<byte> data) => Add(oid, snapshot, data, asOfSnapshot: true);

    /// <summary>
    /// Stores a record a connection composed (<see cref="RecordBuffer"/>, whose reference list is well
    /// formed by construction) as <see cref="Store"/> or, with <paramref name="asOfSnapshot"/>,
    /// <see cref="StoreAsOf"/> do, without reading its reference list again to check it: that check,
    /// made for records from outside, made W1's rounds (100,000 new persons) 4-5% longer on tmpfs.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal void StoreComposed(Oid oid, long serial, ReadOnlyMemory<byte> data, bool asOfSnapshot) => Add(oid, serial, data, asOfSnapshot, composed: true);

    /// <inheritdoc />
    public void CheckCurrent(Oid oid, long serial) => AddCheck(oid, serial, asOfSnapshot: false);

    /// <summary>Asks the vote to check that <paramref name="oid"/>, read but not written, has a revision as of <paramref name="snapshot"/> and none newer.</summary>
    public void CheckCurrentAsOf(Oid oid, long snapshot) => AddCheck(oid, snapshot, asOfSnapshot: true);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Add(Oid oid, long serial, ReadOnlyMemory<byte> data, bool asOfSnapshot, bool composed = false)
    {
        ThrowIfStorageDisposed();
        RequireStoring(nameof(Store));
        if (oid.IsNull)
            throw new StorageTransactionException("Cannot store a record for Oid.Null: allocate an oid with IStorage.NewOid() first.");
        if (serial < 0) throw NegativeSerialOfStore(oid, serial);
        if (!composed) ValidateRecord(oid, data);
        if (!_scratch!.StoredOids.Add(oid.Value)) throw StoredTwice(oid);
        Stores.Add(new PendingStore(oid, serial, data, asOfSnapshot));
    }

    private static StorageTransactionException NegativeSerialOfStore(Oid oid, long serial) =>
        new($"The serial {serial} given for {oid} is negative; pass the tid the object was loaded at, or 0 for a new object.");

    private static StorageTransactionException StoredTwice(Oid oid) =>
        new($"{oid} was already stored in this transaction; store each object once per transaction, with its final state.");

    private void AddCheck(Oid oid, long serial, bool asOfSnapshot)
    {
        ThrowIfStorageDisposed();
        RequireStoring(nameof(CheckCurrent));
        if (oid.IsNull)
            throw new StorageTransactionException("Cannot check Oid.Null: it is never a stored object.");
        if (serial < 0)
            throw new StorageTransactionException($"The serial {serial} given for {oid} is negative; pass the tid the object was loaded at.");
        Checks.Add(new PendingCheck(oid, serial, asOfSnapshot));
    }

    /// <summary>Whether an object whose newest revision is <paramref name="current"/> is still where the transaction found it.</summary>
    private static bool Unchanged(long current, long serial, bool asOfSnapshot) =>
        asOfSnapshot ? current != 0 && current <= serial : current == serial;

    /// <inheritdoc />
    public void Vote() => Vote(null);

    /// <summary>
    /// Votes, first merging what can be merged: for each written object that another transaction
    /// changed meanwhile, <paramref name="resolver"/> is asked, with the commit lock held, for a record
    /// that merges the other change; the merged record replaces the stored one, based on the current
    /// revision. One round trip to the lock even when most commits race on a shared counter.
    /// </summary>
    /// <param name="resolver">The merge; null to treat every conflict as one.</param>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Vote(ConflictResolver? resolver)
    {
        ThrowIfStorageDisposed();
        RequireStoring(nameof(Vote));
        EnterCommit();
        try
        {
            var conflicts = FindConflicts(resolver);
            if (conflicts is not null)
                throw new ConflictException(DescribeConflict(conflicts), conflicts);
            PrepareCommit();
            _phase = Phase.Voted;
        }
        catch
        {
            LeaveCommit();
            End(Phase.Aborted);
            throw;
        }
    }

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public long Finish()
    {
        if (_phase != Phase.Voted)
        {
            ThrowIfStorageDisposed();
            throw FinishOutOfTurn();
        }
        var phase = Phase.Aborted;
        long tid;
        try
        {
            ThrowIfStorageDisposed();
            tid = CommitCore();
            phase = Phase.Finished;
        }
        finally
        {
            LeaveCommit();
            End(phase);
        }
        try
        {
            CompleteCommit();
        }
        catch
        {
            // Whether the transaction survives is unknown (the storage's error says so); the caller's
            // Abort must not hide that error behind "already finished".
            _phase = Phase.Aborted;
            throw;
        }
        return tid;
    }

    private StorageTransactionException FinishOutOfTurn() => new(_phase == Phase.Storing
        ? "Finish was called before Vote; call Vote first (it checks for conflicts), then Finish."
        : $"Finish was called on a transaction that is already {Describe(_phase)}; begin a new transaction.");

    /// <inheritdoc />
    public void Abort()
    {
        switch (_phase)
        {
            case Phase.Aborted:
                return;
            case Phase.Finished:
                throw new StorageTransactionException("Abort was called on a transaction that already finished; its changes are committed.");
            case Phase.Voted:
                LeaveCommit();
                End(Phase.Aborted);
                break;
            default:
                End(Phase.Aborted);
                break;
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (_phase is Phase.Storing or Phase.Voted) Abort();
    }

    /// <summary>Takes back the scratch of a transaction that ended, for a later transaction to reuse.</summary>
    protected abstract void Recycle(TransactionScratch scratch);

    /// <summary>Throws <see cref="ObjectDisposedException"/> if the storage was disposed.</summary>
    protected abstract void ThrowIfStorageDisposed();

    /// <summary>Takes the storage's commit lock (waits for the transaction that holds it).</summary>
    protected abstract void EnterCommit();

    /// <summary>Releases the commit lock taken by <see cref="EnterCommit"/>.</summary>
    protected abstract void LeaveCommit();

    /// <summary>The tid of the newest committed revision of <paramref name="oid"/>, or 0 if it has none. Called with the commit lock held.</summary>
    protected abstract long CurrentSerial(Oid oid);

    /// <summary>Work that can fail before the transaction is promised to finish. Called with the commit lock held.</summary>
    protected virtual void PrepareCommit() { }

    /// <summary>Writes the transaction, makes it visible and returns its tid. Called with the commit lock held.</summary>
    protected abstract long CommitCore();

    /// <summary>
    /// Work after the commit lock is released, before <see cref="Finish"/> returns: waiting until the
    /// transaction is on disk, so other transactions can be written meanwhile and share the flush.
    /// </summary>
    protected virtual void CompleteCommit() { }

    private void End(Phase phase)
    {
        _phase = phase;
        var scratch = _scratch;
        _scratch = null;
        if (scratch is not null) Recycle(scratch);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private Oid[]? FindConflicts(ConflictResolver? resolver)
    {
        List<Oid>? conflicts = null;
        List<(int Index, long Current)>? written = null;
        for (var i = 0; i < Stores.Count; i++)
        {
            var store = Stores[i];
            var current = CurrentSerial(store.Oid);
            if (Unchanged(current, store.Serial, store.AsOfSnapshot)) continue;
            (conflicts ??= []).Add(store.Oid);
            (written ??= []).Add((i, current));
        }
        var readConflict = false;
        foreach (var check in Checks)
        {
            if (Unchanged(CurrentSerial(check.Oid), check.Serial, check.AsOfSnapshot) || (conflicts?.Contains(check.Oid) ?? false)) continue;
            (conflicts ??= []).Add(check.Oid);
            readConflict = true;
        }
        // Only written objects can merge; a changed object that was only read fails the vote anyway.
        if (conflicts is null || resolver is null || readConflict) return conflicts?.ToArray();
        foreach (var (index, current) in written!)
        {
            var store = Stores[index];
            // An object that was deleted meanwhile, or a merge the object refuses, stays a conflict.
            if (current == 0 || resolver(store.Oid, current) is not { } merged) continue;
            ValidateRecord(store.Oid, merged);
            Stores[index] = new PendingStore(store.Oid, current, merged);
            conflicts.Remove(store.Oid);
        }
        return conflicts.Count == 0 ? null : conflicts.ToArray();
    }

    // How many records this thread's transactions checked (for tests of what a connection's commit checks).
    [ThreadStatic]
    private static long t_checkedRecords;

    /// <summary>How many records transactions on the calling thread have checked before storing them (for tests).</summary>
    internal static long CheckedRecordsOnThisThread => t_checkedRecords;

    private static void ValidateRecord(Oid oid, ReadOnlyMemory<byte> data)
    {
        t_checkedRecords++;
        if (data.Length < RecordFormat.MinimumSize)
            throw new StorageTransactionException(
                $"The record for {oid} has {data.Length} bytes; a record is at least {RecordFormat.MinimumSize} (see RecordFormat).");
        try
        {
            // Pack and garbage collection trust the reference list; refuse a record whose list cannot be read.
            RecordFormat.ReferenceCount(data.Span);
        }
        catch (FormatException e)
        {
            throw new StorageTransactionException($"The record for {oid} is malformed: {e.Message}");
        }
    }

    private static string DescribeConflict(Oid[] oids)
    {
        return "Another transaction committed a newer revision of " + FirstNamed(oids.Select(static oid => oid.ToString()), oids.Length) +
            " after this transaction read them. The transaction was aborted: abort and retry the work from fresh state.";
    }

    private void RequireStoring(string call)
    {
        if (_phase == Phase.Storing) return;
        throw new StorageTransactionException(_phase switch
        {
            Phase.Voted when call == nameof(Vote) => "Vote was called twice; call Finish or Abort next.",
            Phase.Voted => $"{call} was called after Vote; everything must be stored and checked before voting.",
            _ => $"{call} was called on a transaction that is already {Describe(_phase)}; begin a new transaction.",
        });
    }

    private static string Describe(Phase phase) => phase switch
    {
        Phase.Voted => "voted",
        Phase.Finished => "finished",
        Phase.Aborted => "aborted",
        _ => "open",
    };
}

/// <summary>
/// Merges a concurrent change into a written object while a vote holds the commit lock: returns the
/// merged record (to be stored over the revision <paramref name="currentSerial"/>), or null when the
/// object cannot merge it, which leaves the conflict.
/// </summary>
/// <param name="oid">The written object.</param>
/// <param name="currentSerial">The tid of its newest revision, committed after the transaction read it.</param>
internal delegate ReadOnlyMemory<byte>? ConflictResolver(Oid oid, long currentSerial);

/// <summary>One record waiting in a transaction for its commit.</summary>
/// <param name="Oid">The object.</param>
/// <param name="Serial">The tid the change was made from (0 for a new object), or the snapshot it was made at.</param>
/// <param name="Data">The caller's record bytes, unchanged until the transaction ends.</param>
/// <param name="AsOfSnapshot">Whether <paramref name="Serial"/> is a snapshot: the change was made from the newest revision as of it.</param>
internal readonly record struct PendingStore(Oid Oid, long Serial, ReadOnlyMemory<byte> Data, bool AsOfSnapshot = false);

/// <summary>An object a transaction read and asks the vote to check.</summary>
/// <param name="Oid">The object.</param>
/// <param name="Serial">The tid it was read at, or the snapshot it was read at.</param>
/// <param name="AsOfSnapshot">Whether <paramref name="Serial"/> is a snapshot: it was read at the newest revision as of it.</param>
internal readonly record struct PendingCheck(Oid Oid, long Serial, bool AsOfSnapshot = false);
