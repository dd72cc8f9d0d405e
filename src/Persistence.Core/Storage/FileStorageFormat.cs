using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using Persistence.Serialization;

namespace Persistence.Storage;

/// <summary>
/// The layout of a <see cref="FileStorage"/> data file, in one place (docs/FORMAT.md, "File storage",
/// says the same for readers of the documentation). All integers are little-endian.
/// </summary>
/// <remarks>
/// <code>
/// file          = file header, transaction*, [free space]
///
/// free space    zero bytes after the last transaction, reserved by a writer of small commits
///               (FileStorage.FreeSpace.cs): 32 zero bytes where a header would start end the data
/// file header   (64 bytes, at offset 0)
///   0   8  signature 89 50 53 54 0D 0A 1A 0A ("\x89PST\r\n\x1A\n")
///   8   4  format version (u32) = 2
///   12  4  header size (u32) = 64
///   16  16 database id (a random GUID chosen when the file is created)
///   32  8  file id (u64): 0 for a file never packed, a random number for each file a pack writes
///   40  8  oid floor (u64): the highest oid the database had stored when a pack wrote this file;
///          new blocks of oids start above it, so an oid the pack dropped is never handed out again
///          (0: never packed; a block reserved before the pack goes on below it: its oids not yet handed out were never stored)
///   48  12 reserved, zero
///   60  4  CRC-32C of bytes 0..60
///
/// transaction   = transaction header, data record × count, trailer
///
/// transaction header (32 bytes)
///   0   4  "PTXN" (50 54 58 4E)
///   4   2  kind (u16) = 1, a committed transaction
///   6   2  flags (u16) = 0
///   8   8  tid (i64), greater than the tid of every earlier transaction
///   16  8  length (i64) of the whole transaction: header, records and trailer
///   24  4  record count (u32)
///   28  4  CRC-32C of bytes 0..28 of this header
///
/// data record   (a header of 8 to 39 bytes, then the record)
///   0   4  CRC-32C of the rest of the header followed by the n record bytes
///   4   …  oid, varint
///       …  tid, varint: the transaction's
///       …  the object's previous revision, varint: this header's file offset minus that
///          revision's header offset, 0 if this is its first
///       …  record length n, varint (at most 31 bits)
///       n  the record (RecordFormat: type id, schema version, state, reference list)
/// varint        an unsigned integer 7 bits a byte from the lowest, the high bit set on every byte
///               but the last (1 to 10 bytes)
///
/// trailer       (16 bytes, the last of the transaction)
///   0   8  length (i64), the same as in the header, so the file can be read backwards
///   8   4  CRC-32C of the transaction from its first header byte up to the trailer
///   12  4  commit marker "PCMT" (50 43 4D 54)
/// </code>
/// <para>The oid → offset index lives in memory and points at data record headers; older revisions
/// are reached through the previous-revision offsets. A transaction is written whole, behind
/// everything committed, and made durable before it is acknowledged, so a crash can only leave an
/// incomplete transaction at the end of the file. Opening ignores such a tail (and a writer cuts it
/// off); a transaction that fails its checks with a complete transaction after it is damage, reported
/// as <see cref="CorruptDatabaseException"/>.</para>
/// <para>Room for what comes later: the transaction kind and flags (pack markers, index checkpoints),
/// the database id (to match a checkpointed index or a backup with its file), the reserved header
/// bytes, and the repeated length in the trailer (a reader that finds the end of the file can step
/// backwards, e.g. to catch up from an index checkpoint).</para>
/// </remarks>
internal static class FileStorageFormat
{
    /// <summary>The size of the file header; the first transaction starts here.</summary>
    public const int FileHeaderSize = 64;

    /// <summary>
    /// The format version this code writes and reads: 2, whose records and record headers use
    /// variable-length integers (format 1, fixed-width, was never released).
    /// </summary>
    public const uint FormatVersion = 2;

    /// <summary>The size of a transaction header.</summary>
    public const int TransactionHeaderSize = 32;

    /// <summary>The largest data record header: a checksum, three 64-bit varints and a length.</summary>
    public const int MaxDataHeaderSize = 4 + (3 * VarInt.MaxLength) + 5;

    /// <summary>The smallest data record header: a checksum and four one-byte varints.</summary>
    public const int MinDataHeaderSize = 4 + 4;

    /// <summary>The size of a transaction trailer.</summary>
    public const int TrailerSize = 16;

    /// <summary>The smallest transaction: a header and a trailer around no records.</summary>
    public const int MinimumTransactionSize = TransactionHeaderSize + TrailerSize;

    /// <summary>The transaction kind of a committed transaction.</summary>
    public const ushort CommittedKind = 1;

    /// <summary>"PTXN", the first four bytes of every transaction.</summary>
    public const uint TransactionMagic = 0x4E585450;

    /// <summary>"PCMT", the last four bytes of every transaction.</summary>
    public const uint CommitMarker = 0x544D4350;

    private const int FileHeaderChecksumOffset = 60;
    private const int HeaderChecksumOffset = 28;

    /// <summary>The signature at the start of the file. The high first byte and the line ends catch
    /// text-mode and 7-bit transfers that would otherwise damage the file unnoticed.</summary>
    public static ReadOnlySpan<byte> Signature => [0x89, (byte)'P', (byte)'S', (byte)'T', 0x0D, 0x0A, 0x1A, 0x0A];

    /// <summary>The first four bytes of every transaction, for searching.</summary>
    public static ReadOnlySpan<byte> TransactionMagicBytes => [(byte)'P', (byte)'T', (byte)'X', (byte)'N'];

    /// <summary>Where the file id sits in the file header.</summary>
    public const int FileIdOffset = 32;

    /// <summary>Where the oid floor sits in the file header.</summary>
    public const int OidFloorOffset = 40;

    /// <summary>Writes the file header of a new database.</summary>
    public static void WriteFileHeader(Span<byte> header, Guid databaseId) => WriteFileHeader(header, databaseId, 0, 0);

    /// <summary>
    /// Writes a file header; <paramref name="fileId"/> tells this file from other files of the same
    /// database (a pack writes a new file with a new id), so an open handle and an index checkpoint
    /// can tell that the file at the path was replaced; <paramref name="oidFloor"/> is the highest oid
    /// the database ever stored, for a file that may no longer hold it.
    /// </summary>
    public static void WriteFileHeader(Span<byte> header, Guid databaseId, ulong fileId, ulong oidFloor)
    {
        header = header[..FileHeaderSize];
        header.Clear();
        Signature.CopyTo(header);
        BinaryPrimitives.WriteUInt32LittleEndian(header[8..], FormatVersion);
        BinaryPrimitives.WriteUInt32LittleEndian(header[12..], FileHeaderSize);
        databaseId.TryWriteBytes(header[16..32]);
        BinaryPrimitives.WriteUInt64LittleEndian(header[FileIdOffset..], fileId);
        BinaryPrimitives.WriteUInt64LittleEndian(header[OidFloorOffset..], oidFloor);
        BinaryPrimitives.WriteUInt32LittleEndian(header[FileHeaderChecksumOffset..], Crc32C.Compute(header[..FileHeaderChecksumOffset]));
    }

    /// <summary>Reads what a file header says, without deciding whether that is acceptable.</summary>
    public static FileHeader ReadFileHeader(ReadOnlySpan<byte> header)
    {
        header = header[..FileHeaderSize];
        return new FileHeader(
            header[..8].SequenceEqual(Signature),
            BinaryPrimitives.ReadUInt32LittleEndian(header[8..]),
            BinaryPrimitives.ReadUInt32LittleEndian(header[12..]),
            new Guid(header[16..32]),
            BinaryPrimitives.ReadUInt32LittleEndian(header[FileHeaderChecksumOffset..]) == Crc32C.Compute(header[..FileHeaderChecksumOffset]));
    }

    /// <summary>Reads the file id from a file header (0: a file never packed).</summary>
    public static ulong ReadFileId(ReadOnlySpan<byte> header) => BinaryPrimitives.ReadUInt64LittleEndian(header[FileIdOffset..]);

    /// <summary>Reads the oid floor from a file header: new oids stay above it (0: a file never packed).</summary>
    public static ulong ReadOidFloor(ReadOnlySpan<byte> header) => BinaryPrimitives.ReadUInt64LittleEndian(header[OidFloorOffset..]);

    /// <summary>Writes a transaction header, checksum included.</summary>
    public static void WriteTransactionHeader(Span<byte> header, long tid, long length, uint recordCount)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(header, TransactionMagic);
        BinaryPrimitives.WriteUInt16LittleEndian(header[4..], CommittedKind);
        BinaryPrimitives.WriteUInt16LittleEndian(header[6..], 0);
        BinaryPrimitives.WriteInt64LittleEndian(header[8..], tid);
        BinaryPrimitives.WriteInt64LittleEndian(header[16..], length);
        BinaryPrimitives.WriteUInt32LittleEndian(header[24..], recordCount);
        BinaryPrimitives.WriteUInt32LittleEndian(header[HeaderChecksumOffset..], Crc32C.Compute(header[..HeaderChecksumOffset]));
    }

    /// <summary>
    /// Reads a transaction header; false if these bytes are not one (wrong magic or checksum), in
    /// which case nothing in them, the length included, can be trusted.
    /// </summary>
    public static bool TryReadTransactionHeader(ReadOnlySpan<byte> header, out TransactionHeader result)
    {
        result = default;
        if (header.Length < TransactionHeaderSize
            || BinaryPrimitives.ReadUInt32LittleEndian(header) != TransactionMagic
            || BinaryPrimitives.ReadUInt32LittleEndian(header[HeaderChecksumOffset..]) != Crc32C.Compute(header[..HeaderChecksumOffset]))
            return false;
        result = new TransactionHeader(
            BinaryPrimitives.ReadUInt16LittleEndian(header[4..]),
            BinaryPrimitives.ReadUInt16LittleEndian(header[6..]),
            BinaryPrimitives.ReadInt64LittleEndian(header[8..]),
            BinaryPrimitives.ReadInt64LittleEndian(header[16..]),
            BinaryPrimitives.ReadUInt32LittleEndian(header[24..]));
        return true;
    }

    /// <summary>How many bytes to read at <paramref name="offset"/> for its data record header: up to the largest header, and no further than <paramref name="end"/>.</summary>
    public static int DataHeaderReach(long offset, long end) => (int)Math.Clamp(end - offset, 0, MaxDataHeaderSize);

    /// <summary>The size of the header <see cref="WriteDataHeader"/> writes for these fields.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int DataHeaderSize(ulong oid, long tid, long previous, long offset, int length) =>
        4 + VarInt.Size(oid) + VarInt.Size((ulong)tid) + VarInt.Size(previous == 0 ? 0 : (ulong)(offset - previous)) + VarInt.Size((uint)length);

    /// <summary>
    /// Writes the header of a data record at file offset <paramref name="offset"/> for
    /// <paramref name="record"/> (the bytes that follow it), checksum included; returns its size.
    /// </summary>
    public static int WriteDataHeader(Span<byte> header, ulong oid, long tid, long previous, long offset, ReadOnlySpan<byte> record)
    {
        var size = WriteDataHeaderFields(header, oid, tid, previous, offset, record.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(header, Crc32C.Append(DataChecksumStart(header[..size]), record));
        return size;
    }

    /// <summary>Writes the fields of a data record header after its checksum (left for the caller); returns the header's size.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int WriteDataHeaderFields(Span<byte> header, ulong oid, long tid, long previous, long offset, int length)
    {
        var size = 4;
        size += VarInt.Write(header[size..], oid);
        size += VarInt.Write(header[size..], (ulong)tid);
        size += VarInt.Write(header[size..], previous == 0 ? 0 : (ulong)(offset - previous));
        size += VarInt.Write(header[size..], (uint)length);
        return size;
    }

    /// <summary>
    /// Reads the header of the data record at file offset <paramref name="offset"/> from the bytes
    /// there (all of them up to <see cref="MaxDataHeaderSize"/>, or to where they end); false if they
    /// end inside it or a field has more than 64 bits. The fields are not checked: check them, and
    /// the checksum with <see cref="DataChecksumStart"/>. An impossible previous-revision distance
    /// reads as −1, an impossible length as <see cref="uint.MaxValue"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool TryReadDataHeader(ReadOnlySpan<byte> bytes, long offset, out DataHeader header)
    {
        header = default;
        var position = 4;
        if (bytes.Length < MinDataHeaderSize
            || !VarInt.TryRead(bytes, ref position, out var oid)
            || !VarInt.TryRead(bytes, ref position, out var tid)
            || !VarInt.TryRead(bytes, ref position, out var distance)
            || !VarInt.TryRead(bytes, ref position, out var length))
            return false;
        var previous = distance == 0 ? 0 : distance > (ulong)offset ? -1 : offset - (long)distance;
        header = new DataHeader(oid, tid > long.MaxValue ? -1 : (long)tid, previous, (uint)Math.Min(length, uint.MaxValue),
            BinaryPrimitives.ReadUInt32LittleEndian(bytes), position);
        return true;
    }

    /// <summary>The checksum of a data record header's checked part (all but the checksum); append the record bytes to it.</summary>
    public static uint DataChecksumStart(ReadOnlySpan<byte> header) => Crc32C.Compute(header[4..]);

    /// <summary>Writes a transaction trailer.</summary>
    public static void WriteTrailer(Span<byte> trailer, long length, uint checksum)
    {
        BinaryPrimitives.WriteInt64LittleEndian(trailer, length);
        BinaryPrimitives.WriteUInt32LittleEndian(trailer[8..], checksum);
        BinaryPrimitives.WriteUInt32LittleEndian(trailer[12..], CommitMarker);
    }

    /// <summary>Whether a trailer closes a transaction of <paramref name="length"/> bytes whose checksum is <paramref name="checksum"/>.</summary>
    public static bool TrailerMatches(ReadOnlySpan<byte> trailer, long length, uint checksum) =>
        trailer.Length >= TrailerSize
        && BinaryPrimitives.ReadInt64LittleEndian(trailer) == length
        && BinaryPrimitives.ReadUInt32LittleEndian(trailer[8..]) == checksum
        && BinaryPrimitives.ReadUInt32LittleEndian(trailer[12..]) == CommitMarker;
}

/// <summary>What a file header says.</summary>
/// <param name="SignatureMatches">Whether the file starts with the file storage's signature.</param>
/// <param name="Version">The format version.</param>
/// <param name="HeaderSize">The header size the file declares.</param>
/// <param name="DatabaseId">The id chosen when the file was created.</param>
/// <param name="ChecksumMatches">Whether the header's checksum (where format 1 keeps it) matches.</param>
internal readonly record struct FileHeader(bool SignatureMatches, uint Version, uint HeaderSize, Guid DatabaseId, bool ChecksumMatches);

/// <summary>A transaction header whose checksum matched.</summary>
/// <param name="Kind">What the transaction is (<see cref="FileStorageFormat.CommittedKind"/>).</param>
/// <param name="Flags">Reserved, 0.</param>
/// <param name="Tid">The transaction id.</param>
/// <param name="Length">The length of the whole transaction in bytes.</param>
/// <param name="RecordCount">The number of data records.</param>
internal readonly record struct TransactionHeader(ushort Kind, ushort Flags, long Tid, long Length, uint RecordCount);

/// <summary>A data record header as read (not yet checked).</summary>
/// <param name="Oid">The object.</param>
/// <param name="Tid">The transaction that wrote the revision.</param>
/// <param name="Previous">The offset of the object's previous revision, 0 if none (−1 if the stored distance is impossible).</param>
/// <param name="Length">The record's length.</param>
/// <param name="Checksum">The CRC-32C of the header after the checksum and the record.</param>
/// <param name="Size">The header's size in bytes; the record follows it.</param>
internal readonly record struct DataHeader(ulong Oid, long Tid, long Previous, uint Length, uint Checksum, int Size)
{
    /// <summary>
    /// Whether a writer can have written this header at <paramref name="offset"/>: a positive tid, a
    /// previous revision before it, a possible record length, and the record ending by <paramref name="end"/>.
    /// </summary>
    public bool IsPossibleAt(long offset, long end) =>
        Tid > 0 && Previous >= 0 && Previous < offset
        && Length >= RecordFormat.MinimumSize && Length <= Array.MaxLength - Size
        && offset + Size + Length <= end;
}
