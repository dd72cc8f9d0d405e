using System.Buffers;
using System.Text.Json;
using System.Text.Json.Serialization;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using Persistence.Serialization;

namespace Persistence.Benchmarks;

/// <summary>
/// Writing and reading the state of one 5-property object (two strings, an int, a DateTime and a
/// reference to another persistent object) with <see cref="RecordBuffer"/>, <see cref="RecordWriter"/>
/// and <see cref="RecordReader"/>, through the generated <c>WriteState</c>/<c>ReadState</c>.
/// </summary>
/// <remarks>
/// <para>Targets: at least 10 million objects a second each way on one core (at most 100 ns an object),
/// and no allocation when writing (the output buffer is reused). Reading allocates the two strings.</para>
/// <para>The baseline in each group is System.Text.Json's source-generated serializer on the same
/// data (<see cref="PersonJson"/>: the five fields, the reference as the friend's id), writing UTF-8
/// into a reused buffer and reading from a byte span. It reads into a new object, where a load reads
/// into the ghost that is already there; our record also carries a header (type, schema version,
/// length) and the list of references that packing and garbage collection walk.</para>
/// </remarks>
[MemoryDiagnoser]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
public class SerializerBenchmarks
{
    private const uint PersonTypeId = 7;
    private const ushort SchemaVersion = 1;
    private const int RecordsPerCommit = 100;

    private readonly RecordBuffer _buffer = new(64 * 1024);
    private Person _source = null!;
    private Person _target = null!;
    private FixedResolver _resolver = null!;
    private byte[] _record = [];

    private readonly ArrayBufferWriter<byte> _jsonBuffer = new(64 * 1024);
    private Utf8JsonWriter _jsonWriter = null!;
    private PersonJson _jsonSource = null!;
    private byte[] _json = [];

    [GlobalSetup]
    public void Setup()
    {
        var friend = new Person { Name = "Charles Babbage", Email = "charles@example.org", Age = 41, Created = People.Epoch };
        _source = new Person
        {
            Name = "Ada Lovelace",
            Email = "ada@example.org",
            Age = 36,
            Created = People.Epoch.AddDays(12.5),
            Friend = friend,
        };
        _target = new Person();
        _resolver = new FixedResolver(new ObjectReference(new Oid(42), PersonTypeId), friend);

        _buffer.Clear();
        var writer = _buffer.BeginRecord(PersonTypeId, SchemaVersion, _resolver);
        _source.WriteState(ref writer);
        _record = _buffer.Memory(writer.Complete()).ToArray();

        ReadState();
        if (_target.Name != _source.Name || _target.Email != _source.Email || _target.Age != _source.Age
            || _target.Created != _source.Created || !ReferenceEquals(_target.Friend, friend))
            throw new InvalidOperationException("The state read back differs from the state written.");

        _jsonWriter = new Utf8JsonWriter(_jsonBuffer);
        _jsonSource = new PersonJson
        {
            Name = _source.Name,
            Email = _source.Email,
            Age = _source.Age,
            Created = _source.Created,
            Friend = 42,
        };
        Json_Write();
        _json = _jsonBuffer.WrittenSpan.ToArray();
        if (Json_Read() != _jsonSource.Age) throw new InvalidOperationException("The JSON read back differs from the JSON written.");
        var read = JsonSerializer.Deserialize(_json, PersonJsonContext.Default.PersonJson)!;
        if (read.Name != _jsonSource.Name || read.Email != _jsonSource.Email || read.Created != _jsonSource.Created || read.Friend != 42)
            throw new InvalidOperationException("The JSON read back differs from the JSON written.");
    }

    /// <summary>One object as JSON (the baseline for <see cref="WriteState"/>).</summary>
    [Benchmark(Baseline = true), BenchmarkCategory("write")]
    public int Json_Write()
    {
        _jsonBuffer.ResetWrittenCount();
        _jsonWriter.Reset(_jsonBuffer);
        JsonSerializer.Serialize(_jsonWriter, _jsonSource, PersonJsonContext.Default.PersonJson);
        _jsonWriter.Flush();
        return _jsonBuffer.WrittenCount;
    }

    /// <summary>A hundred objects as JSON into one buffer (the baseline for <see cref="WriteState_Batch"/>).</summary>
    [Benchmark(Baseline = true, OperationsPerInvoke = RecordsPerCommit), BenchmarkCategory("write x100")]
    public int Json_Write_Batch()
    {
        var buffer = _jsonBuffer;
        var writer = _jsonWriter;
        var source = _jsonSource;
        var info = PersonJsonContext.Default.PersonJson;
        buffer.ResetWrittenCount();
        writer.Reset(buffer);
        for (var i = 0; i < RecordsPerCommit; i++)
        {
            JsonSerializer.Serialize(writer, source, info);
            // One JSON value after another: each starts a new value, as each record starts a new record.
            writer.Flush();
            writer.Reset(buffer);
        }
        return buffer.WrittenCount;
    }

    /// <summary>One object from JSON (the baseline for <see cref="ReadState"/>).</summary>
    [Benchmark(Baseline = true), BenchmarkCategory("read")]
    public int Json_Read() => JsonSerializer.Deserialize(_json, PersonJsonContext.Default.PersonJson)!.Age;

    /// <summary>One record: header, the five fields, the reference list.</summary>
    [Benchmark, BenchmarkCategory("write")]
    public int WriteState()
    {
        var buffer = _buffer;
        buffer.Clear();
        var writer = buffer.BeginRecord(PersonTypeId, SchemaVersion, _resolver);
        _source.WriteState(ref writer);
        return writer.Complete().Length;
    }

    /// <summary>A hundred records one after another into one buffer, as a commit writes them.</summary>
    [Benchmark(OperationsPerInvoke = RecordsPerCommit), BenchmarkCategory("write x100")]
    public int WriteState_Batch()
    {
        var buffer = _buffer;
        var source = _source;
        var resolver = _resolver;
        buffer.Clear();
        var length = 0;
        for (var i = 0; i < RecordsPerCommit; i++)
        {
            var writer = buffer.BeginRecord(PersonTypeId, SchemaVersion, resolver);
            source.WriteState(ref writer);
            length += writer.Complete().Length;
        }
        return length;
    }

    /// <summary>One record: find the state in it and read the five fields into an object.</summary>
    [Benchmark, BenchmarkCategory("read")]
    public int ReadState()
    {
        var reader = new RecordReader(RecordFormat.State(_record), _resolver);
        _target.ReadState(ref reader);
        return reader.Remaining;
    }

    /// <summary>Returns a fixed identity for every reference written and a fixed object for every reference read.</summary>
    private sealed class FixedResolver(ObjectReference fixedReference, PersistentObject fixedTarget) : IReferenceResolver
    {
        public ObjectReference Resolve(PersistentObject target) => fixedReference;

        public PersistentObject Materialize(ObjectReference reference) => fixedTarget;
    }
}

/// <summary>The benchmark's person as a plain JSON document: the reference to the friend is the friend's id.</summary>
public sealed class PersonJson
{
    public string Name { get; set; } = "";
    public string Email { get; set; } = "";
    public int Age { get; set; }
    public DateTime Created { get; set; }
    public long? Friend { get; set; }
}

/// <summary>System.Text.Json's source-generated serializer for <see cref="PersonJson"/>.</summary>
[JsonSerializable(typeof(PersonJson))]
internal sealed partial class PersonJsonContext : JsonSerializerContext;
