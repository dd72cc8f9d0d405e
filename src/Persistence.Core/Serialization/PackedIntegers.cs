using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Persistence.Serialization;

/// <summary>
/// The <c>packed&lt;T&gt;</c> encoding of an array of integers (docs/FORMAT.md, "Field encodings"):
/// the count as collections write it (<see cref="RecordWriter.WriteCount"/>), then, if there are
/// elements, a mode byte and the elements, either as they are (mode 0: fixed-width little-endian) or
/// as the differences between neighbours (mode 1: each
/// element minus the one before it, the first minus zero, in 64-bit two's complement arithmetic,
/// zigzag-mapped so that small negative differences are small too, in 1 to 10 bytes each). The writer
/// writes the differences unless they turn out no shorter than the elements, so the packed form is
/// never more than one byte longer than the plain one.
/// </summary>
/// <remarks>
/// The BTree buckets and nodes keep their integer keys and values this way: keys in increasing order
/// differ little from their neighbours (increasing ids take one byte each instead of four or eight),
/// and every change rewrites the whole bucket, so its size is what random inserts write.
/// </remarks>
internal static class PackedIntegers
{
    private const byte PlainMode = 0;
    private const byte DeltaMode = 1;
    // The most bytes one difference takes: 64 bits, 7 a byte.

    /// <summary>Whether <paramref name="code"/> is the type code of an integer <c>packed&lt;T&gt;</c> can hold.</summary>
    public static bool IsElementCode(string code) => code is "i8" or "u8" or "i16" or "u16" or "i32" or "u32" or "i64" or "u64";

    /// <summary>Whether arrays of <typeparamref name="T"/> written with <paramref name="codec"/> can be packed.</summary>
    public static bool Supports<T>(ValueCodec<T> codec) =>
        !RuntimeHelpers.IsReferenceOrContainsReferences<T>() &&
        (codec == (object)ValueCodecs.Int32 || codec == (object)ValueCodecs.Int64 ||
         codec == (object)ValueCodecs.UInt32 || codec == (object)ValueCodecs.UInt64 ||
         codec == (object)ValueCodecs.Int16 || codec == (object)ValueCodecs.UInt16 ||
         codec == (object)ValueCodecs.Byte || codec == (object)ValueCodecs.SByte);

    /// <summary>Writes <paramref name="items"/> (of one of the eight integer types) packed.</summary>
    public static void Write<T>(ref RecordWriter writer, ReadOnlySpan<T> items)
    {
        writer.WriteCount(items.Length);
        if (items.Length == 0) return;
        var plainLength = items.Length * Unsafe.SizeOf<T>();
        var into = writer.GetSpan(1 + (items.Length * VarInt.MaxLength));
        if (TryWriteDeltas(items, into[1..], out var written))
        {
            into[0] = DeltaMode;
            writer.Advance(1 + written);
            return;
        }
        into[0] = PlainMode;
        var plain = into.Slice(1, plainLength);
        MemoryMarshal.CreateReadOnlySpan(ref Unsafe.As<T, byte>(ref MemoryMarshal.GetReference(items)), plainLength).CopyTo(plain);
        if (!BitConverter.IsLittleEndian) ReverseEach(plain, Unsafe.SizeOf<T>());
        writer.Advance(1 + plainLength);
    }

    /// <summary>
    /// Writes the differences into <paramref name="into"/> (room for 10 bytes each), or returns false
    /// once they are no shorter than the elements: at the end, or already at a multiple of 16 elements
    /// (so arrays of unrelated large numbers are not encoded twice over).
    /// </summary>
    private static bool TryWriteDeltas<T>(ReadOnlySpan<T> items, Span<byte> into, out int written)
    {
        ref var start = ref MemoryMarshal.GetReference(into);
        var position = 0;
        long previous = 0;
        for (var i = 0; i < items.Length; i++)
        {
            var value = ToInt64(items[i]);
            var difference = VarInt.ZigZag(value - previous);
            previous = value;
            while (difference >= 0x80)
            {
                Unsafe.Add(ref start, position++) = (byte)(difference | 0x80);
                difference >>= 7;
            }
            Unsafe.Add(ref start, position++) = (byte)difference;
            if ((i & 15) == 15 && position >= (i + 1) * Unsafe.SizeOf<T>())
            {
                written = 0;
                return false;
            }
        }
        written = position;
        return position < items.Length * Unsafe.SizeOf<T>();
    }

    /// <summary>
    /// Reads a packed array into a new array with <paramref name="offset"/> empty slots before the
    /// elements and at least <paramref name="extra"/> after them; null if it was written as null.
    /// </summary>
    /// <exception cref="FormatException">The bytes are not a packed array of <typeparamref name="T"/>.</exception>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static T[]? Read<T>(ref RecordReader reader, int offset, int extra, out int count)
    {
        // Every element takes at least one byte in either mode.
        count = reader.ReadCount(1);
        if (count < 0) return null;
        var items = new T[offset + count + extra];
        if (count == 0) return items;
        var into = items.AsSpan(offset, count);
        var mode = reader.ReadByte();
        if (mode == PlainMode)
        {
            var bytes = reader.ReadSpan(PlainLength(ref reader, count, Unsafe.SizeOf<T>()));
            var elements = MemoryMarshal.CreateSpan(ref Unsafe.As<T, byte>(ref MemoryMarshal.GetReference(into)), bytes.Length);
            bytes.CopyTo(elements);
            if (!BitConverter.IsLittleEndian) ReverseEach(elements, Unsafe.SizeOf<T>());
            return items;
        }
        if (mode != DeltaMode) throw BadMode(ref reader, mode);
        var source = reader.Unread;
        var position = 0;
        long previous = 0;
        for (var i = 0; i < into.Length; i++)
        {
            if (!VarInt.TryRead(source, ref position, out var difference)) throw BadDifference(ref reader);
            previous += VarInt.UnZigZag(difference);
            if (!TryFrom(previous, out into[i])) throw OutOfRange<T>(ref reader, previous);
        }
        reader.Skip(position);
        return items;
    }

    // Read's errors, built apart from it (it is compiled optimized on first use).
    private static FormatException BadMode(ref RecordReader reader, byte mode) => reader.DamagedError($"a packed array in mode {mode}");

    private static FormatException OutOfRange<T>(ref RecordReader reader, long value) => reader.DamagedError($"a packed array of {typeof(T).Name} holding {value}");

    /// <summary>Moves the reader past a packed array of elements <paramref name="elementSize"/> bytes wide.</summary>
    public static void Skip(ref RecordReader reader, int elementSize)
    {
        var count = reader.ReadCount(1);
        if (count <= 0) return;
        var mode = reader.ReadByte();
        if (mode == PlainMode)
        {
            reader.Skip(PlainLength(ref reader, count, elementSize));
            return;
        }
        if (mode != DeltaMode) throw BadMode(ref reader, mode);
        var source = reader.Unread;
        var position = 0;
        for (var i = 0; i < count; i++)
            if (!VarInt.TryRead(source, ref position, out _)) throw BadDifference(ref reader);
        reader.Skip(position);
    }

    private static FormatException BadDifference(ref RecordReader reader) =>
        reader.DamagedError("a packed array cut short, or holding a difference of more than 64 bits,");

    private static int PlainLength(ref RecordReader reader, int count, int elementSize)
    {
        var length = (long)count * elementSize;
        if (length > reader.Remaining) throw TooLong(ref reader, count, elementSize);
        return (int)length;
    }

    private static FormatException TooLong(ref RecordReader reader, int count, int elementSize) =>
        reader.DamagedError($"a packed array of {count} elements of {elementSize} bytes with {reader.Remaining} bytes left");

    /// <summary>Reads a packed array of <paramref name="elementCode"/> integers as their 64-bit values (the schema converter's form).</summary>
    public static long[]? ReadInt64s(ref RecordReader reader, string elementCode) => elementCode switch
    {
        "i8" => Widen(Read<sbyte>(ref reader, 0, 0, out _)),
        "u8" => Widen(Read<byte>(ref reader, 0, 0, out _)),
        "i16" => Widen(Read<short>(ref reader, 0, 0, out _)),
        "u16" => Widen(Read<ushort>(ref reader, 0, 0, out _)),
        "i32" => Widen(Read<int>(ref reader, 0, 0, out _)),
        "u32" => Widen(Read<uint>(ref reader, 0, 0, out _)),
        "i64" => Read<long>(ref reader, 0, 0, out _),
        "u64" => Widen(Read<ulong>(ref reader, 0, 0, out _)),
        _ => throw NotAnElement(elementCode),
    };

    /// <summary>Writes 64-bit values, each known to fit <paramref name="elementCode"/>, as a packed array of that type (null writes a null array).</summary>
    public static void WriteInt64s(ref RecordWriter writer, long[]? values, string elementCode)
    {
        if (values is null)
        {
            writer.WriteCount(-1);
            return;
        }
        switch (elementCode)
        {
            case "i8": Write(ref writer, Narrow<sbyte>(values)); break;
            case "u8": Write(ref writer, Narrow<byte>(values)); break;
            case "i16": Write(ref writer, Narrow<short>(values)); break;
            case "u16": Write(ref writer, Narrow<ushort>(values)); break;
            case "i32": Write(ref writer, Narrow<int>(values)); break;
            case "u32": Write(ref writer, Narrow<uint>(values)); break;
            case "i64": Write<long>(ref writer, values); break;
            case "u64": Write(ref writer, Narrow<ulong>(values)); break;
            default: throw NotAnElement(elementCode);
        }
    }

    private static long[]? Widen<T>(T[]? items) => items is null ? null : Array.ConvertAll(items, static item => ToInt64(item));

    private static T[] Narrow<T>(long[] values) => Array.ConvertAll(values, static value => TryFrom(value, out T item) ? item : throw new OverflowException($"{value} does not fit a {typeof(T).Name}."));

    private static ArgumentException NotAnElement(string code) => new($"'{code}' is not an integer type code a packed array holds.", nameof(code));

    /// <summary>The value of one of the eight integer types, as a 64-bit integer (a u64 above the i64 range wraps).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static long ToInt64<T>(T item)
    {
        if (typeof(T) == typeof(int)) return Unsafe.As<T, int>(ref item);
        if (typeof(T) == typeof(long)) return Unsafe.As<T, long>(ref item);
        if (typeof(T) == typeof(uint)) return Unsafe.As<T, uint>(ref item);
        if (typeof(T) == typeof(ulong)) return (long)Unsafe.As<T, ulong>(ref item);
        if (typeof(T) == typeof(short)) return Unsafe.As<T, short>(ref item);
        if (typeof(T) == typeof(ushort)) return Unsafe.As<T, ushort>(ref item);
        if (typeof(T) == typeof(sbyte)) return Unsafe.As<T, sbyte>(ref item);
        if (typeof(T) == typeof(byte)) return Unsafe.As<T, byte>(ref item);
        throw NotPackable<T>();
    }

    /// <summary>The inverse of <see cref="ToInt64"/>: false if <paramref name="value"/> is out of the type's range.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool TryFrom<T>(long value, out T item)
    {
        item = default!;
        if (typeof(T) == typeof(int)) return value == (Unsafe.As<T, int>(ref item) = (int)value);
        if (typeof(T) == typeof(long)) return (Unsafe.As<T, long>(ref item) = value) == value;
        if (typeof(T) == typeof(uint)) return value == (Unsafe.As<T, uint>(ref item) = (uint)value);
        if (typeof(T) == typeof(ulong)) return (long)(Unsafe.As<T, ulong>(ref item) = (ulong)value) == value;
        if (typeof(T) == typeof(short)) return value == (Unsafe.As<T, short>(ref item) = (short)value);
        if (typeof(T) == typeof(ushort)) return value == (Unsafe.As<T, ushort>(ref item) = (ushort)value);
        if (typeof(T) == typeof(sbyte)) return value == (Unsafe.As<T, sbyte>(ref item) = (sbyte)value);
        if (typeof(T) == typeof(byte)) return value == (Unsafe.As<T, byte>(ref item) = (byte)value);
        throw NotPackable<T>();
    }

    // Built apart from the two above, which are inlined into the loops that read and write packed arrays.
    private static NotSupportedException NotPackable<T>() => new($"Arrays of {typeof(T).Name} cannot be packed: only the integer types can.");

    /// <summary>Turns each <paramref name="size"/>-byte element of <paramref name="bytes"/> between little-endian and the machine's order.</summary>
    private static void ReverseEach(Span<byte> bytes, int size)
    {
        for (var i = 0; i < bytes.Length; i += size) bytes.Slice(i, size).Reverse();
    }
}
