using System.Diagnostics;
using Persistence.Serialization;
using Microsoft.Win32.SafeHandles;
using static Persistence.Storage.FileStorageFormat;

namespace Persistence.Storage;

// Pack: the data file is rewritten with only what is reachable (FileStoragePacker) while the
// database is in use, and the new file replaces the old one with an atomic rename. See Pack's remarks
// and docs/FORMAT.md, "Pack".
public sealed partial class FileStorage
{
    private const int MaxPackAttempts = 3;

    // The catch-up with commits made during the pack runs without the commit lock until at most this
    // much is left, so commits wait only for a short final copy.
    private const long PackLockedTailBytes = 1 << 20;

    private readonly SemaphoreSlim _packLock = new(1, 1);

    /// <summary>Called with the name of each step a pack reaches; tests throw from it to interrupt a pack there.</summary>
    internal Action<string>? PackStep { get; set; }

    private string PackPath => FilePath + ".pack";

    private string PackCheckpointPath => FilePath + ".pack.index";

    /// <summary>
    /// Rewrites the data file with only the current revisions of the objects reachable from the root
    /// and the schema catalog, plus the history that readers from <paramref name="keepHistoryAfterTid"/>
    /// on may still need, and replaces the old file with it. Runs while the database is in use.
    /// </summary>
    /// <remarks>
    /// <para>Reachability follows the reference list at the end of each record
    /// (<see cref="Serialization.RecordFormat"/>); no state is decoded, so no model types are needed.
    /// An object reachable through a kept older revision is kept too, so every kept snapshot is whole.</para>
    /// <para>Loads and commits, in this process and others, go on while the live data is copied to
    /// <c>path + ".pack"</c>; the pack then catches up with the transactions committed meanwhile,
    /// copying them whole, and takes the commit lock only for the last of them, the flush and the
    /// rename over the data file. Every process switches to the new file at its next
    /// <see cref="Poll"/> or commit. Interrupted anywhere (even killed), the data file is as it was
    /// until the rename and the new file after it; a leftover <c>.pack</c> file is removed by the next
    /// pack or writer.</para>
    /// <para>A file that holds nothing to drop (every object reachable, every revision within the history
    /// kept) is left as it is, found so by the first step alone (<see cref="PackResult.Rewritten"/> is false).</para>
    /// <para>Memory grows with the number of live objects (about 9 bytes each for the marks and the
    /// new index, plus 8 per kept revision, 16 while they are sorted), not with the size of the file.</para>
    /// </remarks>
    /// <param name="keepHistoryAfterTid">Keep every revision that a reader whose snapshot is this tid or
    /// later can see (<see cref="IStorage.LoadBefore"/> with any tid above it answers as before). Null
    /// (the default) keeps no history: only each reachable object's current revision.</param>
    /// <returns>What the pack did.</returns>
    /// <exception cref="StorageLockedException">The storage is read-only, or another process is packing the database; nothing was changed.</exception>
    /// <exception cref="CorruptDatabaseException">A record to keep is damaged; nothing was changed.</exception>
    /// <exception cref="PersistenceException">The pack could not be written (the message says why); nothing was changed.</exception>
    public PackResult Pack(long? keepHistoryAfterTid = null)
    {
        ThrowIfDisposed();
        if (IsReadOnly) throw ReadOnlyError();
        if (keepHistoryAfterTid < 0)
            throw new ArgumentOutOfRangeException(nameof(keepHistoryAfterTid), keepHistoryAfterTid, "Tids are not negative; pass null to keep no history.");
        var clock = Stopwatch.StartNew();
        try
        {
            _packLock.Wait(_disposing.Token);
        }
        catch (OperationCanceledException)
        {
            throw new ObjectDisposedException(nameof(FileStorage));
        }
        try
        {
            if (!_lockFile!.TryEnterPack())
                throw new StorageLockedException($"Another process is packing {FilePath}. Wait for it to finish: every process uses the packed file once it is done (a pack run periodically can skip this turn).");
            try
            {
                DeletePackLeftovers();
                for (var attempt = 1; ; attempt++)
                {
                    try
                    {
                        var result = TryPack(keepHistoryAfterTid, clock, attempt, out var dropped);
                        if (result is not null) return result;
                        if (attempt == MaxPackAttempts)
                            throw new PersistenceException(
                                $"The pack of {FilePath} was not finished: in each of {attempt} attempts, transactions committed while it ran linked objects " +
                                $"that had become unreachable (such as {new Oid(dropped)}) back into the database. Nothing was changed; pack again when fewer transactions run.");
                    }
                    catch (OperationCanceledException)
                    {
                        throw new ObjectDisposedException(nameof(FileStorage));
                    }
                    catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                    {
                        throw new PersistenceException($"Could not pack {FilePath}: {PersistenceException.Sentence(e)} Nothing was changed; fix the cause (e.g. free disk space: the pack needs room for the live data) and retry.", e);
                    }
                }
            }
            finally
            {
                _lockFile.ExitPack();
            }
        }
        finally
        {
            _packLock.Release();
        }
    }

    /// <summary>
    /// Removes what an interrupted pack left (the data file itself is never touched before the
    /// rename). Only under the pack lock: a live pack's files are not leftovers.
    /// </summary>
    private void DeletePackLeftovers()
    {
        FileStorageCheckpoint.TryDelete(PackPath);
        FileStorageCheckpoint.TryDelete(PackCheckpointPath);
    }

    /// <summary>Removes an interrupted pack's files when a writer opens, if no process is packing now.</summary>
    private void DeletePackLeftoversAtOpen()
    {
        if (!File.Exists(PackPath) && !File.Exists(PackCheckpointPath)) return;
        if (!_lockFile!.TryEnterPack()) return;
        try
        {
            DeletePackLeftovers();
        }
        finally
        {
            _lockFile.ExitPack();
        }
    }

    /// <summary>
    /// Refuses a transaction that links an object a pack dropped. A commit during a pack that does so
    /// makes the pack start over (see <see cref="TryPack"/>); a commit after it would store a reference
    /// to nothing, which no later read could follow. It happens because a connection keeps the objects
    /// it loaded across transactions: one that loaded an object before it became unreachable may link
    /// it again once a pack dropped it. Only oids up to the file's oid floor can have been dropped, so a
    /// file never packed checks nothing, and a packed one only the references to objects older than its
    /// pack. Called with the commit lock held, after the catch-up: the index is the file's as of now.
    /// </summary>
    private void ThrowIfLinksDropped(List<PendingStore> stores, HashSet<ulong> stored)
    {
        var floor = _oidFloor;
        if (floor == 0) return;
        var (from, missing) = (Oid.Null, Oid.Null);
        lock (_stateLock)
        {
            foreach (var store in stores)
            {
                var references = RecordFormat.ReferencesOf(store.Data.Span);
                while (references.MoveNext() && missing.IsNull)
                {
                    var oid = references.Current.Value;
                    if (oid == 0 || oid > floor || stored.Contains(oid) || _index.Find(oid) != 0) continue;
                    (from, missing) = (store.Oid, new Oid(oid));
                }
                if (!missing.IsNull) break;
            }
        }
        if (missing.IsNull) return;
        // A reference the stored revision of the object already holds is no link to a dropped object:
        // the file's graph dangles there, and every retry would link it again.
        if (StoredRevisionLists(from, missing))
            throw new CorruptDatabaseException(
                $"The stored revision of {from} in {FilePath} references {missing}, of which the file holds no revision: the reference dangles " +
                "(a record of the two is damaged or lost). FileStorage.Verify checks the file's transactions", NewestOffset(from), from);
        // A read conflict: what the transaction relied on is gone, and no merge can bring it back.
        throw new ReadConflictException(
            $"This transaction links {missing} (from {from}), which a pack removed from the database: it was unreachable " +
            "when the pack ran, and this connection still held the object from before. The transaction was aborted: abort and " +
            "retry the work from fresh state, reaching the objects from the root again.",
            missing);

        bool StoredRevisionLists(Oid referrer, Oid oid)
        {
            try
            {
                return Load(referrer) is { } committed && RecordFormat.Lists(committed.Data.Span, oid);
            }
            catch (FormatException e)
            {
                throw new CorruptDatabaseException($"The stored revision of {referrer} in {FilePath} is damaged: {e.Message.TrimEnd('.')}", NewestOffset(referrer), referrer, e);
            }
        }
    }

    /// <summary>One attempt; null (with the reference that spoiled it) if a concurrent commit linked a dropped object back.</summary>
    private PackResult? TryPack(long? keepHistoryAfterTid, Stopwatch clock, int attempt, out ulong droppedReference)
    {
        droppedReference = 0;
        // Start from the newest file: an earlier pack may have replaced it (no other can now, this one holds the pack lock).
        CatchUp(judge: true);
        SwitchIfReplaced(thorough: true);
        SafeFileHandle source;
        long start, startTid;
        FileStorageIndex snapshot;
        lock (_stateLock)
        {
            ThrowIfDisposed();
            source = _file;
            start = _end;
            startTid = _lastTid;
            snapshot = _index.Snapshot();
        }
        var keep = Math.Min(keepHistoryAfterTid ?? startTid, startTid);
        var fileId = NewFileId();
        // Oids of dropped objects are never handed out again: a connection may still hold one.
        var oidFloor = Math.Max(_oidFloor, (ulong)Math.Max(Volatile.Read(ref _lastOid), 0));
        var target = File.OpenHandle(PackPath, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete);
        var replaced = false;
        try
        {
            using var packer = new FileStoragePacker(FilePath, source, snapshot, start, keep, target, _databaseId, fileId, oidFloor, _disposing.Token);
            packer.Mark();
            Step("marked");
            // A file that holds nothing to drop is left as it is: the copy would hold the same records,
            // and every process would switch to it (dropping what it cached of the file) for nothing.
            if (packer.DropsNothing)
                return new PackResult(start, start, snapshot.Count, packer.RevisionsMarked, packer.BytesMarked, clock.Elapsed, attempt, Rewritten: false);
            packer.CopyKept();
            // The bulk of the new file goes to disk while the pack catches up and writes its checkpoint,
            // so the flush under the commit lock below, which holds up every writer, has little to do.
            packer.StartFlush();
            var liveBytes = packer.RecordBytesCopied;
            Step("copied");
            // Catch up with what was committed meanwhile (by any process) without holding anyone up.
            for (var round = 0; round < 8; round++)
            {
                CatchUp(judge: false);
                var end = Volatile.Read(ref _end);
                if (end - packer.CopiedTo <= PackLockedTailBytes) break;
                packer.CopyTail(end);
            }
            // The new file's checkpoint, prepared now: it covers what is copied so far, and opening
            // scans the short rest.
            var checkpoint = new CheckpointInfo(_databaseId, fileId, packer.End, packer.LastTid, packer.LastChecksum);
            FileStorageCheckpoint.WriteFile(PackCheckpointPath, packer.Index.Snapshot(), checkpoint);
            Step("caught-up");

            long oldEnd;
            EnterCommitLock();
            try
            {
                lock (_stateLock)
                {
                    ThrowIfDisposed();
                    if (_failure is not null) throw FailedError();
                    if (!ReferenceEquals(_file, source))
                        throw new PersistenceException($"{FilePath} was replaced while it was being packed; pack again.");
                    _notWriting.Reset();
                }
                try
                {
                    oldEnd = _end;
                    packer.CopyTail(oldEnd);
                    lock (_stateLock) droppedReference = packer.FindDroppedReference(_index);
                    if (droppedReference != 0) return null;
                    packer.Flush();
                    Step("flushed");
                    replaced = ReplaceDataFile(packer, fileId, oidFloor, checkpoint);
                }
                finally
                {
                    _notWriting.Set();
                }
            }
            finally
            {
                LeaveCommitLock();
            }
            // A load that is reading the old file right now fails on the closed handle and retries on
            // the new file (LoadRevision); closing it frees the old file's disk space.
            source.Dispose();
            return new PackResult(oldEnd, packer.End, packer.Index.Count, packer.RevisionsCopied, liveBytes, clock.Elapsed, attempt);
        }
        finally
        {
            if (!replaced)
            {
                target.Dispose();
                DeletePackLeftovers();
            }
        }
    }

    /// <summary>
    /// Renames the packed file over the data file and makes this instance use it; called with the
    /// commit lock held and the new file on disk. Past the rename nothing may fail: the new file is
    /// the database.
    /// </summary>
    private bool ReplaceDataFile(FileStoragePacker packer, ulong fileId, ulong oidFloor, CheckpointInfo checkpoint)
    {
        // Catching up (a poll on another thread) reads the file and its end: not while they change.
        using var catchUp = _catchUpLock.EnterScope();
        BeginFileSwitch();
        var replaced = false;
        try
        {
            lock (_checkpointLock)
            {
                // The shared state names the new file before it replaces the old one: a writer of
                // another process reads it under the commit lock at its next commit and switches
                // before it appends, so nothing is appended to the replaced file. If the state cannot
                // be written, the old file stays.
                if (_lockFile is not null)
                {
                    _lockFile.Bind(_databaseId, fileId);
                    try
                    {
                        _lockFile.Claim(packer.End);
                    }
                    catch
                    {
                        _lockFile.Bind(_databaseId, _fileId);
                        throw;
                    }
                }
                try
                {
                    File.Move(PackPath, FilePath, overwrite: true);
                }
                catch
                {
                    // The state names a file that is not there: the next commit of any writer finds the
                    // old file still at the path and makes the state name it again.
                    _lockFile?.Bind(_databaseId, _fileId);
                    throw;
                }
                replaced = true;
                lock (_stateLock)
                {
                    _file = packer.Target;
                    _index.ReplaceWith(packer.Index);
                    _revisionTids.Clear();
                    ForgetPages();
                    Volatile.Write(ref _end, packer.End);
                    // The pack wrote the new file to its end: nothing follows the data yet.
                    _freeSpaceChecked = true;
                    _fileLength = packer.End;
                    _fileId = fileId;
                    _oidFloor = oidFloor;
                    _checkpoint = (FileHeaderSize, 0);
                }
                try
                {
                    File.Move(PackCheckpointPath, FileStorageCheckpoint.PathOf(FilePath), overwrite: true);
                    _checkpoint = (checkpoint.Covered, checkpoint.LastTid);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    // The old checkpoint names the old file id, so opening ignores it and scans.
                }
                Volatile.Write(ref _nextBackgroundCheckpoint, _checkpoint.End + BackgroundCheckpointInterval);
                Step("renamed");
            }
            FileSystemSync.FlushDirectoryOf(FilePath);
        }
        finally
        {
            EndFileSwitch(replaced, replaced ? packer.End : 0);
        }
        return replaced;
    }

    /// <summary>
    /// An id for the packed file, with a durable hint tag other than the current file's: a flusher of the
    /// old file that looked at the state before the pack named the new one may still raise the hint
    /// after the pack cleared it, tagged for the old file, which the new file's readers must not take
    /// for theirs (see FileStorageLock.HintTag).
    /// </summary>
    internal ulong NewFileId()
    {
        ThrowIfDisposed();
        ulong id;
        do id = (ulong)Random.Shared.NextInt64(1, long.MaxValue);
        while (id == _fileId || SharesHintTagWithThisFile(id));
        return id;
    }

    /// <summary>Whether a file id gets the same durable hint tag as the open file's (none without a lock file).</summary>
    internal bool SharesHintTagWithThisFile(ulong fileId) =>
        _lockFile is { } lockFile && lockFile.HintTag(fileId) == lockFile.HintTag(Volatile.Read(ref _fileId));

    private void Step(string name) => PackStep?.Invoke(name);
}

/// <summary>What <see cref="FileStorage.Pack"/> did.</summary>
/// <param name="BytesBefore">The length of the data file before (its last complete transaction's end when it was replaced).</param>
/// <param name="BytesAfter">The length of the packed file.</param>
/// <param name="LiveObjects">The objects in the packed file.</param>
/// <param name="RevisionsKept">The revisions in the packed file (the live objects' current revisions, the history kept, and what was committed during the pack).</param>
/// <param name="LiveBytes">The bytes of the records kept from the old file (headers included), the work the pack did.</param>
/// <param name="Duration">How long the pack took.</param>
/// <param name="Attempts">How many times it started over because commits during the pack linked dropped objects back (usually 1).</param>
/// <param name="Rewritten">False if the file held nothing to drop (every object reachable, no revision outside the history
/// kept) and was left as it was: then <paramref name="BytesAfter"/> equals <paramref name="BytesBefore"/>, and
/// <paramref name="LiveBytes"/> counts the records found, none copied.</param>
/// <param name="ConnectionsKeepingHistory">From <see cref="Database.Pack"/>: the connections open in this process whose snapshots
/// made the pack keep revisions that changed after them (0 from <see cref="FileStorage.Pack"/>). A connection keeps its snapshot
/// until its next Commit(), Abort() or Dispose(); one that is never disposed keeps history at every pack (and its cache in memory).</param>
public sealed record PackResult(long BytesBefore, long BytesAfter, long LiveObjects, long RevisionsKept, long LiveBytes, TimeSpan Duration, int Attempts, bool Rewritten = true, int ConnectionsKeepingHistory = 0);
