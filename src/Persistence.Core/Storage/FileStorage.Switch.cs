using System.Runtime.CompilerServices;
using Microsoft.Win32.SafeHandles;
using static Persistence.Storage.FileStorageFormat;

namespace Persistence.Storage;

// Switching to a packed data file. A pack (in this process or another) renames a new file over the
// data file; an open handle keeps reading the old one, which no one appends to any more. Each
// instance compares the file id in the header at the path with the one of the file it has open, at
// every Poll and, for writers, under the commit lock before it appends, and reopens the path when they
// differ. Loads take the file and the offset together, so one that raced with a switch reads the old
// file (still valid) or retries on the new one.
public sealed partial class FileStorage
{
    // Offsets before and after a switch are in different files: group commit must not take an old
    // file's offset as a position in the new one. A transaction remembers the epoch it was appended
    // in; one from an earlier epoch is in the new file already, which was on disk when it replaced the old.
    private long _fileEpoch;
    private long _switchDirectoryFlushes;

    /// <summary>How many times a switch to a packed file flushed the directory (for tests).</summary>
    internal long SwitchDirectoryFlushes => Interlocked.Read(ref _switchDirectoryFlushes);

    /// <summary>The number of times this instance switched to another file (its own packs included).</summary>
    internal long FileEpoch => Volatile.Read(ref _fileEpoch);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private StoredRecord? LoadRevision(Oid oid, long beforeTid, ScanReader scans)
    {
        while (true)
        {
            ThrowIfDisposed();
            long offset, end;
            SafeFileHandle file;
            lock (_stateLock)
            {
                offset = _index.Find(oid.Value);
                file = _file;
                end = _end;
            }
            // Not in this file at all: a snapshot from before a pack by another process may find it in
            // a replaced file this instance keeps (FileStorage.Replaced.cs), as ReadRevision does for a
            // revision older than the file holds.
            if (offset == 0) return HoldsReplacedFiles ? LoadReplaced(null, oid, beforeTid, scans) : null;
            try
            {
                return ReadRevision(file, end, oid, offset, beforeTid, scans);
            }
            catch (ObjectDisposedException) when (!_disposed && !ReferenceEquals(file, Volatile.Read(ref _file)))
            {
                // The file was replaced by a packed one while this load read it: read it there.
            }
        }
    }

    /// <summary>
    /// If a pack replaced the data file at the path, reads the rest of the old file, opens the new one
    /// and continues from there. Called by <see cref="Poll"/>, and by a writer with the commit lock
    /// held before it catches up (where no pack can be replacing the file at the same time).
    /// </summary>
    /// <param name="thorough">Read the header at the path every time: before appending, where missing a
    /// switch would append to the replaced file. Otherwise (polls) a cheaper look at the file's
    /// length and time comes first (see <see cref="LooksUnchanged"/>).</param>
    private void SwitchIfReplaced(bool thorough)
    {
        if (!thorough && (StateNamesThisFile() || LooksUnchanged())) return;
        if (!TryReadIdentityAtPath(out _, out var fileId) || fileId == Volatile.Read(ref _fileId)) return;
        lock (_catchUpLock)
        {
            if (!TryReadIdentityAtPath(out var databaseId, out fileId) || fileId == _fileId) return;
            if (databaseId != _databaseId)
                throw new PersistenceException(
                    $"{FilePath} was replaced by a different database while it was open. Dispose this storage and open the file again.");
            // Nothing is appended to the old file once it is replaced: what it holds now is complete.
            CatchUpCore(final: true);
            var file = OpenDataFile(FilePath, IsReadOnly);
            var switched = false;
            try
            {
                SwitchTo(file);
                switched = true;
            }
            finally
            {
                if (!switched) file.Dispose();
            }
            CatchUpCore(final: false);
        }
    }

    /// <summary>Builds the state of the new file up to what this instance has seen, then switches to it.</summary>
    private void SwitchTo(SafeFileHandle file)
    {
        var length = RandomAccess.GetLength(file);
        Span<byte> header = stackalloc byte[FileHeaderSize];
        if (ReadAt(file, 0, header) < FileHeaderSize || !ReadFileHeader(header).ChecksumMatches)
            throw new CorruptDatabaseException($"The file header of the packed {FilePath} is damaged", 0);
        if (ReadFileHeader(header).DatabaseId != _databaseId)
            throw new PersistenceException(
                $"{FilePath} was replaced by a different database while it was open. Dispose this storage and open the file again.");
        var fileId = ReadFileId(header);
        var oidFloor = ReadOidFloor(header);
        var known = Volatile.Read(ref _lastTid);

        // The pack's checkpoint normally covers the new file up to shortly before the switch.
        var index = new FileStorageIndex();
        long position = FileHeaderSize, lastTid = 0, checkpointEnd = FileHeaderSize, checkpointTid = 0;
        ulong highestOid = 0;
        var checkpoint = FileStorageCheckpoint.TryLoad(FilePath, file, length, _databaseId, fileId, out _);
        if (checkpoint is { } loaded)
        {
            index = loaded.Index;
            position = checkpointEnd = loaded.Info.Covered;
            lastTid = checkpointTid = loaded.Info.LastTid;
            highestOid = loaded.HighestOid;
        }
        // Up to the last transaction this instance has seen, without logging: the old file's
        // transactions are already in the change log. A checkpoint written later than that (by a
        // writer that switched earlier) means the changes in between are unknown; the log then starts
        // over, so a poll from before it returns every oid.
        var restartLog = lastTid > known;
        using (var scanner = new FileStorageScanner(file))
        {
            while (true)
            {
                var outcome = scanner.ReadTransaction(position, length, RecordBytes.None, out var transaction, out var problem);
                if (outcome == ScanOutcome.Corrupt)
                    throw new CorruptDatabaseException($"{problem} in {FilePath}", position);
                if (outcome != ScanOutcome.Complete || (transaction.Tid > known && !restartLog)) break;
                if (transaction.Tid <= lastTid)
                    throw new CorruptDatabaseException(
                        $"The transaction at this offset of {FilePath} has tid {transaction.Tid}, not greater than the previous transaction's {lastTid}", position);
                foreach (var record in scanner.Records)
                {
                    if (record.Previous != index.Find(record.Oid))
                        throw new CorruptDatabaseException(
                            $"The record in {FilePath} links to a previous revision at offset {record.Previous}, but the object's newest revision is at offset {index.Find(record.Oid)}",
                            record.Offset, new Oid(record.Oid));
                    index.Set(record.Oid, record.Offset);
                    highestOid = Math.Max(highestOid, record.Oid);
                }
                Interlocked.Increment(ref _transactionsScanned);
                lastTid = transaction.Tid;
                position += transaction.Length;
            }
        }

        // The rename that put the new file at the path is on disk only once the directory is: the
        // packing process flushes it after the rename, and a crash before that brings back the old file.
        // A commit appended to the old file and not flushed yet counts as on disk once the epoch moves
        // (see MakeDurable), being in the new file, so the directory is flushed here before it moves.
        if (FileSystemSync.FlushDirectoryOf(FilePath)) Interlocked.Increment(ref _switchDirectoryFlushes);

        SafeFileHandle old;
        var oldKept = false;
        BeginFileSwitch();
        try
        {
            lock (_checkpointLock)
            {
                lock (_stateLock)
                {
                    old = _file;
                    // For the snapshots of this process the new file may not serve (FileStorage.Replaced.cs):
                    // those before the newest tid seen, and that one too where a packed file may have gone unseen.
                    oldKept = KeepReplaced(old, _end, restartLog ? known + 1 : known);
                    _file = file;
                    _index.ReplaceWith(index);
                    _revisionTids.Clear();
                    ForgetPages();
                    Volatile.Write(ref _end, position);
                    _freeSpaceChecked = false;
                    _fileLength = 0;
                    _fileId = fileId;
                    _oidFloor = oidFloor;
                    _checkpoint = (checkpointEnd, checkpointTid);
                    if (oidFloor != 0) OidAllocator.MoveBeyond(ref _lastOid, new Oid(oidFloor));
                    if (highestOid != 0) OidAllocator.MoveBeyond(ref _lastOid, new Oid(highestOid));
                    if (restartLog)
                    {
                        _changes.Restart(lastTid);
                        Volatile.Write(ref _lastTid, lastTid);
                    }
                }
                _lockFile?.Bind(_databaseId, fileId);
                Volatile.Write(ref _nextBackgroundCheckpoint, position + BackgroundCheckpointInterval);
            }
        }
        finally
        {
            // What this process flushed of the new file is not known: the next commit flushes.
            EndFileSwitch(true, 0);
        }
        if (!oldKept) CloseReplacedInBackground(old);
    }

    /// <summary>Waits until no flush is running and keeps new ones out while the file is switched.</summary>
    private void BeginFileSwitch()
    {
        lock (_syncGate)
        {
            while (_syncing) Monitor.Wait(_syncGate);
            _syncing = true;
        }
    }

    /// <summary>Lets flushes run again; after a switch, in a new epoch known on disk up to <paramref name="durableEnd"/>.</summary>
    private void EndFileSwitch(bool switched, long durableEnd)
    {
        lock (_syncGate)
        {
            if (switched)
            {
                Volatile.Write(ref _appendedEnd, Math.Min(Volatile.Read(ref _appendedEnd), durableEnd));
                _durableEnd = durableEnd;
                Volatile.Write(ref _fileEpoch, _fileEpoch + 1);
            }
            _syncing = false;
            Monitor.PulseAll(_syncGate);
        }
    }

    /// <summary>
    /// Whether the lock file's shared state names the open file: a pack names its new file there
    /// before it renames it over the data file, so then no pack has replaced it (one read, no lock).
    /// </summary>
    private bool StateNamesThisFile()
    {
        try
        {
            return _lockFile?.ReadState().Valid ?? false;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ObjectDisposedException)
        {
            return false;
        }
    }

    /// <summary>
    /// Whether the file at the path has the length and modification time of the open file: then it is
    /// the same file, or a packed one that dropped nothing and so holds the same data (written within
    /// the same clock tick; a pack's file of another length, or written later, differs, and so does
    /// the file after a commit to it). Metadata calls, a few microseconds, instead of opening the file
    /// and reading its header at every poll. Not enough before appending: an append to a replaced
    /// file would be lost.
    /// </summary>
    private bool LooksUnchanged()
    {
        try
        {
            var file = Volatile.Read(ref _file);
            var atPath = new FileInfo(FilePath);
            return atPath.Length == RandomAccess.GetLength(file) && atPath.LastWriteTimeUtc == File.GetLastWriteTimeUtc(file);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ObjectDisposedException)
        {
            return false;
        }
    }

    /// <summary>Reads the database id and file id of the file now at the path; false if it cannot be read.</summary>
    private bool TryReadIdentityAtPath(out Guid databaseId, out ulong fileId)
    {
        try
        {
            using var file = File.OpenHandle(FilePath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            return TryReadIdentity(file, out databaseId, out fileId);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Missing for a moment or unreadable: keep using the open file; the next call looks again.
            databaseId = default;
            fileId = 0;
            return false;
        }
    }

    /// <summary>Reads the database id and file id from the header of <paramref name="file"/>; false if it has no whole, sound header.</summary>
    private static bool TryReadIdentity(SafeFileHandle file, out Guid databaseId, out ulong fileId)
    {
        databaseId = default;
        fileId = 0;
        Span<byte> header = stackalloc byte[FileHeaderSize];
        if (ReadAt(file, 0, header) < FileHeaderSize) return false;
        var read = ReadFileHeader(header);
        if (!read.SignatureMatches || !read.ChecksumMatches) return false;
        databaseId = read.DatabaseId;
        fileId = ReadFileId(header);
        return true;
    }

    /// <summary>Reads into all of <paramref name="into"/> from <paramref name="offset"/> of <paramref name="file"/>, or up to its end; the bytes read.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static int ReadAt(SafeFileHandle file, long offset, Span<byte> into)
    {
        var total = 0;
        while (total < into.Length)
        {
            var read = RandomAccess.Read(file, into[total..], offset + total);
            if (read == 0) break;
            total += read;
        }
        return total;
    }
}
