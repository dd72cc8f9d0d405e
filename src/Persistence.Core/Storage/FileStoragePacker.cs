using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;
using Persistence.Serialization;
using static Persistence.Storage.FileStorageFormat;

namespace Persistence.Storage;

/// <summary>
/// Writes the packed copy of a data file (<see cref="FileStorage.Pack"/> decides when, and swaps it in).
/// </summary>
/// <remarks>
/// <para>Three steps, each reading the old file with positional reads while others use it:</para>
/// <list type="number">
/// <item><description><see cref="Mark"/>: from the root and the catalog, follow the reference lists
/// (<see cref="RecordFormat"/>, never the state) of the revisions to keep, level by level, each
/// level read in file order: an object's newest revision, and, for history, each older one that was
/// still current after the chosen tid. What it remembers is the set of oids reached (a bit each) and
/// the offsets of the revisions to keep: memory grows with the live data, not with the file. It
/// checks each record's header but not its checksum: everything it reads of a record (header and
/// reference list) belongs to a revision it keeps, and the copy checks the checksum of every kept
/// revision before anything is replaced, so damage still stops the pack.</description></item>
/// <item><description><see cref="CopyKept"/>: copy those revisions in file order (so tids keep
/// rising), each checked against its checksum, into transactions of their original tids; the
/// previous-revision offsets are rewritten to the new file's, and a record's checksum is computed
/// anew only if its previous-revision offset changed (it covers that offset).</description></item>
/// <item><description><see cref="CopyTail"/>: copy whole every transaction committed since the
/// snapshot, as often as needed to catch up; the last time with the commit lock held.</description></item>
/// </list>
/// <para>A process usually packs once, so the loops over every record are compiled fully optimized
/// on first use (<see cref="MethodImplOptions.AggressiveOptimization"/>) rather than starting as
/// unoptimized code that the runtime would only replace after the pack is over.</para>
/// </remarks>
internal sealed class FileStoragePacker : IDisposable
{
    private const int RecordReadSize = 512;
    private const int WindowSize = 1 << 20;
    // What the copy buffers before it writes to the new file and asks the disk to start writing it.
    private const int FlushSize = 1 << 20;

    private readonly string _sourcePath;
    private readonly SafeFileHandle _source;
    private readonly FileStorageIndex _snapshot;
    private readonly long _snapshotEnd;
    private readonly long _keepAfterTid;
    private readonly CancellationToken _cancel;
    private readonly OidSet _reached = new();
    private readonly HashSet<ulong> _tailReferences = [];
    private long[] _kept = new long[1024];
    // The flush of what CopyKept wrote, running while the pack catches up (StartFlush).
    private Task? _earlyFlush;
    private int _keptCount;
    private readonly RecordWindow _window;

    // The transaction being written, and what precedes it that is not yet in the file.
    private byte[] _out = new byte[FlushSize + (64 << 10)];
    private int _outLength;
    private long _outStart;
    private int _transactionStart = -1;
    private long _transactionTid;
    private uint _transactionRecords;
    private long _lastTid;

    /// <summary>Starts a pack of <paramref name="source"/> as it was at <paramref name="snapshotEnd"/>.</summary>
    /// <param name="sourcePath">The data file's path, for messages.</param>
    /// <param name="source">The data file.</param>
    /// <param name="snapshot">The index at <paramref name="snapshotEnd"/>.</param>
    /// <param name="snapshotEnd">The end of the last transaction the snapshot covers.</param>
    /// <param name="keepAfterTid">Keep what a reader whose snapshot is this tid or later can see.</param>
    /// <param name="target">The new file, empty, open for writing.</param>
    /// <param name="databaseId">The database id for the new file's header.</param>
    /// <param name="fileId">The new file's id (not the old one's).</param>
    /// <param name="oidFloor">The highest oid the database has stored, for the new file's header.</param>
    /// <param name="cancel">Stops the pack (the storage is being closed).</param>
    public FileStoragePacker(string sourcePath, SafeFileHandle source, FileStorageIndex snapshot, long snapshotEnd, long keepAfterTid,
        SafeFileHandle target, Guid databaseId, ulong fileId, ulong oidFloor, CancellationToken cancel)
    {
        _sourcePath = sourcePath;
        _source = source;
        _snapshot = snapshot;
        _snapshotEnd = snapshotEnd;
        _keepAfterTid = keepAfterTid;
        _cancel = cancel;
        _window = new RecordWindow(sourcePath, source, snapshotEnd);
        Target = target;
        FileId = fileId;
        WriteFileHeader(_out, databaseId, fileId, oidFloor);
        _outLength = FileHeaderSize;
        CopiedTo = snapshotEnd;
    }

    /// <summary>The new file.</summary>
    public SafeFileHandle Target { get; }

    /// <summary>The new file's id.</summary>
    public ulong FileId { get; }

    /// <summary>Where each object's newest revision is in the new file.</summary>
    public FileStorageIndex Index { get; } = new();

    /// <summary>The end of the new file (what is written and buffered).</summary>
    public long End => _outStart + _outLength;

    /// <summary>The tid of the last transaction in the new file (0 if none).</summary>
    public long LastTid => _lastTid;

    /// <summary>The checksum of the last transaction in the new file, as in its trailer (0 if none).</summary>
    public uint LastChecksum { get; private set; }

    /// <summary>How far the old file is copied: everything before this offset that is kept is in the new file.</summary>
    public long CopiedTo { get; private set; }

    /// <summary>The revisions copied.</summary>
    public long RevisionsCopied { get; private set; }

    /// <summary>The bytes of data records (headers and records) copied.</summary>
    public long RecordBytesCopied { get; private set; }

    /// <summary>The objects reached from the roots.</summary>
    public long ObjectsReached { get; private set; }

    /// <summary>The revisions <see cref="Mark"/> chose to keep.</summary>
    public long RevisionsMarked => _keptCount;

    /// <summary>The bytes of the revisions <see cref="Mark"/> chose to keep (headers included), as they are in the old file.</summary>
    public long BytesMarked { get; private set; }

    /// <summary>
    /// Whether <see cref="Mark"/> found nothing to drop: every object with a revision is reachable and
    /// every revision of each is kept, so the packed file would hold the same records as the old one.
    /// </summary>
    public bool DropsNothing => !_dropsRevisions && ObjectsReached == _snapshot.Count;

    // Whether some kept object has an older revision that is not kept.
    private bool _dropsRevisions;

    /// <summary>Finds the revisions to keep: everything reachable from the root and the catalog.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Mark()
    {
        var level = new ulong[16];
        var levelCount = 0;
        foreach (var root in (ReadOnlySpan<Oid>)[Oid.Root, Oid.Catalog])
        {
            _reached.Add(root.Value);
            level[levelCount++] = root.Value;
        }
        var next = new ulong[16];
        var offsets = new long[16];
        var oids = new ulong[16];
        while (levelCount > 0)
        {
            var count = 0;
            if (offsets.Length < levelCount)
            {
                offsets = new long[levelCount];
                oids = new ulong[levelCount];
            }
            for (var i = 0; i < levelCount; i++)
            {
                var oid = level[i];
                var newest = _snapshot.Find(oid);
                // A reference to an object that has no revision (never stored, or dropped by an
                // earlier pack) has nothing to keep.
                if (newest == 0) continue;
                offsets[count] = newest;
                oids[count++] = oid;
            }
            // In file order, so a level is read front to back in large pieces rather than at random.
            OffsetSort.Sort(offsets, oids, count);
            var nextCount = 0;
            var ahead = 0;
            for (var k = 0; k < count; k++)
            {
                _cancel.ThrowIfCancellationRequested();
                var offset = offsets[k];
                var oid = oids[k];
                ahead = Math.Max(ahead, k);
                while (ahead + 1 < count && offsets[ahead + 1] < offset + WindowSize - RecordReadSize) ahead++;
                var readUntil = offsets[ahead] + MaxDataHeaderSize + RecordReadSize;
                ObjectsReached++;
                while (offset != 0)
                {
                    var bytes = _window.Record(offset, readUntil, out var header);
                    if (header.Oid != oid) throw NotItsRecord(offset, oid, header.Oid);
                    Keep(offset);
                    BytesMarked += header.Size + header.Length;
                    var record = bytes[header.Size..];
                    if (!RecordFormat.TryGetReferences(record, out var references)) throw UnreadableReferences(record, offset, oid);
                    while (references.TryMoveNext())
                    {
                        var reference = references.Current.Value;
                        // Only objects that have a revision are marked: a reference read from a record
                        // whose checksum the copy will find wrong must not make the marks grow. What is
                        // marked already (most references: a bucket's persons are marked before their
                        // friends are read) is passed over before the index is asked.
                        if (reference == 0 || _reached.Contains(reference) || _snapshot.Find(reference) == 0) continue;
                        _reached.Add(reference);
                        if (nextCount == next.Length) Array.Resize(ref next, next.Length * 2);
                        next[nextCount++] = reference;
                    }
                    if (references.IsDamaged) throw UnreadableReferences(record, offset, oid);
                    // The revision before this one was current until this one's tid: a reader whose
                    // snapshot is the chosen tid or later can see it only if that is after the chosen tid.
                    if (header.Tid <= _keepAfterTid)
                    {
                        _dropsRevisions |= header.Previous != 0;
                        break;
                    }
                    offset = header.Previous;
                    readUntil = offset + MaxDataHeaderSize + RecordReadSize;
                }
            }
            (level, next) = (next, level);
            levelCount = nextCount;
        }
    }

    /// <summary>Copies the revisions <see cref="Mark"/> chose, in file order, into the new file.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void CopyKept()
    {
        OffsetSort.Sort(_kept, null, _keptCount);
        var ahead = 0;
        for (var k = 0; k < _keptCount; k++)
        {
            _cancel.ThrowIfCancellationRequested();
            var offset = _kept[k];
            if (k > 0 && offset == _kept[k - 1]) continue;
            // Read up to the last kept record that starts within a window from here: live data is
            // read in large pieces, and long runs of dropped data are skipped.
            ahead = Math.Max(ahead, k);
            while (ahead + 1 < _keptCount && _kept[ahead + 1] < offset + WindowSize - RecordReadSize) ahead++;
            var bytes = _window.Record(offset, _kept[ahead] + MaxDataHeaderSize + RecordReadSize, out var header);
            if (!_reached.Contains(header.Oid)) throw ChangedWhilePacked(offset, header.Oid);
            var record = bytes[header.Size..];
            var copy = AddRecord(header.Oid, header.Tid, record.Length, out var previous, out var position, out var size);
            WriteDataHeaderFields(copy, header.Oid, header.Tid, previous, position, record.Length);
            // Damage fails the pack, and nothing is replaced. The checksum covers the distance back to
            // the previous revision: a header that came out the same keeps it, one whose previous
            // revision moved (or was dropped) gets a new one.
            var oldHeader = bytes[..header.Size];
            if (CopyChecking(record, copy[size..], DataChecksumStart(oldHeader)) != header.Checksum) throw ChecksumMismatch(offset, header.Oid);
            var checksum = copy[4..size].SequenceEqual(oldHeader[4..]) ? header.Checksum : Crc32C.Append(DataChecksumStart(copy[..size]), record);
            BinaryPrimitives.WriteUInt32LittleEndian(copy, checksum);
        }
        EndTransaction();
        _kept = [];
    }

    /// <summary>
    /// Copies the transactions in [<see cref="CopiedTo"/>, <paramref name="end"/>) of the old file
    /// whole: they were committed after the snapshot, so all of them are kept.
    /// </summary>
    public void CopyTail(long end)
    {
        if (end <= CopiedTo) return;
        using var scanner = new FileStorageScanner(_source);
        var position = CopiedTo;
        while (position < end)
        {
            _cancel.ThrowIfCancellationRequested();
            var outcome = scanner.ReadTransaction(position, end, RecordBytes.Shared, out var header, out var problem);
            if (outcome != ScanOutcome.Complete)
                throw new CorruptDatabaseException(
                    problem is null ? $"The transaction in {_sourcePath} no longer reads back whole while it is packed" : $"{problem} in {_sourcePath}", position);
            if (header.Tid <= _lastTid)
                throw new CorruptDatabaseException($"The transaction in {_sourcePath} has tid {header.Tid}, not greater than the previous transaction's {_lastTid}", position);
            foreach (var record in scanner.Records)
            {
                var data = record.Data.Span;
                if (!RecordFormat.TryGetReferences(data, out var references)) throw UnreadableReferences(data, record.Offset, record.Oid);
                while (references.TryMoveNext()) _tailReferences.Add(references.Current.Value);
                if (references.IsDamaged) throw UnreadableReferences(data, record.Offset, record.Oid);
                var copy = AddRecord(record.Oid, header.Tid, data.Length, out var previous, out var at, out var size);
                WriteDataHeader(copy, record.Oid, header.Tid, previous, at, data);
                data.CopyTo(copy[size..]);
            }
            if (scanner.Records.Count == 0) StartTransaction(header.Tid);
            EndTransaction();
            position += header.Length;
        }
        CopiedTo = end;
    }

    /// <summary>
    /// The first object that a transaction committed during the pack refers to, that the pack
    /// dropped, and that still has a revision in the old file (<paramref name="current"/>), or 0.
    /// </summary>
    /// <remarks>
    /// A connection whose snapshot predates the pack may link an object that had become unreachable
    /// back into the graph; the copy, made from the pack's snapshot, does not have it. Such a pack
    /// is not swapped in; the next attempt starts from a snapshot that includes the link.
    /// </remarks>
    public ulong FindDroppedReference(FileStorageIndex current)
    {
        foreach (var oid in _tailReferences)
        {
            if (oid != 0 && Index.Find(oid) == 0 && current.Find(oid) != 0) return oid;
        }
        return 0;
    }

    /// <summary>
    /// Writes what is buffered and starts flushing the new file to disk on another thread, so that the
    /// flush under the commit lock (<see cref="Flush"/>) has only what is copied after this to write.
    /// </summary>
    public void StartFlush()
    {
        WriteOut();
        _earlyFlush = Task.Run(() => RandomAccess.FlushToDisk(Target));
    }

    /// <summary>Writes what is buffered and flushes the new file to disk (a failed early flush fails here).</summary>
    public void Flush()
    {
        var early = _earlyFlush;
        _earlyFlush = null;
        early?.GetAwaiter().GetResult();
        WriteOut();
        RandomAccess.FlushToDisk(Target);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        // The new file's handle is closed (or deleted) after this: not while it is being flushed. A
        // failed flush fails the pack in Flush; a pack that failed before that has nothing to keep.
        try
        {
            _earlyFlush?.Wait();
        }
        catch (AggregateException)
        {
        }
        _earlyFlush = null;
        _kept = [];
        _out = [];
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Keep(long offset)
    {
        if (_keptCount == _kept.Length) Array.Resize(ref _kept, _kept.Length * 2);
        _kept[_keptCount++] = offset;
    }

    /// <summary>
    /// Makes room for a data record with a record of <paramref name="length"/> bytes at the end of
    /// the transaction being written, starting a new transaction for a new tid, and records it in the
    /// new index. The caller writes the header and the record there.
    /// </summary>
    /// <param name="oid">The object.</param>
    /// <param name="tid">The revision's tid, which becomes its transaction's.</param>
    /// <param name="length">The record's size, header not included.</param>
    /// <param name="previous">Where the object's previous revision is in the new file (0 if none), for the header.</param>
    /// <param name="position">Where the data record starts in the new file, for the header.</param>
    /// <param name="headerSize">The size of its header (<see cref="DataHeaderSize"/>): the record follows it.</param>
    /// <returns>Where to write the data record, header included.</returns>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private Span<byte> AddRecord(ulong oid, long tid, int length, out long previous, out long position, out int headerSize)
    {
        if (_transactionStart < 0 || tid != _transactionTid) StartTransaction(tid);
        position = _outStart + _outLength;
        previous = Index.Find(oid);
        headerSize = DataHeaderSize(oid, tid, previous, position, length);
        var size = headerSize + length;
        // Making room may write out what is buffered, which leaves the position in the file the same.
        if (_out.Length - _outLength < size + TrailerSize) Reserve(size + TrailerSize);
        var at = _outLength;
        Index.Set(oid, position);
        _outLength += size;
        _transactionRecords++;
        RevisionsCopied++;
        RecordBytesCopied += size;
        return _out.AsSpan(at, size);
    }

    /// <summary>Makes <paramref name="tid"/>'s transaction the one being written, ending the one before if it has another tid.</summary>
    private void StartTransaction(long tid)
    {
        if (_transactionStart >= 0)
        {
            if (tid == _transactionTid) return;
            EndTransaction();
        }
        if (tid <= _lastTid)
            throw new CorruptDatabaseException($"The revisions in {_sourcePath} do not have rising tids ({tid} after {_lastTid})", -1);
        if (_outLength >= FlushSize) WriteOut();
        Reserve(TransactionHeaderSize);
        _transactionStart = _outLength;
        _transactionTid = tid;
        _transactionRecords = 0;
        _outLength += TransactionHeaderSize;
    }

    private void EndTransaction()
    {
        if (_transactionStart < 0) return;
        Reserve(TrailerSize);
        var length = _outLength + TrailerSize - _transactionStart;
        WriteTransactionHeader(_out.AsSpan(_transactionStart), _transactionTid, length, _transactionRecords);
        var crc = Crc32C.Compute(_out.AsSpan(_transactionStart, _outLength - _transactionStart));
        WriteTrailer(_out.AsSpan(_outLength), length, crc);
        _outLength += TrailerSize;
        LastChecksum = crc;
        _lastTid = _transactionTid;
        _transactionStart = -1;
    }

    private void Reserve(int bytes)
    {
        if (_out.Length - _outLength >= bytes) return;
        // Only the transaction being written must stay in memory (its header is written last);
        // everything before it goes to the file.
        var keepFrom = _transactionStart >= 0 ? _transactionStart : _outLength;
        if (keepFrom > 0)
        {
            WriteFront(keepFrom);
            _out.AsSpan(keepFrom, _outLength - keepFrom).CopyTo(_out);
            _outLength -= keepFrom;
            if (_transactionStart >= 0) _transactionStart -= keepFrom;
        }
        if (_out.Length - _outLength < bytes)
            Array.Resize(ref _out, (int)Math.Min(Array.MaxLength, Math.Max((long)_out.Length * 2, (long)_outLength + bytes)));
    }

    private void WriteOut()
    {
        if (_transactionStart >= 0) throw new InvalidOperationException("A transaction is still being written.");
        if (_outLength == 0) return;
        WriteFront(_outLength);
        _outLength = 0;
    }

    /// <summary>Writes the first <paramref name="count"/> buffered bytes to the new file, where they belong.</summary>
    private void WriteFront(int count)
    {
        RandomAccess.Write(Target, _out.AsSpan(0, count), _outStart);
        // The disk writes what is copied while the copy goes on, so the flush at the end (under the
        // commit lock, for its tail) finds little left to write.
        FileSystemSync.StartWriteBack(Target, _outStart, count);
        _outStart += count;
    }

    /// <summary>The error for a record whose reference list cannot be read, with the reason <see cref="RecordFormat"/> gives.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private CorruptDatabaseException UnreadableReferences(ReadOnlySpan<byte> record, long offset, ulong oid)
    {
        var reason = "damaged";
        try
        {
            RecordFormat.ReferenceCount(record);
        }
        catch (FormatException e)
        {
            reason = e.Message;
        }
        return new($"The reference list of the record in {_sourcePath} cannot be read ({reason})", offset, new Oid(oid));
    }

    // The errors of the loops over every record are made by calls, so that those loops stay small
    // to compile.

    [MethodImpl(MethodImplOptions.NoInlining)]
    private CorruptDatabaseException NotItsRecord(long offset, ulong oid, ulong found) =>
        new($"The index of {_sourcePath} points at a record of oid {found} here", offset, new Oid(oid));

    [MethodImpl(MethodImplOptions.NoInlining)]
    private CorruptDatabaseException ChangedWhilePacked(long offset, ulong oid) =>
        new($"The record in {_sourcePath} changed while it was being packed", offset, new Oid(oid));

    [MethodImpl(MethodImplOptions.NoInlining)]
    private CorruptDatabaseException ChecksumMismatch(long offset, ulong oid) =>
        new($"The checksum of the record in {_sourcePath} does not match its bytes", offset, new Oid(oid));

    /// <summary>
    /// Copies a record to <paramref name="target"/> and returns the checksum of <paramref name="crc"/>'s
    /// bytes followed by it (as <see cref="Crc32C.Append"/>), so the bytes are read once to be both
    /// checked and copied.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static uint CopyChecking(ReadOnlySpan<byte> source, Span<byte> target, uint crc)
    {
        if (target.Length != source.Length) throw new ArgumentException("The target must be as long as the record.", nameof(target));
        ref var from = ref MemoryMarshal.GetReference(source);
        ref var to = ref MemoryMarshal.GetReference(target);
        // The standard CRC-32C works on the inverted value (as Crc32C.Append).
        crc = ~crc;
        var length = source.Length;
        var i = 0;
        for (; i <= length - 8; i += 8)
        {
            var word = Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref from, i));
            crc = BitOperations.Crc32C(crc, word);
            Unsafe.WriteUnaligned(ref Unsafe.Add(ref to, i), word);
        }
        for (; i < length; i++)
        {
            var b = Unsafe.Add(ref from, i);
            crc = BitOperations.Crc32C(crc, b);
            Unsafe.Add(ref to, i) = b;
        }
        return ~crc;
    }


    /// <summary>
    /// Reads data records of the old file through a buffer of its own: a record that the last read
    /// already brought in costs no call, and a read brings in as much as the caller says it will need.
    /// Every record handed out has a possible header (lengths, tid, previous revision); its checksum
    /// is checked when it is copied (<see cref="CopyChecking"/>).
    /// </summary>
    private sealed class RecordWindow(string path, SafeFileHandle file, long end)
    {
        private byte[] _bytes = new byte[WindowSize];
        private long _start;
        private int _length;

        /// <summary>The data record at <paramref name="offset"/>, header included; a read reaches up to <paramref name="readUntil"/> if it can.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public ReadOnlySpan<byte> Record(long offset, long readUntil, out DataHeader header)
        {
            var reach = DataHeaderReach(offset, end);
            if (offset < _start || offset + reach > _start + _length) Fill(offset, readUntil);
            var at = (int)(offset - _start);
            if (_length - at < reach || !TryReadDataHeader(_bytes.AsSpan(at, Math.Min(_length - at, MaxDataHeaderSize)), offset, out header))
                throw Cut(offset);
            if (header.Oid == 0 || !header.IsPossibleAt(offset, end)) throw Impossible(offset, header);
            var size = header.Size + (int)header.Length;
            if (at + size > _length)
            {
                // Larger than what was read: read it whole (growing the buffer for a record larger than it).
                if (size > _bytes.Length) _bytes = new byte[size];
                Fill(offset, offset + size);
                at = 0;
                if (_length < size) throw Cut(offset);
            }
            return _bytes.AsSpan(at, size);
        }

        private void Fill(long offset, long readUntil)
        {
            var want = Math.Clamp(readUntil - offset, MaxDataHeaderSize + RecordReadSize, _bytes.Length);
            want = Math.Min(want, end - offset);
            _length = FileStorage.ReadAt(file, offset, _bytes.AsSpan(0, (int)Math.Max(want, 0)));
            _start = offset;
        }

        [MethodImpl(MethodImplOptions.NoInlining)]
        private CorruptDatabaseException Impossible(long offset, in DataHeader header) =>
            new($"The record header in {path} is impossible (length {header.Length}, tid {header.Tid}, previous revision at {header.Previous})", offset, new Oid(header.Oid));

        [MethodImpl(MethodImplOptions.NoInlining)]
        private CorruptDatabaseException Cut(long offset) =>
            new($"The record in {path} is cut short by the end of the file, or its header holds a field of more than 64 bits", offset);
    }

    /// <summary>A set of oids: a bit each below <see cref="FileStorageIndex.DenseLimit"/>, a hash set above.</summary>
    private sealed class OidSet
    {
        private ulong[] _bits = new ulong[1024];
        private HashSet<ulong>? _sparse;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public bool Add(ulong oid)
        {
            if (oid >= FileStorageIndex.DenseLimit) return (_sparse ??= []).Add(oid);
            var word = (int)(oid >> 6);
            if (word >= _bits.Length) Array.Resize(ref _bits, (int)Math.Min(Math.Max(word + 1, 2L * _bits.Length), (long)(FileStorageIndex.DenseLimit >> 6)));
            var mask = 1UL << (int)(oid & 63);
            if ((_bits[word] & mask) != 0) return false;
            _bits[word] |= mask;
            return true;
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public bool Contains(ulong oid)
        {
            if (oid >= FileStorageIndex.DenseLimit) return _sparse?.Contains(oid) ?? false;
            var word = (int)(oid >> 6);
            return word < _bits.Length && (_bits[word] & (1UL << (int)(oid & 63))) != 0;
        }
    }
}
