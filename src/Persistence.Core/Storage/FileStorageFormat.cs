using System.Buffers.Binary;

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
///   8   4  format version (u32) = 1
///   12  4  header size (u32) = 64
///   16  16 database id (a random GUID chosen when the file is created)
///   32  8  file id (u64): 0 for a file never packed, a random number for each file a pack writes
///   40  8  oid floor (u64): the highest oid the database had stored when a pack wrote this file;
///          new oids stay above it, so an oid the pack dropped is never handed out again (0: never packed)
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
/// data record   (32-byte header, then the record)
///   0   8  oid (u64)
///   8   8  tid (i64), the transaction's
///   16  8  file offset of the object's previous revision (i64), 0 if this is its first
///   24  4  record length n (u32)
///   28  4  CRC-32C of bytes 0..28 of this header followed by the n record bytes
///   32  n  the record (RecordFormat: type id, schema version, state, reference list)
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

    /// <summary>The size of a data record header.</summary>
    public const int DataHeaderSize = 32;

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

    /// <summary>
    /// Writes a data record header for <paramref name="record"/> (the bytes that follow it), checksum included.
    /// </summary>
    public static void WriteDataHeader(Span<byte> header, ulong oid, long tid, long previous, ReadOnlySpan<byte> record)
    {
        BinaryPrimitives.WriteUInt64LittleEndian(header, oid);
        BinaryPrimitives.WriteInt64LittleEndian(header[8..], tid);
        BinaryPrimitives.WriteInt64LittleEndian(header[16..], previous);
        BinaryPrimitives.WriteUInt32LittleEndian(header[24..], (uint)record.Length);
        var crc = Crc32C.Append(Crc32C.Compute(header[..HeaderChecksumOffset]), record);
        BinaryPrimitives.WriteUInt32LittleEndian(header[HeaderChecksumOffset..], crc);
    }

    /// <summary>Reads a data record header (check its checksum with <see cref="DataChecksumStart"/>).</summary>
    public static DataHeader ReadDataHeader(ReadOnlySpan<byte> header) => new(
        BinaryPrimitives.ReadUInt64LittleEndian(header),
        BinaryPrimitives.ReadInt64LittleEndian(header[8..]),
        BinaryPrimitives.ReadInt64LittleEndian(header[16..]),
        BinaryPrimitives.ReadUInt32LittleEndian(header[24..]),
        BinaryPrimitives.ReadUInt32LittleEndian(header[HeaderChecksumOffset..]));

    /// <summary>The checksum of a data record header's checked part; append the record bytes to it.</summary>
    public static uint DataChecksumStart(ReadOnlySpan<byte> header) => Crc32C.Compute(header[..HeaderChecksumOffset]);

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
/// <param name="Previous">The offset of the object's previous revision, 0 if none.</param>
/// <param name="Length">The record's length.</param>
/// <param name="Checksum">The CRC-32C of the header's first 28 bytes and the record.</param>
internal readonly record struct DataHeader(ulong Oid, long Tid, long Previous, uint Length, uint Checksum);
