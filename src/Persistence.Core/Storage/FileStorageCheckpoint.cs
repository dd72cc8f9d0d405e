using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;
using static Persistence.Storage.FileStorageFormat;

namespace Persistence.Storage;

/// <summary>
/// The index checkpoint beside a data file (<c>data file + ".index"</c>): the oid → offset index as
/// it was at the end of one transaction, so that opening reads it and scans only the transactions
/// after it (docs/FORMAT.md, "Index checkpoint"). All integers are little-endian.
/// </summary>
/// <remarks>
/// <code>
/// header (96 bytes)
///   0   8  signature 89 50 53 49 0D 0A 1A 0A ("\x89PSI\r\n\x1A\n")
///   8   4  version (u32) = 1
///   12  4  header size (u32) = 96
///   16  16 database id, as in the data file's header
///   32  8  file id (u64), as in the data file's header (a pack writes a new one)
///   40  8  covered end (i64): the data file offset where the last covered transaction ends
///   48  8  last tid (i64): the tid of that transaction (0: none, covered end = 64)
///   56  4  that transaction's checksum, as in its trailer (0: none)
///   60  4  reserved, zero
///   64  8  highest oid stored (u64)
///   72  8  slot count N (u64): the offsets that follow, for oids 0 .. N-1
///   80  8  object count (i64): the offsets that are not 0, plus the pairs
///   88  4  pair count M (u32): objects with oids of 2^32 and more
///   92  4  CRC-32C of bytes 0..92 followed by everything after the header
/// 96       N × i64: the offset of each oid's newest data record, 0 for none
/// 96+8N    M × (u64 oid, i64 offset)
/// </code>
/// <para>The offsets are the index's pages written as they are in memory (on a little-endian
/// machine), so loading is one read per 64 KB page and no per-entry parsing.</para>
/// <para>A checkpoint is only ever a shortcut: it is written to a temporary file, flushed, and
/// renamed over the old one, and opening uses it only if it matches the data file (database id,
/// file id, the transaction ending at the covered offset has the recorded tid and checksum and its
/// records are where the index says, a sample of other entries points at records of their oids) and
/// its checksum holds. Anything else is reported as a reason and opening scans the whole file.</para>
/// </remarks>
internal static class FileStorageCheckpoint
{
    /// <summary>The size of the checkpoint header.</summary>
    public const int HeaderSize = 96;

    /// <summary>The checkpoint format version this code writes and reads.</summary>
    public const uint Version = 1;

    private const int ChecksumOffset = 92;
    private const int SampleSize = 32;

    /// <summary>The signature at the start of a checkpoint.</summary>
    public static ReadOnlySpan<byte> Signature => [0x89, (byte)'P', (byte)'S', (byte)'I', 0x0D, 0x0A, 0x1A, 0x0A];

    /// <summary>The checkpoint of the data file at <paramref name="dataPath"/>.</summary>
    public static string PathOf(string dataPath) => dataPath + ".index";

    /// <summary>
    /// Writes a checkpoint of <paramref name="index"/> to a temporary file beside the data file,
    /// flushes it and renames it over <see cref="PathOf"/>: readers see the old checkpoint or the new
    /// one, never half of one.
    /// </summary>
    public static void Save(string dataPath, FileStorageIndex index, in CheckpointInfo info)
    {
        // A name of its own per write: writers in several processes may checkpoint at once.
        var temporary = $"{PathOf(dataPath)}.{Guid.NewGuid():N}.tmp";
        try
        {
            WriteFile(temporary, index, info);
            File.Move(temporary, PathOf(dataPath), overwrite: true);
        }
        catch
        {
            TryDelete(temporary);
            throw;
        }
        FileSystemSync.FlushDirectoryOf(dataPath);
    }

    /// <summary>Writes a checkpoint of <paramref name="index"/> to <paramref name="path"/> (replacing it) and flushes it to disk.</summary>
    public static void WriteFile(string path, FileStorageIndex index, in CheckpointInfo info)
    {
        using var file = File.OpenHandle(path, FileMode.Create, FileAccess.ReadWrite, FileShare.None);
        var slots = index.SlotLimit;
        var pairs = index.OverflowCount;
        Span<byte> header = stackalloc byte[HeaderSize];
        header.Clear();
        Signature.CopyTo(header);
        BinaryPrimitives.WriteUInt32LittleEndian(header[8..], Version);
        BinaryPrimitives.WriteUInt32LittleEndian(header[12..], HeaderSize);
        info.DatabaseId.TryWriteBytes(header[16..32]);
        BinaryPrimitives.WriteUInt64LittleEndian(header[32..], info.FileId);
        BinaryPrimitives.WriteInt64LittleEndian(header[40..], info.Covered);
        BinaryPrimitives.WriteInt64LittleEndian(header[48..], info.LastTid);
        BinaryPrimitives.WriteUInt32LittleEndian(header[56..], info.LastTransactionChecksum);
        BinaryPrimitives.WriteUInt64LittleEndian(header[64..], HighestOid(index));
        BinaryPrimitives.WriteUInt64LittleEndian(header[72..], slots);
        BinaryPrimitives.WriteInt64LittleEndian(header[80..], index.Count);
        BinaryPrimitives.WriteUInt32LittleEndian(header[88..], (uint)pairs);
        var crc = Crc32C.Compute(header[..ChecksumOffset]);

        long position = HeaderSize;
        var zeros = new long[FileStorageIndex.PageSize];
        var swapped = BitConverter.IsLittleEndian ? null : new long[FileStorageIndex.PageSize];
        for (var p = 0; (ulong)p << FileStorageIndex.PageShift < slots; p++)
        {
            var count = (int)Math.Min(FileStorageIndex.PageSize, slots - ((ulong)p << FileStorageIndex.PageShift));
            ReadOnlySpan<long> page = (index.Page(p) ?? zeros).AsSpan(0, count);
            if (swapped is not null)
            {
                BinaryPrimitives.ReverseEndianness(page, swapped);
                page = swapped.AsSpan(0, count);
            }
            var bytes = MemoryMarshal.AsBytes(page);
            crc = Crc32C.Append(crc, bytes);
            RandomAccess.Write(file, bytes, position);
            position += bytes.Length;
        }
        if (pairs > 0)
        {
            var bytes = new byte[16 * pairs];
            var i = 0;
            foreach (var (oid, offset) in index.Overflow)
            {
                BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(i), oid);
                BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(i + 8), offset);
                i += 16;
            }
            crc = Crc32C.Append(crc, bytes);
            RandomAccess.Write(file, bytes, position);
        }
        BinaryPrimitives.WriteUInt32LittleEndian(header[ChecksumOffset..], crc);
        // The header goes last: a checkpoint cut short by a crash has no valid header at all.
        RandomAccess.Write(file, header, 0);
        RandomAccess.FlushToDisk(file);
    }

    /// <summary>
    /// The checksum of the transaction that ends at <paramref name="end"/> in the data file, from its
    /// trailer; 0 at the end of the file header, where no transaction ends.
    /// </summary>
    public static uint LastTransactionChecksum(SafeFileHandle data, long end)
    {
        if (end <= FileHeaderSize) return 0;
        Span<byte> trailer = stackalloc byte[TrailerSize];
        if (ReadAt(data, end - TrailerSize, trailer) < TrailerSize) return 0;
        return BinaryPrimitives.ReadUInt32LittleEndian(trailer[8..]);
    }

    /// <summary>
    /// Reads the checkpoint of the data file at <paramref name="dataPath"/> and checks it against
    /// that file; null, with the reason, if there is none or it does not match.
    /// </summary>
    /// <param name="dataPath">The data file's path.</param>
    /// <param name="data">The open data file.</param>
    /// <param name="dataLength">The data file's length.</param>
    /// <param name="databaseId">The database id in the data file's header.</param>
    /// <param name="fileId">The file id in the data file's header.</param>
    /// <param name="rejection">Why the checkpoint was not used (null when it was).</param>
    public static LoadedCheckpoint? TryLoad(string dataPath, SafeFileHandle data, long dataLength, Guid databaseId, ulong fileId, out string? rejection)
    {
        SafeFileHandle file;
        try
        {
            file = File.OpenHandle(PathOf(dataPath), FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        }
        catch (FileNotFoundException)
        {
            rejection = "there is no checkpoint";
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            rejection = "the checkpoint cannot be read: " + e.Message;
            return null;
        }
        using (file)
        {
            try
            {
                var loaded = Read(file, databaseId, fileId, dataLength, out rejection);
                if (loaded is null) return null;
                rejection = CheckAgainstData(loaded.Value, data, dataPath);
                return rejection is null ? loaded : null;
            }
            catch (IOException e)
            {
                rejection = "the checkpoint cannot be read: " + e.Message;
                return null;
            }
        }
    }

    /// <summary>
    /// Where the checkpoint of the data file at <paramref name="dataPath"/> vouches that the file was on
    /// disk up to: its covered end, when the checkpoint is whole and of this file and the transaction
    /// ending there has the trailer (length and checksum) the checkpoint recorded; -1 otherwise. The
    /// data file is flushed before a checkpoint is written, so every transaction before that end was
    /// complete on disk: one that does not read whole now was damaged since, not cut short by a crash.
    /// </summary>
    public static long VouchedEnd(string dataPath, SafeFileHandle data, long dataLength, Guid databaseId, ulong fileId)
    {
        try
        {
            using var file = File.OpenHandle(PathOf(dataPath), FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            return Read(file, databaseId, fileId, dataLength, out _) is { } loaded && LastTransactionStart(loaded.Info, data) >= 0 ? loaded.Info.Covered : -1;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return -1;
        }
    }

    /// <summary>
    /// Where the checkpoint at the path says it covers the data file up to, if it is one of this
    /// file (from its header only: it is not checked, so only for deciding whether writing another is
    /// worth it); null if there is none or it is of another file.
    /// </summary>
    public static long? CoveredEnd(string dataPath, Guid databaseId, ulong fileId)
    {
        try
        {
            using var file = File.OpenHandle(PathOf(dataPath), FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            Span<byte> header = stackalloc byte[HeaderSize];
            if (HeaderRejection(header, ReadAt(file, 0, header), databaseId, fileId) is not null) return null;
            return BinaryPrimitives.ReadInt64LittleEndian(header[40..]);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>Why a header (<paramref name="read"/> bytes of it read) is not a checkpoint of this file, or null if it is one.</summary>
    private static string? HeaderRejection(ReadOnlySpan<byte> header, int read, Guid databaseId, ulong fileId)
    {
        if (read < HeaderSize || !header[..8].SequenceEqual(Signature)) return "the checkpoint has no valid header";
        if (BinaryPrimitives.ReadUInt32LittleEndian(header[8..]) != Version || BinaryPrimitives.ReadUInt32LittleEndian(header[12..]) != HeaderSize)
            return "the checkpoint has another format version";
        if (new Guid(header[16..32]) != databaseId) return "the checkpoint belongs to another database";
        if (BinaryPrimitives.ReadUInt64LittleEndian(header[32..]) != fileId)
            return "the checkpoint belongs to another file of this database (before or after a pack)";
        return null;
    }

    private static LoadedCheckpoint? Read(SafeFileHandle file, Guid databaseId, ulong fileId, long dataLength, out string? rejection)
    {
        var length = RandomAccess.GetLength(file);
        // Arrays rather than stackalloc here and in CheckAgainstData: a method with stackalloc and a
        // loop is compiled fully optimized at its first call (3-5 ms each, in every process's first
        // open), and these run once per open.
        Span<byte> header = new byte[HeaderSize];
        if (HeaderRejection(header, length < HeaderSize ? 0 : ReadAt(file, 0, header), databaseId, fileId) is { } wrong)
            return Reject(wrong, out rejection);
        var info = new CheckpointInfo(
            databaseId, fileId,
            BinaryPrimitives.ReadInt64LittleEndian(header[40..]),
            BinaryPrimitives.ReadInt64LittleEndian(header[48..]),
            BinaryPrimitives.ReadUInt32LittleEndian(header[56..]));
        var highestOid = BinaryPrimitives.ReadUInt64LittleEndian(header[64..]);
        var slots = BinaryPrimitives.ReadUInt64LittleEndian(header[72..]);
        var count = BinaryPrimitives.ReadInt64LittleEndian(header[80..]);
        var pairs = BinaryPrimitives.ReadUInt32LittleEndian(header[88..]);
        if (info.Covered < FileHeaderSize || info.Covered > dataLength)
            return Reject($"the checkpoint covers the data file up to offset {info.Covered}, but it is {dataLength} bytes long", out rejection);
        if (info.LastTid < 0 || slots > FileStorageIndex.DenseLimit || count < 0
            || (ulong)count > slots + pairs || length != HeaderSize + 8 * (long)slots + 16L * pairs)
            return Reject("the checkpoint's sizes do not add up", out rejection);

        var crc = Crc32C.Compute(header[..ChecksumOffset]);
        var pageCount = (int)((slots + FileStorageIndex.PageSize - 1) >> FileStorageIndex.PageShift);
        var pages = new long[]?[pageCount];
        long position = HeaderSize;
        for (var p = 0; p < pageCount; p++)
        {
            var entries = (int)Math.Min(FileStorageIndex.PageSize, slots - ((ulong)p << FileStorageIndex.PageShift));
            var page = new long[FileStorageIndex.PageSize];
            var bytes = MemoryMarshal.AsBytes(page.AsSpan(0, entries));
            if (ReadAt(file, position, bytes) < bytes.Length) return Reject("the checkpoint is cut short", out rejection);
            crc = Crc32C.Append(crc, bytes);
            if (!BitConverter.IsLittleEndian) BinaryPrimitives.ReverseEndianness(page, page);
            pages[p] = page;
            position += bytes.Length;
        }
        Dictionary<ulong, long>? overflow = null;
        if (pairs > 0)
        {
            var bytes = new byte[16 * pairs];
            if (ReadAt(file, position, bytes) < bytes.Length) return Reject("the checkpoint is cut short", out rejection);
            crc = Crc32C.Append(crc, bytes);
            overflow = new Dictionary<ulong, long>((int)pairs);
            for (var i = 0; i < bytes.Length; i += 16)
            {
                var oid = BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(i));
                if (oid < FileStorageIndex.DenseLimit || !overflow.TryAdd(oid, BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan(i + 8))))
                    return Reject("the checkpoint's sizes do not add up", out rejection);
            }
        }
        if (crc != BinaryPrimitives.ReadUInt32LittleEndian(header[ChecksumOffset..]))
            return Reject("the checkpoint fails its checksum", out rejection);
        rejection = null;
        return new LoadedCheckpoint(info, FileStorageIndex.FromPages(pages, slots, count, overflow), highestOid);
    }

    /// <summary>Checks a checkpoint against the data file; the reason it does not match, or null.</summary>
    private static string? CheckAgainstData(LoadedCheckpoint checkpoint, SafeFileHandle data, string dataPath)
    {
        var info = checkpoint.Info;
        var index = checkpoint.Index;
        if (info.Covered == FileHeaderSize)
            return info.LastTid == 0 && index.Count == 0 ? null : "the checkpoint's sizes do not add up";

        // The transaction that ends at the covered offset must be the one the checkpoint saw: same
        // tid, same checksum (so a file restored from a backup and written anew does not pass), and
        // its records must be the newest revisions of their objects.
        var start = LastTransactionStart(info, data);
        if (start < 0) return "no transaction ends where the checkpoint says";
        using (var scanner = new FileStorageScanner(data))
        {
            var outcome = scanner.ReadTransaction(start, info.Covered, false, out var header, out _);
            // Its trailer is the one the checkpoint recorded, so it was on disk whole (see VouchedEnd):
            // bytes of it that no longer read are damage, which a scan would take for a crash's
            // unfinished write and cut off, losing a committed transaction.
            if (outcome != ScanOutcome.Complete) throw DamagedSince(dataPath, start);
            if (header.Length != info.Covered - start) return "no transaction ends where the checkpoint says";
            if (header.Tid != info.LastTid)
                return $"the transaction at the checkpoint's end has tid {header.Tid}, not {info.LastTid}";
            foreach (var record in scanner.Records)
            {
                if (index.Find(record.Oid) != record.Offset)
                    return $"the checkpoint does not point at the newest revision of oid {record.Oid}";
            }
        }

        // A sample of the other entries, spread over the oids: each must point at a record header of
        // its own oid within the covered part. Cheap (a few small reads), and it catches an index that
        // was written from the wrong state.
        Span<byte> bytes = new byte[MaxDataHeaderSize];
        var slots = index.SlotLimit;
        for (var k = 0; k < SampleSize && slots > 0; k++)
        {
            var oid = slots * (ulong)k / SampleSize;
            var offset = index.Find(oid);
            if (offset == 0) continue;
            if (offset < FileHeaderSize + TransactionHeaderSize || offset > info.Covered - MinDataHeaderSize - TrailerSize)
                return $"the checkpoint points oid {oid} outside the data it covers";
            var read = ReadAt(data, offset, bytes[..DataHeaderReach(offset, info.Covered)]);
            if (!TryReadDataHeader(bytes[..read], offset, out var record)
                || record.Oid != oid || record.Tid > info.LastTid || !record.IsPossibleAt(offset, info.Covered))
                return $"the checkpoint points oid {oid} at something other than its record";
        }
        return null;
    }

    /// <summary>
    /// Where the transaction ending at the checkpoint's covered end starts, read from its trailer, when
    /// the trailer is the one the checkpoint recorded (a possible length, the recorded checksum); -1 if not.
    /// </summary>
    private static long LastTransactionStart(CheckpointInfo info, SafeFileHandle data)
    {
        Span<byte> trailer = new byte[TrailerSize];
        if (info.Covered <= FileHeaderSize || ReadAt(data, info.Covered - TrailerSize, trailer) < TrailerSize) return -1;
        var length = BinaryPrimitives.ReadInt64LittleEndian(trailer);
        var start = info.Covered - length;
        return length < MinimumTransactionSize || start < FileHeaderSize
            || BinaryPrimitives.ReadUInt32LittleEndian(trailer[8..]) != info.LastTransactionChecksum
            ? -1
            : start;
    }

    /// <summary>The damage a checkpoint shows in the transaction it ends at (see <see cref="VouchedEnd"/>).</summary>
    public static CorruptDatabaseException DamagedSince(string dataPath, long start) => new(
        $"The transaction at this offset of {dataPath} fails its checksum or is cut short, yet the index checkpoint {PathOf(dataPath)} " +
        "shows it was whole on disk when the checkpoint was written: it was damaged since, and is not removed as a crash's unfinished write " +
        "would be. FileStorage.Verify lists every damaged transaction. (If the file was put in place from a copy taken while the database " +
        "was in use, delete the checkpoint and open the file again: the copy's unfinished end is then removed.)",
        start);

    private static ulong HighestOid(FileStorageIndex index)
    {
        var highest = index.SlotLimit == 0 ? 0 : index.SlotLimit - 1;
        foreach (var (oid, _) in index.Overflow) highest = Math.Max(highest, oid);
        return highest;
    }

    private static LoadedCheckpoint? Reject(string reason, out string? rejection)
    {
        rejection = reason;
        return null;
    }

    private static int ReadAt(SafeFileHandle file, long offset, Span<byte> into)
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

    /// <summary>Deletes a file, ignoring failure (it is only a leftover).</summary>
    public static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Left for the next open or pack to remove.
        }
    }

    /// <summary>
    /// Removes checkpoint temporaries left by a process that died while writing one. Only old ones:
    /// a younger one may be another process's write in progress.
    /// </summary>
    public static void DeleteLeftovers(string dataPath)
    {
        try
        {
            var directory = Path.GetDirectoryName(dataPath)!;
            var pattern = Path.GetFileName(PathOf(dataPath)) + ".*.tmp";
            foreach (var path in Directory.EnumerateFiles(directory, pattern))
            {
                if (File.GetLastWriteTimeUtc(path) < DateTime.UtcNow.AddMinutes(-10)) TryDelete(path);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Only tidying.
        }
    }
}

/// <summary>What a checkpoint says about the data file it indexes.</summary>
/// <param name="DatabaseId">The database id of the data file.</param>
/// <param name="FileId">The file id of the data file.</param>
/// <param name="Covered">Where the last covered transaction ends.</param>
/// <param name="LastTid">That transaction's tid (0 if none).</param>
/// <param name="LastTransactionChecksum">That transaction's checksum, from its trailer (0 if none).</param>
internal readonly record struct CheckpointInfo(Guid DatabaseId, ulong FileId, long Covered, long LastTid, uint LastTransactionChecksum);

/// <summary>A checkpoint that matched its data file.</summary>
/// <param name="Info">What it covers.</param>
/// <param name="Index">The index it holds.</param>
/// <param name="HighestOid">The highest oid stored in the covered part.</param>
internal readonly record struct LoadedCheckpoint(CheckpointInfo Info, FileStorageIndex Index, ulong HighestOid);
