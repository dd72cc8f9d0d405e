using BenchmarkDotNet.Attributes;
using Persistence.Storage;

namespace Persistence.Benchmarks;

/// <summary>
/// Committing one small changed object to a <see cref="MemoryStorage"/>: serialize, the storage's
/// two-phase commit, and moving the connection to the new snapshot.
/// </summary>
/// <remarks>
/// A storage keeps every revision (history for MVCC), so the benchmarks start over with a new
/// database every <see cref="CommitsPerDatabase"/> commits to keep memory bounded over millions of
/// invocations; that costs well under 1% of the time measured.
/// </remarks>
[MemoryDiagnoser]
public class CommitBenchmarks
{
    private const int CommitsPerDatabase = 10_000;

    private Database? _database;
    private Connection _connection = null!;
    private Person _person = null!;
    private int _commits;

    [GlobalSetup]
    public void Setup() => Reset();

    [GlobalCleanup]
    public void Cleanup()
    {
        _connection.Dispose();
        _database?.Dispose();
    }

    /// <summary>Change one property of one stored object and commit.</summary>
    [Benchmark]
    public long CommitOneChangedObject()
    {
        if (++_commits == CommitsPerDatabase) Reset();
        _person.Age = _commits;
        _connection.Commit();
        return _connection.Snapshot;
    }

    /// <summary>Commit with nothing changed: only the move to the newest snapshot.</summary>
    [Benchmark]
    public long CommitWithoutChanges()
    {
        _connection.Commit();
        return _connection.Snapshot;
    }

    private void Reset()
    {
        _connection?.Dispose();
        _database?.Dispose();
        _database = Database.Open(new MemoryStorage());
        _connection = _database.OpenConnection();
        _person = People.Persistent(1);
        _person.Friend = People.Persistent(2);
        _connection.Root["person"] = _person;
        _connection.Commit();
        _commits = 0;
    }
}
