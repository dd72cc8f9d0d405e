using FsCheck;
using FsCheck.Fluent;
using Persistence.Serialization;

namespace Persistence.Tests.Serialization;

public class RecordFormatTests
{
    [Fact]
    public void Any_type_id_version_state_and_references_read_back_as_written() =>
        Prop.ForAll<uint, byte[], ulong[]>((typeId, state, oids) =>
        {
            var version = (ushort)(typeId * 2654435761u >> 16);
            state ??= [];
            var references = (oids ?? []).Select(o => new Oid(o)).ToArray();
            var record = RecordFormat.Compose(typeId, version, state, references);

            var read = new List<Oid>();
            RecordFormat.References(record, read);
            return RecordFormat.TypeId(record) == typeId
                && RecordFormat.SchemaVersion(record) == version
                && RecordFormat.State(record).SequenceEqual(state)
                && RecordFormat.ReferenceCount(record) == references.Length
                && read.SequenceEqual(references);
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(300));

    [Fact]
    public void A_small_record_takes_a_byte_for_its_header_and_one_for_each_nearby_reference()
    {
        var record = RecordFormat.Compose(5, 1, "abc"u8, [new Oid(1000), new Oid(1001), new Oid(999)]);

        // Type id, version, state, then 1000 (2 bytes zigzagged), +1 and -2 (a byte each), then the list's length (4).
        Assert.Equal(1 + 1 + 3 + 2 + 1 + 1 + 1, record.Length);
        Assert.Equal(4, record[^1]);
        Assert.Equal(2, RecordFormat.StateOffset(record));
        Assert.Equal(new Oid(999), RecordFormat.Reference(record, 2));
    }

    [Fact]
    public void A_reference_list_longer_than_127_bytes_stores_its_length_in_two_bytes_read_backwards()
    {
        var references = Enumerable.Range(0, 100).Select(i => new Oid(1UL << 20 << (i % 40))).ToArray();
        var record = RecordFormat.Compose(1, 0, "state"u8, references);

        Assert.True(record[^1] >= 0x80, "the last byte says another one precedes it");
        Assert.True(record[^2] < 0x80);
        var read = new List<Oid>();
        RecordFormat.References(record, read);
        Assert.Equal(references, read);
        Assert.Equal("state"u8.ToArray(), RecordFormat.State(record).ToArray());
    }

    public static TheoryData<string, byte[]> DamagedRecords => new()
    {
        { "too short", [1, 0] },
        { "type id cut short", [0x80, 0x80, 0x80] },
        { "type id over 32 bits", [0xFF, 0xFF, 0xFF, 0xFF, 0x7F, 0, 0] },
        { "version over 16 bits", [1, 0xFF, 0xFF, 0x7F, 0] },
        { "list longer than the record", [1, 1, 9, 9, 9, 0x7F] },
        { "list length running into the header", [1, 1, 0x80, 0x80, 0x80] },
    };

    [Theory]
    [MemberData(nameof(DamagedRecords))]
    public void Damaged_headers_and_list_lengths_raise_a_format_error(string damage, byte[] record)
    {
        var error = Record.Exception(() => RecordFormat.ReferenceCount(record));
        Assert.True(error is FormatException, $"{damage}: {error}");
    }

    [Fact]
    public void A_reference_cut_short_raises_a_format_error()
    {
        // State "x", then a list of one byte that says another follows, then the list's length (1).
        byte[] record = [1, 1, (byte)'x', 0x80, 1];

        Assert.Throws<FormatException>(() => RecordFormat.ReferenceCount(record));
        Assert.Equal("x"u8.ToArray(), RecordFormat.State(record).ToArray());
    }

    [Theory]
    [InlineData(0, "a", 1)]
    [InlineData(42, "€", 1)] // 126 bytes: the longest string whose length is sure to fit one byte
    [InlineData(43, "a", 1)]
    [InlineData(43, "€", 2)]
    [InlineData(2000, "😀", 2)]
    [InlineData(100_000, "a", 3)]
    public void Strings_take_their_length_plus_one_as_a_varint_and_read_back(int repeats, string unit, int lengthBytes)
    {
        var text = string.Concat(Enumerable.Repeat(unit, repeats));
        var bytes = System.Text.Encoding.UTF8.GetByteCount(text);
        var state = RecordStates.State((ref RecordWriter w) =>
        {
            w.WriteString(text);
            w.WriteString(null);
        });

        Assert.Equal(lengthBytes + bytes + 1, state.Length);
        var reader = new RecordReader(state, null);
        Assert.Equal(text, reader.ReadString());
        Assert.Null(reader.ReadString());
        Assert.Equal(0, reader.Remaining);
    }

    [Fact]
    public void Forty_two_chars_of_three_bytes_each_take_a_one_byte_length()
    {
        var text = new string('€', 42);
        var state = RecordStates.State((ref RecordWriter w) => w.WriteString(text));

        Assert.Equal(1 + (42 * 3), state.Length);
        Assert.Equal(text, new RecordReader(state, null).ReadString());
    }

    [Fact]
    public void A_string_with_a_lone_surrogate_is_refused_rather_than_stored_as_another_string()
    {
        // Not theory data: the test runner would pass such strings on as replacement characters.
        foreach (var unit in new[] { "\ud800", "a\udbffb", "trailing \udc00 low", "pair reversed \ude00\ud83d" })
            Refused(unit);
        // A surrogate pair is a character like any other.
        Assert.Equal("😀", new RecordReader(RecordStates.State((ref RecordWriter w) => w.WriteString("😀")), null).ReadString());
    }

    private static void Refused(string unit)
    {
        // Short strings and long ones (a 1-byte length, or a counted one) take different paths.
        foreach (var text in new[] { unit, string.Concat(Enumerable.Repeat(unit, 50)) })
        {
            var error = Assert.Throws<ArgumentException>(() => RecordStates.State((ref RecordWriter w) => w.WriteString(text)));
            Assert.Contains("lone surrogate", error.Message);
        }
    }
}
