using BenchmarkDotNet.Attributes;
using Persistence.Storage;

namespace Persistence.Benchmarks;

/// <summary>
/// The oid → offset index of a file storage (<see cref="FileStorageIndex"/>): finding an object's
/// newest revision, the first step of every load, and setting revisions in oid order, as a scan of the
/// file at open and a bulk load's commits do.
/// </summary>
/// <remarks>
/// Two indexes of the oids 3 .. 2^20 + 2: <c>All</c>, where every oid has a revision (dense pages), and
/// <c>Tenth</c>, where one oid in ten chosen at random has one, as after a pack of a file most of whose
/// objects were dropped (sparse pages). <see cref="Find"/> looks up 1,024 of those objects in random
/// order, so most look-ups miss the processor's caches as a large database's do;
/// <see cref="SetInOidOrder"/> builds the index of all of them (the time is for the whole index).
/// </remarks>
[MemoryDiagnoser]
public class IndexBenchmarks
{
    private const int Oids = 1 << 20;
    private const int Lookups = 1024;

    private FileStorageIndex _index = new();
    private ulong[] _live = [];
    private ulong[] _lookups = [];

    [Params("All", "Tenth")]
    public string Live { get; set; } = "All";

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(42);
        var live = new List<ulong>();
        for (var oid = 3UL; oid < Oids + 3; oid++)
        {
            if (Live == "All" || random.Next(10) == 0) live.Add(oid);
        }
        _live = [.. live];
        _index = new FileStorageIndex();
        foreach (var oid in _live) _index.Set(oid, 64 + 40 * (long)oid);
        _lookups = [.. Enumerable.Range(0, Lookups).Select(_ => _live[random.Next(_live.Length)])];
    }

    /// <summary>Find the newest revision of 1,024 objects that have one.</summary>
    [Benchmark(OperationsPerInvoke = Lookups)]
    public long Find()
    {
        var index = _index;
        var sum = 0L;
        foreach (var oid in _lookups) sum += index.Find(oid);
        return sum;
    }

    /// <summary>Build the index of the live objects anew in oid order: for each, a look-up of its previous revision, then the set.</summary>
    [Benchmark]
    public long SetInOidOrder()
    {
        var index = new FileStorageIndex();
        foreach (var oid in _live)
        {
            if (index.Find(oid) == 0) index.Set(oid, 64 + 40 * (long)oid);
        }
        return index.Count;
    }
}
