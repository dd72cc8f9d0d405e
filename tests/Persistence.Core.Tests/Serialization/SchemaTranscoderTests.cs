using Persistence.Serialization;
using static Persistence.Tests.Serialization.RecordStates;

namespace Persistence.Tests.Serialization;

public class SchemaTranscoderTests
{
    private static byte[] Convert(byte[] state, string from, string to) =>
        SchemaTranscoder.Convert(state, [new("F", from)], [new("F", to)], "C");

    [Fact]
    public void A_field_missing_from_the_stored_ones_is_written_as_its_default_or_its_type_s()
    {
        var state = State((ref RecordWriter w) => w.WriteInt32(5));
        FieldSchema[] current =
        [
            new("Email", "str"),
            new FieldSchema("Country", "str").WithDefault(ValueCodecs.String, "unknown"),
            new("Kept", "i32"),
            new FieldSchema("Limit", "i64?").WithDefault(ValueCodecs.Nullable(ValueCodecs.Int64), 7),
            new("Level", "i32"),
        ];
        var reader = new RecordReader(SchemaTranscoder.Convert(state, [new("Kept", "i32")], current, "C"), null);
        Assert.Equal(((string?)null, "unknown", 5, (long?)7, 0), (reader.ReadString(), reader.ReadString(), reader.ReadInt32(), reader.ReadBoolean() ? reader.ReadInt64() : (long?)null, reader.ReadInt32()));
        Assert.Equal(0, reader.Remaining);
    }

    [Fact]
    public void A_default_is_written_by_a_codec_of_the_field_s_type_code()
    {
        var error = Assert.Throws<ArgumentException>(() => new FieldSchema("Level", "i64").WithDefault(ValueCodecs.Int32, 3));
        Assert.Contains("'Level' is stored as 'i64'", error.Message, StringComparison.Ordinal);
        Assert.Equal(new FieldSchema("Level", "i64"), new FieldSchema("Level", "i64").WithDefault(ValueCodecs.Int64, 3));
    }

    [Fact]
    public void A_field_reads_its_own_name_first_then_the_first_former_name_no_current_field_has()
    {
        var state = State((ref RecordWriter w) =>
        {
            w.WriteString("title");
            w.WriteString("name");
            w.WriteInt32(7);
            w.WriteInt32(9);
        });
        FieldSchema[] stored = [new("Title", "str"), new("Name", "str"), new("Count", "i32"), new("Old", "i32")];
        FieldSchema[] current =
        [
            // Its own name is stored: the alias is not used.
            new FieldSchema("Title", "str").WithAliases("Name"),
            // Title is a current field's own name; Name is not, so it is read.
            new FieldSchema("Label", "str").WithAliases("Title", "Name"),
            // The first former name stored, widened.
            new FieldSchema("Total", "i64").WithAliases("Missing", "Count", "Old"),
            new FieldSchema("Gone", "i32").WithAliases("Missing"),
        ];
        var reader = new RecordReader(SchemaTranscoder.Convert(state, stored, current, "C"), null);
        Assert.Equal(("title", "name", 7L, 0), (reader.ReadString(), reader.ReadString(), reader.ReadInt64(), reader.ReadInt32()));
        Assert.Equal(0, reader.Remaining);
        // Only the field no current field reads is skipped.
        Assert.Equal(["Old"], SchemaTranscoder.SkippedFields(stored, current));
    }

    [Fact]
    public void Two_value_types_of_one_type_code_described_differently_read_as_neither_describes()
    {
        // Type codes of their own: the registry is the process's.
        const string same = "{TranscoderSame:str,TranscoderCount:i32}";
        const string differing = "{TranscoderDiffers:str}";
        FieldSchema[] described = [new FieldSchema("TranscoderSame", "str").WithDefault(ValueCodecs.String, "x"), new FieldSchema("TranscoderCount", "i32").WithAliases("Old")];
        ValueLayouts.Describe(same, described);
        ValueLayouts.Describe(same, [new FieldSchema("TranscoderSame", "str").WithDefault(ValueCodecs.String, "x"), new FieldSchema("TranscoderCount", "i32").WithAliases("Old")]);
        Assert.Same(described, ValueLayouts.Find(same));
        ValueLayouts.Describe(differing, [new FieldSchema("TranscoderDiffers", "str").WithDefault(ValueCodecs.String, "")]);
        ValueLayouts.Describe(differing, [new("TranscoderDiffers", "str")]);
        Assert.Null(ValueLayouts.Find(differing));
        // A value stored without the field reads as its type's default then.
        var state = State((ref RecordWriter w) => w.WriteInt32(0));
        var reader = new RecordReader(SchemaTranscoder.Convert(state, [new("Id", "i32"), new("Part", "{}")], [new("Id", "i32"), new("Part", differing)], "C"), null);
        Assert.Equal((0, (string?)null), (reader.ReadInt32(), reader.ReadString()));
        Assert.Contains("are not those of the value type code", Assert.Throws<ArgumentException>(() => ValueLayouts.Describe(same, [new("TranscoderSame", "str")])).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Former_names_are_no_part_of_a_field_s_layout_and_must_be_other_names()
    {
        Assert.Equal(new FieldSchema("Title", "str"), new FieldSchema("Title", "str").WithAliases("Name"));
        Assert.Equal(["Name", "Label"], new FieldSchema("Title", "str").WithAliases("Name").WithAliases("Label").Aliases);
        Assert.Empty(default(FieldSchema).Aliases);
        Assert.Contains("its own name", Assert.Throws<ArgumentException>(() => new FieldSchema("Title", "str").WithAliases("Title")).Message, StringComparison.Ordinal);
        Assert.Contains("an empty former name", Assert.Throws<ArgumentException>(() => new FieldSchema("Title", "str").WithAliases("")).Message, StringComparison.Ordinal);
    }

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
    [InlineData("{Street:str,Zip:i32}", "{Amount:dec,Currency:str}")]
    [InlineData("{Street:str,Zip:i32}", "{Amount:dec,Currency:str}?")]
    [InlineData("list<{Street:str,Zip:i32}>", "list<{Amount:dec,Currency:str}>")]
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
    [InlineData("i32")]
    [InlineData("bool")]
    [InlineData("f64")]
    [InlineData("datetime")]
    [InlineData("guid")]
    [InlineData("str")]
    public void A_type_made_nullable_keeps_the_value_behind_a_presence_byte(string code)
    {
        var value = State((ref RecordWriter w) =>
        {
            switch (code)
            {
                case "i32": w.WriteInt32(-41); break;
                case "bool": w.WriteBoolean(true); break;
                case "f64": w.WriteDouble(2.5); break;
                case "datetime": w.WriteDateTime(new DateTime(2026, 11, 28, 1, 2, 3, DateTimeKind.Utc)); break;
                case "guid": w.WriteGuid(new Guid("0f8fad5b-d9cb-469f-a165-70867728950e")); break;
                case "str": w.WriteString("kept"); break;
            }
        });

        var converted = Convert(value, code, code + "?");

        Assert.Equal([1, .. value], converted);
        // Inside a collection too.
        var list = State((ref RecordWriter w) =>
        {
            w.WriteCount(1);
            w.WriteRawBytes(value);
        });
        Assert.Equal([2, 1, .. value], Convert(list, $"list<{code}>", $"list<{code}?>"));
    }

    [Fact]
    public void Integer_arrays_and_lists_convert_to_and_from_packed_arrays_with_widening()
    {
        int[] values = [int.MinValue, -1, 0, 7, 8, int.MaxValue];
        var plain = State((ref RecordWriter w) =>
        {
            w.WriteCount(values.Length);
            foreach (var value in values) w.WriteInt32(value);
            w.WriteCount(-1);
            w.WriteString("after");
        });
        string[] fields = ["Keys", "Missing", "Tail"];
        FieldSchema[] Fields(string keys, string missing) => [new(fields[0], keys), new(fields[1], missing), new(fields[2], "str")];

        // array<i32> → packed<i64> → packed<i64> unchanged → list<i64>, a null array staying null.
        var packed = SchemaTranscoder.Convert(plain, Fields("array<i32>", "list<u16>"), Fields("packed<i64>", "packed<u32>"), "C");
        var reader = new RecordReader(packed, null);
        Assert.Equal(values.Select(v => (long)v), PackedIntegers.Read<long>(ref reader, 0, 0, out _)!);
        Assert.Null(PackedIntegers.Read<uint>(ref reader, 0, 0, out _));
        Assert.Equal("after", reader.ReadString());
        Assert.Equal(0, reader.Remaining);

        var back = SchemaTranscoder.Convert(packed, Fields("packed<i64>", "packed<u32>"), Fields("list<i64>", "array<u64>"), "C");
        reader = new RecordReader(back, null);
        Assert.Equal(values.Length, reader.ReadCount());
        foreach (var value in values) Assert.Equal(value, reader.ReadInt64());
        Assert.Equal(-1, reader.ReadCount());
        Assert.Equal("after", reader.ReadString());

        // Unchanged codes are copied byte for byte (the packed array is skipped over, not decoded).
        Assert.Equal(packed, SchemaTranscoder.Convert(packed, Fields("packed<i64>", "packed<u32>"), Fields("packed<i64>", "packed<u32>"), "C"));
    }

    [Fact]
    public void A_value_becoming_nullable_of_its_own_type_and_a_widening_between_nullables_keep_the_value()
    {
        // i32 → i32? (the same type made nullable), and i16? → i32? and f32? → f64? (the inner value widened, not copied).
        var state = State((ref RecordWriter w) =>
        {
            w.WriteInt32(-5);
            w.WriteBoolean(true);
            w.WriteInt16(-300);
            w.WriteBoolean(true);
            w.WriteSingle(1.5f);
            w.WriteString("after");
        });
        var converted = SchemaTranscoder.Convert(
            state,
            [new("A", "i32"), new("B", "i16?"), new("C", "f32?"), new("D", "str")],
            [new("A", "i32?"), new("B", "i32?"), new("C", "f64?"), new("D", "str")],
            "C");
        var reader = new RecordReader(converted, null);
        Assert.True(reader.ReadBoolean());
        Assert.Equal(-5, reader.ReadInt32());
        Assert.True(reader.ReadBoolean());
        Assert.Equal(-300, reader.ReadInt32());
        Assert.True(reader.ReadBoolean());
        Assert.Equal(1.5, reader.ReadDouble());
        Assert.Equal("after", reader.ReadString());
        Assert.Equal(0, reader.Remaining);
    }

    [Fact]
    public void Packed_integers_convert_to_arrays_and_lists_of_nullable_and_real_elements()
    {
        int[] values = [int.MinValue, -1, 0, 7, int.MaxValue];
        var packed = State((ref RecordWriter w) => PackedIntegers.Write<int>(ref w, values));

        // i32 → i32? (a BTree's values becoming nullable) and i32 → i64?.
        foreach (var to in new[] { "array<i32?>", "list<i64?>" })
        {
            var reader = new RecordReader(Convert(packed, "packed<i32>", to), null);
            Assert.Equal(values.Length, reader.ReadCount());
            foreach (var value in values)
            {
                Assert.True(reader.ReadBoolean());
                Assert.Equal(value, to == "array<i32?>" ? reader.ReadInt32() : reader.ReadInt64());
            }
            Assert.Equal(0, reader.Remaining);
        }

        // i32 → f64, as a field of either type converts.
        var reals = new RecordReader(Convert(packed, "packed<i32>", "array<f64>"), null);
        Assert.Equal(values.Length, reals.ReadCount());
        foreach (var value in values) Assert.Equal(value, reals.ReadDouble());
        Assert.Equal(0, reals.Remaining);
    }

    [Theory]
    [InlineData("packed<i64>", "packed<i32>")]
    [InlineData("packed<i32>", "packed<u32>")]
    [InlineData("array<i64>", "packed<i32>")]
    [InlineData("packed<i32>", "list<str>")]
    [InlineData("packed<i32>", "list<f32>")]
    [InlineData("packed<i64>", "list<f64>")]
    [InlineData("packed<i64>", "list<i32?>")]
    [InlineData("array<f64>", "packed<i64>")]
    [InlineData("dict<i32,i32>", "packed<i32>")]
    [InlineData("packed<i32>", "i32")]
    public void Packed_conversions_that_are_not_widenings_are_refused(string from, string to)
    {
        var error = Assert.Throws<SchemaMismatchException>(() => Convert(new byte[64], from, to));
        Assert.Equal("F", error.FieldName);
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
