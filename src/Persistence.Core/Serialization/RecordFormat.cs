using System.Runtime.CompilerServices;

namespace Persistence.Serialization;

/// <summary>
/// The layout of one object record, the unit a storage keeps for each revision of an object.
/// </summary>
/// <remarks>
/// <code>
/// varint        type id (database-wide, from the schema catalog; 0 = the catalog itself)
/// varint        schema version of that type the state was written with
/// ...           state: the fields, positional, as the type's schema lists them
/// varint × n    the oids this record references (may repeat; no order), each as its zigzag-mapped
///               difference from the one before it (the first: from 0)
/// end − k .. end  the byte length of that reference list, a varint written backwards (k bytes)
/// </code>
/// Varints are <see cref="VarInt"/>'s. The backward varint's last byte holds the lowest 7 bits, with
/// the high bit set when the byte before it holds the next 7. The reference list sits at the end so
/// a storage (pack, garbage collection) can walk references without decoding state, and so a writer
/// can append it after the state without knowing the count in advance. docs/FORMAT.md has the same.
/// </remarks>
public static class RecordFormat
{
    /// <summary>The smallest possible record: a one-byte type id and schema version, an empty state and an empty reference list.</summary>
    public const int MinimumSize = 3;

    /// <summary>The type id reserved for the schema catalog record.</summary>
    public const uint CatalogTypeId = 0;

    /// <summary>Reads the type id of a record.</summary>
    public static uint TypeId(ReadOnlySpan<byte> record) => Parse(record).TypeId;

    /// <summary>Reads the schema version of a record.</summary>
    public static ushort SchemaVersion(ReadOnlySpan<byte> record) => Parse(record).SchemaVersion;

    /// <summary>Where the state of a record starts (after the type id and schema version).</summary>
    public static int StateOffset(ReadOnlySpan<byte> record) => Parse(record).StateStart;

    /// <summary>The state bytes of a record (between the header and the reference list).</summary>
    public static ReadOnlySpan<byte> State(ReadOnlySpan<byte> record)
    {
        var layout = Parse(record);
        return record[layout.StateStart..layout.StateEnd];
    }

    /// <summary>Reads the type id and schema version of a record and returns its state bytes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ReadOnlySpan<byte> State(ReadOnlySpan<byte> record, out uint typeId, out ushort schemaVersion)
    {
        var layout = Parse(record);
        typeId = layout.TypeId;
        schemaVersion = layout.SchemaVersion;
        return record[layout.StateStart..layout.StateEnd];
    }

    /// <summary>The references a record lists, to walk with <see cref="ReferenceList.MoveNext"/>.</summary>
    public static ReferenceList ReferencesOf(ReadOnlySpan<byte> record)
    {
        var layout = Parse(record);
        return new ReferenceList(record[layout.StateEnd..layout.ReferencesEnd]);
    }

    /// <summary>The number of references a record lists (every one is read, so damage in the list is found).</summary>
    public static int ReferenceCount(ReadOnlySpan<byte> record)
    {
        var list = ReferencesOf(record);
        var count = 0;
        while (list.MoveNext()) count++;
        return count;
    }

    /// <summary>Reads reference <paramref name="index"/> of a record's reference list.</summary>
    public static Oid Reference(ReadOnlySpan<byte> record, int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        var list = ReferencesOf(record);
        for (var i = 0; list.MoveNext(); i++)
            if (i == index) return list.Current;
        throw new ArgumentOutOfRangeException(nameof(index), $"The record lists fewer than {index + 1} references.");
    }

    /// <summary>Appends every oid the record references to <paramref name="into"/>.</summary>
    public static void References(ReadOnlySpan<byte> record, ICollection<Oid> into)
    {
        var list = ReferencesOf(record);
        while (list.MoveNext()) into.Add(list.Current);
    }

    /// <summary>Whether the record lists <paramref name="oid"/> among its references.</summary>
    /// <exception cref="FormatException">The record or its reference list is damaged.</exception>
    internal static bool Lists(ReadOnlySpan<byte> record, Oid oid)
    {
        var list = ReferencesOf(record);
        while (list.MoveNext())
        {
            if (list.Current == oid) return true;
        }
        return false;
    }

    /// <summary>
    /// Makes a record from its parts: for tools and storage tests that write records without a
    /// class (a database's records come from <see cref="RecordBuffer"/>).
    /// </summary>
    public static byte[] Compose(uint typeId, ushort schemaVersion, ReadOnlySpan<byte> state, ReadOnlySpan<Oid> references)
    {
        var buffer = new RecordBuffer(state.Length + 32 + VarInt.MaxLength * references.Length);
        var writer = buffer.BeginRecord(typeId, schemaVersion, null);
        writer.WriteRawBytes(state);
        foreach (var reference in references) buffer.AddReference(reference);
        return buffer.Memory(writer.Complete()).ToArray();
    }

    /// <summary>Writes the end of a record: the reference list, then its length backwards. Returns the bytes written (room for <see cref="VarInt.MaxLength"/> per oid and 5 more).</summary>
    internal static int WriteReferences(Span<byte> into, ReadOnlySpan<ulong> oids)
    {
        var position = 0;
        ulong previous = 0;
        foreach (var oid in oids)
        {
            position += VarInt.Write(into[position..], VarInt.ZigZag((long)(oid - previous)));
            previous = oid;
        }
        var length = (ulong)position;
        var size = VarInt.Size(length);
        for (var i = 0; i < size; i++)
            into[position + size - 1 - i] = (byte)(((length >> (7 * i)) & 0x7F) | (i < size - 1 ? 0x80u : 0u));
        return position + size;
    }

    /// <summary>The references of a record whose layout holds, to walk with <see cref="ReferenceList.TryMoveNext"/>; false (and nothing thrown) if it does not.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static bool TryGetReferences(ReadOnlySpan<byte> record, out ReferenceList references)
    {
        var fits = TryParse(record, out var layout) is null;
        references = fits ? new ReferenceList(record[layout.StateEnd..layout.ReferencesEnd]) : default;
        return fits;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Layout Parse(ReadOnlySpan<byte> record)
    {
        if (TryParse(record, out var layout) is { } error) throw new FormatException(error);
        return layout;
    }

    /// <summary>Reads a record's layout; the reason it cannot be read, or null.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static string? TryParse(ReadOnlySpan<byte> record, out Layout layout)
    {
        layout = default;
        if (record.Length < MinimumSize) return TooShort(record.Length);
        var position = 0;
        if (!VarInt.TryRead(record, ref position, out var typeId) || typeId > uint.MaxValue)
            return "A record's type id is cut short or larger than 32 bits.";
        if (!VarInt.TryRead(record, ref position, out var version) || version > ushort.MaxValue)
            return "A record's schema version is cut short or larger than 16 bits.";
        // The reference list's length, read backwards from the last byte.
        var end = record.Length;
        ulong length = 0;
        for (var shift = 0; ; shift += 7)
        {
            if (end <= position || shift > 28)
                return "A record's reference list length runs into its header or is larger than 32 bits.";
            var b = record[--end];
            length |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80) break;
        }
        if (length > (ulong)(end - position)) return ReferencesDoNotFit(length, record.Length);
        layout = new Layout((uint)typeId, (ushort)version, position, end - (int)length, end);
        return null;
    }

    // TryParse's messages, built apart from it (it is compiled optimized on first use).
    private static string TooShort(int length) => $"A record is at least {MinimumSize} bytes; this one has {length}.";

    private static string ReferencesDoNotFit(ulong length, int recordLength) =>
        $"A record's reference list of {length} bytes does not fit in its {recordLength} bytes.";

    private readonly record struct Layout(uint TypeId, ushort SchemaVersion, int StateStart, int StateEnd, int ReferencesEnd);

    /// <summary>The oids of a record's reference list, read one at a time.</summary>
    public ref struct ReferenceList
    {
        private readonly ReadOnlySpan<byte> _bytes;
        private int _position;
        private ulong _current;
        private bool _damaged;

        internal ReferenceList(ReadOnlySpan<byte> bytes)
        {
            _bytes = bytes;
            _position = 0;
            _current = 0;
            _damaged = false;
        }

        /// <summary>Whether <see cref="TryMoveNext"/> stopped at damage rather than at the end of the list.</summary>
        internal readonly bool IsDamaged => _damaged;

        /// <summary>The reference <see cref="MoveNext"/> read.</summary>
        public readonly Oid Current => new(_current);

        /// <summary>Reads the next reference; false at the end of the list.</summary>
        /// <exception cref="FormatException">The list ends inside a reference, or holds one of more than 64 bits.</exception>
        public bool MoveNext()
        {
            if (TryMoveNext()) return true;
            if (_damaged) throw new FormatException("A record's reference list ends inside a reference, or holds one of more than 64 bits.");
            return false;
        }

        /// <summary>Reads the next reference; false at the end of the list, or at damage (see <see cref="IsDamaged"/>), without throwing.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        internal bool TryMoveNext()
        {
            if (_position >= _bytes.Length) return false;
            if (!VarInt.TryRead(_bytes, ref _position, out var difference))
            {
                _damaged = true;
                return false;
            }
            _current += (ulong)VarInt.UnZigZag(difference);
            return true;
        }
    }
}
