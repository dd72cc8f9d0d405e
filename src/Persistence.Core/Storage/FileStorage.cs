using Microsoft.Win32.SafeHandles;
using Persistence.Serialization;
using static Persistence.Storage.FileStorageFormat;

namespace Persistence.Storage;

/// <summary>
/// The embedded storage: one append-only data file (<see cref="FileStorageFormat"/> describes its
/// bytes). Every transaction is appended whole with checksums and a commit marker and made durable
/// (fsync) before <see cref="IStorageTransaction.Finish"/> returns; every revision stays in the file,
/// linked to the previous revision of its object.
/// </summary>
/// <remarks>
/// <para>Thread-safe. Loads read the file with positional reads and run in parallel with each other
/// and with a commit; commits run one at a time (from vote to finish).</para>
/// <para>One instance at a time, in any process, may open a file for writing (see
/// <see cref="FileStorageOptions.ReadOnly"/>); read-only instances may open it alongside and catch up
/// with its commits in <see cref="Poll"/>.</para>
/// <para>Opening reads the whole file to build the oid → offset index, checking every checksum. An
/// incomplete transaction at the end (a write interrupted by a crash) is ignored, and cut off when
/// the file is opened for writing; damage anywhere else raises <see cref="CorruptDatabaseException"/>.</para>
/// </remarks>
public sealed class FileStorage : IStorage
{
    // Transactions up to this size are written with one call from one buffer the storage keeps;
    // larger ones are written in pieces of this size, so the buffer never grows beyond it.
    private const int MaxWriteBufferSize = 8 << 20;
    private const int InitialWriteBufferSize = 64 << 10;

    // Most records are small: one read of this many bytes fetches the header and the record together.
    private const int LoadReadSize = 512;

    private readonly SafeFileHandle _file;
    private readonly FileStorageLock? _writerLock;
    private readonly Lock _stateLock = new();
    private readonly Lock _catchUpLock = new();
    private readonly FileStorageIndex _index = new();
    private readonly ChangeLog _changes;
    private readonly SemaphoreSlim _commitLock = new(1, 1);
    private readonly CancellationTokenSource _disposing = new();
    private readonly ManualResetEventSlim _notWriting = new(true);
    private long _end;
    private TransactionScratch? _spareScratch;
    private long _lastTid;
    private long _lastOid = (long)Oid.FirstUser.Value - 1;
    private byte[] _writeBuffer = [];
    private long[] _recordOffsets = [];
    private string? _failure;
    private volatile bool _disposed;

    private FileStorage(string path, SafeFileHandle file, FileStorageLock? writerLock, bool readOnly)
    {
        FilePath = path;
        _file = file;
        _writerLock = writerLock;
        IsReadOnly = readOnly;
        var length = RandomAccess.GetLength(file);
        if (length < FileHeaderSize && !readOnly && IsUnfinishedHeader(length))
        {
            CreateHeader();
            length = FileHeaderSize;
        }
        CheckHeader(length);
        _end = FileHeaderSize;
        using (var scanner = new FileStorageScanner(file))
            ScanTail(scanner, length, log: false);
        if (!readOnly && length > _end)
        {
            // The rest is an interrupted write: cut it off so the next commit starts on firm ground.
            RandomAccess.SetLength(file, _end);
            RandomAccess.FlushToDisk(file);
        }
        _changes = new ChangeLog(_lastTid);
    }

    /// <summary>The full path of the data file.</summary>
    public string FilePath { get; }

    /// <inheritdoc />
    public long LastTid => Volatile.Read(ref _lastTid);

    /// <inheritdoc />
    public bool IsReadOnly { get; }

    /// <summary>
    /// Opens the data file at <paramref name="path"/>, creating it if it does not exist (unless read-only).
    /// </summary>
    /// <param name="path">The data file. A lock file named <c>path + ".lock"</c> is kept beside it.</param>
    /// <param name="options">How to open it; null for the defaults (read-write).</param>
    /// <exception cref="StorageLockedException">Another instance or process has the file open for writing.</exception>
    /// <exception cref="CorruptDatabaseException">The file is damaged.</exception>
    /// <exception cref="PersistenceException">The file is not a Persistence database, is from a newer
    /// version, or cannot be opened (the message says why).</exception>
    public static FileStorage Open(string path, FileStorageOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var readOnly = options?.ReadOnly ?? false;
        var fullPath = Path.GetFullPath(path);
        FileStorageLock? writerLock = null;
        SafeFileHandle? file = null;
        try
        {
            if (!readOnly) writerLock = FileStorageLock.Acquire(fullPath);
            file = OpenDataFile(fullPath, readOnly);
            return new FileStorage(fullPath, file, writerLock, readOnly);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            file?.Dispose();
            writerLock?.Dispose();
            throw new PersistenceException($"Cannot open the database {fullPath}: {e.Message}", e);
        }
        catch
        {
            file?.Dispose();
            writerLock?.Dispose();
            throw;
        }
    }

    /// <inheritdoc />
    public StoredRecord? Load(Oid oid)
    {
        ThrowIfDisposed();
        long offset;
        lock (_stateLock) offset = _index.Find(oid.Value);
        return offset == 0 ? null : ReadRevision(oid, offset, long.MaxValue);
    }

    /// <inheritdoc />
    public StoredRecord? LoadBefore(Oid oid, long tid)
    {
        ThrowIfDisposed();
        long offset;
        lock (_stateLock) offset = _index.Find(oid.Value);
        return offset == 0 ? null : ReadRevision(oid, offset, tid);
    }

    /// <inheritdoc />
    public Oid NewOid()
    {
        ThrowIfDisposed();
        if (IsReadOnly) throw ReadOnlyError();
        return new Oid((ulong)Interlocked.Increment(ref _lastOid));
    }

    /// <inheritdoc />
    public IStorageTransaction Begin()
    {
        ThrowIfDisposed();
        if (IsReadOnly) throw ReadOnlyError();
        return new Transaction(this, TransactionScratch.Take(ref _spareScratch));
    }

    /// <inheritdoc />
    /// <remarks>
    /// A read-only instance first reads the transactions appended since it last looked. The oids come
    /// from a bounded log of recent commits (about a million oids); when <paramref name="sinceTid"/>
    /// is older than the log (or older than when the storage was opened), every oid in the storage is
    /// returned instead: a superset, so a caller that invalidates them stays correct.
    /// </remarks>
    public StorageChanges Poll(long sinceTid)
    {
        ThrowIfDisposed();
        if (IsReadOnly) CatchUp();
        lock (_stateLock)
        {
            ThrowIfDisposed();
            if (sinceTid >= _lastTid) return new StorageChanges(_lastTid, []);
            var oids = new HashSet<Oid>();
            if (!_changes.TryCollect(sinceTid, oids))
            {
                foreach (var oid in _index.Oids)
                    oids.Add(new Oid(oid));
            }
            return new StorageChanges(_lastTid, [.. oids]);
        }
    }

    /// <inheritdoc />
    /// <remarks>Reads the file as it was committed when this method was called; checks every checksum.</remarks>
    public IEnumerable<StoredRecord> Iterate()
    {
        ThrowIfDisposed();
        return IterateUpTo(Volatile.Read(ref _end));
    }

    /// <summary>
    /// Closes the file and releases the writer lock. A commit that is writing completes first; a
    /// transaction that voted but did not finish fails with <see cref="ObjectDisposedException"/>.
    /// </summary>
    public void Dispose()
    {
        lock (_stateLock)
        {
            if (_disposed) return;
            _disposed = true;
        }
        _disposing.Cancel();
        // Closing the file under a write could let the next opener cut the tail while the write lands.
        _notWriting.Wait();
        _file.Dispose();
        _writerLock?.Dispose();
    }

    private static SafeFileHandle OpenDataFile(string path, bool readOnly)
    {
        try
        {
            return readOnly
                ? File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete)
                : File.OpenHandle(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete);
        }
        catch (FileNotFoundException e)
        {
            throw new PersistenceException(
                $"There is no database at {path}. A read-only open needs an existing file; open it without ReadOnly once to create it.", e);
        }
        catch (DirectoryNotFoundException e)
        {
            throw new PersistenceException($"The directory of {path} does not exist. Create it first, or check the path.", e);
        }
        catch (UnauthorizedAccessException e) when (!readOnly)
        {
            throw new PersistenceException(
                $"{path} cannot be opened for writing ({e.Message}). Fix its permissions, or open it with FileStorageOptions {{ ReadOnly = true }}.", e);
        }
    }

    private bool IsUnfinishedHeader(long length)
    {
        // An empty file, or a prefix of the signature: a creation that was interrupted. Anything
        // else shorter than a header is someone else's file, which CheckHeader refuses.
        Span<byte> bytes = stackalloc byte[FileHeaderSize];
        var read = ReadAt(0, bytes[..(int)length]);
        var prefix = Math.Min(read, Signature.Length);
        return bytes[..prefix].SequenceEqual(Signature[..prefix]);
    }

    private void CreateHeader()
    {
        Span<byte> header = stackalloc byte[FileHeaderSize];
        WriteFileHeader(header, Guid.NewGuid());
        RandomAccess.SetLength(_file, 0);
        RandomAccess.Write(_file, header, 0);
        RandomAccess.FlushToDisk(_file);
    }

    private void CheckHeader(long length)
    {
        Span<byte> bytes = stackalloc byte[FileHeaderSize];
        var read = ReadAt(0, bytes[..(int)Math.Min(length, FileHeaderSize)]);
        if (read < FileHeaderSize)
        {
            var prefix = Math.Min(read, Signature.Length);
            if (bytes[..prefix].SequenceEqual(Signature[..prefix]))
                throw new PersistenceException(
                    $"{FilePath} is not a complete Persistence database yet (it is {read} bytes long: being created, or its creation was interrupted). " +
                    "Open it for writing once to finish creating it.");
            throw NotADatabase();
        }
        var header = ReadFileHeader(bytes);
        if (!header.SignatureMatches) throw NotADatabase();
        if (header.ChecksumMatches && header.Version == FormatVersion && header.HeaderSize == FileHeaderSize) return;
        if (header.Version > FormatVersion)
            throw new PersistenceException(
                $"{FilePath} was written by a newer version of Persistence (file format {header.Version}; this version reads format {FormatVersion}). " +
                "Open it with a newer version of Persistence.");
        throw new CorruptDatabaseException("The file header of " + FilePath + " is damaged", 0);
    }

    private PersistenceException NotADatabase() => new(
        $"{FilePath} is not a Persistence database: it does not start with the file storage signature. " +
        "Check the path; a new database is created only where no file exists.");

    /// <summary>
    /// Reads the transactions from <see cref="_end"/> to <paramref name="length"/> into the index,
    /// stopping before a torn tail and throwing on damage.
    /// </summary>
    private void ScanTail(FileStorageScanner scanner, long length, bool log)
    {
        var position = _end;
        while (true)
        {
            switch (scanner.ReadTransaction(position, length, false, out var header, out var problem))
            {
                case ScanOutcome.End:
                case ScanOutcome.Torn:
                    return;
                case ScanOutcome.Complete:
                    Apply(header, position, scanner.Records, log);
                    position += header.Length;
                    break;
                case ScanOutcome.Damaged:
                    // A damaged transaction with a complete one after it was not the last write:
                    // it was damaged after it was acknowledged. Search after its declared length
                    // when its header can be trusted, so record bytes that happen to look like a
                    // transaction cannot mislead.
                    var from = header.Length > 0 ? position + header.Length : position + 1;
                    if (from < length && scanner.FindCompleteTransaction(from, length, _lastTid + 1) >= 0)
                        throw new CorruptDatabaseException(
                            $"The transaction at this offset of {FilePath} fails its checksum or has no commit marker, yet complete transactions follow it",
                            position);
                    return;
                default:
                    throw new CorruptDatabaseException($"{problem} in {FilePath}", position);
            }
        }
    }

    private void Apply(TransactionHeader header, long position, List<ScannedRecord> records, bool log)
    {
        if (header.Tid <= _lastTid)
            throw new CorruptDatabaseException(
                $"The transaction at this offset of {FilePath} has tid {header.Tid}, not greater than the previous transaction's {_lastTid}", position);
        lock (_stateLock)
        {
            // Check everything before changing anything, so a failed catch-up leaves the index as it was.
            foreach (var record in records)
            {
                var previous = _index.Find(record.Oid);
                if (record.Previous != previous)
                    throw new CorruptDatabaseException(
                        $"The record in {FilePath} links to a previous revision at offset {record.Previous}, but the object's newest revision is at offset {previous}",
                        record.Offset, new Oid(record.Oid));
            }
            foreach (var record in records)
            {
                _index.Set(record.Oid, record.Offset);
                OidAllocator.MoveBeyond(ref _lastOid, new Oid(record.Oid));
                if (log) _changes.Add(header.Tid, record.Oid);
            }
            if (log) _changes.Trim();
            Volatile.Write(ref _lastTid, header.Tid);
            Volatile.Write(ref _end, position + header.Length);
        }
    }

    private void CatchUp()
    {
        lock (_catchUpLock)
        {
            var length = RandomAccess.GetLength(_file);
            var end = Volatile.Read(ref _end);
            if (length == end) return;
            if (length < end)
                throw new PersistenceException(
                    $"{FilePath} is now shorter than the transactions this storage already read: it was replaced or truncated outside Persistence. Open it again.");
            using var scanner = new FileStorageScanner(_file);
            ScanTail(scanner, length, log: true);
        }
    }

    private StoredRecord? ReadRevision(Oid oid, long offset, long beforeTid)
    {
        Span<byte> buffer = stackalloc byte[LoadReadSize];
        while (offset != 0)
        {
            var read = ReadAt(offset, buffer);
            if (read < DataHeaderSize)
                throw new CorruptDatabaseException($"The record header in {FilePath} is cut short by the end of the file", offset, oid);
            var header = ReadDataHeader(buffer);
            if (header.Oid != oid.Value)
                throw new CorruptDatabaseException(
                    $"The index of {FilePath} points at a record of oid {header.Oid} here", offset, oid);
            if (header.Length < RecordFormat.MinimumSize || header.Length > Array.MaxLength
                || offset + DataHeaderSize + header.Length > Volatile.Read(ref _end)
                || header.Previous >= offset || header.Previous < 0 || header.Tid <= 0)
                throw new CorruptDatabaseException(
                    $"The record header in {FilePath} is impossible (length {header.Length}, tid {header.Tid}, previous revision at {header.Previous})", offset, oid);
            if (header.Tid >= beforeTid)
            {
                offset = header.Previous;
                continue;
            }
            var data = new byte[header.Length];
            var buffered = Math.Min(read - DataHeaderSize, data.Length);
            buffer.Slice(DataHeaderSize, buffered).CopyTo(data);
            if (buffered < data.Length && ReadAt(offset + DataHeaderSize + buffered, data.AsSpan(buffered)) < data.Length - buffered)
                throw new CorruptDatabaseException($"The record in {FilePath} is cut short by the end of the file", offset, oid);
            if (Crc32C.Append(DataChecksumStart(buffer), data) != header.Checksum)
                throw new CorruptDatabaseException($"The checksum of the record in {FilePath} does not match its bytes", offset, oid);
            return new StoredRecord(oid, header.Tid, data);
        }
        return null;
    }

    private IEnumerable<StoredRecord> IterateUpTo(long end)
    {
        using var scanner = new FileStorageScanner(_file);
        long position = FileHeaderSize;
        while (position < end)
        {
            ThrowIfDisposed();
            var outcome = scanner.ReadTransaction(position, end, true, out var header, out var problem);
            if (outcome != ScanOutcome.Complete)
                throw new CorruptDatabaseException(
                    problem is null ? $"The transaction in {FilePath} no longer reads back whole" : $"{problem} in {FilePath}", position);
            foreach (var record in scanner.Records)
                yield return new StoredRecord(new Oid(record.Oid), header.Tid, record.Data);
            position += header.Length;
        }
    }

    private int ReadAt(long offset, Span<byte> into)
    {
        var total = 0;
        while (total < into.Length)
        {
            var read = RandomAccess.Read(_file, into[total..], offset + total);
            if (read == 0) break;
            total += read;
        }
        return total;
    }

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(_disposed, this);

    private StorageLockedException ReadOnlyError() => new(
        $"{FilePath} was opened read-only; open it without FileStorageOptions.ReadOnly to write (one writer at a time).");

    private PersistenceException FailedError() => new(
        $"An earlier write error left the end of {FilePath} in an unknown state ({_failure}); nothing more can be committed through this instance. " +
        "Dispose it and open the file again: opening removes an incomplete transaction.");

    /// <summary>The tid of the newest revision of an object; called at vote, with the commit lock held.</summary>
    private long CurrentSerial(Oid oid)
    {
        long offset;
        lock (_stateLock) offset = _index.Find(oid.Value);
        if (offset == 0) return 0;
        Span<byte> header = stackalloc byte[DataHeaderSize];
        if (ReadAt(offset, header) < DataHeaderSize)
            throw new CorruptDatabaseException($"The record header in {FilePath} is cut short by the end of the file", offset, oid);
        var record = ReadDataHeader(header);
        if (record.Oid != oid.Value)
            throw new CorruptDatabaseException($"The index of {FilePath} points at a record of oid {record.Oid} here", offset, oid);
        return record.Tid;
    }

    private long TransactionLength(List<PendingStore> stores)
    {
        if (_failure is not null) throw FailedError();
        var length = (long)MinimumTransactionSize;
        foreach (var store in stores)
            length += DataHeaderSize + store.Data.Length;
        return length;
    }

    private long Commit(List<PendingStore> stores, long length)
    {
        // A transaction that only checked objects has nothing to make durable and takes no tid.
        if (stores.Count == 0) return LastTid;
        lock (_stateLock)
        {
            ThrowIfDisposed();
            if (_failure is not null) throw FailedError();
            _notWriting.Reset();
        }
        var start = _end;
        try
        {
            var tid = _lastTid + 1;
            if (_recordOffsets.Length < stores.Count) _recordOffsets = new long[Math.Max(stores.Count, 2 * _recordOffsets.Length)];
            try
            {
                Write(stores, tid, start, length);
                RandomAccess.FlushToDisk(_file);
            }
            catch (Exception e)
            {
                // Any failure (a full disk surfaces as IOException, a file size limit as
                // ArgumentOutOfRangeException) may have left part of the transaction behind.
                RollBack(start, e);
                throw new PersistenceException(
                    $"Could not write the transaction to {FilePath}: {e.Message} Nothing of it was committed; fix the cause (e.g. free disk space) and retry.", e);
            }
            lock (_stateLock)
            {
                for (var i = 0; i < stores.Count; i++)
                {
                    var oid = stores[i].Oid;
                    _index.Set(oid.Value, _recordOffsets[i]);
                    OidAllocator.MoveBeyond(ref _lastOid, oid);
                    _changes.Add(tid, oid.Value);
                }
                _changes.Trim();
                Volatile.Write(ref _lastTid, tid);
                Volatile.Write(ref _end, start + length);
            }
            return tid;
        }
        finally
        {
            _notWriting.Set();
        }
    }

    private void RollBack(long start, Exception cause)
    {
        try
        {
            RandomAccess.SetLength(_file, start);
            RandomAccess.FlushToDisk(_file);
        }
        catch (Exception e)
        {
            _failure = $"writing failed with \"{cause.Message}\", then cutting the partial write off failed with \"{e.Message}\"";
        }
    }

    /// <summary>
    /// Writes a transaction at <paramref name="start"/>, with one write call when it fits the write
    /// buffer, and fills <see cref="_recordOffsets"/>. Called with the commit lock held: the index is
    /// read without the state lock because only the commit path changes it.
    /// </summary>
    private void Write(List<PendingStore> stores, long tid, long start, long length)
    {
        var buffer = WriteBuffer(length);
        var crc = 0u;
        var flushedTo = start;
        WriteTransactionHeader(buffer, tid, length, (uint)stores.Count);
        var filled = TransactionHeaderSize;
        var position = start + TransactionHeaderSize;
        for (var i = 0; i < stores.Count; i++)
        {
            var store = stores[i];
            var data = store.Data.Span;
            if (buffer.Length - filled < DataHeaderSize) Flush();
            WriteDataHeader(buffer.AsSpan(filled), store.Oid.Value, tid, _index.Find(store.Oid.Value), data);
            filled += DataHeaderSize;
            _recordOffsets[i] = position;
            position += DataHeaderSize + data.Length;
            if (buffer.Length - filled < data.Length) Flush();
            if (data.Length <= buffer.Length)
            {
                data.CopyTo(buffer.AsSpan(filled));
                filled += data.Length;
            }
            else
            {
                // Larger than the whole buffer: write it from the caller's memory.
                crc = Crc32C.Append(crc, data);
                RandomAccess.Write(_file, data, flushedTo);
                flushedTo += data.Length;
            }
        }
        if (buffer.Length - filled < TrailerSize) Flush();
        crc = Crc32C.Append(crc, buffer.AsSpan(0, filled));
        WriteTrailer(buffer.AsSpan(filled), length, crc);
        filled += TrailerSize;
        RandomAccess.Write(_file, buffer.AsSpan(0, filled), flushedTo);

        void Flush()
        {
            var bytes = buffer.AsSpan(0, filled);
            crc = Crc32C.Append(crc, bytes);
            RandomAccess.Write(_file, bytes, flushedTo);
            flushedTo += filled;
            filled = 0;
        }
    }

    private byte[] WriteBuffer(long length)
    {
        if (_writeBuffer.Length >= Math.Min(length, MaxWriteBufferSize)) return _writeBuffer;
        var size = InitialWriteBufferSize;
        while (size < length && size < MaxWriteBufferSize) size *= 2;
        return _writeBuffer = new byte[size];
    }

    private sealed class Transaction(FileStorage storage, TransactionScratch scratch) : StorageTransactionBase(scratch)
    {
        private long _length;

        protected override void ThrowIfStorageDisposed() => storage.ThrowIfDisposed();

        protected override void EnterCommit()
        {
            try
            {
                storage._commitLock.Wait(storage._disposing.Token);
            }
            catch (OperationCanceledException)
            {
                throw new ObjectDisposedException(nameof(FileStorage));
            }
        }

        protected override void LeaveCommit() => storage._commitLock.Release();

        protected override void Recycle(TransactionScratch scratch) => TransactionScratch.Recycle(ref storage._spareScratch, scratch);

        protected override long CurrentSerial(Oid oid) => storage.CurrentSerial(oid);

        protected override void PrepareCommit() => _length = storage.TransactionLength(Stores);

        protected override long CommitCore() => storage.Commit(Stores, _length);
    }
}
