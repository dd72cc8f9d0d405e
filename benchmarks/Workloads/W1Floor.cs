using System.Buffers.Binary;
using System.Diagnostics;
using System.Text;

namespace Persistence.Workloads;

/// <summary>
/// The floor under W1 on this machine: the least a store that keeps objects durably must do, measured
/// as W1 is (the same persons, in the harness's process, durable every 1,000). The persons are made as
/// W1 makes them (plain .NET objects with the fields of <see cref="Person"/>, the friend an earlier
/// one); each is encoded into a buffer (its id, the strings as UTF-8, the integers, the friend's id,
/// the timestamp); every 1,000 the buffer is written to a file and the file flushed to disk (with
/// fdatasync on Linux, which our storage and SQLite call there too, else fsync). The file
/// was filled with zeros and flushed before the clock starts, so the writes go over blocks it has and
/// no flush has a new file size to write (our storage reserves zeros the same way, inside its time).
/// No index, no checksum, no tree, no identity map, no transaction record: nothing of any store. A
/// target beyond this floor cannot be met on this machine by any store that writes its objects
/// durably in .NET.
/// </summary>
internal static class W1Floor
{
    public static readonly Metric ObjectsPerSecond = new("W1",
        "floor: plain objects encoded and written over zeros, flushed every 1,000 (no storage), objects/s ↑", true, 0, OursOnly: true);

    /// <summary>Runs the floor in <paramref name="directory"/> and returns its objects/s.</summary>
    public static double Measure(string directory, PersonData data)
    {
        var path = Path.Combine(directory, "w1-floor.bin");
        try
        {
            var length = Prepare(path, data);
            var started = Stopwatch.GetTimestamp();
            var written = Write(path, data);
            var elapsed = Stopwatch.GetElapsedTime(started);
            if (written > length) throw new InvalidOperationException($"the floor wrote {written} bytes beyond the {length} it reserved");
            return data.Count / elapsed.TotalSeconds;
        }
        finally
        {
            File.Delete(path);
        }
    }

    /// <summary>Fills the file with zeros, a little more than the persons need, and flushes it (untimed).</summary>
    private static long Prepare(string path, PersonData data)
    {
        long needed = 0;
        for (var id = 0; id < data.Count; id++) needed += EncodedLength(data, id);
        var zeros = new byte[1 << 20];
        using var file = File.OpenHandle(path, FileMode.Create, FileAccess.Write);
        for (long position = 0; position < needed; position += zeros.Length)
            RandomAccess.Write(file, zeros.AsSpan(0, (int)Math.Min(zeros.Length, needed - position)), position);
        RandomAccess.FlushToDisk(file);
        return needed;
    }

    /// <summary>The timed part: makes, encodes, writes and flushes; returns the bytes written.</summary>
    private static long Write(string path, PersonData data)
    {
        using var file = File.OpenHandle(path, FileMode.Open, FileAccess.Write);
        var made = new PlainPerson[data.Count];
        var buffer = new byte[W1Insert.CommitEvery * MaxEncodedLength];
        var used = 0;
        long offset = 0;
        for (var id = 0; id < data.Count; id++)
        {
            var friend = data.Friends[id];
            var person = new PlainPerson(data, id, friend < 0 ? null : made[friend]);
            made[id] = person;
            used += Encode(person, buffer.AsSpan(used));
            if ((id + 1) % W1Insert.CommitEvery == 0 || id == data.Count - 1)
            {
                RandomAccess.Write(file, buffer.AsSpan(0, used), offset);
                offset += used;
                used = 0;
                FsyncProbe.FlushData(file);
            }
        }
        GC.KeepAlive(made);
        return offset;
    }

    private static int Encode(PlainPerson person, Span<byte> into)
    {
        BinaryPrimitives.WriteInt32LittleEndian(into, person.Id);
        var position = 4;
        position += WriteString(person.Name, into[position..]);
        BinaryPrimitives.WriteInt32LittleEndian(into[position..], person.Age);
        position += 4;
        position += WriteString(person.Email, into[position..]);
        BinaryPrimitives.WriteInt32LittleEndian(into[position..], person.Friend?.Id ?? -1);
        position += 4;
        BinaryPrimitives.WriteInt64LittleEndian(into[position..], person.Created.Ticks);
        return position + 8;
    }

    private static int WriteString(string value, Span<byte> into)
    {
        var length = Encoding.UTF8.GetBytes(value, into[1..]);
        if (length > byte.MaxValue) throw new InvalidOperationException("the floor encodes strings of at most 255 bytes");
        into[0] = (byte)length;
        return 1 + length;
    }

    // The most a person encodes to: its id, two strings of at most 255 bytes with their lengths, age, friend, ticks.
    private const int MaxEncodedLength = 4 + 2 * (1 + byte.MaxValue) + 4 + 4 + 8;

    private static int EncodedLength(PersonData data, int id) =>
        4 + 1 + Encoding.UTF8.GetByteCount(data.Names[id]) + 4 + 1 + Encoding.UTF8.GetByteCount(data.Emails[id]) + 4 + 8;

    /// <summary>A person without persistence: the fields of <see cref="Person"/> and its id.</summary>
    private sealed class PlainPerson(PersonData data, int id, PlainPerson? friend)
    {
        public readonly int Id = id;
        public readonly string Name = data.Names[id];
        public readonly int Age = data.Ages[id];
        public readonly string Email = data.Emails[id];
        public readonly PlainPerson? Friend = friend;
        public readonly DateTime Created = data.Created[id];
    }
}
