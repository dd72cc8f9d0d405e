using BenchmarkDotNet.Attributes;
using Persistence.Storage;

namespace Persistence.Benchmarks;

/// <summary>
/// Ghost activation: the first read of a property of an object that is not loaded yet, which fetches
/// its record from the storage and reads the state into the object. Each invocation reads the Age
/// of <see cref="Count"/> ghosts (the time shown is per object), then aborts the transaction: with
/// a cache size of 0 the connection turns them all back into ghosts for the next invocation.
/// </summary>
/// <remarks>
/// <para>The time is therefore activation plus turning the object back into a ghost (a state change
/// and the fields cleared), the full cost of an object that passes through a connection's cache,
/// plus a 1,024th of the abort's fixed cost (70 to 110 ns an abort measured alone: 0.1 ns an object).</para>
/// <para>Two storages: <see cref="MemoryStorage"/> (a dictionary of records: the connection's own
/// work) and <see cref="FileStorage"/> on a file in the temporary directory (the record read from the
/// file, which the operating system has in its page cache after the first pass). Only one connection
/// is open, so the database's shared record cache stays empty and every activation asks the storage.</para>
/// <para>Two layouts: <c>Current</c> (the records were written by this program's <see cref="Person"/>)
/// and <c>Older</c> (by an earlier version of the class, without <c>Created</c> and with <c>Age</c> a
/// 16-bit integer, so each activation converts the record to the current layout first: the cost a
/// program pays for records it has not rewritten since its class changed).</para>
/// </remarks>
[MemoryDiagnoser]
public class ActivationBenchmarks
{
    private const int Count = 1024;

    private string? _directory;
    private Database? _database;
    private Connection _reader = null!;
    private Person[] _people = [];

    [Params("Memory", "File")]
    public string Storage { get; set; } = "Memory";

    [Params("Current", "Older")]
    public string Layout { get; set; } = "Current";

    [GlobalSetup]
    public void Setup()
    {
        if (Storage == "File")
        {
            _directory = Path.Combine(Path.GetTempPath(), "persistence-activation-" + Guid.NewGuid().ToString("N"));
            Directory.CreateDirectory(_directory);
            _database = Database.Open(Path.Combine(_directory, "people.db"));
        }
        else
        {
            _database = Database.Open(new MemoryStorage());
        }

        var expected = 0;
        // The reader is another connection than the writer (opened while the writer is still out of the
        // pool), so it meets none of the objects the writer made and loads every person from its record.
        var writer = _database.OpenConnection();
        var list = new PersistentList<PersistentObject>();
        for (var i = 0; i < Count; i++)
        {
            var person = People.Persistent(i);
            var friend = i > 0 ? list[i - 1] : null;
            if (Layout == "Older")
            {
                list.Add(new EarlierPerson(person, friend));
            }
            else
            {
                person.Friend = (Person?)friend;
                list.Add(person);
            }
            expected += person.Age;
        }
        writer.Root["people"] = list;
        writer.Commit();
        _reader = _database.OpenConnection();
        writer.Dispose();
        _reader.CacheSize = 0;
        _people = [.. ((PersistentList<PersistentObject>)_reader.Root["people"]).Cast<Person>()];
        _reader.Abort();
        RequireAll(PersistentState.Ghost, "before the first read");
        if (ReadGhosts_ThenAbort() != expected)
            throw new InvalidOperationException("The activated people differ from the people stored.");
        RequireAll(PersistentState.Ghost, "after the abort");
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _reader.Dispose();
        _database?.Dispose();
        if (_directory is not null) Directory.Delete(_directory, recursive: true);
    }

    /// <summary>Activate each ghost by reading its Age; then the abort turns them back into ghosts.</summary>
    [Benchmark(OperationsPerInvoke = Count)]
    public int ReadGhosts_ThenAbort()
    {
        var people = _people;
        var sum = 0;
        for (var i = 0; i < people.Length; i++) sum += people[i].Age;
        if (people[^1].PersistentState != PersistentState.UpToDate)
            throw new InvalidOperationException("Reading a ghost's property did not load it.");
        _reader.Abort();
        return sum;
    }

    private void RequireAll(PersistentState state, string when)
    {
        foreach (var person in _people)
        {
            if (person.PersistentState != state)
                throw new InvalidOperationException($"A person is {person.PersistentState} {when}, not {state}.");
        }
    }

    /// <summary>
    /// A person as an earlier version of <see cref="Person"/> stored it: stored under the same class name,
    /// without <c>Created</c>, and with <c>Age</c> a 16-bit integer. It is only written, never loaded:
    /// the records load as today's <see cref="Person"/>.
    /// </summary>
    private sealed class EarlierPerson(Person person, PersistentObject? friend) : PersistentObject
    {
        private static readonly PersistentTypeInfo Type = new(
            new Person().PersistentType.Name,
            [],
            null,
            [new("Name", "str"), new("Email", "str"), new("Age", "i16"), new("Friend", "ref")],
            _ => throw new InvalidOperationException("The earlier class is never loaded."));

        public override PersistentTypeInfo PersistentType => Type;

        protected internal override void WriteState(ref Persistence.Serialization.RecordWriter writer)
        {
            writer.WriteString(person.Name);
            writer.WriteString(person.Email);
            writer.WriteInt16((short)person.Age);
            writer.WriteReference(friend);
        }

        protected internal override void ReadState(ref Persistence.Serialization.RecordReader reader) => throw new InvalidOperationException();

        protected internal override void ClearState() { }
    }
}
