using Persistence.Serialization;

namespace Persistence.Tests.Serialization;

/// <summary>Builds the state bytes of a record by hand, for tests of encodings and schema conversion.</summary>
internal static class RecordStates
{
    public delegate void Write(ref RecordWriter writer);

    /// <summary>The state bytes <paramref name="write"/> writes (no header, no reference list).</summary>
    public static byte[] State(Write write)
    {
        var buffer = new RecordBuffer();
        var writer = buffer.BeginRecord(1, 0, null);
        write(ref writer);
        var slice = writer.Complete();
        return RecordFormat.State(buffer.Memory(slice).Span).ToArray();
    }
}
