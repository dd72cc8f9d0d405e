using System.Runtime.CompilerServices;

namespace Persistence.Serialization;

/// <summary>The built-in codecs, and the ways to compose them into codecs for collections and nullables.</summary>
public static class ValueCodecs
{
    /// <summary>bool: one byte.</summary>
    public static ValueCodec<bool> Boolean { get; } = new Primitive<bool>("bool", 1, static (ref RecordWriter w, bool v) => w.WriteBoolean(v), static (ref RecordReader r) => r.ReadBoolean());
    /// <summary>byte.</summary>
    public static ValueCodec<byte> Byte { get; } = new Primitive<byte>("u8", 1, static (ref RecordWriter w, byte v) => w.WriteByte(v), static (ref RecordReader r) => r.ReadByte());
    /// <summary>sbyte.</summary>
    public static ValueCodec<sbyte> SByte { get; } = new Primitive<sbyte>("i8", 1, static (ref RecordWriter w, sbyte v) => w.WriteSByte(v), static (ref RecordReader r) => r.ReadSByte());
    /// <summary>short.</summary>
    public static ValueCodec<short> Int16 { get; } = new Primitive<short>("i16", 2, static (ref RecordWriter w, short v) => w.WriteInt16(v), static (ref RecordReader r) => r.ReadInt16());
    /// <summary>ushort.</summary>
    public static ValueCodec<ushort> UInt16 { get; } = new Primitive<ushort>("u16", 2, static (ref RecordWriter w, ushort v) => w.WriteUInt16(v), static (ref RecordReader r) => r.ReadUInt16());
    /// <summary>char.</summary>
    public static ValueCodec<char> Char { get; } = new Primitive<char>("char", 2, static (ref RecordWriter w, char v) => w.WriteChar(v), static (ref RecordReader r) => r.ReadChar());
    /// <summary>int.</summary>
    public static ValueCodec<int> Int32 { get; } = new Primitive<int>("i32", 4, static (ref RecordWriter w, int v) => w.WriteInt32(v), static (ref RecordReader r) => r.ReadInt32());
    /// <summary>uint.</summary>
    public static ValueCodec<uint> UInt32 { get; } = new Primitive<uint>("u32", 4, static (ref RecordWriter w, uint v) => w.WriteUInt32(v), static (ref RecordReader r) => r.ReadUInt32());
    /// <summary>long.</summary>
    public static ValueCodec<long> Int64 { get; } = new Primitive<long>("i64", 8, static (ref RecordWriter w, long v) => w.WriteInt64(v), static (ref RecordReader r) => r.ReadInt64());
    /// <summary>ulong.</summary>
    public static ValueCodec<ulong> UInt64 { get; } = new Primitive<ulong>("u64", 8, static (ref RecordWriter w, ulong v) => w.WriteUInt64(v), static (ref RecordReader r) => r.ReadUInt64());
    /// <summary>nint, stored as 64 bits.</summary>
    public static ValueCodec<nint> IntPtr { get; } = new Primitive<nint>("i64", 8, static (ref RecordWriter w, nint v) => w.WriteInt64(v), static (ref RecordReader r) => checked((nint)r.ReadInt64()));
    /// <summary>nuint, stored as 64 bits.</summary>
    public static ValueCodec<nuint> UIntPtr { get; } = new Primitive<nuint>("u64", 8, static (ref RecordWriter w, nuint v) => w.WriteUInt64(v), static (ref RecordReader r) => checked((nuint)r.ReadUInt64()));
    /// <summary>Half.</summary>
    public static ValueCodec<Half> Half { get; } = new Primitive<Half>("f16", 2, static (ref RecordWriter w, Half v) => w.WriteHalf(v), static (ref RecordReader r) => r.ReadHalf());
    /// <summary>float.</summary>
    public static ValueCodec<float> Single { get; } = new Primitive<float>("f32", 4, static (ref RecordWriter w, float v) => w.WriteSingle(v), static (ref RecordReader r) => r.ReadSingle());
    /// <summary>double.</summary>
    public static ValueCodec<double> Double { get; } = new Primitive<double>("f64", 8, static (ref RecordWriter w, double v) => w.WriteDouble(v), static (ref RecordReader r) => r.ReadDouble());
    /// <summary>decimal.</summary>
    public static ValueCodec<decimal> Decimal { get; } = new Primitive<decimal>("dec", 16, static (ref RecordWriter w, decimal v) => w.WriteDecimal(v), static (ref RecordReader r) => r.ReadDecimal());
    /// <summary>string (null allowed).</summary>
    public static ValueCodec<string?> String { get; } = new Primitive<string?>("str", 1, static (ref RecordWriter w, string? v) => w.WriteString(v), static (ref RecordReader r) => r.ReadString());
    /// <summary>byte[] (null allowed).</summary>
    public static ValueCodec<byte[]?> Bytes { get; } = new Primitive<byte[]?>("bytes", 1, static (ref RecordWriter w, byte[]? v) => w.WriteBytes(v), static (ref RecordReader r) => r.ReadBytes());
    /// <summary>DateTime.</summary>
    public static ValueCodec<DateTime> DateTime { get; } = new Primitive<DateTime>("datetime", 8, static (ref RecordWriter w, DateTime v) => w.WriteDateTime(v), static (ref RecordReader r) => r.ReadDateTime());
    /// <summary>DateTimeOffset.</summary>
    public static ValueCodec<DateTimeOffset> DateTimeOffset { get; } = new Primitive<DateTimeOffset>("dto", 10, static (ref RecordWriter w, DateTimeOffset v) => w.WriteDateTimeOffset(v), static (ref RecordReader r) => r.ReadDateTimeOffset());
    /// <summary>DateOnly.</summary>
    public static ValueCodec<DateOnly> DateOnly { get; } = new Primitive<DateOnly>("date", 4, static (ref RecordWriter w, DateOnly v) => w.WriteDateOnly(v), static (ref RecordReader r) => r.ReadDateOnly());
    /// <summary>TimeOnly.</summary>
    public static ValueCodec<TimeOnly> TimeOnly { get; } = new Primitive<TimeOnly>("time", 8, static (ref RecordWriter w, TimeOnly v) => w.WriteTimeOnly(v), static (ref RecordReader r) => r.ReadTimeOnly());
    /// <summary>TimeSpan.</summary>
    public static ValueCodec<TimeSpan> TimeSpan { get; } = new Primitive<TimeSpan>("timespan", 8, static (ref RecordWriter w, TimeSpan v) => w.WriteTimeSpan(v), static (ref RecordReader r) => r.ReadTimeSpan());
    /// <summary>Guid.</summary>
    public static ValueCodec<Guid> Guid { get; } = new Primitive<Guid>("guid", 16, static (ref RecordWriter w, Guid v) => w.WriteGuid(v), static (ref RecordReader r) => r.ReadGuid());

    /// <summary>
    /// A reference to a persistent object (stored as oid and type id, loaded as a ghost). Null
    /// references are stored and read back as null whether or not <typeparamref name="T"/> is annotated nullable.
    /// </summary>
    public static ValueCodec<T> Reference<T>() where T : PersistentObject? => ReferenceCodec<T>.Instance;

    /// <summary>An enum, stored as its underlying integer with that integer's codec.</summary>
    public static ValueCodec<TEnum> Enum<TEnum, TUnderlying>(ValueCodec<TUnderlying> underlying)
        where TEnum : unmanaged, Enum
        where TUnderlying : unmanaged
    {
        if (Unsafe.SizeOf<TEnum>() != Unsafe.SizeOf<TUnderlying>())
            throw new ArgumentException($"{typeof(TEnum).Name} is not {underlying.TypeCode}-sized.", nameof(underlying));
        return new EnumCodec<TEnum, TUnderlying>(underlying);
    }

    /// <summary>A nullable value: a presence byte, then the value if present. Type code <c>T?</c>.</summary>
    public static ValueCodec<T?> Nullable<T>(ValueCodec<T> inner) where T : struct => new NullableCodec<T>(inner);

    /// <summary>
    /// A reference-type inline value (a <c>[PersistentValue]</c> class or record) that may be null:
    /// a presence byte, then the value if present. Type code <c>T?</c>.
    /// </summary>
    public static ValueCodec<T?> NullableReference<T>(ValueCodec<T> inner) where T : class => new NullableReferenceCodec<T>(inner);

    /// <summary>A list of values: a count (-1 for null) and the elements. Type code <c>list&lt;T&gt;</c>.</summary>
    public static ValueCodec<List<T>?> List<T>(ValueCodec<T> element) => new ListCodec<T>(element);

    /// <summary>An array of values: a count (-1 for null) and the elements. Type code <c>array&lt;T&gt;</c>.</summary>
    public static ValueCodec<T[]?> Array<T>(ValueCodec<T> element) => new ArrayCodec<T>(element);

    /// <summary>A dictionary of values: a count (-1 for null) and key, value pairs. Type code <c>dict&lt;K,V&gt;</c>.</summary>
    public static ValueCodec<Dictionary<TKey, TValue>?> Dictionary<TKey, TValue>(ValueCodec<TKey> key, ValueCodec<TValue> value)
        where TKey : notnull => new DictionaryCodec<TKey, TValue>(key, value);

    private delegate void Writer<T>(ref RecordWriter writer, T value);

    private delegate T Reader<T>(ref RecordReader reader);

    private sealed class Primitive<T>(string code, int size, Writer<T> write, Reader<T> read) : ValueCodec<T>
    {
        public override string TypeCode => code;
        public override int MinimumSize => size;
        public override void Write(ref RecordWriter writer, T value) => write(ref writer, value);
        public override T Read(ref RecordReader reader) => read(ref reader);
    }

    private sealed class ReferenceCodec<T> : ValueCodec<T> where T : PersistentObject?
    {
        public static readonly ReferenceCodec<T> Instance = new();
        public override string TypeCode => "ref";
        public override int MinimumSize => 1;
        internal override bool IsReference => true;
        public override void Write(ref RecordWriter writer, T value) => writer.WriteReference(value);
        public override T Read(ref RecordReader reader) => reader.ReadReference<T>()!;
    }

    private sealed class EnumCodec<TEnum, TUnderlying>(ValueCodec<TUnderlying> underlying) : ValueCodec<TEnum>
        where TEnum : unmanaged, Enum
        where TUnderlying : unmanaged
    {
        public override string TypeCode => underlying.TypeCode;
        public override int MinimumSize => underlying.MinimumSize;
        public override void Write(ref RecordWriter writer, TEnum value) => underlying.Write(ref writer, Unsafe.As<TEnum, TUnderlying>(ref value));

        public override TEnum Read(ref RecordReader reader)
        {
            var raw = underlying.Read(ref reader);
            return Unsafe.As<TUnderlying, TEnum>(ref raw);
        }
    }

    private sealed class NullableCodec<T>(ValueCodec<T> inner) : ValueCodec<T?> where T : struct
    {
        public override string TypeCode { get; } = inner.TypeCode + "?";

        public override void Write(ref RecordWriter writer, T? value)
        {
            writer.WriteBoolean(value.HasValue);
            if (value.HasValue) inner.Write(ref writer, value.GetValueOrDefault());
        }

        public override T? Read(ref RecordReader reader) => reader.ReadBoolean() ? inner.Read(ref reader) : null;
    }

    private sealed class NullableReferenceCodec<T>(ValueCodec<T> inner) : ValueCodec<T?> where T : class
    {
        public override string TypeCode { get; } = inner.TypeCode + "?";

        public override void Write(ref RecordWriter writer, T? value)
        {
            writer.WriteBoolean(value is not null);
            if (value is not null) inner.Write(ref writer, value);
        }

        public override T? Read(ref RecordReader reader) => reader.ReadBoolean() ? inner.Read(ref reader) : null;
    }

    private sealed class ListCodec<T>(ValueCodec<T> element) : ValueCodec<List<T>?>
    {
        public override string TypeCode { get; } = "list<" + element.TypeCode + ">";
        public override int MinimumSize => 1;

        public override void Write(ref RecordWriter writer, List<T>? value)
        {
            if (value is null)
            {
                writer.WriteCount(-1);
                return;
            }
            writer.WriteCount(value.Count);
            foreach (var item in value) element.Write(ref writer, item);
        }

        public override List<T>? Read(ref RecordReader reader)
        {
            var count = reader.ReadCount(element.MinimumSize);
            if (count < 0) return null;
            var list = new List<T>(count);
            for (var i = 0; i < count; i++) list.Add(element.Read(ref reader));
            return list;
        }
    }

    private sealed class ArrayCodec<T>(ValueCodec<T> element) : ValueCodec<T[]?>
    {
        public override string TypeCode { get; } = "array<" + element.TypeCode + ">";
        public override int MinimumSize => 1;

        public override void Write(ref RecordWriter writer, T[]? value)
        {
            if (value is null)
            {
                writer.WriteCount(-1);
                return;
            }
            writer.WriteCount(value.Length);
            foreach (var item in value) element.Write(ref writer, item);
        }

        public override T[]? Read(ref RecordReader reader)
        {
            var count = reader.ReadCount(element.MinimumSize);
            if (count < 0) return null;
            var array = new T[count];
            for (var i = 0; i < count; i++) array[i] = element.Read(ref reader);
            return array;
        }
    }

    private sealed class DictionaryCodec<TKey, TValue>(ValueCodec<TKey> key, ValueCodec<TValue> value) : ValueCodec<Dictionary<TKey, TValue>?>
        where TKey : notnull
    {
        public override string TypeCode { get; } = "dict<" + key.TypeCode + "," + value.TypeCode + ">";
        public override int MinimumSize => 1;

        public override void Write(ref RecordWriter writer, Dictionary<TKey, TValue>? dictionary)
        {
            if (dictionary is null)
            {
                writer.WriteCount(-1);
                return;
            }
            writer.WriteCount(dictionary.Count);
            foreach (var (k, v) in dictionary)
            {
                key.Write(ref writer, k);
                value.Write(ref writer, v);
            }
        }

        public override Dictionary<TKey, TValue>? Read(ref RecordReader reader)
        {
            var count = reader.ReadCount(key.MinimumSize + value.MinimumSize);
            if (count < 0) return null;
            var dictionary = new Dictionary<TKey, TValue>(count);
            for (var i = 0; i < count; i++)
            {
                var k = key.Read(ref reader);
                if (k is null) throw new FormatException("A record is damaged: a dictionary key is null.");
                if (!dictionary.TryAdd(k, value.Read(ref reader)))
                    throw new FormatException("A record is damaged: a dictionary holds the same key twice.");
            }
            return dictionary;
        }
    }
}
