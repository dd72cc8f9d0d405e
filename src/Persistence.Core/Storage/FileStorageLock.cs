using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Persistence.Storage;

/// <summary>
/// The lock file beside a data file (<c>data file + ".lock"</c>): the locks that let many processes
/// write one data file, and the little state they share (docs/FORMAT.md, "Lock file").
/// </summary>
/// <remarks>
/// <para>Every storage that has the data file open holds the lock file open with a shared
/// <c>flock</c> (what .NET takes for a shared open on Unix), so a program that wants the database
/// to itself (an offline tool, or a Persistence from before several writers were allowed, which
/// opened it exclusively) is refused while storages use it, and refuses them while it does.</para>
/// <para>One-byte locks (<see cref="FileRangeLock"/>, released by the operating system when a
/// process dies, also by <c>kill -9</c>), each past the state so that locking never blocks reading it:</para>
/// <list type="bullet">
/// <item><description>the commit lock: held exclusively by the one writer that catches up with the
/// file's end, checks for conflicts and appends a transaction, from vote to finish (never while waiting
/// for the disk); taken shared by a reader that must judge the file's end while no one appends;</description></item>
/// <item><description>the sync turn: held by the process that is flushing the data file to disk, so the
/// others wait for that flush and then find their transactions already covered by it (group commit
/// across processes);</description></item>
/// <item><description>the state lock: held for the few microseconds it takes to read or rewrite the state
/// (raising the durable end after a flush needs none where the lock file is mapped: the durable hint
/// beside the state, see <see cref="RaiseDurableEnd"/>);</description></item>
/// <item><description>the pack lock (a fourth byte, only ever tried, never waited for): held by the
/// process that packs the file, so two packs do not run at once and a running pack's files are not
/// taken for an interrupted one's leftovers.</description></item>
/// </list>
/// <para>No one takes the commit lock or the sync turn while holding the state lock, and no one waits
/// for the commit lock while holding the sync turn, so they cannot deadlock.</para>
/// <para>The lock file is never deleted: deleting it could remove a file another process has just
/// opened and locked, and processes that lock different files do not exclude each other. Do not delete
/// it while the database is in use, nor truncate it: on Linux writers map its first 128 bytes
/// (<see cref="FlushSignal"/>).</para>
/// </remarks>
internal sealed class FileStorageLock : IDisposable
{
    /// <summary>The size of the state at the start of the lock file.</summary>
    public const int StateSize = 64;

    private const long CommitByte = 1024;
    internal const long SyncByte = 1025;
    private const long StateByte = 1026;
    // Held by the process that packs the data file, for the whole pack (FileStorage.Pack).
    private const long PackByte = 1027;
    // Held shared by every writer's open for as long as it is open (Linux), so the last to close can
    // tell that it is the last (FileStorage.TrimFreeSpace).
    private const long UsersByte = 1028;
    private const uint StateVersion = 1;
    private const int ChecksumOffset = 60;

    private readonly FileStream _stream;
    // Taken from the stream once: every use of FileStream.SafeFileHandle costs a seek system call.
    private readonly Microsoft.Win32.SafeHandles.SafeFileHandle _handle;
    private readonly FileRangeLock _locks;
    // Byte locks belong to the open file, not to a thread: two threads of this process taking the state
    // lock through it would both "hold" it, and one's release would drop the other's. The storage
    // serializes the commit lock and the sync turn itself; this serializes the state lock.
    private readonly Lock _stateGate = new();
    private Guid _databaseId;
    private ulong _fileId;
    // The database id's part of the durable hint's tag (see HintTag).
    private ulong _databaseMix;

    private FileStorageLock(string path, FileStream stream, bool canWrite, bool map = true)
    {
        Path = path;
        _stream = stream;
        _handle = stream.SafeFileHandle;
        _locks = new FileRangeLock(stream, _handle, path);
        CanWrite = canWrite;
        if (canWrite && map && OperatingSystem.IsLinux()) WriteMappedBytes();
        Signal = canWrite && map ? FlushSignal.TryCreate(_handle) : null;
        // A writer that cannot count its commits where the others look for them says so (Linux, where
        // the others map the lock file: see FlushSignal.TryReadCommits).
        if (canWrite && Signal is null && OperatingSystem.IsLinux()) FlushSignal.MarkUnmappedWriter(_handle);
        SharesUse = canWrite && _locks.TryEnterWhereShared(UsersByte, exclusive: false);
    }

    /// <summary>
    /// Before a writer maps the lock file (<see cref="FlushSignal"/>): writes zeros where the file is
    /// shorter than the mapping, so the mapped bytes have room on the disk. Mapping grows a short file by
    /// its size alone, and on a full disk the first touch of such bytes through the mapping then kills
    /// the process (SIGBUS) instead of failing a call. A lock file already that long whose state is all
    /// zeros may be such a size alone (left by a process that died before it wrote the state): its state
    /// is written as the zeros it reads. Under the state lock, and only past the end or over zeros no
    /// writer has written a state into, so no state another writer has written is overwritten.
    /// </summary>
    /// <exception cref="PersistenceException">The zeros could not be written (a full disk, say).</exception>
    private void WriteMappedBytes()
    {
        _locks.Enter(StateByte, exclusive: true);
        try
        {
            var length = RandomAccess.GetLength(_handle);
            if (length < FlushSignal.MappedLength)
            {
                RandomAccess.Write(_handle, new byte[FlushSignal.MappedLength - length], length);
                return;
            }
            Span<byte> state = stackalloc byte[StateSize];
            if (RandomAccess.Read(_handle, state, 0) == StateSize && !state.ContainsAnyExcept((byte)0)) RandomAccess.Write(_handle, state, 0);
        }
        catch (IOException e)
        {
            throw new PersistenceException(
                $"Cannot write the lock file {Path} ({e.Message}), so the database cannot be opened for writing. " +
                "Free disk space and open it again, or open it read-only (DatabaseOptions.ReadOnly or FileStorageOptions.ReadOnly).", e);
        }
        finally
        {
            _locks.Exit(StateByte);
        }
    }

    /// <summary>Whether this open holds its share of the users byte (a writer's open on Linux), so <see cref="TryEnterSoleUse"/> can tell whether it is the only writer.</summary>
    public bool SharesUse { get; }

    /// <summary>
    /// True when no other writer has the database open: this open's share of the users byte is then
    /// exclusive (until it closes), and writers that open meanwhile wait. False when others have it
    /// open, or where it cannot be told (<see cref="SharesUse"/> false).
    /// </summary>
    public bool TryEnterSoleUse() => SharesUse && _locks.TryEnterWhereShared(UsersByte, exclusive: true);

    /// <summary>
    /// Whether other writers have the database open (they share the users byte); true where it cannot
    /// be told. One system call, no lock taken: a writer may open right after it answers.
    /// </summary>
    public bool OthersShareUse() => !SharesUse || _locks.IsHeldByOthers(UsersByte);

    /// <summary>Wakes the processes waiting for a flush when one ends (a writer's open on Linux), or null.</summary>
    public FlushSignal? Signal { get; }

    /// <summary>The lock file's full path.</summary>
    public string Path { get; }

    /// <summary>Whether the lock file open here was deleted, or replaced by another moved over its path (Linux; false where that cannot be told).</summary>
    public bool IsDeleted => FileLinks.IsDeleted(_handle);

    /// <summary>Whether this open may change the state (a writer's open).</summary>
    public bool CanWrite { get; }

    /// <summary>"PSTLOCK\n", the first bytes of the state.</summary>
    private static ReadOnlySpan<byte> Magic => [(byte)'P', (byte)'S', (byte)'T', (byte)'L', (byte)'O', (byte)'C', (byte)'K', 0x0A];

    /// <summary>Opens (creating if needed) the lock file of the data file at <paramref name="dataPath"/> for a writer.</summary>
    /// <exception cref="StorageLockedException">A program holds the lock file exclusively.</exception>
    /// <exception cref="PersistenceException">The lock file cannot be created or opened (the message says what to do).</exception>
    /// <param name="dataPath">The data file's path.</param>
    /// <param name="map">False to open it as a writer does where the lock file cannot be mapped (for tests).</param>
    public static FileStorageLock OpenForWriting(string dataPath, bool map = true)
    {
        var path = dataPath + ".lock";
        try
        {
            // Without byte-range locks (macOS) only one process may write: it holds the lock file exclusively.
            var share = OperatingSystem.IsMacOS() ? FileShare.None : FileShare.ReadWrite | FileShare.Delete;
            var stream = CreateOrOpen(path, share, out var created);
            try
            {
                return new FileStorageLock(path, stream, canWrite: true, map) { Created = created };
            }
            catch
            {
                stream.Dispose();
                throw;
            }
        }
        catch (UnauthorizedAccessException e)
        {
            throw new PersistenceException(
                $"Cannot create or open the lock file {path}, so {dataPath} cannot be opened for writing ({e.Message}). " +
                "Make the directory and the lock file writable, or open the database read-only (DatabaseOptions.ReadOnly or FileStorageOptions.ReadOnly).", e);
        }
        catch (DirectoryNotFoundException e)
        {
            throw new PersistenceException($"The directory of {dataPath} does not exist. Create it first, or check the path.", e);
        }
        catch (IOException e) when (IsSharingViolation(e))
        {
            throw new StorageLockedException(
                $"The database {dataPath} is held exclusively by another program (it locked {path}): an offline tool, an older version of Persistence " +
                "that allows one writer only, or on macOS another writer. Close that program first, or open this one read-only (DatabaseOptions.ReadOnly or FileStorageOptions.ReadOnly).", e);
        }
        catch (IOException e)
        {
            // Said apart from a lock: on a read-only file system the lock file can be neither created nor
            // opened for writing, and no other program is to blame.
            throw new PersistenceException(
                $"Cannot create or open the lock file {path}, so {dataPath} cannot be opened for writing ({e.Message}). " +
                "On a read-only file system (a read-only mount, a disc, a snapshot) open the database read-only (DatabaseOptions.ReadOnly or FileStorageOptions.ReadOnly); otherwise check the directory and the disk.", e);
        }
    }

    /// <summary>
    /// Whether an open failed because another program holds the file exclusively: on Unix .NET reports
    /// the lock it could not take as EWOULDBLOCK, on Windows as a sharing or lock violation. Any other
    /// failure (a read-only file system, an I/O error) says nothing about other programs.
    /// </summary>
    private static bool IsSharingViolation(IOException e)
    {
        const int ERROR_SHARING_VIOLATION = 32, ERROR_LOCK_VIOLATION = 33;
        if (OperatingSystem.IsWindows()) return (e.HResult & 0xFFFF) is ERROR_SHARING_VIOLATION or ERROR_LOCK_VIOLATION;
        var wouldBlock = OperatingSystem.IsLinux() ? 11 : 35;
        return e.HResult == wouldBlock;
    }

    /// <summary>How long <see cref="HasWriters"/> looks again at a share it saw before it answers that a writer has the database open.</summary>
    private static readonly TimeSpan ClosingWriterGrace = TimeSpan.FromMilliseconds(500);

    /// <summary>
    /// Whether writers have the database at <paramref name="dataPath"/> open now, told by its lock
    /// file's users byte without opening it as a writer does (which marks the lock file), or by a
    /// program holding the lock file exclusively (an offline tool, an older version); false where that
    /// cannot be told: no lock file, or no open file description locks (not Linux).
    /// </summary>
    /// <remarks>
    /// A writer's share is released when the last descriptor of its lock file closes, and a process
    /// that starts another program at the moment a writer in it closes lends the new process its
    /// descriptors until that program starts (a few milliseconds, more on a busy machine). So a share that is seen is looked
    /// at again for up to <see cref="ClosingWriterGrace"/> before the answer is yes.
    /// </remarks>
    public static bool HasWriters(string dataPath)
    {
        var path = dataPath + ".lock";
        if (!FileRangeLock.CanTellHolders || !File.Exists(path)) return false;
        try
        {
            // A reader's open, which leaves no mark in the lock file.
            using var reader = OpenForReading(path);
            var deadline = Environment.TickCount64 + (long)ClosingWriterGrace.TotalMilliseconds;
            while (reader._locks.HeldByOthers(UsersByte) ?? false)
            {
                if (Environment.TickCount64 >= deadline) return true;
                Thread.Sleep(5);
            }
            return false;
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException or UnauthorizedAccessException)
        {
            return false;
        }
        catch (IOException)
        {
            // The open was refused for sharing: a program holds the lock file exclusively.
            return true;
        }
    }

    /// <summary>Creates the lock file, or opens it if it exists; <paramref name="created"/> says which (see <see cref="DisposeDeletingIfUnshared"/>).</summary>
    private static FileStream CreateOrOpen(string path, FileShare share, out bool created)
    {
        try
        {
            created = true;
            return new FileStream(path, FileMode.CreateNew, FileAccess.ReadWrite, share, bufferSize: 1);
        }
        catch (IOException) when (File.Exists(path))
        {
            created = false;
            return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, share, bufferSize: 1);
        }
    }

    /// <summary>Whether this open created the lock file (a writer's open that found none).</summary>
    public bool Created { get; private init; }

    /// <summary>
    /// Closes the lock file, deleting it first if this open created it and no other writer has it
    /// open (where that can be told: on Linux by the users byte, on macOS the open is exclusive).
    /// For an open that failed because the data file is not a database, which every open of it does.
    /// </summary>
    public void DisposeDeletingIfUnshared()
    {
        try
        {
            if (Created && (SharesUse ? TryEnterSoleUse() : OperatingSystem.IsMacOS())) File.Delete(Path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // It stays, as a lock file of a database does.
        }
        Dispose();
    }

    /// <summary>
    /// Opens the lock file of <paramref name="dataPath"/> for a reader, or returns null when there is none
    /// or it cannot be read (a read-only directory without one, a file this user may not read, an
    /// exclusive holder): a reader then works without the shared state.
    /// </summary>
    public static FileStorageLock? TryOpenForReading(string dataPath)
    {
        try
        {
            return OpenForReading(dataPath + ".lock");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>
    /// The durable end the lock file of <paramref name="dataPath"/> records, of whichever data file and
    /// database its state names (the larger of the state's and the durable hint's), or -1 if it has no
    /// state whose checksum holds. For judging a data file whose header is gone: a recorded end says a
    /// database was on disk at this path up to there.
    /// </summary>
    public static long RecordedDurableEnd(string dataPath)
    {
        try
        {
            using var stream = new FileStream(dataPath + ".lock", FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, bufferSize: 1);
            Span<byte> bytes = stackalloc byte[FlushSignal.DurableHintOffset + sizeof(long)];
            var read = stream.ReadAtLeast(bytes, bytes.Length, throwOnEndOfStream: false);
            if (!StateHolds(bytes, read)) return -1;
            var durableEnd = BinaryPrimitives.ReadInt64LittleEndian(bytes[48..]);
            var hint = read == bytes.Length ? MemoryMarshal.Read<long>(bytes[FlushSignal.DurableHintOffset..]) : 0;
            return hint == 0 ? durableEnd : Math.Max(durableEnd, hint & FlushSignal.LargestHintedEnd);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return -1;
        }
    }

    /// <summary>Opens the lock file at <paramref name="path"/> as a reader does: shared, taking no lock and writing nothing.</summary>
    private static FileStorageLock OpenForReading(string path) =>
        new(path, new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, bufferSize: 1), canWrite: false);

    /// <summary>Waits for the commit lock: exclusively to append, shared to judge the file's end while no one appends.</summary>
    public void EnterCommit(bool exclusive = true) => _locks.Enter(CommitByte, exclusive);

    /// <summary>Takes the commit lock if it is free.</summary>
    public bool TryEnterCommit() => _locks.TryEnter(CommitByte, exclusive: true);

    /// <summary>Releases the commit lock.</summary>
    public void ExitCommit() => _locks.Exit(CommitByte);

    /// <summary>Takes the pack lock if no process holds it: one pack at a time, and a live pack's files are not leftovers.</summary>
    public bool TryEnterPack() => _locks.TryEnter(PackByte, exclusive: true);

    /// <summary>Releases the pack lock.</summary>
    public void ExitPack() => _locks.Exit(PackByte);

    /// <summary>Waits for the turn to flush the data file.</summary>
    public void EnterSync() => _locks.Enter(SyncByte, exclusive: true);

    /// <summary>Takes the turn to flush the data file if no one has it.</summary>
    public bool TryEnterSync() => _locks.TryEnter(SyncByte, exclusive: true);

    /// <summary>Ends the turn to flush the data file.</summary>
    public void ExitSync() => _locks.Exit(SyncByte);

    /// <summary>
    /// Says which data file the state belongs to, from its header: a state written for another
    /// database is ignored (and replaced by a writer), and one written for another file of this
    /// database (before a pack replaced it) keeps its oid mark but not its durable end.
    /// </summary>
    public void Bind(Guid databaseId, ulong fileId)
    {
        _databaseId = databaseId;
        _fileId = fileId;
        Span<byte> id = stackalloc byte[16];
        databaseId.TryWriteBytes(id);
        _databaseMix = BinaryPrimitives.ReadUInt64LittleEndian(id) ^ BinaryPrimitives.ReadUInt64LittleEndian(id[8..]);
    }

    /// <summary>
    /// Reads the shared state. Without the state lock first: the state is one 64-byte write with a
    /// checksum, so a read that races a rewrite fails the checksum and is taken again under the lock.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public LockState ReadState()
    {
        var state = Read();
        if (state.Kind != LockStateKind.Unknown) return state;
        lock (_stateGate)
        {
            _locks.Enter(StateByte, exclusive: false);
            try
            {
                return Read();
            }
            finally
            {
                _locks.Exit(StateByte);
            }
        }
    }

    /// <summary>
    /// Starts a state where there is none (a new lock file, a damaged state or another database's),
    /// with no oids reserved and the durable end unknown, or <paramref name="durableEnd"/> when the
    /// caller knows it (it just created and flushed the file). A state that names another file of this
    /// database is left alone: only a writer holding the commit lock may change which file it names
    /// (<see cref="Claim"/>).
    /// </summary>
    public void Initialize(long durableEnd)
    {
        Update((_fileId, durableEnd), static (state, a) => state.Kind == LockStateKind.Unknown ? state with { Kind = LockStateKind.ThisFile, FileId = a._fileId, DurableEnd = a.durableEnd } : state);
    }

    /// <summary>
    /// Makes the state name the bound data file (keeping the oid mark), with the durable end
    /// <paramref name="durableEnd"/> if it named another file or none. Called with the commit lock held,
    /// by a writer that has just checked which file is at the path, or by a pack before it renames its
    /// new file over the data file: every writer reads at its next commit that the file was replaced.
    /// </summary>
    public void Claim(long durableEnd)
    {
        Update((_fileId, durableEnd), static (state, a) => state.Kind == LockStateKind.ThisFile ? state : state with { Kind = LockStateKind.ThisFile, FileId = a._fileId, DurableEnd = a.durableEnd });
    }

    /// <summary>
    /// Reserves <paramref name="count"/> oids above both the high-water mark and
    /// <paramref name="highestStored"/>, and returns the first.
    /// </summary>
    public ulong ReserveOids(ulong highestStored, int count)
    {
        var after = Update((_fileId, highestStored, count), static (state, a) =>
        {
            var mark = Math.Max(state.OidMark, a.highestStored);
            if (mark > ulong.MaxValue - (ulong)a.count)
                throw new PersistenceException("The database has used up its oids (2^64); no new object can be stored.");
            // The mark belongs to the database, not to one file: a state that names another file keeps naming it.
            return state.Kind == LockStateKind.Unknown
                ? state with { Kind = LockStateKind.ThisFile, FileId = a._fileId, OidMark = mark + (ulong)a.count }
                : state with { OidMark = mark + (ulong)a.count };
        });
        // The block is the last count oids below the new mark.
        return after.OidMark - (ulong)count + 1;
    }

    /// <summary>Gives back the unused end of a block of oids, if no one reserved after it.</summary>
    public void ReturnOids(ulong blockLast, ulong firstUnused)
    {
        Update((blockLast, firstUnused), static (state, a) => state.Kind != LockStateKind.Unknown && state.OidMark == a.blockLast && a.firstUnused > 0 ? state with { OidMark = a.firstUnused - 1 } : state);
    }

    /// <summary>Records that the data file is on disk up to <paramref name="durableEnd"/> (only ever raises it; only in a state that names this file).</summary>
    public void RaiseDurableEnd(long durableEnd)
    {
        // Where the lock file is mapped, into the durable hint beside the state: one atomic exchange,
        // not the state lock's two system calls and a rewrite (every durable commit of a writer alone
        // raises it). The state is read without its lock first, to raise it only for the file it names.
        if (Signal is { } signal && durableEnd <= FlushSignal.LargestHintedEnd)
        {
            var state = Read();
            if (state.Kind == LockStateKind.OtherFile) return;
            if (state.Kind == LockStateKind.ThisFile && (durableEnd <= state.DurableEnd || signal.TryRaiseDurableHint(HintTag(state.FileId), durableEnd))) return;
        }
        Update(durableEnd, static (state, durableEnd) => state.Valid && durableEnd > state.DurableEnd ? state with { DurableEnd = durableEnd } : state);
    }

    /// <summary>
    /// The tag of the data file <paramref name="fileId"/> of this database in the durable hint: 16 bits
    /// of a mix of both ids (the same in every process), never 0. A hint for another file (one a pack
    /// replaced) is ignored unless the tags collide, and a writer raises it only while the state names
    /// its file, so a stale one needs both a pack between that look and the raise and a collision.
    /// </summary>
    public ushort HintTag(ulong fileId)
    {
        var x = _databaseMix ^ (fileId * 0x9E3779B97F4A7C15);
        x ^= x >> 29;
        x *= 0xBF58476D1CE4E5B9;
        x ^= x >> 32;
        var tag = (ushort)(x >> 48);
        return tag == 0 ? (ushort)1 : tag;
    }

    /// <summary>Forgets the durable end (the data file no longer matches it, e.g. it was replaced by an older copy).</summary>
    public void ForgetDurableEnd()
    {
        Update(0, static (state, _) => state.Valid ? state with { DurableEnd = -1 } : state);
    }

    /// <summary>Closes the lock file, releasing every lock this open holds.</summary>
    public void Dispose()
    {
        Signal?.Dispose();
        _stream.Dispose();
    }

    /// <summary>Changes the state under its lock (the change takes its arguments as <paramref name="argument"/>, so a call allocates no closure); returns the state after.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private LockState Update<TArgument>(TArgument argument, Func<LockState, TArgument, LockState> change)
    {
        if (!CanWrite) throw new InvalidOperationException("The lock file was opened for reading.");
        lock (_stateGate)
        {
            _locks.Enter(StateByte, exclusive: true);
            try
            {
                var before = Read();
                var after = change(before, argument);
                if (after != before)
                {
                    // The state now holds the durable end the hint held (Read takes the larger of the two).
                    Write(after);
                    ClearDurableHint();
                }
                return after;
            }
            finally
            {
                _locks.Exit(StateByte);
            }
        }
    }

    /// <summary>
    /// Clears the durable hint (state lock held, the state just written): through the mapping, or, for a
    /// writer without it, with a write call, so that a durable end the state forgot or a file it no longer
    /// names does not live on in the hint. A write racing a raise through a mapping may tear the hint;
    /// either half left alone reads as no hint or a smaller durable end, both safe.
    /// </summary>
    private void ClearDurableHint()
    {
        if (Signal is { } signal) signal.ClearDurableHint();
        else RandomAccess.Write(_handle, stackalloc byte[sizeof(long)], FlushSignal.DurableHintOffset);
    }

    /// <summary>Whether <paramref name="read"/> bytes read of a lock file hold a state: its magic, version and checksum.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool StateHolds(ReadOnlySpan<byte> bytes, int read) =>
        read >= StateSize
        && bytes[..8].SequenceEqual(Magic)
        && BinaryPrimitives.ReadUInt32LittleEndian(bytes[8..]) == StateVersion
        && BinaryPrimitives.ReadUInt32LittleEndian(bytes[ChecksumOffset..]) == Crc32C.Compute(bytes[..ChecksumOffset]);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private LockState Read()
    {
        // The state and, for a reader without the mapping, the durable hint after it, in one read call.
        Span<byte> bytes = stackalloc byte[FlushSignal.DurableHintOffset + sizeof(long)];
        // A writer on Linux reads it from its mapping of the lock file (the same bytes as a read; one that
        // races a rewrite fails the checksum as a read would).
        var read = Signal is { } mapped && mapped.TryRead(bytes[..StateSize]) ? StateSize : 0;
        var unmapped = read == 0;
        while (unmapped && read < bytes.Length)
        {
            var n = RandomAccess.Read(_handle, bytes[read..], read);
            if (n == 0) break;
            read += n;
        }
        if (!StateHolds(bytes, read) || new Guid(bytes[16..32]) != _databaseId) return LockState.Unknown;
        var fileId = BinaryPrimitives.ReadUInt64LittleEndian(bytes[32..]);
        var durableEnd = BinaryPrimitives.ReadInt64LittleEndian(bytes[48..]);
        // Raised since the state was last written (see RaiseDurableEnd), for the file the state names.
        // The tag of the file read, not a field: Bind (a switch on another thread) sets the file id and
        // a tag kept apart would be a pair of writes a read could see half of.
        var tag = HintTag(fileId);
        if (!unmapped) durableEnd = Math.Max(durableEnd, Signal!.DurableHint(tag));
        else if (read == bytes.Length) durableEnd = Math.Max(durableEnd, FlushSignal.HintedEnd(MemoryMarshal.Read<long>(bytes[FlushSignal.DurableHintOffset..]), tag));
        return new LockState(
            fileId == _fileId ? LockStateKind.ThisFile : LockStateKind.OtherFile,
            fileId,
            BinaryPrimitives.ReadUInt64LittleEndian(bytes[40..]),
            durableEnd);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Write(LockState state)
    {
        Span<byte> bytes = stackalloc byte[StateSize];
        bytes.Clear();
        Magic.CopyTo(bytes);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes[8..], StateVersion);
        _databaseId.TryWriteBytes(bytes[16..32]);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes[32..], state.FileId);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes[40..], state.OidMark);
        BinaryPrimitives.WriteInt64LittleEndian(bytes[48..], state.DurableEnd);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes[ChecksumOffset..], Crc32C.Compute(bytes[..ChecksumOffset]));
        // Not flushed to disk: after a system crash a stale state is safe (see FileStorage's oid
        // reservation and durable end), and a torn one fails its checksum and starts over. Through
        // the mapping where there is one: the same bytes for every reader, without a write call.
        if (Signal is { } mapped && mapped.TryWrite(bytes)) return;
        RandomAccess.Write(_handle, bytes, 0);
    }
}

/// <summary>Whom the state in the lock file speaks of.</summary>
internal enum LockStateKind
{
    /// <summary>No state (a new lock file, a damaged state, or one of another database).</summary>
    Unknown,

    /// <summary>A state for another file of this database: one a pack replaced, or the packed file that replaced this one.</summary>
    OtherFile,

    /// <summary>A state for the bound data file.</summary>
    ThisFile,
}

/// <summary>The state processes share in the lock file.</summary>
/// <param name="Kind">Whether it is a state for the bound data file.</param>
/// <param name="FileId">The file id it names.</param>
/// <param name="OidMark">The highest oid reserved by any process (0: none).</param>
/// <param name="DurableEnd">The named data file is on disk up to this offset, the end of a transaction; -1 if unknown.</param>
internal readonly record struct LockState(LockStateKind Kind, ulong FileId, ulong OidMark, long DurableEnd)
{
    /// <summary>No state: nothing reserved, nothing known durable.</summary>
    public static LockState Unknown => new(LockStateKind.Unknown, 0, 0, -1);

    /// <summary>Whether the state speaks of the bound data file (its durable end is this file's).</summary>
    public bool Valid => Kind == LockStateKind.ThisFile;
}
