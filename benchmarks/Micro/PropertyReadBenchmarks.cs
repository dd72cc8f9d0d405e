using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using Persistence.Storage;

namespace Persistence.Benchmarks;

/// <summary>
/// Reading a property of a persistent object against a plain auto-property. Each benchmark reads
/// one property of each of <see cref="Count"/> objects (the time shown is per read), so the JIT
/// cannot hoist the read out of the loop and the numbers include a realistic walk over objects.
/// </summary>
/// <remarks>
/// Three kinds of object: a plain class (the baseline); a new persistent object (never stored);
/// and persistent objects committed to a database, loaded through a second connection: the state
/// a program reads most. Target: a loaded read within 1 ns of the plain read. The reference
/// benchmarks read two properties each (a person's Friend, then the friend's Age).
/// </remarks>
[MemoryDiagnoser]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
public class PropertyReadBenchmarks
{
    private const int Count = 1024;

    private PlainPerson[] _plain = [];
    private Person[] _new = [];
    private Person[] _loaded = [];
    private Database? _database;
    private Connection? _reader;

    [GlobalSetup]
    public void Setup()
    {
        _plain = new PlainPerson[Count];
        _new = new Person[Count];
        for (var i = 0; i < Count; i++)
        {
            _plain[i] = People.Plain(i);
            _new[i] = People.Persistent(i);
        }
        // Each one's friend another of them, as far off in the array as it goes.
        for (var i = 0; i < Count; i++)
        {
            _plain[i].Friend = _plain[FriendOf(i)];
            _new[i].Friend = _new[FriendOf(i)];
        }

        // Store the people, then load them through another connection, as a program reads them.
        _database = Database.Open(new MemoryStorage());
        using (var writer = _database.OpenConnection())
        {
            var list = new PersistentList<Person>();
            for (var i = 0; i < Count; i++) list.Add(People.Persistent(i));
            for (var i = 0; i < Count; i++) list[i].Friend = list[FriendOf(i)];
            writer.Root["people"] = list;
            writer.Commit();
        }
        _reader = _database.OpenConnection();
        var people = (PersistentList<Person>)_reader.Root["people"];
        _loaded = [.. people];
        foreach (var person in _loaded)
        {
            person.Activate();
            if (person.PersistentState != PersistentState.UpToDate)
                throw new InvalidOperationException($"A loaded person is {person.PersistentState}, not UpToDate.");
        }
        if (Plain_Int32() != Loaded_Int32() || Plain_String() != Loaded_String() || Plain_Reference() != Loaded_Reference())
            throw new InvalidOperationException("The loaded people differ from the plain ones.");
    }

    private static int FriendOf(int i) => (i + (Count / 2)) % Count;

    [GlobalCleanup]
    public void Cleanup()
    {
        _reader?.Dispose();
        _database?.Dispose();
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Count), BenchmarkCategory("int")]
    public int Plain_Int32()
    {
        var people = _plain;
        var sum = 0;
        for (var i = 0; i < people.Length; i++) sum += people[i].Age;
        return sum;
    }

    [Benchmark(OperationsPerInvoke = Count), BenchmarkCategory("int")]
    public int New_Int32()
    {
        var people = _new;
        var sum = 0;
        for (var i = 0; i < people.Length; i++) sum += people[i].Age;
        return sum;
    }

    [Benchmark(OperationsPerInvoke = Count), BenchmarkCategory("int")]
    public int Loaded_Int32()
    {
        var people = _loaded;
        var sum = 0;
        for (var i = 0; i < people.Length; i++) sum += people[i].Age;
        return sum;
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Count), BenchmarkCategory("string")]
    public int Plain_String()
    {
        var people = _plain;
        var sum = 0;
        for (var i = 0; i < people.Length; i++) sum += people[i].Name.Length;
        return sum;
    }

    [Benchmark(OperationsPerInvoke = Count), BenchmarkCategory("string")]
    public int New_String()
    {
        var people = _new;
        var sum = 0;
        for (var i = 0; i < people.Length; i++) sum += people[i].Name.Length;
        return sum;
    }

    [Benchmark(OperationsPerInvoke = Count), BenchmarkCategory("string")]
    public int Loaded_String()
    {
        var people = _loaded;
        var sum = 0;
        for (var i = 0; i < people.Length; i++) sum += people[i].Name.Length;
        return sum;
    }

    // A reference property: a persistent getter also checks the class of what the field holds (the
    // load reads the reference without that check, see PersistentObject.Referenced).

    [Benchmark(Baseline = true, OperationsPerInvoke = Count), BenchmarkCategory("reference")]
    public int Plain_Reference()
    {
        var people = _plain;
        var sum = 0;
        for (var i = 0; i < people.Length; i++) sum += people[i].Friend!.Age;
        return sum;
    }

    [Benchmark(OperationsPerInvoke = Count), BenchmarkCategory("reference")]
    public int New_Reference()
    {
        var people = _new;
        var sum = 0;
        for (var i = 0; i < people.Length; i++) sum += people[i].Friend!.Age;
        return sum;
    }

    [Benchmark(OperationsPerInvoke = Count), BenchmarkCategory("reference")]
    public int Loaded_Reference()
    {
        var people = _loaded;
        var sum = 0;
        for (var i = 0; i < people.Length; i++) sum += people[i].Friend!.Age;
        return sum;
    }
}
