using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;

namespace Persistence.Serialization;

/// <summary>
/// Reads the state of one record, in the order <see cref="RecordWriter"/> wrote it. Every read is
/// bounds-checked: damaged or hostile bytes raise <see cref="FormatException"/>, which the
/// connection reports as <see cref="CorruptDatabaseException"/> naming the object.
/// </summary>
public ref struct RecordReader
{
    private readonly ReadOnlySpan<byte> _state;
    private readonly IReferenceResolver? _resolver;
    private int _position;

    /// <summary>Creates a reader over the state bytes of a record (see <see cref="RecordFormat.State(ReadOnlySpan{byte})"/>).</summary>
    public RecordReader(ReadOnlySpan<byte> state, IReferenceResolver? resolver)
    {
        _state = state;
        _resolver = resolver;
        _position = 0;
    }

    /// <summary>The number of state bytes not read yet.</summary>
    public readonly int Remaining => _state.Length - _position;

    /// <summary>Reads a Boolean; any byte but 0 and 1 is damage.</summary>
    public bool ReadBoolean()
    {
        var b = ReadByte();
        return b switch
        {
            0 => false,
            1 => true,
            _ => throw Damaged($"a Boolean stored as {b}"),
        };
    }

    /// <summary>Reads one byte.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public byte ReadByte()
    {
        if ((uint)_position >= (uint)_state.Length) throw Truncated(1);
        return _state[_position++];
    }

    /// <summary>Reads a signed byte.</summary>
    public sbyte ReadSByte() => (sbyte)ReadByte();

    /// <summary>Reads a 16-bit integer.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public short ReadInt16() => ReadRaw<short>();

    /// <summary>Reads an unsigned 16-bit integer.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ushort ReadUInt16() => ReadRaw<ushort>();

    /// <summary>Reads a character.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public char ReadChar() => (char)ReadRaw<ushort>();

    /// <summary>Reads a 32-bit integer.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int ReadInt32() => ReadRaw<int>();

    /// <summary>Reads an unsigned 32-bit integer.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public uint ReadUInt32() => ReadRaw<uint>();

    /// <summary>Reads a 64-bit integer.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public long ReadInt64() => ReadRaw<long>();

    /// <summary>Reads an unsigned 64-bit integer.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ulong ReadUInt64() => ReadRaw<ulong>();

    /// <summary>Reads a 32-bit float.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public float ReadSingle() => BitConverter.Int32BitsToSingle(ReadRaw<int>());

    /// <summary>Reads a 64-bit float.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public double ReadDouble() => BitConverter.Int64BitsToDouble(ReadRaw<long>());

    /// <summary>Reads a half-precision float.</summary>
    public Half ReadHalf() => BitConverter.Int16BitsToHalf(ReadRaw<short>());

    /// <summary>Reads a decimal.</summary>
    public decimal ReadDecimal()
    {
        Span<int> bits = [ReadRaw<int>(), ReadRaw<int>(), ReadRaw<int>(), ReadRaw<int>()];
        try
        {
            return new decimal(bits);
        }
        catch (ArgumentException e)
        {
            throw new FormatException("A record is damaged: a decimal has invalid flags.", e);
        }
    }

    /// <summary>Reads a DateTime.</summary>
    public DateTime ReadDateTime()
    {
        var binary = ReadRaw<long>();
        try
        {
            return DateTime.FromBinary(binary);
        }
        catch (ArgumentException e)
        {
            throw new FormatException("A record is damaged: a DateTime is out of range.", e);
        }
    }

    /// <summary>Reads a DateTimeOffset.</summary>
    public DateTimeOffset ReadDateTimeOffset()
    {
        var ticks = ReadRaw<long>();
        var minutes = ReadRaw<short>();
        try
        {
            return new DateTimeOffset(ticks, TimeSpan.FromMinutes(minutes));
        }
        catch (ArgumentException e)
        {
            throw new FormatException("A record is damaged: a DateTimeOffset is out of range.", e);
        }
    }

    /// <summary>Reads a DateOnly.</summary>
    public DateOnly ReadDateOnly()
    {
        var day = ReadRaw<int>();
        if ((uint)day > (uint)DateOnly.MaxValue.DayNumber) throw Damaged($"a DateOnly with day number {day}");
        return DateOnly.FromDayNumber(day);
    }

    /// <summary>Reads a TimeOnly.</summary>
    public TimeOnly ReadTimeOnly()
    {
        var ticks = ReadRaw<long>();
        if ((ulong)ticks > (ulong)TimeOnly.MaxValue.Ticks) throw Damaged($"a TimeOnly with {ticks} ticks");
        return new TimeOnly(ticks);
    }

    /// <summary>Reads a TimeSpan.</summary>
    public TimeSpan ReadTimeSpan() => new(ReadRaw<long>());

    /// <summary>Reads a Guid.</summary>
    public Guid ReadGuid()
    {
        if (16 > _state.Length - _position) throw Truncated(16);
        var value = new Guid(_state.Slice(_position, 16));
        _position += 16;
        return value;
    }

    /// <summary>Reads a string (null if its length was written as 0).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public string? ReadString()
    {
        var length = ReadLength();
        return length < 0 ? null : Encoding.UTF8.GetString(Take(length));
    }

    /// <summary>Reads a byte array (null if its length was written as 0).</summary>
    public byte[]? ReadBytes()
    {
        var length = ReadLength();
        return length < 0 ? null : Take(length).ToArray();
    }

    /// <summary>
    /// Reads a collection count written by <see cref="RecordWriter.WriteCount"/>: -1 for null, else a
    /// count that can fit in the bytes left if each element takes at least
    /// <paramref name="minimumElementSize"/> bytes (so damaged counts never allocate huge arrays).
    /// </summary>
    public int ReadCount(int minimumElementSize = 1)
    {
        var stored = ReadVarInt();
        if (stored == 0) return -1;
        var count = stored - 1;
        if (count > int.MaxValue || count * (ulong)Math.Max(minimumElementSize, 0) > (ulong)Remaining)
            throw Damaged($"a collection count of {count} with {Remaining} bytes left");
        return (int)count;
    }

    /// <summary>Reads the length of a string or byte array (-1 for null), checked to fit in the bytes left.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal int ReadLength()
    {
        var stored = ReadVarInt();
        if (stored == 0) return -1;
        if (stored - 1 > (ulong)Remaining) throw Truncated((int)Math.Min(stored - 1, int.MaxValue));
        return (int)(stored - 1);
    }

    /// <summary>Reads a stored reference without resolving it.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public ObjectReference ReadObjectReference()
    {
        var oid = ReadVarInt();
        if (oid == 0) return default;
        var typeId = ReadVarInt();
        if (typeId > uint.MaxValue) throw BadTypeId(oid, typeId);
        return new ObjectReference(new Oid(oid), (uint)typeId);
    }

    // Built apart from ReadObjectReference, which is compiled optimized on first use.
    private readonly FormatException BadTypeId(ulong oid, ulong typeId) => Damaged($"a reference to {new Oid(oid)} with type id {typeId}");

    /// <summary>Reads an unsigned integer written in 1 to 10 bytes (<see cref="VarInt"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal ulong ReadVarInt()
    {
        if (!VarInt.TryRead(_state, ref _position, out var value))
            throw Damaged("a variable-length integer cut short or of more than 64 bits");
        return value;
    }

    /// <summary>Reads a reference to a persistent object, checked to be a <typeparamref name="T"/>: null, an object already loaded, or a ghost.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public T? ReadReference<T>() where T : PersistentObject? =>
        ReadReference() is { } target ? target as T ?? throw WrongReferenceType(target, ClassNames.Of<T>()) : null;

    /// <summary>
    /// Reads a reference to a persistent object of any class: null, an object already loaded, or a
    /// ghost. Generated code reads reference properties with it and checks the class when the property
    /// is read (<see cref="PersistentObject.Referenced{T}"/>): a check here would read the object
    /// itself, which for an object loaded a while ago is a cache miss on every load that refers to it.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public PersistentObject? ReadReference()
    {
        var reference = ReadObjectReference();
        if (reference.Oid.IsNull) return null;
        return (_resolver ?? throw NoResolver()).Materialize(reference);
    }

    // Built apart from the readers of references, which are compiled optimized on first use.
    private static InvalidOperationException NoResolver() =>
        new("This record reader has no reference resolver, so it cannot read references to persistent objects.");

    /// <summary>
    /// The error for a reference whose object is not of the class the field that holds it is typed
    /// with (<paramref name="expected"/>); <paramref name="field"/> names the field, and the error
    /// carries <paramref name="className"/> and <paramref name="fieldName"/> when they are known.
    /// </summary>
    internal static SchemaMismatchException WrongReferenceType(
        PersistentObject target, string expected, string field = "the field that references it", string? className = null, string? fieldName = null) =>
        target is MissingClass missing
            ? missing.Reason()
            : new(
                StoredNames.WhyNotReadAs(target.PersistentType, expected, field) is { } why
                    ? $"{target.ObjectOid}: {why}"
                    : $"{target.ObjectOid} is stored as class '{ClassNames.OfStored(target.PersistentType.Name)}', but {field} holds objects of type '{expected}'. Change the field's type back, or migrate the data.",
                className ?? target.PersistentType.Name,
                fieldName);

    /// <summary>What turns references into objects (null for a reader that refuses references).</summary>
    internal readonly IReferenceResolver? Resolver => _resolver;

    /// <summary>The bytes not read yet (to decode in place, then <see cref="Skip"/> past).</summary>
    internal readonly ReadOnlySpan<byte> Unread => _state[_position..];

    /// <summary>An error for bytes that cannot be what the record says they are.</summary>
    internal readonly FormatException DamagedError(string what) => Damaged(what);

    /// <summary>Skips <paramref name="count"/> bytes.</summary>
    public void Skip(int count) => Take(count);

    /// <summary>Returns the next <paramref name="count"/> bytes and moves past them.</summary>
    public ReadOnlySpan<byte> ReadSpan(int count) => Take(count);

    private ReadOnlySpan<byte> Take(int count)
    {
        if ((uint)count > (uint)(_state.Length - _position)) throw Truncated(count);
        var span = _state.Slice(_position, count);
        _position += count;
        return span;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private T ReadRaw<T>() where T : unmanaged
    {
        var size = Unsafe.SizeOf<T>();
        if (size > _state.Length - _position) throw Truncated(size);
        var value = Unsafe.ReadUnaligned<T>(ref Unsafe.Add(ref MemoryMarshal.GetReference(_state), _position));
        _position += size;
        if (!BitConverter.IsLittleEndian) MemoryMarshal.AsBytes(new Span<T>(ref value)).Reverse();
        return value;
    }

    private readonly FormatException Truncated(int wanted) =>
        new($"A record is damaged: it ends {_state.Length - _position} bytes after position {_position}, where {wanted} more were needed.");

    private readonly FormatException Damaged(string what) =>
        new($"A record is damaged: {what} at position {_position}.");
}
