namespace Persistence.Storage;

/// <summary>
/// Where committed object records live. One contract for every storage (memory, file, server):
/// transaction-centric and thread-safe, used by all connections of a database at once.
/// </summary>
/// <remarks>
/// <para>A storage knows records, not objects: a record is the bytes of one object revision as
/// <see cref="Serialization.RecordFormat"/> describes them (the storage may read the reference list
/// at the end of a record, never the state).</para>
/// <para>Tids (transaction ids) are positive and rise with every committed transaction; the
/// revision of an object written by a transaction carries that transaction's tid, which the
/// connection keeps as the object's serial.</para>
/// </remarks>
public interface IStorage : IDisposable
{
    /// <summary>The tid of the newest committed transaction this storage has seen (0 for an empty storage).</summary>
    long LastTid { get; }

    /// <summary>Whether this storage refuses writes (<see cref="Begin"/> throws).</summary>
    bool IsReadOnly { get; }

    /// <summary>Loads the newest committed revision of an object, or null if there is none.</summary>
    StoredRecord? Load(Oid oid);

    /// <summary>
    /// Loads the newest revision of an object committed strictly before <paramref name="tid"/>
    /// (what a reader whose snapshot is <c>tid - 1</c> sees), or null if the object did not exist then.
    /// </summary>
    StoredRecord? LoadBefore(Oid oid, long tid);

    /// <summary>Allocates a new oid that no other caller (thread or process) will be given.</summary>
    Oid NewOid();

    /// <summary>
    /// Starts a two-phase commit: store each record, vote, then finish or abort.
    /// Throws <see cref="StorageLockedException"/> if the storage is read-only.
    /// </summary>
    IStorageTransaction Begin();

    /// <summary>
    /// Catches up with transactions committed by others (other processes included) and returns the
    /// oids written by every transaction with a tid greater than <paramref name="sinceTid"/>. The set
    /// may hold more oids than that (a storage that no longer remembers that far back returns every
    /// oid), never fewer: the caller only uses it to decide which cached objects to reload.
    /// </summary>
    StorageChanges Poll(long sinceTid);

    /// <summary>Every stored revision in commit order (oldest first).</summary>
    IEnumerable<StoredRecord> Iterate();
}

/// <summary>One committed revision of one object.</summary>
/// <param name="Oid">The object.</param>
/// <param name="Tid">The transaction that wrote this revision (the object's serial).</param>
/// <param name="Data">The record bytes (<see cref="Serialization.RecordFormat"/>).</param>
public readonly record struct StoredRecord(Oid Oid, long Tid, ReadOnlyMemory<byte> Data);

/// <summary>What <see cref="IStorage.Poll"/> found.</summary>
/// <param name="LastTid">The newest committed tid after catching up.</param>
/// <param name="ChangedOids">The oids written after the tid that was asked about.</param>
public sealed record StorageChanges(long LastTid, IReadOnlyCollection<Oid> ChangedOids)
{
    /// <summary>The changed oids as an array (the storages here answer with one), so walking them allocates no enumerator.</summary>
    internal Oid[] ChangedArray => ChangedOids as Oid[] ?? [.. ChangedOids];
}

/// <summary>
/// One transaction in a storage's two-phase commit. Calls out of order, after the end, or a
/// second store of one oid throw <see cref="StorageTransactionException"/>. Disposing a
/// transaction that did not finish aborts it.
/// </summary>
public interface IStorageTransaction : IDisposable
{
    /// <summary>
    /// Stores a new revision of an object. <paramref name="serial"/> is the tid of the revision
    /// the change was made from (0 for a new object); if a newer revision was committed since,
    /// <see cref="Vote"/> raises <see cref="ConflictException"/>. The caller keeps
    /// <paramref name="data"/> unchanged until <see cref="Finish"/> or <see cref="Abort"/> returns;
    /// a storage copies what it keeps.
    /// </summary>
    void Store(Oid oid, long serial, ReadOnlyMemory<byte> data);

    /// <summary>
    /// Asks the vote to check that <paramref name="oid"/>, read but not written by this transaction,
    /// is still at <paramref name="serial"/> (the serializable read check).
    /// </summary>
    void CheckCurrent(Oid oid, long serial);

    /// <summary>
    /// Checks for conflicts and makes the transaction ready to finish; throws
    /// <see cref="ConflictException"/> (and aborts) if another transaction changed a stored or
    /// checked object after the serial given for it.
    /// </summary>
    void Vote();

    /// <summary>Makes the transaction durable and visible, and returns its tid.</summary>
    long Finish();

    /// <summary>Discards the transaction. Allowed in any phase before finish; a second call does nothing.</summary>
    void Abort();
}

/// <summary>
/// A storage that can say which oids the transactions it has already read wrote, without looking
/// for new ones (<see cref="IStorage.Poll"/> does both).
/// </summary>
internal interface IKnownChanges
{
    /// <summary>
    /// Adds to <paramref name="into"/> the oids written after <paramref name="sinceTid"/> by the
    /// transactions this storage has read; false when it no longer remembers that far back.
    /// </summary>
    bool TryCollectKnownChanges(long sinceTid, HashSet<Oid> into);

    /// <summary>How many (tid, oid) pairs the storage keeps for <see cref="TryCollectKnownChanges"/> and polls (read without a lock: a hint).</summary>
    int KnownChangeCount { get; }

    /// <summary>
    /// Tells the storage that no one will ask for the changes after a tid below <paramref name="tid"/>,
    /// so it may forget the transactions up to it. An ask from before it afterwards is answered as one
    /// from before what the storage remembers (every oid, from a poll).
    /// </summary>
    void ForgetChangesThrough(long tid);
}
