using Persistence.Serialization;

namespace Persistence.Tests.Serialization;

public class SchemaTranscoderTests
{
    private delegate void Write(ref RecordWriter writer);

    private static byte[] State(Write write)
    {
        var buffer = new RecordBuffer();
        var writer = buffer.BeginRecord(1, 0, null);
        write(ref writer);
        var slice = writer.Complete();
        return RecordFormat.State(buffer.Memory(slice).Span).ToArray();
    }

    private static byte[] Convert(byte[] state, string from, string to) =>
        SchemaTranscoder.Convert(state, [new("F", from)], [new("F", to)], "C");

    [Theory]
    [InlineData("i8", "i16")]
    [InlineData("i8", "i64")]
    [InlineData("i16", "i32")]
    [InlineData("i32", "i64")]
    [InlineData("u8", "i16")]
    [InlineData("u16", "i32")]
    [InlineData("u32", "i64")]
    [InlineData("u32", "u64")]
    [InlineData("i32", "f64")]
    public void Integer_widenings_keep_the_value(string from, string to)
    {
        long value = from.StartsWith('u') ? 200 : -100;
        var state = State((ref RecordWriter w) =>
        {
            switch (from)
            {
                case "i8": w.WriteSByte((sbyte)value); break;
                case "i16": w.WriteInt16((short)value); break;
                case "i32": w.WriteInt32((int)value); break;
                case "u8": w.WriteByte((byte)value); break;
                case "u16": w.WriteUInt16((ushort)value); break;
                case "u32": w.WriteUInt32((uint)value); break;
            }
        });
        var reader = new RecordReader(Convert(state, from, to), null);
        double read = to switch
        {
            "i16" => reader.ReadInt16(),
            "i32" => reader.ReadInt32(),
            "i64" => reader.ReadInt64(),
            "u64" => reader.ReadUInt64(),
            "f64" => reader.ReadDouble(),
            _ => throw new InvalidOperationException(),
        };
        Assert.Equal(value, read);
        Assert.Equal(0, reader.Remaining);
    }

    [Theory]
    [InlineData("i64", "i32")]
    [InlineData("i32", "u32")]
    [InlineData("f64", "f32")]
    [InlineData("i64", "f64")]
    [InlineData("str", "i32")]
    [InlineData("i32?", "i32")]
    [InlineData("list<str>", "list<i32>")]
    [InlineData("dict<str,i32>", "list<i32>")]
    [InlineData("ref", "str")]
    public void Narrowing_or_changing_a_type_is_refused(string from, string to)
    {
        var error = Assert.Throws<SchemaMismatchException>(() => Convert(new byte[64], from, to));
        Assert.Equal("C", error.ClassName);
        Assert.Equal("F", error.FieldName);
    }

    [Fact]
    public void Widening_inside_collections_and_values_and_to_nullable_works()
    {
        var state = State((ref RecordWriter w) =>
        {
            w.WriteCount(2);
            w.WriteString("k");
            w.WriteInt32(1);
            w.WriteString("j");
            w.WriteInt32(2);
            w.WriteInt32(7);
            w.WriteString("dropped");
        });
        var converted = SchemaTranscoder.Convert(
            state,
            [new("Map", "dict<str,i32>"), new("Value", "{A:i32,Gone:str}")],
            [new("Value", "{New:bool,A:i64}?"), new("Map", "dict<str,i64?>")],
            "C");
        var reader = new RecordReader(converted, null);
        Assert.True(reader.ReadBoolean());
        Assert.False(reader.ReadBoolean());
        Assert.Equal(7L, reader.ReadInt64());
        Assert.Equal(2, reader.ReadCount());
        Assert.Equal("k", reader.ReadString());
        Assert.True(reader.ReadBoolean());
        Assert.Equal(1L, reader.ReadInt64());
        Assert.Equal("j", reader.ReadString());
        Assert.True(reader.ReadBoolean());
        Assert.Equal(2L, reader.ReadInt64());
        Assert.Equal(0, reader.Remaining);
    }

    [Theory]
    [InlineData("i32<")]
    [InlineData("list<i32")]
    [InlineData("foo")]
    [InlineData("{A:i32")]
    [InlineData("dict<i32>")]
    public void Invalid_type_codes_are_rejected(string code) =>
        Assert.Throws<FormatException>(() => TypeShape.Parse(code));
}
