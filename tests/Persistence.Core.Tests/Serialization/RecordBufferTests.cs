using Persistence.Serialization;

namespace Persistence.Tests.Serialization;

/// <summary>The buffer a commit writes its records into.</summary>
public sealed class RecordBufferTests
{
    [Fact]
    public void Many_records_take_about_their_size_and_each_stays_readable()
    {
        // A commit of 300 MB of objects peaked at 925 MiB: the buffer doubled, copying everything into
        // an array twice the size while the old one was still held. 48 MiB of 1 KiB records here.
        const int count = 48 * 1024;
        var filler = new byte[1000];
        var buffer = new RecordBuffer(64 * 1024);
        var slices = new RecordSlice[count];
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < count; i++)
        {
            var writer = buffer.BeginRecord(7, 0, null);
            writer.WriteInt32(i);
            writer.WriteBytes(filler);
            writer.WriteInt32(~i);
            slices[i] = writer.Complete();
        }
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        long written = slices.Sum(s => (long)s.Length);

        Assert.InRange(allocated, written, written + (written / 4));
        for (var i = 0; i < count; i++)
        {
            var state = RecordFormat.State(buffer.Memory(slices[i]).Span);
            Assert.Equal(i, BitConverter.ToInt32(state[..4]));
            Assert.Equal(~i, BitConverter.ToInt32(state[^4..]));
        }
    }

    [Fact]
    public void A_record_larger_than_the_buffer_grows_it_and_the_records_before_it_stay_readable()
    {
        var buffer = new RecordBuffer(64);
        var small = buffer.BeginRecord(1, 0, null);
        small.WriteInt32(42);
        var first = small.Complete();
        var large = buffer.BeginRecord(2, 0, null);
        large.WriteBytes(new byte[1 << 20]);
        large.WriteInt32(43);
        var second = large.Complete();

        Assert.Equal(42, BitConverter.ToInt32(RecordFormat.State(buffer.Memory(first).Span)));
        Assert.Equal(43, BitConverter.ToInt32(RecordFormat.State(buffer.Memory(second).Span)[^4..]));
    }
}
