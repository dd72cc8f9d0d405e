using System.Buffers.Binary;

namespace Persistence.Serialization;

/// <summary>
/// The layout of one object record, the unit a storage keeps for each revision of an object.
/// </summary>
/// <remarks>
/// <code>
/// offset 0        u32  type id (database-wide, from the schema catalog; 0 = the catalog itself)
/// offset 4        u16  schema version of that type the state was written with
/// offset 6        ...  state: the fields, positional, as the type's schema lists them
/// end - 4 - 8n    u64  × n  the oids this record references (may repeat; no order)
/// end - 4         u32  n
/// </code>
/// All integers are little-endian. The reference list sits at the end so a storage (pack, garbage
/// collection) can walk references without decoding state, and so a writer can append it after the
/// state without knowing the count in advance.
/// </remarks>
public static class RecordFormat
{
    /// <summary>The size of the fixed header before the state.</summary>
    public const int HeaderSize = 6;

    /// <summary>The smallest possible record: a header, an empty state and an empty reference list.</summary>
    public const int MinimumSize = HeaderSize + 4;

    /// <summary>The type id reserved for the schema catalog record.</summary>
    public const uint CatalogTypeId = 0;

    /// <summary>Reads the type id of a record.</summary>
    public static uint TypeId(ReadOnlySpan<byte> record)
    {
        Check(record);
        return BinaryPrimitives.ReadUInt32LittleEndian(record);
    }

    /// <summary>Reads the schema version of a record.</summary>
    public static ushort SchemaVersion(ReadOnlySpan<byte> record)
    {
        Check(record);
        return BinaryPrimitives.ReadUInt16LittleEndian(record[4..]);
    }

    /// <summary>The number of references a record lists.</summary>
    public static int ReferenceCount(ReadOnlySpan<byte> record)
    {
        Check(record);
        var n = BinaryPrimitives.ReadUInt32LittleEndian(record[^4..]);
        if (n > (uint)(record.Length - MinimumSize) / 8)
            throw new FormatException($"The record's reference count {n} does not fit in its {record.Length} bytes.");
        return (int)n;
    }

    /// <summary>Reads reference <paramref name="index"/> of a record's reference list.</summary>
    public static Oid Reference(ReadOnlySpan<byte> record, int index)
    {
        var n = ReferenceCount(record);
        if ((uint)index >= (uint)n) throw new ArgumentOutOfRangeException(nameof(index));
        var start = record.Length - 4 - 8 * n;
        return new Oid(BinaryPrimitives.ReadUInt64LittleEndian(record[(start + 8 * index)..]));
    }

    /// <summary>Appends every oid the record references to <paramref name="into"/>.</summary>
    public static void References(ReadOnlySpan<byte> record, ICollection<Oid> into)
    {
        var n = ReferenceCount(record);
        var refs = record.Slice(record.Length - 4 - 8 * n, 8 * n);
        for (var i = 0; i < n; i++)
            into.Add(new Oid(BinaryPrimitives.ReadUInt64LittleEndian(refs[(8 * i)..])));
    }

    /// <summary>The state bytes of a record (between the header and the reference list).</summary>
    public static ReadOnlySpan<byte> State(ReadOnlySpan<byte> record)
    {
        var n = ReferenceCount(record);
        return record[HeaderSize..(record.Length - 4 - 8 * n)];
    }

    private static void Check(ReadOnlySpan<byte> record)
    {
        if (record.Length < MinimumSize)
            throw new FormatException($"A record is at least {MinimumSize} bytes; this one has {record.Length}.");
    }
}
