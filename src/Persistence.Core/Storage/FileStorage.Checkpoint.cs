using static Persistence.Storage.FileStorageFormat;

namespace Persistence.Storage;

// The index checkpoint (FileStorageCheckpoint): loaded when the storage opens, written when a
// writer closes after a large unindexed tail, in the background every BackgroundCheckpointBytes
// of new transactions, and on demand.
public sealed partial class FileStorage
{
    // At close, a tail of this much that opening would have to scan is worth a checkpoint.
    private const long CloseCheckpointBytes = 1 << 20;

    // Or this many transactions after it: an open scans each (a header, a checksum, the index), which for small
    // commits costs more than their bytes say (2,000 one-object commits, 300 KB, were 3-5 ms of every open).
    private const long CloseCheckpointTransactions = 256;

    // While open, a checkpoint every this much of new transactions, written by a background task so
    // that no commit waits for it.
    private const long BackgroundCheckpointBytes = 64 << 20;

    // Taken around writing a checkpoint and around replacing the data file (pack, switching to a
    // packed file), so a checkpoint is always of the file it is named for.
    private readonly Lock _checkpointLock = new();
    private ulong _fileId;
    // From the file header: the highest oid stored before a pack wrote the file (see FileStorageFormat).
    private ulong _oidFloor;
    // The end covered by the newest checkpoint this instance loaded or wrote (the file header's end if none).
    // With the tid of the last transaction it covers (0 for none). Where another process's checkpoint moved the end,
    // the tid stays the older one's: the close then counts more transactions as uncovered than there are, and at
    // worst writes a checkpoint it could have skipped.
    private (long End, long Tid) _checkpoint = (FileHeaderSize, 0);
    private long _nextBackgroundCheckpoint = BackgroundCheckpointBytes;
    private int _backgroundCheckpointRunning;
    private Task _backgroundCheckpoint = Task.CompletedTask;
    private int _transactionsScanned;
    private long _backgroundCheckpointInterval = BackgroundCheckpointBytes;

    /// <summary>Why opening did not use the checkpoint (null if it did).</summary>
    internal string? CheckpointRejection { get; private set; }

    /// <summary>Where opening started to scan: the checkpoint's covered end, or the first transaction.</summary>
    internal long OpenScanStart { get; private set; } = FileHeaderSize;

    /// <summary>The transactions this instance read from the file into its index (at open, catching up, switching files).</summary>
    internal int TransactionsScanned => Volatile.Read(ref _transactionsScanned);

    /// <summary>The dense pages of the index still in the checkpoint file this instance opened with (for tests).</summary>
    internal int PendingIndexPages => _index.PendingPageCount;

    /// <summary>The bytes the oid → offset index holds in memory (<see cref="FileStorageIndex.AllocatedBytes"/>).</summary>
    internal long IndexBytes
    {
        get
        {
            lock (_stateLock) return _index.AllocatedBytes;
        }
    }

    /// <summary>New transactions between background checkpoints; tests lower it.</summary>
    internal long BackgroundCheckpointInterval
    {
        get => _backgroundCheckpointInterval;
        set
        {
            _backgroundCheckpointInterval = value;
            Volatile.Write(ref _nextBackgroundCheckpoint, _checkpoint.End + value);
        }
    }

    /// <summary>
    /// Writes the index checkpoint now (<c>path + ".index"</c>), so the next open reads it instead of
    /// scanning the file. Writers also do this by themselves: in the background as the file grows, and
    /// on <see cref="Dispose"/> when there is a large tail the checkpoint does not cover.
    /// </summary>
    /// <remarks>Takes a moment of the state lock to share the index with a snapshot; the writing, about
    /// 8 to 10 bytes per object, runs alongside loads and commits.</remarks>
    /// <exception cref="StorageLockedException">The storage is read-only.</exception>
    /// <exception cref="PersistenceException">The checkpoint could not be written (the message says why);
    /// the database is unaffected, and opening scans the file instead.</exception>
    public void Checkpoint()
    {
        ThrowIfDisposed();
        if (IsReadOnly) throw ReadOnlyError();
        try
        {
            WriteCheckpoint(force: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new PersistenceException(
                $"Could not write the index checkpoint {FileStorageCheckpoint.PathOf(FilePath)}: {PersistenceException.Sentence(e)} The database is unaffected (opening scans the file instead); " +
                "check the directory's free space and permissions.", e);
        }
    }

    /// <summary>Opens from the checkpoint if it matches the file: the index, end, last tid and oids it covers. Called by the constructor.</summary>
    /// <returns>Whether the checkpoint was used; the scan then continues from its end.</returns>
    private bool LoadCheckpoint(long length)
    {
        Span<byte> header = stackalloc byte[FileHeaderSize];
        ReadAt(0, header);
        _fileId = ReadFileId(header);
        _oidFloor = ReadOidFloor(header);
        if (_oidFloor != 0) OidAllocator.MoveBeyond(ref _lastOid, new Oid(_oidFloor));
        var loaded = FileStorageCheckpoint.TryLoad(FilePath, _file, length, _databaseId, _fileId, out var rejection);
        CheckpointRejection = rejection;
        if (loaded is not { } checkpoint) return false;
        _index.ReplaceWith(checkpoint.Index);
        _revisionTids.Clear();
        _end = checkpoint.Info.Covered;
        _lastTid = checkpoint.Info.LastTid;
        if (checkpoint.HighestOid != 0) OidAllocator.MoveBeyond(ref _lastOid, new Oid(checkpoint.HighestOid));
        _checkpoint = (_end, _lastTid);
        _nextBackgroundCheckpoint = _end + BackgroundCheckpointInterval;
        OpenScanStart = _end;
        return true;
    }

    /// <summary>Drops what <see cref="LoadCheckpoint"/> loaded, to scan the whole file instead.</summary>
    private void ForgetCheckpoint(string reason)
    {
        _index.Clear();
        _end = FileHeaderSize;
        _lastTid = 0;
        _lastOid = (long)Oid.FirstUser.Value - 1;
        if (_oidFloor != 0) OidAllocator.MoveBeyond(ref _lastOid, new Oid(_oidFloor));
        _checkpoint = (FileHeaderSize, 0);
        _nextBackgroundCheckpoint = BackgroundCheckpointInterval;
        OpenScanStart = FileHeaderSize;
        _transactionsScanned = 0;
        CheckpointRejection = reason;
    }

    /// <summary>Starts a background checkpoint when enough was committed since the last one. Cheap when not.</summary>
    private void CheckpointInBackgroundIfDue()
    {
        if (IsReadOnly || Volatile.Read(ref _end) < Volatile.Read(ref _nextBackgroundCheckpoint)) return;
        if (Interlocked.CompareExchange(ref _backgroundCheckpointRunning, 1, 0) != 0) return;
        _backgroundCheckpoint = Task.Run(() =>
        {
            try
            {
                if (!_disposed) WriteCheckpoint(force: false);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or ObjectDisposedException)
            {
                // Only a shortcut for the next open is lost; the next one is tried after another interval.
                Volatile.Write(ref _nextBackgroundCheckpoint, Volatile.Read(ref _end) + BackgroundCheckpointInterval);
            }
            finally
            {
                Volatile.Write(ref _backgroundCheckpointRunning, 0);
            }
        });
    }

    /// <summary>At close: waits for a background checkpoint, and writes one if the uncovered tail is large. Never throws.</summary>
    private void CheckpointAtClose()
    {
        try
        {
            _backgroundCheckpoint.Wait();
        }
        catch (AggregateException)
        {
            // Already handled inside the task.
        }
        // Other writers still open go on committing: the last of them to close writes it. (Writing it now
        // made the commits of the others slower while it went to disk.)
        if (IsReadOnly || _othersStillOpen) return;
        var tail = Volatile.Read(ref _end) - _checkpoint.End;
        if (tail <= 0 || (tail < CloseCheckpointBytes && Volatile.Read(ref _lastTid) - _checkpoint.Tid < CloseCheckpointTransactions)) return;
        try
        {
            WriteCheckpoint(force: false);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // The next open scans a longer tail; nothing else depends on the checkpoint.
        }
    }

    private void WriteCheckpoint(bool force)
    {
        lock (_checkpointLock)
        {
            FileStorageIndex snapshot;
            long end, lastTid;
            ulong fileId;
            Microsoft.Win32.SafeHandles.SafeFileHandle file;
            lock (_stateLock)
            {
                end = _end;
                if (end == _checkpoint.End && !force) return;
                fileId = _fileId;
                file = _file;
            }
            // Another process may have written one meanwhile (writers of one file all write them): one newer than
            // this instance's that leaves little after it will do, if it is of the file as it is (the one an open
            // rejected because an older copy of the file was put back is not).
            if (!force && FileStorageCheckpoint.CoveredEnd(FilePath, _databaseId, fileId, file) is { } covered && covered > _checkpoint.End && end - covered < CloseCheckpointBytes)
            {
                _checkpoint.End = Math.Max(_checkpoint.End, Math.Min(covered, end));
                Volatile.Write(ref _nextBackgroundCheckpoint, _checkpoint.End + BackgroundCheckpointInterval);
                return;
            }
            lock (_stateLock)
            {
                end = _end;
                snapshot = _index.Snapshot();
                lastTid = _lastTid;
                fileId = _fileId;
                file = _file;
            }
            // What the checkpoint covers must be on disk before the checkpoint is: after a system crash
            // a checkpoint must not vouch for transactions the disk lost (relaxed commits, others' appends).
            RandomAccess.FlushToDisk(file);
            var checksum = FileStorageCheckpoint.LastTransactionChecksum(file, end);
            FileStorageCheckpoint.Save(FilePath, snapshot, new CheckpointInfo(_databaseId, fileId, end, lastTid, checksum));
            _checkpoint = (end, lastTid);
            Volatile.Write(ref _nextBackgroundCheckpoint, end + BackgroundCheckpointInterval);
        }
    }
}
