using System.Runtime.CompilerServices;
using Microsoft.Win32.SafeHandles;
using Persistence.Serialization;
using static Persistence.Storage.FileStorageFormat;

namespace Persistence.Storage;

/// <summary>
/// The embedded storage: one append-only data file (<see cref="FileStorageFormat"/> describes its
/// bytes). Every transaction is appended whole with checksums and a commit marker and made durable
/// (fsync) before <see cref="IStorageTransaction.Finish"/> returns (unless
/// <see cref="FileStorageOptions.Durability"/> relaxes that); every revision stays in the file,
/// linked to the previous revision of its object.
/// </summary>
/// <remarks>
/// <para>Thread-safe. Loads read the file with positional reads and run in parallel with each other
/// and with a commit; commits run one at a time (from vote to finish), and wait for the disk after
/// that, sharing one flush with the commits that wait alongside (group commit).</para>
/// <para>Any number of instances, in any number of processes, may open one file for reading and
/// writing at once. Commits take turns through a lock in the lock file (<c>path + ".lock"</c>) held
/// only from vote to finish: the vote first reads what the others appended, then checks for conflicts
/// against it, exactly as within one process. <see cref="Poll"/> reads what the others appended
/// without waiting for anyone. A process killed while appending leaves an incomplete transaction at
/// the end, which readers ignore and the next writer removes before it appends.</para>
/// <para>Opening reads the oid → offset index from its checkpoint (<c>path + ".index"</c>, see
/// <see cref="Checkpoint"/>) when it matches the file, and scans the transactions after it (the whole
/// file without one), checking every checksum. An incomplete transaction at the end is ignored; damage
/// anywhere else raises <see cref="CorruptDatabaseException"/> (<see cref="Verify"/> lists all of it).</para>
/// <para><see cref="Pack"/> drops what is no longer reachable while the database is in use; every
/// instance moves to the packed file at its next <see cref="Poll"/> or commit. An instance that a
/// <see cref="Database"/> was opened on keeps the file a pack by another instance replaced open while
/// the database's connections hold snapshots from before the switch, and loads for those snapshots
/// what the packed file no longer holds from it.</para>
/// </remarks>
public sealed partial class FileStorage : IStorage, IKnownChanges
{
    // Transactions up to this size are written with one call from one buffer the storage keeps;
    // larger ones are written in pieces of this size, so the buffer never grows beyond it.
    private const int MaxWriteBufferSize = 8 << 20;
    private const int InitialWriteBufferSize = 64 << 10;

    // Replaced when a pack swaps in a new data file (FileStorage.Switch.cs, FileStorage.Pack.cs).
    private SafeFileHandle _file;
    // A writer's lock file always; a reader's when it exists and can be read (else null).
    private readonly FileStorageLock? _lockFile;
    private readonly Durability _durability;
    private readonly Lock _stateLock = new();
    private readonly Lock _catchUpLock = new();
    // The scanner of the last catch-up (see CatchUpScanner), with _catchUpLock held.
    private FileStorageScanner? _catchUpScanner;
    // Poll's set of changed oids, reused (with _stateLock held).
    private HashSet<Oid> _polledOids = [];
    private readonly FileStorageIndex _index = new();
    // The tids of the newest revisions, by offset: the conflict check without reading headers.
    private readonly RevisionTids _revisionTids = new();
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
    private Guid _databaseId;
    // The end of the last transaction this instance appended (0: none yet).
    private long _appendedEnd;
    // The removal of checkpoint temporaries a dead process left (started by a writer's open; see DeleteLeftovers).
    private Task? _leftoverSweep;

    private FileStorage(string path, SafeFileHandle file, FileStorageLock? lockFile, bool readOnly, Durability durability, bool reserveFreeSpace, long pageCacheBytes, bool existed)
    {
        FilePath = path;
        if (!reserveFreeSpace) _nextReservation = 0;
        _pages = NewPageTable(pageCacheBytes);
        _pageMisses = _pages is null ? null : new uint[_pages.Length];
        _file = file;
        _lockFile = lockFile;
        IsReadOnly = readOnly;
        _durability = durability;
        var length = RandomAccess.GetLength(file);
        var created = false;
        if (length < FileHeaderSize && !readOnly && StartsWithSignature(file))
            created = CreateHeaderOnce(ref length, existed);
        CheckHeader(length);
        if (!readOnly) _lockFile!.Initialize(created ? FileHeaderSize : -1);
        _end = FileHeaderSize;
        var fromCheckpoint = LoadCheckpoint(length);
        TailState tail;
        try
        {
            tail = ScanFile();
        }
        catch (CorruptDatabaseException) when (fromCheckpoint)
        {
            // The checkpoint matched the file, yet what follows does not follow from it: trust the
            // file and scan it whole (which reports the damage if it is the file's).
            ForgetCheckpoint("the transactions after the checkpoint do not follow from it");
            tail = ScanFile();
        }
        _changes = new ChangeLog(_lastTid);
        _fileLength = length;
        if (!readOnly && tail == TailState.Incomplete) RemoveIncompleteTail();
        if (!readOnly)
        {
            DeletePackLeftoversAtOpen();
            // Finding them reads the whole directory, which in a folder of thousands of files took most of an
            // open (7.9 ms against 2.9 for a file of 100,000 objects): off the open's path, finished by Dispose.
            _leftoverSweep = Task.Run(() => FileStorageCheckpoint.DeleteLeftovers(path));
        }

        TailState ScanFile()
        {
            TailState state;
            using (var scanner = new FileStorageScanner(file))
                state = ScanTail(scanner, length, log: false, final: false);
            if (state != TailState.Suspect) return state;
            // A scanner of its own: the first one's buffer may hold bytes that were rewritten since.
            using var judge = EnterJudgeLock();
            using var again = new FileStorageScanner(file);
            length = RandomAccess.GetLength(file);
            return ScanTail(again, length, log: false, final: true);
        }
    }

    /// <summary>
    /// Removes an incomplete transaction at the end of the file at once if no one is committing;
    /// otherwise it stays (its writer may be alive and still writing it), and the next commit from
    /// any process removes it under the commit lock if it is still incomplete then.
    /// </summary>
    private void RemoveIncompleteTail()
    {
        if (!_lockFile!.TryEnterCommit()) return;
        try
        {
            CatchUpForCommit(unlinked: true);
        }
        finally
        {
            _lockFile.ExitCommit();
        }
    }

    /// <summary>The full path of the data file, with the symbolic links of the path it was opened by followed.</summary>
    public string FilePath { get; }

    /// <inheritdoc />
    public long LastTid => Volatile.Read(ref _lastTid);

    /// <inheritdoc />
    public bool IsReadOnly { get; }

    /// <summary>How many objects the file holds a revision of (reachable or not: a pack drops the others).</summary>
    internal long ObjectCount
    {
        get
        {
            lock (_stateLock) return _index.Count;
        }
    }

    /// <summary>
    /// Opens the data file at <paramref name="path"/>, creating it if it does not exist (unless read-only).
    /// </summary>
    /// <param name="path">The data file. A lock file named <c>path + ".lock"</c> is kept beside it (a
    /// writer creates it; never delete it while the database is in use), beside the file a symbolic link
    /// leads to when <paramref name="path"/> is one. Every process must reach the file by one name: two
    /// hard links to it have two lock files, which do not exclude each other.</param>
    /// <param name="options">How to open it; null for the defaults (read-write, durable commits).</param>
    /// <exception cref="StorageLockedException">Another program holds the database exclusively (an
    /// offline tool, or an older version of Persistence that allowed one writer only).</exception>
    /// <exception cref="CorruptDatabaseException">The file is damaged.</exception>
    /// <exception cref="PersistenceException">The file is not a Persistence database, is from a newer
    /// version, or cannot be opened (the message says why).</exception>
    public static FileStorage Open(string path, FileStorageOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var readOnly = options?.ReadOnly ?? false;
        var durability = options?.Durability ?? Durability.Durable;
        if (durability is not (Durability.Durable or Durability.Relaxed))
            throw new ArgumentOutOfRangeException(nameof(options), durability, "FileStorageOptions.Durability must be Durable or Relaxed.");
        var pageCacheBytes = options?.PageCacheBytes ?? FileStorageOptions.DefaultPageCacheBytes;
        if (pageCacheBytes < 0)
            throw new ArgumentOutOfRangeException(nameof(options), pageCacheBytes, "PageCacheBytes (of FileStorageOptions or DatabaseOptions) must be 0 (no page cache) or more.");
        // With symbolic links followed: the lock file and the checkpoint sit beside the file itself, so
        // every process that reaches the file, through whatever link, locks the same lock file (beside
        // a link, two writers each locked a file of their own, appended over each other's commits, and
        // lost commits that had returned), and a pack renames its new file over the file, not the link.
        var fullPath = WithLinksResolved(Path.GetFullPath(path));
        // Before the lock file is made beside it: opening a directory fails as a denied access, whose
        // message would send the user to the permissions.
        if (Directory.Exists(fullPath))
            throw new PersistenceException($"{fullPath} is a directory. Give the path of the database file in it (a new database is created where no file exists).");
        FileStorageLock? lockFile = null;
        SafeFileHandle? file = null;
        try
        {
            // A file this open creates is a new database; one that was there, however short, may be a cut one (see CreateHeaderOnce).
            var existed = File.Exists(fullPath);
            lockFile = readOnly ? FileStorageLock.TryOpenForReading(fullPath) : FileStorageLock.OpenForWriting(fullPath);
            file = OpenDataFile(fullPath, readOnly);
            return new FileStorage(fullPath, file, lockFile, readOnly, durability, options?.ReserveFreeSpace ?? true, pageCacheBytes, existed);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Release(fullPath, file, lockFile, e);
            throw new PersistenceException($"Cannot open the database {fullPath}: {e.Message}", e);
        }
        catch (Exception e)
        {
            Release(fullPath, file, lockFile, e);
            throw;
        }
    }

    /// <summary>
    /// Closes what a failed open opened. A lock file the open created beside a file that is not a
    /// database (it does not start with the signature, so every open of it fails, and nothing shows it
    /// held one: see <see cref="HeldDataEvidence"/>) is deleted too, when no other writer has it open: a
    /// mistaken path leaves nothing behind. Where the open judged the file a damaged database
    /// (<paramref name="failure"/>), that judgement stands, rather than look for the evidence again.
    /// </summary>
    private static void Release(string path, SafeFileHandle? file, FileStorageLock? lockFile, Exception failure)
    {
        var notADatabase = false;
        try
        {
            notADatabase = failure is not CorruptDatabaseException && file is not null && !StartsWithSignature(file) && HeldDataEvidence(path, file) is null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Unreadable: not known to be someone else's file, so its lock file stays.
        }
        file?.Dispose();
        if (notADatabase) lockFile?.DisposeDeletingIfUnshared();
        else lockFile?.Dispose();
    }

    /// <inheritdoc />
    public StoredRecord? Load(Oid oid) => LoadRevision(oid, long.MaxValue, _shared);

    /// <inheritdoc />
    public StoredRecord? LoadBefore(Oid oid, long tid) => LoadRevision(oid, tid, _shared);

    /// <summary>
    /// <see cref="LoadBefore(Oid, long)"/> through a reader's own scan windows (<see cref="NewScanReader"/>):
    /// the record's bytes are good only until the next load through <paramref name="scans"/>, whose
    /// scan reads may use their buffer again.
    /// </summary>
    internal StoredRecord? LoadBefore(Oid oid, long tid, ScanReader scans) => LoadRevision(oid, tid, scans);

    /// <inheritdoc />
    public IStorageTransaction Begin()
    {
        ThrowIfDisposed();
        if (IsReadOnly) throw ReadOnlyError();
        CheckpointInBackgroundIfDue();
        return new Transaction(this, TransactionScratch.Take(ref _spareScratch));
    }

    /// <inheritdoc />
    /// <remarks>
    /// First reads the transactions other instances and processes appended since this one last
    /// looked, without waiting for any lock. The oids come from a bounded log of recent commits
    /// (about a million oids at most; a database opened on the storage lets it forget those none of
    /// its connections can still ask for); when <paramref name="sinceTid"/> is older than the log (or
    /// older than when the storage was opened), every oid in the storage is returned instead: a
    /// superset, so a caller that invalidates them stays correct.
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public StorageChanges Poll(long sinceTid)
    {
        ThrowIfDisposed();
        if (!KnowsEveryCommit()) CatchUp(judge: true);
        SwitchIfReplaced(thorough: false);
        if (IsReadOnly) ThrowIfUnlinkedForReading();
        lock (_stateLock)
        {
            ThrowIfDisposed();
            if (sinceTid >= _lastTid) return new StorageChanges(_lastTid, Array.Empty<Oid>());
            // A set kept from poll to poll (under the state lock), and an array as the answer.
            var oids = _polledOids;
            oids.Clear();
            if (!_changes.TryCollect(sinceTid, oids))
            {
                foreach (var oid in _index.Oids)
                    oids.Add(new Oid(oid));
            }
            var changed = new Oid[oids.Count];
            oids.CopyTo(changed);
            ReusedSet.DropIfLarge(ref _polledOids);
            return new StorageChanges(_lastTid, changed);
        }
    }

    /// <inheritdoc />
    bool IKnownChanges.TryCollectKnownChanges(long sinceTid, HashSet<Oid> into)
    {
        lock (_stateLock) return _changes.TryCollect(sinceTid, into);
    }

    /// <inheritdoc />
    int IKnownChanges.KnownChangeCount => _changes.Count;

    /// <inheritdoc />
    void IKnownChanges.ForgetChangesThrough(long tid)
    {
        lock (_stateLock) _changes.ForgetThrough(tid);
    }

    /// <inheritdoc />
    /// <remarks>Reads the file as it was committed when this method was called; checks every checksum.
    /// A pack that replaces the file meanwhile ends the iteration with a <see cref="PersistenceException"/>
    /// once this instance closes the old file: when it switches to the packed one, or, where it keeps
    /// the old file for the snapshots of a database's connections, when they have moved on.</remarks>
    public IEnumerable<StoredRecord> Iterate()
    {
        ThrowIfDisposed();
        lock (_stateLock) return IterateUpTo(_file, _end);
    }

    /// <summary>
    /// Closes the file and the lock file. A commit that is writing completes first, and what this
    /// instance appended is flushed to disk (which matters for <see cref="Durability.Relaxed"/>); a
    /// transaction that voted but did not finish fails with <see cref="ObjectDisposedException"/>.
    /// </summary>
    /// <exception cref="PersistenceException">The final flush failed (the files are closed anyway).</exception>
    public void Dispose()
    {
        lock (_stateLock)
        {
            if (_disposed) return;
            _disposed = true;
        }
        _disposing.Cancel();
        // Closing the file under a write could let the next writer cut the tail while the write lands.
        _notWriting.Wait();
        try
        {
            // A program this process starts right now holds a copy of the lock file's descriptor until it runs, so
            // the answer may be "others" when there are none: the checkpoint and the cut are then left to a later close.
            if (!IsReadOnly && _lockFile is { SharesUse: true }) _othersStillOpen = !_lockFile.TryEnterSoleUse();
            if (!IsReadOnly && _failure is null)
            {
                var epoch = FileEpoch;
                MakeDurable(Volatile.Read(ref _appendedEnd), epoch);
                ReturnUnusedOids();
                TrimFreeSpace();
            }
        }
        finally
        {
            CheckpointAtClose();
            // Waited for so that nothing of this storage runs past its Dispose; it is only tidying, so it fails nothing.
            try
            {
                _leftoverSweep?.Wait();
            }
            catch (AggregateException)
            {
            }
            _file.Dispose();
            _index.ReleasePending();
            ReleaseAllReplacedFiles();
            _lockFile?.Dispose();
            lock (_catchUpLock) _catchUpScanner?.Dispose();
        }
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
                $"{path} cannot be opened for writing ({e.Message}). Fix its permissions, or open it read-only (DatabaseOptions.ReadOnly or FileStorageOptions.ReadOnly).", e);
        }
    }

    /// <summary>
    /// Whether the file's first bytes are the signature, or the start of it (all of a shorter file;
    /// an empty file too). A file shorter than a header that does is a creation that was interrupted;
    /// one that does not is someone else's file, which <see cref="CheckHeader"/> refuses.
    /// </summary>
    private static bool StartsWithSignature(SafeFileHandle file)
    {
        Span<byte> bytes = stackalloc byte[Signature.Length];
        var read = ReadAt(file, 0, bytes);
        return bytes[..read].SequenceEqual(Signature[..read]);
    }

    /// <summary>
    /// Whether a transaction header (its checksum holding) follows where the file header ends: then a file
    /// that lacks the signature is a database whose header was damaged (a page of zeros, say), not someone
    /// else's file.
    /// </summary>
    internal static bool HasTransactionAfterHeader(SafeFileHandle file)
    {
        Span<byte> bytes = stackalloc byte[TransactionHeaderSize];
        return ReadAt(file, FileHeaderSize, bytes) == TransactionHeaderSize && TryReadTransactionHeader(bytes, out _);
    }

    // How far into a file without the signature a complete transaction is looked for (see HeldDataEvidence):
    // a damaged first page leaves the next one soon after it, and someone else's large file is not read whole.
    private const long EvidenceSearchBytes = 16 << 20;

    /// <summary>
    /// What shows that the file at <paramref name="path"/>, whose first bytes are not a database's header
    /// (it lacks the signature, or is shorter than a header), held a database: a transaction header
    /// whose checksum holds at offset 64, the durable end its lock file records, the end its index
    /// checkpoint covers, or a complete transaction in its first 16 MB. Worded to follow "yet"; null if
    /// nothing does (someone else's file, or a creation that was interrupted).
    /// </summary>
    internal static string? HeldDataEvidence(string path, SafeFileHandle file)
    {
        if (HasTransactionAfterHeader(file)) return "the transactions of a database follow it";
        if (FileStorageLock.RecordedDurableEnd(path) is var durableEnd and >= FileHeaderSize)
            return $"the lock file {path}.lock records that the database was on disk up to offset {durableEnd}";
        if (FileStorageCheckpoint.CoveredEndOfAny(path) is { } covered and >= FileHeaderSize)
            return $"the index checkpoint {FileStorageCheckpoint.PathOf(path)} covers the database up to offset {covered}";
        var length = RandomAccess.GetLength(file);
        using var scanner = new FileStorageScanner(file);
        var found = length > FileHeaderSize ? scanner.FindCompleteTransaction(FileHeaderSize, Math.Min(length, FileHeaderSize + EvidenceSearchBytes), 1) : -1;
        return found < 0 ? null : $"a complete transaction of a database lies at offset {found}";
    }

    /// <summary>The file header of a database lacks the signature (see <see cref="HeldDataEvidence"/>).</summary>
    private static CorruptDatabaseException SignatureDamaged(string path, string evidence) => new(
        $"The file header of {path} lacks the signature, yet {evidence}: the header was damaged " +
        "(FileStorage.Verify checks the transactions)", 0);

    /// <summary>A data file shorter than its header, though something shows it held a database (see <see cref="HeldDataEvidence"/>).</summary>
    private static CorruptDatabaseException CutBelowHeader(string path, long length, string evidence) => new(
        $"{path} is {length} bytes long, shorter than its {FileHeaderSize}-byte header, yet {evidence}: the file was cut short, and is left as it is; " +
        $"if it is a copy put in place on purpose, delete the lock file {path}.lock and the checkpoint {FileStorageCheckpoint.PathOf(path)} while no process has the database open",
        0);

    /// <summary>
    /// Writes the header of a new file, unless another process did so first; true if this one did. A file
    /// that was there before the open (<paramref name="existed"/>) and is shorter than a header is a
    /// database cut short, not one being created, if its lock file or checkpoint shows it held one: it is
    /// refused and left as it is.
    /// </summary>
    private bool CreateHeaderOnce(ref long length, bool existed)
    {
        // Several processes may be creating the database at once: they take turns under the commit
        // lock, and only the first writes the header (a second would wipe the first one's commits).
        _lockFile!.EnterCommit();
        try
        {
            length = RandomAccess.GetLength(_file);
            if (length >= FileHeaderSize || !StartsWithSignature(_file)) return false;
            if ((existed || length > 0) && HeldDataEvidence(FilePath, _file) is { } evidence) throw CutBelowHeader(FilePath, length, evidence);
            Span<byte> header = stackalloc byte[FileHeaderSize];
            WriteFileHeader(header, Guid.NewGuid());
            try
            {
                RandomAccess.SetLength(_file, 0);
                RandomAccess.Write(_file, header, 0);
                RandomAccess.FlushToDisk(_file);
            }
            catch (IOException e)
            {
                throw new PersistenceException(
                    $"Cannot create the database {FilePath}: {PersistenceException.Sentence(e)} Free disk space (or fix what the message names) and open it again: that open finishes creating it.", e);
            }
            length = FileHeaderSize;
            return true;
        }
        finally
        {
            _lockFile.ExitCommit();
        }
    }

    private void CheckHeader(long length)
    {
        Span<byte> bytes = stackalloc byte[FileHeaderSize];
        var read = ReadAt(0, bytes[..(int)Math.Min(length, FileHeaderSize)]);
        if (read < FileHeaderSize)
        {
            var prefix = Math.Min(read, Signature.Length);
            if (!bytes[..prefix].SequenceEqual(Signature[..prefix])) throw new PersistenceException(NotADatabaseMessage);
            if (HeldDataEvidence(FilePath, _file) is { } evidence) throw CutBelowHeader(FilePath, read, evidence);
            throw new PersistenceException(
                $"{FilePath} is not a complete Persistence database yet (it is {read} bytes long: being created, or its creation was interrupted). " +
                "Open it for writing once to finish creating it.");
        }
        var header = ReadFileHeader(bytes);
        if (!header.SignatureMatches) throw HeldDataEvidence(FilePath, _file) is { } evidence ? SignatureDamaged(FilePath, evidence) : new PersistenceException(NotADatabaseMessage);
        _databaseId = header.DatabaseId;
        _lockFile?.Bind(header.DatabaseId, ReadFileId(bytes));
        if (header.ChecksumMatches && header.Version == FormatVersion && header.HeaderSize == FileHeaderSize) return;
        // The version is believed only when the checksum holds: a flipped bit there is damage, not a newer file.
        if (header.ChecksumMatches && header.Version > FormatVersion)
            throw new PersistenceException(
                $"{FilePath} was written by a newer version of Persistence (file format {header.Version}; this version reads format {FormatVersion}). " +
                "Open it with a newer version of Persistence.");
        if (header.ChecksumMatches && header.Version < FormatVersion)
            throw new PersistenceException(
                $"{FilePath} is in file format {header.Version}, which a development version of Persistence wrote before the format changed; " +
                $"this version reads format {FormatVersion} (docs/FORMAT.md). Copy the objects out with the version that wrote it, or create the database anew.");
        throw new CorruptDatabaseException("The file header of " + FilePath + " is damaged", 0);
    }

    private string NotADatabaseMessage =>
        $"{FilePath} is not a Persistence database: it does not start with the file storage signature. " +
        "Check the path; a new database is created only where no file exists.";

    /// <summary>
    /// Reads the transactions from <see cref="_end"/> to <paramref name="length"/> into the index,
    /// stopping before an incomplete tail and throwing on damage.
    /// </summary>
    /// <param name="scanner">Reads the file.</param>
    /// <param name="length">Where to stop reading.</param>
    /// <param name="log">Whether to record the oids in the change log (for <see cref="Poll"/>).</param>
    /// <param name="final">Whether no one can be appending meanwhile (the commit lock is held, or no
    /// writer can exist), so that a failed transaction with complete ones after it is surely damage.</param>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private TailState ScanTail(FileStorageScanner scanner, long length, bool log, bool final)
    {
        var position = _end;
        while (true)
        {
            // The lock file's durable end, read once and only where a transaction does not read whole.
            long? durableEnd = null;
            switch (scanner.ReadTransaction(position, length, RecordBytes.None, out var header, out var problem))
            {
                case ScanOutcome.End:
                    return TailState.None;
                case ScanOutcome.Torn:
                    durableEnd = DurableEndForJudging();
                    if (!FlushedWhole(position, header.Length, length, durableEnd.Value)) return TailState.Incomplete;
                    goto case ScanOutcome.Damaged;
                case ScanOutcome.Complete:
                    Apply(header, position, scanner.Records, log);
                    position += header.Length;
                    break;
                case ScanOutcome.Free:
                    // Zeros where the next header would start: free space if the rest of the file is zero
                    // too. Checked once: after that, only appends write there (each starts with a header,
                    // so the bytes at the end are zero until one does) and reservations, which write zeros.
                    // Anything else there is what a system crash left (later pages of a lost write).
                    if (_freeSpaceChecked || (scanner.IsFree(position, length) && !FlushedWhole(position, 0, length, (durableEnd = DurableEndForJudging()).Value)))
                    {
                        _freeSpaceChecked = true;
                        return TailState.Free;
                    }
                    goto case ScanOutcome.Damaged;
                case ScanOutcome.Damaged:
                    // A damaged transaction with a complete one after it was not the last write:
                    // it was damaged after it was acknowledged. Search after its declared length
                    // when its header can be trusted, so record bytes that happen to look like a
                    // transaction cannot mislead.
                    var from = header.Length > 0 ? position + header.Length : position + 1;
                    var followed = from < length && scanner.FindCompleteTransaction(from, length, _lastTid + 1) >= 0;
                    durableEnd ??= DurableEndForJudging();
                    // The last transaction is what a crash interrupts, unless the lock file shows it was
                    // flushed whole: then it was damaged after it was acknowledged, as one in the middle.
                    // One with complete ones after it past the last flush is a lost tail too: a system
                    // crash may leave later pages on disk and lose earlier ones (the disk need not write
                    // them in order), and nothing there was acknowledged as durable. Before it, every
                    // byte was flushed.
                    if (followed ? position >= durableEnd : !FlushedWhole(position, header.Length, length, durableEnd.Value))
                        return TailState.Incomplete;
                    // Without the commit lock, what looks like damage may be a race: a writer removing
                    // what a killed writer left while this scan read half old bytes, half new ones.
                    if (!final) return TailState.Suspect;
                    throw new CorruptDatabaseException(followed
                        ? $"The transaction at this offset of {FilePath} fails its checksum or has no commit marker, yet complete transactions follow it"
                        : DamagedLastTransaction(FilePath), position);
                default:
                    throw new CorruptDatabaseException($"{problem} in {FilePath}", position);
            }
        }
    }

    /// <summary>
    /// The offset up to which the data file is known to be on disk (from the lock file), or
    /// <see cref="long.MaxValue"/> when it is not known: then every failed transaction with complete
    /// ones after it is judged damage, the safe verdict.
    /// </summary>
    private long DurableEndForJudging()
    {
        if (_lockFile is null) return long.MaxValue;
        var state = _lockFile.ReadState();
        return state.Valid && state.DurableEnd >= 0 ? state.DurableEnd : long.MaxValue;
    }

    /// <summary>
    /// Whether the transaction starting at <paramref name="position"/>, the last one the file holds, was
    /// flushed whole: the lock file's durable end (the end of a transaction) lies beyond its start, the
    /// file reaches that end, and the transaction's header, if it can be trusted, does not say it ends
    /// after it. Every byte before the durable end was on disk, so such a transaction failing its checks,
    /// or zeros in its place, is damage, not the unfinished write of a crash. A file shorter than the
    /// durable end, or a header that runs past it, is not the file the lock file speaks of (an older copy,
    /// whose end a crash may have cut).
    /// </summary>
    /// <param name="position">Where the transaction starts.</param>
    /// <param name="declaredLength">Its length as its header gives it, 0 when the header cannot be trusted.</param>
    /// <param name="length">The file's length.</param>
    /// <param name="durableEnd">The durable end, <see cref="long.MaxValue"/> when unknown.</param>
    internal static bool FlushedWhole(long position, long declaredLength, long length, long durableEnd) =>
        position < durableEnd && durableEnd <= length && (declaredLength <= 0 || declaredLength <= durableEnd - position);

    /// <summary>The damage a last transaction flushed whole shows (see FlushedWhole), with what to do about it.</summary>
    private static string DamagedLastTransaction(string path) =>
        $"The last transaction of {path} fails its checksum or is cut short, yet the lock file {path}.lock shows it was flushed to disk whole: " +
        "it was damaged since, and is not removed as a crash's unfinished write would be. FileStorage.Verify lists every damaged transaction. " +
        "(If the file was put in place from a copy taken while the database was in use, delete the lock file while no process has the database " +
        "open, and open it again: the copy's unfinished end is then removed.)";

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Apply(TransactionHeader header, long position, List<ScannedRecord> records, bool log)
    {
        if (header.Tid <= _lastTid) throw TidNotIncreasing(header, position);
        lock (_stateLock)
        {
            // Check everything before changing anything, so a failed catch-up leaves the index as it was.
            foreach (var record in records)
            {
                var previous = _index.Find(record.Oid);
                if (record.Previous != previous) throw BrokenRevisionChain(record, previous);
            }
            foreach (var record in records)
            {
                _index.Set(record.Oid, record.Offset);
                _revisionTids.Remember(record.Oid, record.Offset, header.Tid);
                OidAllocator.MoveBeyond(ref _lastOid, new Oid(record.Oid));
                if (log) _changes.Add(header.Tid, record.Oid);
            }
            if (log) _changes.Trim();
            Volatile.Write(ref _lastTid, header.Tid);
            Volatile.Write(ref _end, position + header.Length);
        }
        Interlocked.Increment(ref _transactionsScanned);
    }

    // Apply's errors, built apart from it, which is compiled optimized on first use.
    private CorruptDatabaseException TidNotIncreasing(TransactionHeader header, long position) => new(
        $"The transaction at this offset of {FilePath} has tid {header.Tid}, not greater than the previous transaction's {_lastTid}", position);

    private CorruptDatabaseException BrokenRevisionChain(ScannedRecord record, long previous) => new(
        $"The record in {FilePath} links to a previous revision at offset {record.Previous}, but the object's newest revision is at offset {previous}",
        record.Offset, new Oid(record.Oid));

    /// <summary>
    /// Reads what other instances and processes appended since this one last looked, without waiting
    /// for the commit lock. If the end of the file looks damaged, and <paramref name="judge"/>, the
    /// verdict is taken again while no one can be appending.
    /// </summary>
    private void CatchUp(bool judge)
    {
        TailState tail;
        lock (_catchUpLock) tail = CatchUpCore(final: false);
        if (tail != TailState.Suspect || !judge) return;
        using var judgeLock = EnterJudgeLock();
        lock (_catchUpLock) CatchUpCore(final: true);
    }

    /// <summary>Reads the transactions appended after <see cref="_end"/>; called with <see cref="_catchUpLock"/> held.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private TailState CatchUpCore(bool final)
    {
        // Every commit the lock file counts was appended before it was counted, so those counted
        // before this catch-up reads are in what it reads (see KnowsEveryCommit).
        var counted = CommitCount();
        Interlocked.Increment(ref _catchUps);
        var tail = ReadNews(final, expectNothing: Knows(counted));
        // A suspect end stopped the reading early: what follows it is not known yet.
        Volatile.Write(ref _knownCommits, tail == TailState.Suspect ? NoKnownCommits : counted ?? NoKnownCommits);
        return tail;
    }

    /// <summary>
    /// Whether this instance knows every transaction the lock file counted (see
    /// <see cref="FlushSignal.Committed"/>): then there is nothing new in the file to read, and a look at
    /// its end would find only what this instance appended itself. Every writer counts each commit after
    /// appending it and before the commit returns (one without the mapping marks the lock file, and
    /// then the count answers nothing), so a commit that returned before this look is counted in it.
    /// </summary>
    /// <remarks>
    /// <see cref="_knownCommits"/> is a count up to which every counted commit is known here: set by
    /// each catch-up to the count it read before reading the file, and moved on by this instance's own
    /// commit only from the count just before it (no one else's came in between). A stale mark only
    /// costs a read.
    /// </remarks>
    private bool KnowsEveryCommit() => Knows(CommitCount());

    /// <summary>The lock file's count of commits (see <see cref="FlushSignal.Committed"/>), or null where it cannot be trusted or read.</summary>
    private long? CommitCount() => _lockFile?.Signal is { } signal && signal.TryReadCommits(out var commits) ? commits : null;

    /// <summary>Whether every commit up to <paramref name="counted"/> is known here (see <see cref="KnowsEveryCommit"/>).</summary>
    private bool Knows(long? counted) => counted is { } count && count == Volatile.Read(ref _knownCommits);

    /// <summary>
    /// The reading of <see cref="CatchUpCore"/>; <paramref name="expectNothing"/> when the lock file's
    /// count says no one committed since this instance last knew the file's end (see
    /// <see cref="KnowsEveryCommit"/>): the look at the end then reads only what it looks at.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private TailState ReadNews(bool final, bool expectNothing)
    {
        var end = Volatile.Read(ref _end);
        var file = _file;
        var scanner = CatchUpScanner(file);
        // Free space follows the data: zeros where the next header would start mean nothing was
        // appended. The read that looks also brings what was, for the scan (one read call per catch-up),
        // unless the count says nothing was: a commit, which looks under the commit lock whatever the
        // count says (a writer that died while appending counted nothing), then reads the header's 32
        // bytes instead of 4 KB of zeros (W2 on tmpfs, fastest rounds: 8.8-9.0 -> 8.4-8.7 us a transaction).
        if (_freeSpaceChecked && scanner.IsZeroAt(end, TransactionHeaderSize, readAhead: !expectNothing)) return TailState.Free;
        // Free space ends where this instance last saw the file end, or further (writers only add to
        // it): scanned up to there, the news normally ends at zeros, and the file's length need not be
        // asked for. If it ends otherwise (at that length, or torn by it), the file may have grown
        // meanwhile, or been cut short outside Persistence: its length is looked at and the scan goes on.
        var tail = TailState.None;
        if (_freeSpaceChecked && _fileLength > end) tail = ScanTail(scanner, _fileLength, log: true, final);
        if (tail != TailState.Free)
        {
            var length = RandomAccess.GetLength(file);
            _fileLength = length;
            var from = Volatile.Read(ref _end);
            if (length < from)
                throw new PersistenceException(
                    $"{FilePath} is now shorter than the transactions this storage already read: it was replaced or truncated outside Persistence. Open it again.");
            tail = length == from ? TailState.None : ScanTail(scanner, length, log: true, final);
        }
        var scanned = Volatile.Read(ref _end);
        if (scanned > end) ExtendRecentTail(file, end, scanner.Buffered(end, scanned));
        return tail;
    }

    /// <summary>The scanner catch-ups read <paramref name="file"/> with, kept from one to the next; with <see cref="_catchUpLock"/> held.</summary>
    private FileStorageScanner CatchUpScanner(SafeFileHandle file)
    {
        if (_catchUpScanner is { } kept && kept.Reads(file))
        {
            kept.Restart();
            return kept;
        }
        _catchUpScanner?.Dispose();
        return _catchUpScanner = new FileStorageScanner(file);
    }

    /// <summary>
    /// Takes the commit lock shared, through an open of the lock file of its own (so it waits for this
    /// instance's commits too), to judge the end of the file while no one appends. Null when there is
    /// no lock file to lock: then no writer can be appending either. Must not be called by a thread
    /// that holds the commit lock, or while holding <see cref="_catchUpLock"/>.
    /// </summary>
    private FileStorageLock? EnterJudgeLock()
    {
        var judge = FileStorageLock.TryOpenForReading(FilePath);
        judge?.EnterCommit(exclusive: false);
        return judge;
    }

    private IEnumerable<StoredRecord> IterateUpTo(SafeFileHandle file, long end)
    {
        using var scanner = new FileStorageScanner(file);
        long position = FileHeaderSize;
        while (position < end)
        {
            ThrowIfDisposed();
            ScanOutcome outcome;
            TransactionHeader header;
            string? problem;
            try
            {
                outcome = scanner.ReadTransaction(position, end, RecordBytes.Copied, out header, out problem);
            }
            catch (ObjectDisposedException) when (!_disposed)
            {
                throw new PersistenceException($"{FilePath} was packed while it was iterated, and the old file is closed. Iterate again: the packed file holds what the pack kept.");
            }
            if (outcome != ScanOutcome.Complete)
                throw new CorruptDatabaseException(
                    problem is null ? $"The transaction in {FilePath} no longer reads back whole" : $"{problem} in {FilePath}", position);
            foreach (var record in scanner.Records)
                yield return new StoredRecord(new Oid(record.Oid), header.Tid, record.Data);
            position += header.Length;
        }
    }

    private int ReadAt(long offset, Span<byte> into) => ReadAt(_file, offset, into);

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(_disposed, this);

    private StorageLockedException ReadOnlyError() => new(
        $"{FilePath} was opened read-only; open it without ReadOnly (DatabaseOptions or FileStorageOptions) to write (any number of writers may have it open).");

    private PersistenceException FailedError() => new(
        $"An earlier write error left the end of {FilePath} in an unknown state ({_failure}); nothing more can be committed through this instance. " +
        "Dispose it and open the file again: opening removes an incomplete transaction.");

    /// <summary>The tid of the newest revision of an object; called at vote, with the commit lock held.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private long CurrentSerial(Oid oid)
    {
        // An oid above every oid stored has no revision: with the commit lock held, after the catch-up
        // that entering it made, every transaction is known here, so no record under such an oid can
        // be in the file. The objects a commit creates are all there (a bulk insert's thousand a
        // commit), and the look in the index under the lock was a lock and an unlock each. Not once an
        // oid of 2^63 - 1 or above is stored (imported): the counter stops there (OidAllocator), so it no
        // longer says which oids are above every stored one.
        var lastOid = Volatile.Read(ref _lastOid);
        if (lastOid != long.MaxValue && oid.Value > (ulong)lastOid) return 0;
        long offset;
        lock (_stateLock)
        {
            offset = _index.Find(oid.Value);
            if (offset == 0) return 0;
            if (_revisionTids.TryGet(oid.Value, offset, out var known)) return known;
        }
        Span<byte> header = stackalloc byte[MaxDataHeaderSize];
        if (!TryReadDataHeader(header[..ReadAt(offset, header)], offset, out var record)) throw HeaderCutShort(offset, oid);
        if (record.Oid != oid.Value) throw IndexPointsElsewhere(record, offset, oid);
        lock (_stateLock) _revisionTids.Remember(oid.Value, offset, record.Tid);
        return record.Tid;
    }

    /// <summary>Refuses a commit once a write error left the end of the file unknown.</summary>
    private void ThrowIfFailed()
    {
        if (_failure is not null) throw FailedError();
    }

    /// <summary>
    /// The length of the transaction <see cref="Write"/> writes for <paramref name="stores"/> at
    /// <paramref name="start"/> (a record header's size depends on where it and the object's previous
    /// revision are); called under the same locks.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private long TransactionLength(List<PendingStore> stores, long tid, long start)
    {
        var position = start + TransactionHeaderSize;
        foreach (var store in stores)
        {
            var oid = store.Oid.Value;
            position += DataHeaderSize(oid, tid, _index.Find(oid), position, store.Data.Length) + store.Data.Length;
        }
        return position + TrailerSize - start;
    }

    /// <summary>
    /// Takes the commit lock for a vote: first this process's turn, then the turn among processes;
    /// then reads what the others appended, so the conflict check sees it, and removes what a writer
    /// that died while appending left at the end.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void EnterCommitLock()
    {
        // Whether the data file was deleted or replaced is looked at before the lock is waited for (a
        // system call, which under the lock lengthened every process's wait for it: with the lock
        // file's, W7's 8 writers lost about a tenth of their commits a second), and again under it only
        // when it looked deleted, where a pack's switch is told apart (see ThrowIfUnlinked). A file
        // deleted between the two loses this commit as it would lose one made just before: it is
        // refused from the next on. The lock file is looked at under the lock, every time: a writer
        // past a deleted lock file could write over the commits of one that locks its successor.
        var unlinked = FileLinks.IsDeleted(Volatile.Read(ref _file));
        try
        {
            _commitLock.Wait(_disposing.Token);
        }
        catch (OperationCanceledException)
        {
            throw new ObjectDisposedException(nameof(FileStorage));
        }
        try
        {
            ThrowIfDisposed();
            _lockFile!.EnterCommit();
            try
            {
                CatchUpForCommit(unlinked);
            }
            catch
            {
                _lockFile.ExitCommit();
                throw;
            }
        }
        catch
        {
            _commitLock.Release();
            throw;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void LeaveCommitLock()
    {
        try
        {
            _lockFile!.ExitCommit();
        }
        finally
        {
            _commitLock.Release();
        }
    }

    /// <summary>
    /// Refuses to append (with the commit lock held, after any switch to a packed file) when the data
    /// file or the lock file was deleted, or had another file renamed over it, since this storage opened
    /// it: the transaction would go to a file no one can open again and be lost when this storage closes,
    /// or, past a lock file that others no longer lock, could be written over another writer's.
    /// </summary>
    private void ThrowIfUnlinked(bool dataFile)
    {
        if (dataFile && FileLinks.IsDeleted(_file))
            throw new PersistenceException(
                $"{FilePath} was deleted, or replaced by a file moved over it, while this storage had it open: what it commits would be lost when it closes, so nothing is committed. " +
                "Open the database again (restore the file from a backup if it was deleted by mistake).");
        if (_lockFile!.IsDeleted)
            throw new PersistenceException(
                $"The lock file {_lockFile.Path} was deleted or replaced while {FilePath} was open: writers that open the database now lock another file and do not wait for this one, " +
                "so their commits could overwrite each other's; nothing is committed. Close every program that uses the database and open it again (never delete the lock file while the database is in use).");
    }

    /// <summary>
    /// Refuses to go on reading a data file that was deleted, or had a copy moved over it (the same
    /// database and file id, so no switch): a reader has no commit of its own to be refused, and would
    /// read the nameless file as the database for as long as it is open, never seeing a later commit.
    /// A pack's file renamed over it since the look at the path is switched to first.
    /// </summary>
    private void ThrowIfUnlinkedForReading()
    {
        if (!FileLinks.IsDeleted(Volatile.Read(ref _file))) return;
        // A pack's rename over the file drops its link count before the path leads to the new file: the
        // header read at the path may still be this file's, and no switch is made. Still the file at the
        // path is a rename in progress; past it, the next look switches. Packs one after another can
        // leave a reader a file behind more than once, so it looks a few times before it refuses.
        for (var look = 0; look < 4; look++)
        {
            SwitchIfReplaced(thorough: true);
            var file = Volatile.Read(ref _file);
            if (!FileLinks.IsDeleted(file) || FileLinks.IsAtPath(file, FilePath)) return;
            Thread.Yield();
        }
        throw new PersistenceException(
                $"{FilePath} was deleted, or replaced by a file moved over it, while this storage had it open: what it reads is no longer the database at that path. " +
                "Dispose this storage and open the file again.");
    }

    /// <summary>
    /// Before an incomplete tail is cut off: refuses when the file's header is no longer the one this
    /// storage opened, because another file was copied over it in place (<c>cp</c> of another database,
    /// or of a backup from before a pack): its bytes after this storage's end are that file's
    /// transactions, not a crash's leftovers, and cutting them and appending would ruin both.
    /// </summary>
    private void ThrowIfOverwritten()
    {
        if (TryReadIdentity(_file, out var databaseId, out var fileId) && databaseId == _databaseId && fileId == _fileId) return;
        throw new PersistenceException(
            $"{FilePath} was overwritten outside Persistence while this storage had it open (it now starts with another file's header); nothing is committed and nothing in it is cut. " +
            "Dispose this storage and open the file again.");
    }

    /// <summary>
    /// Catches up with the file's end with the commit lock held, where every verdict is final; refuses
    /// to go on if the lock file was deleted, or if <paramref name="unlinked"/> (a look before the lock
    /// found the data file deleted) and it still is once a pack's file is switched to.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void CatchUpForCommit(bool unlinked)
    {
        // Before anything is appended: if a pack replaced the file, append to the new one. A pack makes
        // the shared state name its new file before it renames it over this one (and no one else makes
        // the state name a file without checking the path under the commit lock), so a state that
        // names this file says no pack replaced it, without reading the header at the path.
        var state = _lockFile!.ReadState();
        if (!state.Valid)
        {
            SwitchIfReplaced(thorough: true);
            state = _lockFile.ReadState();
        }
        ThrowIfUnlinked(dataFile: unlinked);
        lock (_catchUpLock)
        {
            // With the commit lock held no one appends: the verdict on the end is final.
            if (CatchUpCore(final: true) == TailState.Incomplete)
            {
                // Whatever follows the last complete transaction was left by a writer that died (or
                // failed) while appending. It goes before this transaction is appended right after the
                // last complete one; flushed, so that a crash cannot bring back old bytes after the new
                // transaction. Nothing is left after the end, so no check of free space is needed.
                ThrowIfOverwritten();
                RandomAccess.SetLength(_file, _end);
                RandomAccess.FlushToDisk(_file);
                _freeSpaceChecked = true;
            }
        }
        if (!state.Valid)
        {
            // No state, or one that names another file while this one is at the path (a pack that
            // failed before its rename, a lock file replaced or damaged): make it name this file.
            _lockFile.Claim(-1);
            state = state with { Kind = LockStateKind.ThisFile, DurableEnd = -1 };
        }
        else if (state.DurableEnd > Volatile.Read(ref _end))
        {
            // Only ever set to the end of a transaction that was in the file (read before catching up,
            // so it is at most where the complete transactions end now): this data file is not the one
            // the lock file speaks of (it was replaced by an older copy). Trusting it could skip a flush.
            _lockFile.ForgetDurableEnd();
            state = state with { DurableEnd = -1 };
        }
        _durableEndKnown = state.Valid && state.DurableEnd >= 0;
    }

    /// <summary>
    /// Appends a transaction (with both commit locks held) and makes it visible to this process; the
    /// caller then waits for the disk with <see cref="MakeDurable"/> after releasing the locks.
    /// </summary>
    /// <param name="stores">The records.</param>
    /// <param name="end">Where the appended transaction ends; 0 if nothing was appended.</param>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private long Commit(List<PendingStore> stores, out long end)
    {
        end = 0;
        // A transaction that only checked objects has nothing to make durable and takes no tid.
        if (stores.Count == 0) return LastTid;
        lock (_stateLock)
        {
            ThrowIfDisposed();
            if (_failure is not null) throw FailedError();
            _notWriting.Reset();
        }
        try
        {
            // This instance's readers must not catch up with the transaction while it is written: it
            // joins the index below, and reading it from the file too would add it twice.
            lock (_catchUpLock)
            {
                var start = _end;
                var tid = _lastTid + 1;
                var length = TransactionLength(stores, tid, start);
                if (_recordOffsets.Length < stores.Count) _recordOffsets = new long[Math.Max(stores.Count, 2 * _recordOffsets.Length)];
                bool buffered;
                try
                {
                    buffered = Write(stores, tid, start, length);
                }
                catch (Exception e)
                {
                    // Any failure (a full disk surfaces as IOException, a file size limit as
                    // ArgumentOutOfRangeException) may have left part of the transaction behind.
                    RollBack(start, e);
                    throw new PersistenceException(
                        $"Could not write the transaction to {FilePath}: {PersistenceException.Sentence(e)} Nothing of it was committed; fix the cause (e.g. free disk space) and retry.", e);
                }
                lock (_stateLock)
                {
                    for (var i = 0; i < stores.Count; i++)
                    {
                        var oid = stores[i].Oid;
                        _index.Set(oid.Value, _recordOffsets[i]);
                        _revisionTids.Remember(oid.Value, _recordOffsets[i], tid);
                        OidAllocator.MoveBeyond(ref _lastOid, oid);
                        _changes.Add(tid, oid.Value);
                    }
                    _changes.Trim();
                    Volatile.Write(ref _lastTid, tid);
                    Volatile.Write(ref _end, start + length);
                }
                end = start + length;
                if (buffered) ExtendRecentTail(_file, start, _writeBuffer.AsSpan(0, (int)length));
                Volatile.Write(ref _appendedEnd, end);
                NoteFreeSpace(end, length);
                return tid;
            }
        }
        finally
        {
            _notWriting.Set();
        }
    }

    /// <summary>After the commit locks are released: waits until the transaction ending at <paramref name="end"/> is on disk, unless durability is relaxed.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void CompleteCommit(long end, long epoch)
    {
        if (end == 0) return;
        var signal = _lockFile?.Signal;
        // Counted before it returns, so others' next looks see it (see KnowsEveryCommit); if the count
        // before it was known here, this commit is the only one since.
        if (signal?.Committed() is { } counted) Interlocked.CompareExchange(ref _knownCommits, counted, unchecked(counted - 1));
        // A relaxed commit still flushes while the durable end is unknown (a new lock file), so that a
        // later system crash can tell a lost tail from damage (see ScanTail).
        if (_durability == Durability.Relaxed && _durableEndKnown) return;
        signal?.Appended();
        CommitStep?.Invoke("appended");
        MakeDurable(end, epoch);
        if (Volatile.Read(ref _reservationFor) != 0) ReserveNoted();
    }

    /// <summary>Called with the name of each step a commit reaches after its append (tests hold a commit there).</summary>
    internal Action<string>? CommitStep { get; set; }

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
    /// buffer, and fills <see cref="_recordOffsets"/>. Called with the commit lock and
    /// <see cref="_catchUpLock"/> held: the index is read without the state lock because only the
    /// commit path and catching up change it. Returns whether the write buffer holds the whole
    /// transaction.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private bool Write(List<PendingStore> stores, long tid, long start, long length)
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
            if (buffer.Length - filled < MaxDataHeaderSize) Flush();
            var headerSize = WriteDataHeader(buffer.AsSpan(filled), store.Oid.Value, tid, _index.Find(store.Oid.Value), position, data);
            filled += headerSize;
            _recordOffsets[i] = position;
            position += headerSize + data.Length;
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
        if (position + TrailerSize != start + length) throw LengthMismatch(position + TrailerSize - start, length);
        if (buffer.Length - filled < TrailerSize) Flush();
        crc = Crc32C.Append(crc, buffer.AsSpan(0, filled));
        WriteTrailer(buffer.AsSpan(filled), length, crc);
        filled += TrailerSize;
        RandomAccess.Write(_file, buffer.AsSpan(0, filled), flushedTo);
        return flushedTo == start;

        void Flush()
        {
            var bytes = buffer.AsSpan(0, filled);
            crc = Crc32C.Append(crc, bytes);
            RandomAccess.Write(_file, bytes, flushedTo);
            flushedTo += filled;
            filled = 0;
        }
    }

    // Built apart from Write, which is compiled optimized on first use.
    private static InvalidOperationException LengthMismatch(long took, long length) =>
        new($"The transaction's records took {took} bytes where its length says {length}.");

    private byte[] WriteBuffer(long length)
    {
        if (_writeBuffer.Length >= Math.Min(length, MaxWriteBufferSize)) return _writeBuffer;
        var size = InitialWriteBufferSize;
        while (size < length && size < MaxWriteBufferSize) size *= 2;
        return _writeBuffer = new byte[size];
    }

    private sealed class Transaction(FileStorage storage, TransactionScratch scratch) : StorageTransactionBase(scratch)
    {
        private long _end;
        // The file epoch the transaction was appended in (see FileStorage.Switch.cs).
        private long _epoch;

        protected override void ThrowIfStorageDisposed() => storage.ThrowIfDisposed();

        protected override void EnterCommit() => storage.EnterCommitLock();

        protected override void LeaveCommit() => storage.LeaveCommitLock();

        protected override void Recycle(TransactionScratch scratch) => TransactionScratch.Recycle(ref storage._spareScratch, scratch);

        protected override long CurrentSerial(Oid oid) => storage.CurrentSerial(oid);

        protected override void PrepareCommit()
        {
            storage.ThrowIfFailed();
            storage.ThrowIfLinksDropped(Stores, StoredOids);
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        protected override long CommitCore()
        {
            var tid = storage.Commit(Stores, out _end);
            _epoch = storage.FileEpoch;
            return tid;
        }

        protected override void CompleteCommit() => storage.CompleteCommit(_end, _epoch);
    }

    /// <summary>How a scan of the file's end ended.</summary>
    private enum TailState
    {
        /// <summary>Every byte belongs to a complete transaction.</summary>
        None,

        /// <summary>An incomplete transaction (or a lost tail) follows the last complete one.</summary>
        Incomplete,

        /// <summary>Free space follows the last complete transaction: zeros up to the end of the file.</summary>
        Free,

        /// <summary>What follows looks damaged, but someone may be appending: judge again under the commit lock.</summary>
        Suspect,
    }
}
