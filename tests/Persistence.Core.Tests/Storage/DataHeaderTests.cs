using FsCheck;
using FsCheck.Fluent;
using Persistence.Storage;
using static Persistence.Storage.FileStorageFormat;

namespace Persistence.Tests.Storage;

public class DataHeaderTests
{
    [Fact]
    public void Any_header_reads_back_as_written_and_its_checksum_covers_it_and_the_record() =>
        Prop.ForAll<ulong, long, byte[]>((oid, offset, record) =>
        {
            record ??= [];
            var tid = (long)(oid >> 2) + 1; // positive for every oid
            var at = Math.Abs(offset % (1L << 50)) + FileHeaderSize;
            var previous = (oid & 1) == 0 ? 0 : at / 2 + 1;
            var bytes = new byte[MaxDataHeaderSize + record.Length];
            var size = WriteDataHeader(bytes, oid, tid, previous, at, record);
            record.CopyTo(bytes, size);

            var read = TryReadDataHeader(bytes.AsSpan(0, Math.Min(bytes.Length, MaxDataHeaderSize)), at, out var header);
            return read
                && size == DataHeaderSize(oid, tid, previous, at, record.Length)
                && header == new DataHeader(oid, tid, previous, (uint)record.Length, header.Checksum, size)
                && header.Checksum == Crc32C.Append(DataChecksumStart(bytes.AsSpan(0, size)), record);
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(300));

    [Fact]
    public void A_first_revision_with_a_small_oid_and_tid_has_an_eight_byte_header()
    {
        var bytes = new byte[MaxDataHeaderSize];
        Assert.Equal(8, WriteDataHeader(bytes, 5, 7, 0, 1_000_000, [1, 2, 3]));
        Assert.Equal(MinDataHeaderSize, DataHeaderSize(5, 7, 0, 1_000_000, 3));
        // The previous revision is stored as the distance back to it.
        Assert.Equal(9, DataHeaderSize(5, 7, 1_000_000 - 300, 1_000_000, 3));
    }

    [Fact]
    public void A_header_cut_short_or_holding_a_field_over_64_bits_does_not_read()
    {
        var bytes = new byte[MaxDataHeaderSize];
        var size = WriteDataHeader(bytes, 300, 70_000, 0, 500, new byte[200]);
        Assert.Equal(4 + 2 + 3 + 1 + 2, size);
        for (var cut = 0; cut < size; cut++)
            Assert.False(TryReadDataHeader(bytes.AsSpan(0, cut), 500, out _), $"cut at {cut}");

        var overlong = new byte[MaxDataHeaderSize];
        overlong.AsSpan(4, 10).Fill(0xFF);
        overlong[14] = 0x01;
        Assert.False(TryReadDataHeader(overlong, 500, out _));
    }

    [Fact]
    public void A_distance_back_past_the_start_of_the_file_reads_as_an_impossible_previous_revision()
    {
        var bytes = new byte[MaxDataHeaderSize];
        WriteDataHeaderFields(bytes, 1, 1, 100, 900, 3);

        Assert.True(TryReadDataHeader(bytes, 900, out var header));
        Assert.Equal(100, header.Previous);
        Assert.True(TryReadDataHeader(bytes, 700, out header));
        Assert.Equal(-1, header.Previous);
    }
}
