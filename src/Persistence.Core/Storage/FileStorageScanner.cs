using System.Buffers;
using System.Runtime.CompilerServices;
using Microsoft.Win32.SafeHandles;
using Persistence.Serialization;
using static Persistence.Storage.FileStorageFormat;

namespace Persistence.Storage;

/// <summary>
/// Reads a file storage's transactions front to back through a large buffer (opening, catching up
/// with another writer, iterating) and checks every checksum on the way. It judges each
/// transaction on its own; whether a failed one is a torn tail or damage is the caller's decision,
/// helped by <see cref="FindCompleteTransaction"/>.
/// </summary>
internal sealed class FileStorageScanner : IDisposable
{
    // Reads start small and double while the scan goes on: catching up with another writer's commit
    // reads a few kilobytes, not the free space after it; a scan of the whole file soon reads a megabyte at a time.
    private const int FirstReadSize = 4 << 10;
    private const int LargestReadSize = 1 << 20;
    // The largest buffer Restart keeps.
    private const int KeptBufferSize = 64 << 10;

    private readonly SafeFileHandle _file;
    private byte[] _buffer;
    // The records' bytes of the transaction last read with RecordBytes.Shared, one after another.
    private byte[] _shared = [];
    private int _sharedUsed;
    private long _bufferStart;
    private int _bufferLength;
    private int _readSize = FirstReadSize;

    /// <summary>Creates a scanner over an open data file.</summary>
    public FileStorageScanner(SafeFileHandle file)
    {
        _file = file;
        // The first read is small, and the buffer grows with the reads (see Fill).
        _buffer = ArrayPool<byte>.Shared.Rent(FirstReadSize);
    }

    /// <summary>Whether the scanner reads <paramref name="file"/>.</summary>
    public bool Reads(SafeFileHandle file) => ReferenceEquals(_file, file);

    /// <summary>
    /// Forgets what was read, so the next scan reads the file again from its first read size (a scanner
    /// kept for the next catch-up: the free space it read may hold transactions by then). A large
    /// buffer goes back to the pool.
    /// </summary>
    public void Restart()
    {
        _bufferStart = 0;
        _bufferLength = 0;
        _readSize = FirstReadSize;
        Records.Clear();
        if (_buffer.Length <= KeptBufferSize) return;
        ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = ArrayPool<byte>.Shared.Rent(FirstReadSize);
    }

    /// <summary>
    /// <paramref name="length"/> bytes of the shared record space, after those of the transaction's records
    /// before: a space outgrown is replaced, the records before keep theirs.
    /// </summary>
    private Memory<byte> SharedSpace(int length)
    {
        if (_shared.Length - _sharedUsed < length)
        {
            _shared = new byte[Math.Max(length, Math.Min(Array.MaxLength, Math.Max(64 << 10, 2L * _shared.Length)))];
            _sharedUsed = 0;
        }
        var space = _shared.AsMemory(_sharedUsed, length);
        _sharedUsed += length;
        return space;
    }

    /// <summary>The data records of the transaction last read by <see cref="ReadTransaction"/>.</summary>
    public List<ScannedRecord> Records { get; } = [];

    // The most records ReadTransaction makes room for before reading them (40 bytes each).
    private const int MaxRecordsReserved = 1 << 16;

    /// <summary>
    /// Reads and checks the transaction at <paramref name="position"/>, looking no further than
    /// <paramref name="end"/>. On <see cref="ScanOutcome.Complete"/>, <see cref="Records"/> holds its
    /// records (with their bytes as <paramref name="bytes"/> says).
    /// </summary>
    /// <param name="position">Where the transaction starts.</param>
    /// <param name="end">The end of the readable file.</param>
    /// <param name="bytes">Whether and how each record's bytes go into <see cref="ScannedRecord.Data"/>.</param>
    /// <param name="header">The transaction's header, if it could be read (default otherwise).</param>
    /// <param name="problem">For <see cref="ScanOutcome.Corrupt"/>, what is wrong; for
    /// <see cref="ScanOutcome.Damaged"/>, the failed check of a record inside, if one failed.</param>
    /// <remarks>
    /// Compiled quickly first, not optimized at once: compiling it optimized costs about 7 ms, which
    /// every process's first open paid for the few transactions after the index checkpoint. A long
    /// scan gets the optimized code once the runtime sees it called often.
    /// </remarks>
    public ScanOutcome ReadTransaction(long position, long end, RecordBytes bytes, out TransactionHeader header, out string? problem)
    {
        Records.Clear();
        _sharedUsed = 0;
        header = default;
        problem = null;
        if (position >= end) return ScanOutcome.End;
        var headerBytes = ReadExact(position, TransactionHeaderSize, end);
        // Zeros where a header would start: free space a writer reserved at the end (FileStorageFormat).
        if (!headerBytes.IsEmpty && headerBytes.IndexOfAnyExcept((byte)0) < 0) return ScanOutcome.Free;
        if (headerBytes.Length < TransactionHeaderSize) return ScanOutcome.Torn;
        if (!TryReadTransactionHeader(headerBytes, out header)) return ScanOutcome.Damaged;
        var crc = Crc32C.Compute(headerBytes);

        // The header's checksum matched, so these fields are what a writer wrote: values no writer
        // writes are damage wherever they are, not a torn tail.
        if (header.Kind != CommittedKind || header.Flags != 0)
        {
            problem = $"The transaction has kind {header.Kind} and flags {header.Flags}, which format version {FormatVersion} does not define";
            return ScanOutcome.Corrupt;
        }
        if (header.Tid <= 0)
        {
            problem = $"The transaction has tid {header.Tid}; tids are positive";
            return ScanOutcome.Corrupt;
        }
        if (header.Length < MinimumTransactionSize || header.Length - MinimumTransactionSize < (long)header.RecordCount * MinDataHeaderSize)
        {
            problem = $"The transaction declares {header.Length} bytes for {header.RecordCount} records, which is impossible";
            return ScanOutcome.Corrupt;
        }
        if (header.Length > end - position) return ScanOutcome.Torn;

        // Room for every record at once, rather than a list grown by doubling (an open reads a
        // transaction of a thousand records to check its checkpoint: 40 KB of grown-out arrays each time).
        // The count is vouched for by the header's checksum and bounded by the bytes the transaction has.
        Records.EnsureCapacity((int)Math.Min(header.RecordCount, MaxRecordsReserved));
        var bodyEnd = position + header.Length - TrailerSize;
        var p = position + TransactionHeaderSize;
        for (var i = 0u; i < header.RecordCount && problem is null; i++)
        {
            if (bodyEnd - p < MinDataHeaderSize)
            {
                problem = $"Record {i} of the transaction starts past its end";
                break;
            }
            var recordOffset = p;
            var reach = (int)Math.Min(MaxDataHeaderSize, bodyEnd - p);
            var headerSpan = ReadExact(p, reach, end);
            if (headerSpan.Length < reach) return ScanOutcome.Torn;
            if (!TryReadDataHeader(headerSpan, recordOffset, out var record))
            {
                problem = $"The header of record {i} of the transaction, at file offset {recordOffset}, runs past the transaction's end or holds a field of more than 64 bits";
                break;
            }
            headerSpan = headerSpan[..record.Size];
            var recordCrc = DataChecksumStart(headerSpan);
            crc = Crc32C.Append(crc, headerSpan);
            p += record.Size;
            problem = CheckDataHeader(record, header.Tid, position, recordOffset, bodyEnd);
            if (problem is not null) break;
            var data = bytes switch
            {
                RecordBytes.Copied => new byte[record.Length],
                RecordBytes.Shared => SharedSpace(checked((int)record.Length)),
                _ => Memory<byte>.Empty,
            };
            var copied = 0;
            var remaining = (long)record.Length;
            while (remaining > 0)
            {
                var chunk = ReadSome(p, end);
                if (chunk.IsEmpty) return ScanOutcome.Torn;
                if (chunk.Length > remaining) chunk = chunk[..(int)remaining];
                crc = Crc32C.Append(crc, chunk);
                recordCrc = Crc32C.Append(recordCrc, chunk);
                if (bytes != RecordBytes.None)
                {
                    chunk.CopyTo(data.Span[copied..]);
                    copied += chunk.Length;
                }
                p += chunk.Length;
                remaining -= chunk.Length;
            }
            if (recordCrc != record.Checksum)
                problem = $"The checksum of the record of oid {record.Oid} at file offset {recordOffset} does not match its bytes";
            Records.Add(new ScannedRecord(record.Oid, recordOffset, record.Previous, data));
        }
        if (problem is null && p != bodyEnd)
            problem = $"The transaction's records end at file offset {p}, not where its trailer starts ({bodyEnd})";

        // Whatever the records said, the transaction checksum covers every byte up to the trailer;
        // it decides whether the problem is the writer's (damage) or the disk's (maybe a torn tail).
        while (p < bodyEnd)
        {
            var chunk = ReadSome(p, bodyEnd);
            if (chunk.IsEmpty) return ScanOutcome.Torn;
            crc = Crc32C.Append(crc, chunk);
            p += chunk.Length;
        }
        var trailer = ReadExact(bodyEnd, TrailerSize, end);
        if (trailer.Length < TrailerSize) return ScanOutcome.Torn;
        if (!TrailerMatches(trailer, header.Length, crc))
        {
            // A record's own failed check, if any, says where inside the transaction the damage is.
            return ScanOutcome.Damaged;
        }
        return problem is null ? ScanOutcome.Complete : ScanOutcome.Corrupt;
    }

    /// <summary>
    /// The offset of the first complete, valid transaction with a tid of at least
    /// <paramref name="minimumTid"/> that starts in [<paramref name="from"/>, <paramref name="end"/>),
    /// or -1. A damaged transaction followed by such a one is damage; with none after it, it is the
    /// torn tail of an interrupted write.
    /// </summary>
    public long FindCompleteTransaction(long from, long end, long minimumTid)
    {
        var magic = TransactionMagicBytes;
        var p = from;
        while (end - p >= MinimumTransactionSize)
        {
            var window = ReadExact(p, (int)Math.Min(LargestReadSize, end - p), end);
            if (window.Length < TransactionHeaderSize) return -1;
            var hit = window.IndexOf(magic);
            if (hit < 0)
            {
                // Step back so a signature split across two windows is still seen.
                p += window.Length - (magic.Length - 1);
                continue;
            }
            var candidate = p + hit;
            var headerBytes = ReadExact(candidate, TransactionHeaderSize, end);
            if (TryReadTransactionHeader(headerBytes, out var header) && header.Tid >= minimumTid
                && ReadTransaction(candidate, end, RecordBytes.None, out _, out _) == ScanOutcome.Complete)
                return candidate;
            p = candidate + 1;
        }
        return -1;
    }

    /// <summary>Whether every byte in [<paramref name="from"/>, <paramref name="end"/>) is zero (free space, nothing else).</summary>
    public bool IsFree(long from, long end)
    {
        for (var p = from; p < end;)
        {
            var chunk = ReadSome(p, end);
            if (chunk.IsEmpty) return true;
            if (chunk.IndexOfAnyExcept((byte)0) >= 0) return false;
            p += chunk.Length;
        }
        return true;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (_buffer.Length == 0) return;
        ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = [];
    }

    private static string? CheckDataHeader(DataHeader record, long tid, long transactionOffset, long recordOffset, long bodyEnd)
    {
        if (record.Oid == 0)
            return $"The record at file offset {recordOffset} is stored under oid 0";
        if (record.Tid != tid)
            return $"The record of oid {record.Oid} at file offset {recordOffset} carries tid {record.Tid}, not its transaction's {tid}";
        if (record.Length < RecordFormat.MinimumSize || record.Length > Array.MaxLength || record.Length > bodyEnd - recordOffset - record.Size)
            return $"The record of oid {record.Oid} at file offset {recordOffset} declares an impossible length of {record.Length} bytes";
        if (record.Previous != 0 && (record.Previous < FileHeaderSize + TransactionHeaderSize || record.Previous >= transactionOffset))
            return $"The record of oid {record.Oid} at file offset {recordOffset} points at a previous revision at offset {record.Previous}, which is not in an earlier transaction";
        return null;
    }

    /// <summary>
    /// Whether the file has bytes at <paramref name="position"/> and the first <paramref name="count"/>
    /// of them (fewer where the file ends) are all zero. With <paramref name="readAhead"/> it reads on
    /// from there, so a scan from <paramref name="position"/> that follows starts from what this read;
    /// without, it reads those bytes only (a look that expects zeros, where reading ahead would copy
    /// kilobytes of them), and a scan that follows reads again.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public bool IsZeroAt(long position, int count, bool readAhead)
    {
        if (readAhead) Fill(position, long.MaxValue, count);
        else Read(position, count);
        var bytes = _buffer.AsSpan(0, Math.Min(count, _bufferLength));
        return !bytes.IsEmpty && bytes.IndexOfAnyExcept((byte)0) < 0;
    }

    /// <summary>The file's bytes from <paramref name="start"/> to <paramref name="end"/> if the last read holds them all, else nothing.</summary>
    public ReadOnlySpan<byte> Buffered(long start, long end) =>
        start < _bufferStart || end > _bufferStart + _bufferLength || end <= start
            ? default
            : _buffer.AsSpan((int)(start - _bufferStart), (int)(end - start));

    /// <summary>The bytes [position, position + count), fewer only where the file (or <paramref name="end"/>) ends first.</summary>
    private ReadOnlySpan<byte> ReadExact(long position, int count, long end)
    {
        var available = (int)Math.Min(count, Math.Max(0, end - position));
        if (position >= _bufferStart && position + available <= _bufferStart + _bufferLength)
            return _buffer.AsSpan((int)(position - _bufferStart), available);
        Fill(position, end, available);
        return _buffer.AsSpan(0, Math.Min(available, _bufferLength));
    }

    /// <summary>At least one byte from <paramref name="position"/> (as many as are buffered), or none at the end.</summary>
    private ReadOnlySpan<byte> ReadSome(long position, long end)
    {
        if (position >= end) return default;
        if (position < _bufferStart || position >= _bufferStart + _bufferLength)
            Fill(position, end, 1);
        var start = (int)(position - _bufferStart);
        var length = (int)Math.Min(_bufferLength - start, end - position);
        return _buffer.AsSpan(start, Math.Max(length, 0));
    }

    /// <summary>Reads from <paramref name="position"/>: at least <paramref name="needed"/> bytes where the file has them, more as the scan goes on.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Fill(long position, long end, int needed)
    {
        var want = (int)Math.Min(Math.Max(_readSize, needed), Math.Max(0, end - position));
        if (_readSize < LargestReadSize) _readSize *= 2;
        Read(position, want);
    }

    /// <summary>Reads <paramref name="want"/> bytes from <paramref name="position"/> into the buffer (fewer where the file ends).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Read(long position, int want)
    {
        if (want > _buffer.Length)
        {
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = ArrayPool<byte>.Shared.Rent(want);
        }
        var total = 0;
        while (total < want)
        {
            var read = RandomAccess.Read(_file, _buffer.AsSpan(total, want - total), position + total);
            if (read == 0) break;
            total += read;
        }
        _bufferStart = position;
        _bufferLength = total;
        BytesRead += total;
    }

    /// <summary>How many bytes the scanner has read from the file (for tests).</summary>
    internal long BytesRead { get; private set; }
}

/// <summary>How reading one transaction went.</summary>
internal enum ScanOutcome
{
    /// <summary>The transaction is whole and every check passed.</summary>
    Complete,

    /// <summary>There is nothing more to read.</summary>
    End,

    /// <summary>
    /// Zero bytes where the next transaction header would start: the end of the transactions, with
    /// free space after it if everything up to the end of the file is zero too
    /// (<see cref="FileStorageScanner.IsFree"/>); otherwise what a crash left there.
    /// </summary>
    Free,

    /// <summary>The file ends inside the transaction: an interrupted write (or one still in progress).</summary>
    Torn,

    /// <summary>The transaction fails a checksum or has no commit marker: a torn tail if nothing complete follows it, damage otherwise.</summary>
    Damaged,

    /// <summary>The checksums match but the contents are impossible: damage wherever it is.</summary>
    Corrupt,
}

/// <summary>A data record found by the scanner.</summary>
/// <param name="Oid">The object.</param>
/// <param name="Offset">The file offset of its data record header.</param>
/// <param name="Previous">The offset of the object's previous revision, 0 if none.</param>
/// <param name="Data">The record bytes, if they were asked for (empty otherwise).</param>
internal readonly record struct ScannedRecord(ulong Oid, long Offset, long Previous, ReadOnlyMemory<byte> Data);

/// <summary>Whether <see cref="FileStorageScanner.ReadTransaction"/> gives the records' bytes, and how long they stay valid.</summary>
internal enum RecordBytes
{
    /// <summary>No bytes: the records are checked, not kept.</summary>
    None,

    /// <summary>Each record's bytes in an array of its own, for the caller to keep.</summary>
    Copied,

    /// <summary>Each record's bytes in space the scanner reuses: valid until its next transaction is read.</summary>
    Shared,
}
