using System.Buffers.Binary;
using System.Diagnostics;
using System.Text;

namespace Persistence.Workloads;

/// <summary>
/// The floor under W3 and W4 on this machine: what the least a store that hands out objects must do
/// costs here, measured the way W3 and W4 are (a new process, then a second pass in it). The child
/// encodes the persons' values into one array of bytes in memory, untimed; then it times decoding them
/// into plain .NET objects with the same fields as <see cref="Person"/> (two strings from UTF-8, a
/// reference to an earlier person), kept in an array, as a store keeps what it loaded; then a second
/// pass over them reading Name and Age, as W4 does. No file, no index, no checksum, no identity map:
/// nothing of any store. A target beyond this floor (more objects a second, fewer nanoseconds an
/// object) cannot be met by any store that builds objects in .NET on this machine; SQLite's W3 builds
/// no objects (it reads each row's values into locals).
/// </summary>
internal static class PlainFloor
{
    public static readonly Metric ObjectsPerSecond = new("W3", "floor: plain .NET objects decoded from bytes in memory (no storage), new process: objects/s ↑", true, 0, OursOnly: true);

    public static readonly Metric NanosecondsPerObject = new("W4", "floor: second pass over those plain objects: ns/object ↓", false, 1, OursOnly: true);

    /// <summary>Runs the floor's child once and returns its objects/s and second-pass ns/object.</summary>
    public static (double ObjectsPerSecond, double NanosecondsPerObject) Measure(RunState state)
    {
        using var child = ChildProcess.Start("W3F", Side.Persistence, state.DatabasePath(Side.Persistence), ("objects", state.Objects));
        child.WaitStarted();
        var result = child.Result();
        if ((int)result["objects"] != state.Objects || (int)result["objects2"] != state.Objects)
            throw new InvalidOperationException($"the floor's passes read {result["objects"]} and {result["objects2"]} persons, not {state.Objects}");
        return (state.Objects / (result["decodeMs"] / 1000), result["pass2Ms"] * 1e6 / state.Objects);
    }

    /// <summary>In the child.</summary>
    public static Dictionary<string, double> Child(ChildArguments arguments)
    {
        var objects = arguments.Int("objects");
        var bytes = Encode(PersonData.Generate(objects));
        // What encoding left behind is not the decoder's to collect.
        GC.Collect();
        GC.WaitForPendingFinalizers();

        var started = Stopwatch.GetTimestamp();
        var persons = Decode(bytes, objects);
        var decode = Stopwatch.GetElapsedTime(started);

        started = Stopwatch.GetTimestamp();
        var (count, checksum) = Pass(persons);
        var pass2 = Stopwatch.GetElapsedTime(started);
        GC.KeepAlive(persons);
        return new Dictionary<string, double>
        {
            ["decodeMs"] = decode.TotalMilliseconds,
            ["objects"] = persons.Length,
            ["pass2Ms"] = pass2.TotalMilliseconds,
            ["objects2"] = count,
            ["checksum"] = checksum,
        };
    }

    /// <summary>Each person as: name length and UTF-8 bytes, age, email length and bytes, friend id (or -1), created ticks.</summary>
    private static byte[] Encode(PersonData data)
    {
        var output = new MemoryStream();
        Span<byte> number = stackalloc byte[8];
        for (var id = 0; id < data.Count; id++)
        {
            WriteString(output, data.Names[id]);
            BinaryPrimitives.WriteInt32LittleEndian(number, data.Ages[id]);
            output.Write(number[..4]);
            WriteString(output, data.Emails[id]);
            BinaryPrimitives.WriteInt32LittleEndian(number, data.Friends[id]);
            output.Write(number[..4]);
            BinaryPrimitives.WriteInt64LittleEndian(number, data.Created[id].Ticks);
            output.Write(number);
        }
        return output.ToArray();
    }

    private static void WriteString(MemoryStream output, string value)
    {
        var utf8 = Encoding.UTF8.GetBytes(value);
        if (utf8.Length > byte.MaxValue) throw new InvalidOperationException("the floor encodes strings of at most 255 bytes");
        output.WriteByte((byte)utf8.Length);
        output.Write(utf8);
    }

    private static PlainPerson[] Decode(byte[] bytes, int count)
    {
        var persons = new PlainPerson[count];
        var span = bytes.AsSpan();
        var position = 0;
        for (var id = 0; id < count; id++)
        {
            var person = new PlainPerson { Name = ReadString(span, ref position) };
            person.Age = BinaryPrimitives.ReadInt32LittleEndian(span[position..]);
            position += 4;
            person.Email = ReadString(span, ref position);
            var friend = BinaryPrimitives.ReadInt32LittleEndian(span[position..]);
            position += 4;
            person.Friend = friend < 0 ? null : persons[friend];
            person.Created = new DateTime(BinaryPrimitives.ReadInt64LittleEndian(span[position..]), DateTimeKind.Utc);
            position += 8;
            persons[id] = person;
        }
        return persons;
    }

    private static string ReadString(ReadOnlySpan<byte> span, ref int position)
    {
        var length = span[position];
        var value = Encoding.UTF8.GetString(span.Slice(position + 1, length));
        position += 1 + length;
        return value;
    }

    /// <summary>The pass W3 and W4 make (<see cref="FullScan.Ours"/>), over the plain objects.</summary>
    private static (int Count, long Checksum) Pass(PlainPerson[] persons)
    {
        var count = 0;
        long checksum = 0;
        foreach (var person in persons)
        {
            checksum += person.Age + person.Name.Length;
            count++;
        }
        return (count, checksum);
    }

    /// <summary>A person without persistence: the fields of <see cref="Person"/> and nothing else.</summary>
    private sealed class PlainPerson
    {
        public string Name = "";
        public int Age;
        public string Email = "";
        public PlainPerson? Friend;
        public DateTime Created;
    }
}
