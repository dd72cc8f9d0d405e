using System.Buffers.Binary;
using System.Text;
using Persistence.Serialization;
using Persistence.Storage;

namespace Persistence.Tests.Storage;

/// <summary>Builds records by hand, following <see cref="RecordFormat"/>, so the storage tests need nothing else of Core.</summary>
internal static class TestRecords
{
    public const uint TypeId = 7;

    public static byte[] Make(string state, params Oid[] references) => Make(Encoding.UTF8.GetBytes(state), references);

    public static byte[] Make(ReadOnlySpan<byte> state, params Oid[] references) => RecordFormat.Compose(TypeId, 1, state, references);

    /// <summary>The size of the data record header at <paramref name="offset"/> of the data file at <paramref name="path"/>: the record's bytes follow it.</summary>
    public static int DataHeaderSizeAt(string path, long offset)
    {
        var bytes = File.ReadAllBytes(path);
        Assert.True(FileStorageFormat.TryReadDataHeader(bytes.AsSpan((int)offset), offset, out var header));
        return header.Size;
    }

    public static string Text(ReadOnlyMemory<byte> record) => Encoding.UTF8.GetString(RecordFormat.State(record.Span));

    public static string Text(StoredRecord? record)
    {
        Assert.NotNull(record);
        return Text(record.Value.Data);
    }

    /// <summary>Stores the records in one transaction, votes and finishes it; returns its tid.</summary>
    public static long Commit(IStorage storage, params (Oid Oid, long Serial, byte[] Data)[] records)
    {
        using var transaction = storage.Begin();
        foreach (var (oid, serial, data) in records)
            transaction.Store(oid, serial, data);
        transaction.Vote();
        return transaction.Finish();
    }

    /// <summary>Makes the checksums of the record at <paramref name="offset"/> of a data file's <paramref name="bytes"/> and of the transaction it lies in hold again (after a change to them, as a crafted file or an unlucky disk could make).</summary>
    public static void MakeChecksumsHold(byte[] bytes, long offset)
    {
        var recordOffset = (int)offset;
        Assert.True(FileStorageFormat.TryReadDataHeader(bytes.AsSpan(recordOffset), recordOffset, out var header));
        var recordEnd = recordOffset + header.Size + (int)header.Length;
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(recordOffset), Crc32C.Compute(bytes.AsSpan(recordOffset + 4, recordEnd - recordOffset - 4)));
        // The transaction it lies in, walked to from the first by the lengths their headers give.
        var start = FileStorageFormat.FileHeaderSize;
        int LengthAt(int transaction) => (int)BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan(transaction + 16));
        while (start + LengthAt(start) <= recordOffset) start += LengthAt(start);
        var end = start + LengthAt(start);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(end - 8), Crc32C.Compute(bytes.AsSpan(start, end - 16 - start)));
    }
}
