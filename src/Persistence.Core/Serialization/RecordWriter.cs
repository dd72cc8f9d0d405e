using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;

namespace Persistence.Serialization;

/// <summary>
/// Writes the state of one record: fixed-width little-endian primitives, UTF-8 strings after their
/// variable-length size, references as oid and type id. Obtained from <see cref="RecordBuffer.BeginRecord"/>
/// and finished with <see cref="Complete"/>.
/// </summary>
/// <remarks>Generated <c>WriteState</c> methods call it; the wire format is described in docs/FORMAT.md.</remarks>
public ref struct RecordWriter
{
    private readonly RecordBuffer _owner;
    private readonly IReferenceResolver? _resolver;
    private int _start;
    private byte[] _buffer;
    private int _position;

    internal RecordWriter(RecordBuffer owner, IReferenceResolver? resolver, int start, int position)
    {
        _owner = owner;
        _resolver = resolver;
        _start = start;
        _buffer = owner.Bytes;
        _position = position;
    }

    /// <summary>The number of bytes written to this record so far, header included.</summary>
    public readonly int Written => _position - _start;

    /// <summary>Writes a Boolean as one byte (0 or 1).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void WriteBoolean(bool value) => WriteByte(value ? (byte)1 : (byte)0);

    /// <summary>Writes one byte.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void WriteByte(byte value)
    {
        if ((uint)_position >= (uint)_buffer.Length) Grow(1);
        _buffer[_position++] = value;
    }

    /// <summary>Writes a signed byte.</summary>
    public void WriteSByte(sbyte value) => WriteByte((byte)value);

    /// <summary>Writes a 16-bit integer.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void WriteInt16(short value) => WriteRaw(value);

    /// <summary>Writes an unsigned 16-bit integer.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void WriteUInt16(ushort value) => WriteRaw(value);

    /// <summary>Writes a character as its UTF-16 code unit.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void WriteChar(char value) => WriteRaw((ushort)value);

    /// <summary>Writes a 32-bit integer.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void WriteInt32(int value) => WriteRaw(value);

    /// <summary>Writes an unsigned 32-bit integer.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void WriteUInt32(uint value) => WriteRaw(value);

    /// <summary>Writes a 64-bit integer.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void WriteInt64(long value) => WriteRaw(value);

    /// <summary>Writes an unsigned 64-bit integer.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void WriteUInt64(ulong value) => WriteRaw(value);

    /// <summary>Writes a 32-bit float.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void WriteSingle(float value) => WriteRaw(BitConverter.SingleToInt32Bits(value));

    /// <summary>Writes a 64-bit float.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void WriteDouble(double value) => WriteRaw(BitConverter.DoubleToInt64Bits(value));

    /// <summary>Writes a half-precision float.</summary>
    public void WriteHalf(Half value) => WriteRaw(BitConverter.HalfToInt16Bits(value));

    /// <summary>Writes a decimal as its four 32-bit parts (lo, mid, hi, flags).</summary>
    public void WriteDecimal(decimal value)
    {
        Span<int> bits = stackalloc int[4];
        decimal.GetBits(value, bits);
        WriteRaw(bits[0]);
        WriteRaw(bits[1]);
        WriteRaw(bits[2]);
        WriteRaw(bits[3]);
    }

    /// <summary>Writes a DateTime as its 64-bit binary form (ticks and kind).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void WriteDateTime(DateTime value) => WriteRaw(value.ToBinary());

    /// <summary>Writes a DateTimeOffset as its clock ticks and its offset in minutes.</summary>
    public void WriteDateTimeOffset(DateTimeOffset value)
    {
        WriteRaw(value.Ticks);
        WriteRaw((short)(value.Offset.Ticks / TimeSpan.TicksPerMinute));
    }

    /// <summary>Writes a DateOnly as its day number.</summary>
    public void WriteDateOnly(DateOnly value) => WriteRaw(value.DayNumber);

    /// <summary>Writes a TimeOnly as its ticks.</summary>
    public void WriteTimeOnly(TimeOnly value) => WriteRaw(value.Ticks);

    /// <summary>Writes a TimeSpan as its ticks.</summary>
    public void WriteTimeSpan(TimeSpan value) => WriteRaw(value.Ticks);

    /// <summary>Writes a Guid as its 16 bytes.</summary>
    public void WriteGuid(Guid value)
    {
        if (16 > _buffer.Length - _position) Grow(16);
        value.TryWriteBytes(_buffer.AsSpan(_position, 16));
        _position += 16;
    }

    /// <summary>Writes a string as its UTF-8 byte length plus one (0 for null), variable-length, and its UTF-8 bytes.</summary>
    /// <exception cref="ArgumentException">The string is not valid UTF-16 (it holds a lone surrogate), which UTF-8 cannot hold.</exception>
    public void WriteString(string? value)
    {
        if (value is null)
        {
            WriteByte(0);
            return;
        }
        // Up to 42 characters take at most 126 bytes, so their length takes one byte whatever they are.
        if (value.Length <= 42)
        {
            if (1 + 3 * value.Length > _buffer.Length - _position) Grow(1 + 3 * value.Length);
            var written = Encoding.UTF8.GetBytes(value, _buffer.AsSpan(_position + 1));
            if (written != value.Length) RequireValidText(value);
            _buffer[_position] = (byte)(written + 1);
            _position += 1 + written;
            return;
        }
        var length = Encoding.UTF8.GetByteCount(value);
        if (length != value.Length) RequireValidText(value);
        if ((long)VarInt.MaxLength + length > _buffer.Length - _position) Grow(VarInt.MaxLength + length);
        _position += VarInt.Write(_buffer.AsSpan(_position), (ulong)length + 1);
        _position += Encoding.UTF8.GetBytes(value, _buffer.AsSpan(_position));
    }

    /// <summary>
    /// Refuses a string with a lone surrogate, which UTF-8 would store as U+FFFD: another string than the
    /// one written (two dictionary keys would become one, a tree's keys would come back out of order).
    /// Called only for a string that is not all ASCII (its UTF-8 is longer than its chars), which a
    /// surrogate always makes it.
    /// </summary>
    private static void RequireValidText(string value)
    {
        var at = value.AsSpan().IndexOfAnyInRange('\uD800', '\uDFFF');
        if (at < 0) return;
        for (var i = at; i < value.Length; i++)
        {
            var c = value[i];
            if (!char.IsSurrogate(c)) continue;
            if (char.IsHighSurrogate(c) && i + 1 < value.Length && char.IsLowSurrogate(value[i + 1]))
            {
                i++;
                continue;
            }
            throw new ArgumentException(
                $"A string to store is not valid UTF-16: it holds a lone surrogate (a char from \\uD800 to \\uDFFF without its pair) at index {i}, which cannot be stored as text. Store such data as bytes (byte[]) instead.");
        }
    }

    /// <summary>Writes a byte array as its length plus one (0 for null), variable-length, and its bytes.</summary>
    public void WriteBytes(byte[]? value)
    {
        if (value is null)
        {
            WriteByte(0);
            return;
        }
        WriteBytes((ReadOnlySpan<byte>)value);
    }

    /// <summary>Writes bytes as their length plus one, variable-length, and the bytes.</summary>
    public void WriteBytes(ReadOnlySpan<byte> value)
    {
        if ((long)VarInt.MaxLength + value.Length > _buffer.Length - _position) Grow(VarInt.MaxLength + value.Length);
        _position += VarInt.Write(_buffer.AsSpan(_position), (ulong)value.Length + 1);
        value.CopyTo(_buffer.AsSpan(_position));
        _position += value.Length;
    }

    /// <summary>
    /// Writes a collection count plus one (0 for a null collection, <paramref name="count"/> −1), variable-length.
    /// </summary>
    public void WriteCount(int count)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, -1);
        WriteVarInt((ulong)(count + 1L));
    }

    /// <summary>
    /// Writes a reference to another persistent object: its oid (0 for null) and, if not null, its
    /// type id, both variable-length. The oid is also added to the record's reference list.
    /// </summary>
    public void WriteReference(PersistentObject? target)
    {
        if (target is null)
        {
            WriteByte(0);
            return;
        }
        if (_resolver is null)
            throw new InvalidOperationException("This record writer has no reference resolver, so it cannot write references to persistent objects.");
        var reference = _resolver.Resolve(target);
        WriteVarInt(reference.Oid.Value);
        WriteVarInt(reference.TypeId);
        _owner.AddReference(reference.Oid);
    }

    /// <summary>
    /// Writes a reference as a record held it (<see cref="RecordReader.ReadObjectReference"/>), for an
    /// object the writer's connection has not made from it: its oid and type id as they were stored.
    /// </summary>
    internal void WriteStoredReference(ObjectReference reference)
    {
        WriteVarInt(reference.Oid.Value);
        WriteVarInt(reference.TypeId);
        _owner.AddReference(reference.Oid);
    }

    /// <summary>Writes an unsigned integer in 1 to 10 bytes (<see cref="VarInt"/>).</summary>
    internal void WriteVarInt(ulong value)
    {
        if (value < 0x80)
        {
            WriteByte((byte)value);
            return;
        }
        if (VarInt.MaxLength > _buffer.Length - _position) Grow(VarInt.MaxLength);
        _position += VarInt.Write(_buffer.AsSpan(_position), value);
    }

    /// <summary>
    /// Room for at least <paramref name="size"/> bytes at the writer's position, to fill and then
    /// <see cref="Advance"/> past (the packed arrays, <see cref="PackedIntegers"/>, write this way).
    /// </summary>
    internal Span<byte> GetSpan(int size)
    {
        if (size > _buffer.Length - _position) Grow(size);
        return _buffer.AsSpan(_position, size);
    }

    /// <summary>Moves the position past <paramref name="count"/> bytes filled through <see cref="GetSpan"/>.</summary>
    internal void Advance(int count) => _position += count;

    /// <summary>Copies bytes as they are, with no length (used when converting stored state).</summary>
    internal void WriteRawBytes(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length > _buffer.Length - _position) Grow(bytes.Length);
        bytes.CopyTo(_buffer.AsSpan(_position));
        _position += bytes.Length;
    }

    /// <summary>Ends the record: appends the reference list and returns the record's place in the buffer.</summary>
    public RecordSlice Complete() => _owner.CompleteRecord(_start, _position);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void WriteRaw<T>(T value) where T : unmanaged
    {
        var size = Unsafe.SizeOf<T>();
        if (size > _buffer.Length - _position) Grow(size);
        if (!BitConverter.IsLittleEndian) value = ReverseEndianness(value);
        Unsafe.WriteUnaligned(ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_buffer), _position), value);
        _position += size;
    }

    private static T ReverseEndianness<T>(T value) where T : unmanaged
    {
        var span = MemoryMarshal.AsBytes(new Span<T>(ref value));
        span.Reverse();
        return value;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void Grow(int needed)
    {
        _owner.Grow(ref _start, ref _position, needed);
        _buffer = _owner.Bytes;
    }
}
