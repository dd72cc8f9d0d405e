using BenchmarkDotNet.Attributes;
using Persistence.Serialization;

namespace Persistence.Benchmarks;

/// <summary>
/// Writing and reading the state of one 5-property object (two strings, an int, a DateTime and a
/// reference to another persistent object) with <see cref="RecordBuffer"/>, <see cref="RecordWriter"/>
/// and <see cref="RecordReader"/>, through the generated <c>WriteState</c>/<c>ReadState</c>.
/// </summary>
/// <remarks>
/// Targets: at least 10 million objects a second each way on one core (at most 100 ns an object),
/// and no allocation when writing (the output buffer is reused). Reading allocates the two strings.
/// </remarks>
[MemoryDiagnoser]
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
    }

    /// <summary>One record: header, the five fields, the reference list.</summary>
    [Benchmark]
    public int WriteState()
    {
        var buffer = _buffer;
        buffer.Clear();
        var writer = buffer.BeginRecord(PersonTypeId, SchemaVersion, _resolver);
        _source.WriteState(ref writer);
        return writer.Complete().Length;
    }

    /// <summary>A hundred records one after another into one buffer, as a commit writes them.</summary>
    [Benchmark(OperationsPerInvoke = RecordsPerCommit)]
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
    [Benchmark]
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
