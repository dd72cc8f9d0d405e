using System.Buffers;
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
///   8   4  version (u32) = 2
///   12  4  header size (u32) = 96
///   16  16 database id, as in the data file's header
///   32  8  file id (u64), as in the data file's header (a pack writes a new one)
///   40  8  covered end (i64): the data file offset where the last covered transaction ends
///   48  8  last tid (i64): the tid of that transaction (0: none, covered end = 64)
///   56  4  that transaction's checksum, as in its trailer (0: none)
///   60  4  reserved, zero
///   64  8  highest oid stored (u64)
///   72  8  slot count N (u64): the pages cover oids 0 .. N-1
///   80  8  object count (i64): the objects in the pages, plus the pairs
///   88  4  pair count M (u32): objects with oids of 2^32 and more
///   92  4  CRC-32C of bytes 0..92 followed by everything after the header
/// 96       P = ceil(N / 8192) page entries of 4 bytes: kind (u16), objects k (u16)
///            kind 0: no objects (k = 0), nothing in the body
///            kind 1: sparse, 1 ≤ k; body k × u16 slot (oid − 8192 × page, ascending), then k × i64 offset
///            kind 2: dense, 1 ≤ k; body min(8192, N − 8192 × page) × i64 offset (0 for none), k of them not 0
///          the bodies of the pages, in page order
///          M × (u64 oid, i64 offset)
/// </code>
/// <para>Each page is written in the form it has in memory (<see cref="FileStorageIndex"/>), so the file
/// grows with the objects that have a revision, not with every oid ever handed out, and loading is one
/// read per dense page (through a reused buffer, to check it; into its array when first looked in, see
/// <see cref="FileStoragePendingPages"/>) and a short one per sparse page, with no per-entry parsing
/// beyond the checks that a page is well formed. The page entries come first so that the sizes
/// are checked before anything is allocated for the pages.</para>
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

    /// <summary>
    /// The checkpoint format version this code writes and reads. 2: pages sparse or dense (version 1 had
    /// every offset up to the slot count); a checkpoint of another version is not used, opening scans
    /// the file instead and a writer replaces the checkpoint.
    /// </summary>
    public const uint Version = 2;

    /// <summary>The kind of a page in the checkpoint: no objects.</summary>
    private const ushort EmptyPage = 0;

    /// <summary>The kind of a page in the checkpoint: its objects' slots, then their offsets.</summary>
    private const ushort SparsePage = 1;

    /// <summary>The kind of a page in the checkpoint: an offset for every oid the page covers.</summary>
    private const ushort DensePage = 2;

    // Reads and writes of the small parts (page entries, sparse pages) go through a buffer of this
    // size; a dense page, as large, bypasses it and goes straight between the file and its array.
    private const int BufferSize = FileStorageIndex.PageSize * sizeof(long);

    private const int ChecksumOffset = 92;
    private const string SizesDoNotAddUp = "the checkpoint's sizes do not add up";
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
        using var file = new FileStream(path, FileMode.Create, FileAccess.ReadWrite, FileShare.None, BufferSize);
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

        var pageCount = PageCountOf(slots);
        var entries = new byte[4 * pageCount];
        for (var p = 0; p < pageCount; p++)
        {
            var (kind, count) = index.DensePage(p, out var denseCount) is not null ? (DensePage, denseCount)
                : index.SparsePage(p) is { } sparse ? (SparsePage, sparse.Count)
                : (EmptyPage, 0);
            BinaryPrimitives.WriteUInt16LittleEndian(entries.AsSpan(4 * p), kind);
            BinaryPrimitives.WriteUInt16LittleEndian(entries.AsSpan(4 * p + 2), (ushort)count);
        }
        file.Position = HeaderSize;
        Append(file, ref crc, entries);

        var swapped = BitConverter.IsLittleEndian ? null : new long[FileStorageIndex.PageSize];
        var swappedSlots = BitConverter.IsLittleEndian ? null : new ushort[FileStorageIndex.PageSize];
        for (var p = 0; p < pageCount; p++)
        {
            if (index.DensePage(p, out _) is { } dense)
            {
                AppendOffsets(file, ref crc, dense.AsSpan(0, EntriesOf(p, slots)), swapped);
            }
            else if (index.SparsePage(p) is { } sparse)
            {
                var pageSlots = sparse.Slots;
                if (swappedSlots is not null)
                {
                    BinaryPrimitives.ReverseEndianness(pageSlots, swappedSlots);
                    pageSlots = swappedSlots.AsSpan(0, pageSlots.Length);
                }
                Append(file, ref crc, MemoryMarshal.AsBytes(pageSlots));
                AppendOffsets(file, ref crc, sparse.Offsets, swapped);
            }
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
            Append(file, ref crc, bytes);
        }
        BinaryPrimitives.WriteUInt32LittleEndian(header[ChecksumOffset..], crc);
        // The header goes last: a checkpoint cut short by a crash has no valid header at all.
        file.Flush();
        file.Position = 0;
        file.Write(header);
        file.Flush(flushToDisk: true);
    }

    /// <summary>Writes <paramref name="bytes"/> at the file's position and adds them to the checksum.</summary>
    private static void Append(FileStream file, ref uint crc, ReadOnlySpan<byte> bytes)
    {
        crc = Crc32C.Append(crc, bytes);
        file.Write(bytes);
    }

    /// <summary>Writes offsets little-endian (through <paramref name="swapped"/> on a big-endian machine) and adds them to the checksum.</summary>
    private static void AppendOffsets(FileStream file, ref uint crc, ReadOnlySpan<long> offsets, long[]? swapped)
    {
        if (swapped is not null)
        {
            BinaryPrimitives.ReverseEndianness(offsets, swapped);
            offsets = swapped.AsSpan(0, offsets.Length);
        }
        Append(file, ref crc, MemoryMarshal.AsBytes(offsets));
    }

    /// <summary>The pages a checkpoint of <paramref name="slots"/> slots has.</summary>
    private static int PageCountOf(ulong slots) => (int)((slots + FileStorageIndex.PageSize - 1) >> FileStorageIndex.PageShift);

    /// <summary>The oids page <paramref name="p"/> covers in a checkpoint of <paramref name="slots"/> slots: all but in the last page.</summary>
    private static int EntriesOf(int p, ulong slots) => (int)Math.Min(FileStorageIndex.PageSize, slots - ((ulong)p << FileStorageIndex.PageShift));

    /// <summary>
    /// The checksum of the transaction that ends at <paramref name="end"/> in the data file, from its
    /// trailer; 0 at the end of the file header, where no transaction ends.
    /// </summary>
    public static uint LastTransactionChecksum(SafeFileHandle data, long end)
    {
        if (end <= FileHeaderSize) return 0;
        Span<byte> trailer = stackalloc byte[TrailerSize];
        if (FileStorage.ReadAt(data, end - TrailerSize, trailer) < TrailerSize) return 0;
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
            file = OpenToRead(dataPath);
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
        var handedOver = false;
        try
        {
            var loaded = Read(file, PathOf(dataPath), databaseId, fileId, dataLength, out rejection);
            if (loaded is null) return null;
            rejection = CheckAgainstData(loaded.Value, data, dataPath);
            if (rejection is not null) return null;
            // The index reads its dense pages through the file from now on, and closes it after the last.
            handedOver = loaded.Value.Index.HasPendingPages;
            return loaded;
        }
        catch (IOException e)
        {
            rejection = "the checkpoint cannot be read: " + e.Message;
            return null;
        }
        finally
        {
            if (!handedOver) file.Dispose();
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
            using var file = OpenToRead(dataPath);
            return Read(file, PathOf(dataPath), databaseId, fileId, dataLength, out _) is { } loaded && LastTransactionStart(loaded.Info.Covered, loaded.Info.LastTransactionChecksum, data) >= 0 ? loaded.Info.Covered : -1;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return -1;
        }
    }

    /// <summary>
    /// Where the checkpoint at the path says it covers the data file up to, if it is one of this
    /// file (from its header only: it is not checked, so only for deciding whether writing another is
    /// worth it); null if there is none or it is of another file. Given the open <paramref name="data"/>
    /// file, also null unless a transaction with the trailer the checkpoint recorded ends there in it: a
    /// checkpoint of the same file as it was before an older copy was put back in its place (a restored
    /// backup) names the file's ids too, but speaks of transactions the file no longer holds.
    /// </summary>
    public static long? CoveredEnd(string dataPath, Guid? databaseId, ulong fileId, SafeFileHandle? data = null)
    {
        try
        {
            using var file = OpenToRead(dataPath);
            Span<byte> header = stackalloc byte[HeaderSize];
            if (HeaderRejection(header, FileStorage.ReadAt(file, 0, header), databaseId, fileId) is not null) return null;
            var covered = BinaryPrimitives.ReadInt64LittleEndian(header[40..]);
            if (data is not null && covered > FileHeaderSize
                && LastTransactionStart(covered, BinaryPrimitives.ReadUInt32LittleEndian(header[56..]), data) < 0)
                return null;
            return covered;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>
    /// Where the checkpoint at the path says it covers a data file up to, whichever database and file it
    /// names (from its header only); null if there is none. For judging a data file whose header is gone.
    /// </summary>
    public static long? CoveredEndOfAny(string dataPath) => CoveredEnd(dataPath, null, 0);

    /// <summary>Why a header (<paramref name="read"/> bytes of it read) is not a checkpoint of this file (of any, for a null <paramref name="databaseId"/>), or null if it is one.</summary>
    private static string? HeaderRejection(ReadOnlySpan<byte> header, int read, Guid? databaseId, ulong fileId)
    {
        if (read < HeaderSize || !header[..8].SequenceEqual(Signature)) return "the checkpoint has no valid header";
        if (BinaryPrimitives.ReadUInt32LittleEndian(header[8..]) != Version || BinaryPrimitives.ReadUInt32LittleEndian(header[12..]) != HeaderSize)
            return "the checkpoint has another format version";
        if (databaseId is null) return null;
        if (new Guid(header[16..32]) != databaseId) return "the checkpoint belongs to another database";
        if (BinaryPrimitives.ReadUInt64LittleEndian(header[32..]) != fileId)
            return "the checkpoint belongs to another file of this database (before or after a pack)";
        return null;
    }

    /// <summary>Opens the checkpoint of the data file at <paramref name="dataPath"/> to read it through.</summary>
    private static SafeFileHandle OpenToRead(string dataPath) =>
        File.OpenHandle(PathOf(dataPath), FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);

    /// <summary>
    /// Reads a checkpoint and checks it is whole and of the data file (ids, covered end within
    /// <paramref name="dataLength"/>, sizes, pages, checksum), but not against the data file's records;
    /// null, with the reason, if it is not one. The dense pages stay in the file: the index reads each
    /// through <paramref name="file"/> when it is first looked in (<see cref="FileStoragePendingPages"/>),
    /// so the caller either hands the file to the index (<see cref="FileStorageIndex.HasPendingPages"/>)
    /// or keeps it open for as long as the index is used.
    /// </summary>
    internal static LoadedCheckpoint? Read(SafeFileHandle file, string path, Guid databaseId, ulong fileId, long dataLength, out string? rejection)
    {
        var length = RandomAccess.GetLength(file);
        // Arrays rather than stackalloc here and in CheckAgainstData: a method with stackalloc and a
        // loop is compiled fully optimized at its first call (3-5 ms each, in every process's first
        // open), and these run once per open.
        Span<byte> header = new byte[HeaderSize];
        if (HeaderRejection(header, length < HeaderSize ? 0 : FileStorage.ReadAt(file, 0, header), databaseId, fileId) is { } wrong)
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
        if (info.LastTid < 0 || slots > FileStorageIndex.DenseLimit || count < 0 || (ulong)count > slots + pairs)
            return Reject(SizesDoNotAddUp, out rejection);
        var pageCount = PageCountOf(slots);
        if (length < HeaderSize + 4L * pageCount + 16L * pairs) return Reject(SizesDoNotAddUp, out rejection);

        // The page entries, and from them the size of every page: the file must be exactly that long.
        var crc = Crc32C.Compute(header[..ChecksumOffset]);
        var position = (long)HeaderSize;
        var entries = new byte[4 * pageCount];
        ReadExactly(file, ref position, entries);
        crc = Crc32C.Append(crc, entries);
        var expectedLength = HeaderSize + entries.Length + 16L * pairs;
        var objects = (long)pairs;
        for (var p = 0; p < pageCount; p++)
        {
            var kind = BinaryPrimitives.ReadUInt16LittleEndian(entries.AsSpan(4 * p));
            int k = BinaryPrimitives.ReadUInt16LittleEndian(entries.AsSpan(4 * p + 2));
            var covers = EntriesOf(p, slots);
            if (kind == EmptyPage ? k != 0 : kind is not (SparsePage or DensePage) || k < 1 || k > covers)
                return Reject($"the checkpoint's page {p} is not well formed", out rejection);
            expectedLength += kind switch { SparsePage => 10L * k, DensePage => 8L * covers, _ => 0 };
            objects += k;
        }
        if (length != expectedLength || objects != count) return Reject(SizesDoNotAddUp, out rejection);

        var pendingAt = new long[pageCount];
        var sparse = new FileStorageSparsePage?[pageCount];
        var sample = new EntrySample(slots);
        // A page that is not well formed is reported after the checksum: damage is the likelier cause.
        string? malformed = null;
        var buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
        try
        {
            for (var p = 0; p < pageCount; p++)
            {
                var kind = BinaryPrimitives.ReadUInt16LittleEndian(entries.AsSpan(4 * p));
                int k = BinaryPrimitives.ReadUInt16LittleEndian(entries.AsSpan(4 * p + 2));
                var first = (ulong)p << FileStorageIndex.PageShift;
                if (kind == DensePage)
                {
                    // Checked and sampled through the buffer; read into a page of its own when first looked in.
                    pendingAt[p] = position;
                    var offsets = MemoryMarshal.Cast<byte, long>(buffer.AsSpan(0, sizeof(long) * EntriesOf(p, slots)));
                    crc = ReadOffsets(file, ref position, crc, offsets);
                    sample.Observe(first, offsets);
                }
                else if (kind == SparsePage)
                {
                    var pageSlots = new ushort[k];
                    var offsets = new long[k];
                    var bytes = MemoryMarshal.AsBytes(pageSlots.AsSpan());
                    ReadExactly(file, ref position, bytes);
                    crc = Crc32C.Append(crc, bytes);
                    if (!BitConverter.IsLittleEndian) BinaryPrimitives.ReverseEndianness(pageSlots, pageSlots);
                    crc = ReadOffsets(file, ref position, crc, offsets);
                    if (!IsSparsePage(pageSlots, offsets, EntriesOf(p, slots))) malformed ??= $"the checkpoint's page {p} is not well formed";
                    else sample.Observe(first, pageSlots, offsets);
                    sparse[p] = new FileStorageSparsePage(pageSlots, offsets, k);
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
        Dictionary<ulong, long>? overflow = null;
        if (pairs > 0)
        {
            var bytes = new byte[16 * pairs];
            ReadExactly(file, ref position, bytes);
            crc = Crc32C.Append(crc, bytes);
            overflow = new Dictionary<ulong, long>((int)pairs);
            for (var i = 0; i < bytes.Length; i += 16)
            {
                var oid = BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(i));
                if (oid < FileStorageIndex.DenseLimit || !overflow.TryAdd(oid, BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan(i + 8))))
                    malformed ??= SizesDoNotAddUp;
            }
        }
        if (crc != BinaryPrimitives.ReadUInt32LittleEndian(header[ChecksumOffset..]))
            return Reject("the checkpoint fails its checksum", out rejection);
        if (malformed is not null) return Reject(malformed, out rejection);
        rejection = null;
        var pending = new FileStoragePendingPages(file, path, pendingAt, pageCount == 0 ? 0 : EntriesOf(pageCount - 1, slots));
        return new LoadedCheckpoint(info, FileStorageIndex.FromPages(sparse, pending, slots, count, overflow), highestOid) { Sample = sample.Found() };
    }

    /// <summary>Reads exactly <paramref name="into"/>'s length from <paramref name="position"/> on, and moves it past them.</summary>
    private static void ReadExactly(SafeFileHandle file, ref long position, Span<byte> into)
    {
        if (FileStorage.ReadAt(file, position, into) < into.Length) throw new EndOfStreamException("the checkpoint is shorter than its sizes say");
        position += into.Length;
    }

    /// <summary>Reads little-endian offsets straight into <paramref name="offsets"/>; the checksum with them added.</summary>
    private static uint ReadOffsets(SafeFileHandle file, ref long position, uint crc, Span<long> offsets)
    {
        var bytes = MemoryMarshal.AsBytes(offsets);
        ReadExactly(file, ref position, bytes);
        crc = Crc32C.Append(crc, bytes);
        if (!BitConverter.IsLittleEndian) BinaryPrimitives.ReverseEndianness(offsets, offsets);
        return crc;
    }

    /// <summary>
    /// The entries a checkpoint is checked at against the data file (see <see cref="CheckAgainstData"/>):
    /// the first object at or after each of <see cref="SampleSize"/> points spread evenly over the slots,
    /// found as the pages go by while the checkpoint is read, so that no dense page is kept for it.
    /// </summary>
    private sealed class EntrySample(ulong slots)
    {
        private readonly ulong[] _oids = new ulong[SampleSize];
        private readonly long[] _offsets = new long[SampleSize];

        /// <summary>Looks at a dense page's offsets, of the oids from <paramref name="first"/> on.</summary>
        public void Observe(ulong first, ReadOnlySpan<long> offsets)
        {
            for (var k = 0; k < SampleSize; k++)
            {
                if (!Overlap(k, first, first + (ulong)offsets.Length, out var from, out var to)) continue;
                var i = offsets[(int)(from - first)..(int)(to - first)].IndexOfAnyExcept(0L);
                if (i >= 0) Take(k, from + (ulong)i, offsets[(int)(from - first) + i]);
            }
        }

        /// <summary>Looks at a sparse page's objects: its slots ascending, the page's first oid <paramref name="first"/>.</summary>
        public void Observe(ulong first, ReadOnlySpan<ushort> pageSlots, ReadOnlySpan<long> offsets)
        {
            for (var k = 0; k < SampleSize; k++)
            {
                if (!Overlap(k, first, first + FileStorageIndex.PageSize, out var from, out var to)) continue;
                var i = pageSlots.BinarySearch((ushort)(from - first));
                if (i < 0) i = ~i;
                if (i < pageSlots.Length && first + pageSlots[i] < to) Take(k, first + pageSlots[i], offsets[i]);
            }
        }

        // Where point k's range (up to the next point) meets the oids [first, last), if it is still unanswered.
        private bool Overlap(int k, ulong first, ulong last, out ulong from, out ulong to)
        {
            from = Math.Max(slots * (ulong)k / SampleSize, first);
            to = Math.Min(slots * (ulong)(k + 1) / SampleSize, last);
            return _offsets[k] == 0 && from < to;
        }

        private void Take(int k, ulong oid, long offset)
        {
            _oids[k] = oid;
            _offsets[k] = offset;
        }

        /// <summary>The objects found, in the order of the points.</summary>
        public (ulong Oid, long Offset)[] Found()
        {
            var found = new List<(ulong, long)>(SampleSize);
            for (var k = 0; k < SampleSize; k++)
            {
                if (_offsets[k] != 0) found.Add((_oids[k], _offsets[k]));
            }
            return [.. found];
        }
    }

    /// <summary>Whether a sparse page read from a checkpoint is one: slots ascending and below <paramref name="covers"/>, offsets not 0.</summary>
    private static bool IsSparsePage(ReadOnlySpan<ushort> slots, ReadOnlySpan<long> offsets, int covers)
    {
        var previous = -1;
        for (var i = 0; i < slots.Length; i++)
        {
            if (slots[i] <= previous || offsets[i] <= 0) return false;
            previous = slots[i];
        }
        return previous < covers;
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
        var start = LastTransactionStart(info.Covered, info.LastTransactionChecksum, data);
        if (start < 0) return "no transaction ends where the checkpoint says";
        using (var scanner = new FileStorageScanner(data))
        {
            var outcome = scanner.ReadTransaction(start, info.Covered, RecordBytes.None, out var header, out _);
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
        // The first object at or after each of the evenly spread points (EntrySample): an index that
        // most objects left (a pack after many deletes) is checked as often as a full one.
        Span<byte> bytes = new byte[MaxDataHeaderSize];
        foreach (var (oid, offset) in checkpoint.Sample)
        {
            if (offset < FileHeaderSize + TransactionHeaderSize || offset > info.Covered - MinDataHeaderSize - TrailerSize)
                return $"the checkpoint points oid {oid} outside the data it covers";
            var read = FileStorage.ReadAt(data, offset, bytes[..DataHeaderReach(offset, info.Covered)]);
            if (!TryReadDataHeader(bytes[..read], offset, out var record)
                || record.Oid != oid || record.Tid > info.LastTid || !record.IsPossibleAt(offset, info.Covered))
                return $"the checkpoint points oid {oid} at something other than its record";
        }
        return null;
    }

    /// <summary>
    /// Where the transaction ending at a checkpoint's covered end <paramref name="covered"/> starts, read from its
    /// trailer, when the trailer is the one the checkpoint recorded (a possible length, <paramref name="checksum"/>); -1 if not.
    /// </summary>
    private static long LastTransactionStart(long covered, uint checksum, SafeFileHandle data)
    {
        Span<byte> trailer = new byte[TrailerSize];
        if (covered <= FileHeaderSize || FileStorage.ReadAt(data, covered - TrailerSize, trailer) < TrailerSize) return -1;
        var length = BinaryPrimitives.ReadInt64LittleEndian(trailer);
        var start = covered - length;
        return length < MinimumTransactionSize || start < FileHeaderSize
            || BinaryPrimitives.ReadUInt32LittleEndian(trailer[8..]) != checksum
            ? -1
            : start;
    }

    /// <summary>The damage a checkpoint shows in the transaction it ends at (see <see cref="VouchedEnd"/>).</summary>
    public static CorruptDatabaseException DamagedSince(string dataPath, long start) => new(
        $"The transaction at this offset of {dataPath} fails its checksum or is cut short, yet the index checkpoint {PathOf(dataPath)} " +
        "shows it was whole on disk when the checkpoint was written: it was damaged since, and is not removed as a crash's unfinished write " +
        "would be. FileStorage.Verify lists every damaged transaction. (If the file was put in place from a copy taken while the database " +
        $"was in use, delete the checkpoint and the lock file {dataPath}.lock while no process has the database open, and open it again: the copy's unfinished end is then removed.)",
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
internal readonly record struct LoadedCheckpoint(CheckpointInfo Info, FileStorageIndex Index, ulong HighestOid)
{
    /// <summary>The entries sampled while it was read, checked against the data file's records (see EntrySample).</summary>
    public (ulong Oid, long Offset)[] Sample { get; init; } = [];
}
