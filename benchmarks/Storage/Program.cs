using System.Diagnostics;
using System.Globalization;
using Persistence;
using Persistence.Serialization;
using Persistence.Storage;

// Measures what a large FileStorage costs to open and to pack.
//
//   dotnet run -c Release --project benchmarks/Storage -- [objects] [directory]
//
// objects: how many (default 1,000,000), written as raw storage transactions of 1,000 records:
// 999 small leaves and one container that references them; the root references every container.
// The database is created once in directory (default: the temp directory) and reused by later runs.
CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
var objects = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 1_000_000;
var directory = args.Length > 1 ? args[1] : Path.Combine(Path.GetTempPath(), "persistence-storage-bench");
Directory.CreateDirectory(directory);
var path = Path.Combine(directory, $"bench-{objects}.persist");
var readOnly = new FileStorageOptions { ReadOnly = true };
const int PerTransaction = 1000;

Console.WriteLine($"{Environment.ProcessorCount} cores, .NET {Environment.Version}, {RuntimeInformationText()}");
Console.WriteLine($"database: {path}");

// ---- create ----
var containers = new List<Oid>();
if (!File.Exists(path) || !File.Exists(path + ".index"))
{
    foreach (var leftover in Directory.GetFiles(directory, Path.GetFileName(path) + "*")) File.Delete(leftover);
    var clock = Stopwatch.StartNew();
    using (var storage = FileStorage.Open(path, new FileStorageOptions { Durability = Durability.Relaxed }))
    {
        var leaves = new Oid[PerTransaction - 1];
        for (var written = 0; written < objects; written += PerTransaction)
        {
            using var transaction = storage.Begin();
            for (var i = 0; i < leaves.Length; i++)
            {
                leaves[i] = storage.NewOid();
                transaction.Store(leaves[i], 0, Record($"leaf {leaves[i].Value} of a benchmark database"));
            }
            var container = storage.NewOid();
            transaction.Store(container, 0, Record("container", leaves));
            transaction.Vote();
            transaction.Finish();
            containers.Add(container);
        }
        using (var transaction = storage.Begin())
        {
            transaction.Store(Oid.Root, 0, Record("root", [.. containers]));
            transaction.Vote();
            transaction.Finish();
        }
        storage.Flush();
        var created = clock.Elapsed;
        clock.Restart();
        storage.Checkpoint();
        Console.WriteLine($"created {objects:N0} objects in {created.TotalSeconds:F1} s ({new FileInfo(path).Length / 1e6:F1} MB); checkpoint written in {clock.Elapsed.TotalMilliseconds:F0} ms ({new FileInfo(path + ".index").Length / 1e6:F1} MB)");
    }
}
else
{
    Console.WriteLine($"reusing the database ({new FileInfo(path).Length / 1e6:F1} MB)");
}

// ---- open ----
Open(path, readOnly); // warm up: JIT and the page cache
var withCheckpoint = Median(11, () => Open(path, readOnly));
var writableWithCheckpoint = Median(11, () => Open(path, null));
File.Move(path + ".index", path + ".index.aside", overwrite: true);
double withoutCheckpoint;
try
{
    withoutCheckpoint = Median(3, () => Open(path, readOnly));
}
finally
{
    File.Move(path + ".index.aside", path + ".index", overwrite: true);
}
Console.WriteLine($"open, current checkpoint: {withCheckpoint:F1} ms read-only, {writableWithCheckpoint:F1} ms writable (median of 11)");
Console.WriteLine($"open, no checkpoint (full scan): {withoutCheckpoint:F1} ms (median of 3)");

// ---- poll (which also checks whether the file was replaced by a pack) ----
using (var reader = FileStorage.Open(path, readOnly))
{
    var last = reader.LastTid;
    for (var i = 0; i < 1000; i++) reader.Poll(last);
    var clock = Stopwatch.StartNew();
    const int polls = 20_000;
    for (var i = 0; i < polls; i++) reader.Poll(last);
    Console.WriteLine($"poll with nothing new: {clock.Elapsed.TotalMicroseconds / polls:F1} µs");
}

// ---- pack: a copy of the database with garbage and history ----
var packPath = Path.Combine(directory, $"pack-{objects}.persist");
foreach (var leftover in Directory.GetFiles(directory, Path.GetFileName(packPath) + "*")) File.Delete(leftover);
File.Copy(path, packPath);
using (var storage = FileStorage.Open(packPath, new FileStorageOptions { Durability = Durability.Relaxed }))
{
    var root = storage.Load(Oid.Root)!.Value;
    var all = References(root.Data.Span);
    // A tenth of the containers become unreachable, and a fifth of the rest get new revisions.
    var kept = all.Where((_, i) => i % 10 != 0).ToArray();
    var rewrites = 0;
    for (var c = 0; c < kept.Length; c += 5)
    {
        var container = storage.Load(kept[c])!.Value;
        using var transaction = storage.Begin();
        foreach (var leaf in References(container.Data.Span))
        {
            transaction.Store(leaf, storage.Load(leaf)!.Value.Tid, Record($"leaf {leaf.Value}, second revision"));
            rewrites++;
        }
        transaction.Vote();
        transaction.Finish();
    }
    using (var transaction = storage.Begin())
    {
        transaction.Store(Oid.Root, root.Tid, Record("root", kept));
        transaction.Vote();
        transaction.Finish();
    }
    storage.Flush();
    Console.WriteLine($"pack input: {all.Length - kept.Length} of {all.Length} containers dropped, {rewrites:N0} leaves rewritten, {new FileInfo(packPath).Length / 1e6:F1} MB");

    GC.Collect();
    var heapBefore = GC.GetTotalMemory(true);
    var peak = heapBefore;
    using var sampling = new CancellationTokenSource();
    var sampler = Task.Run(() =>
    {
        while (!sampling.IsCancellationRequested)
        {
            var now = GC.GetTotalMemory(false);
            if (now > peak) peak = now;
            Thread.Sleep(1);
        }
    });
    var result = storage.Pack();
    sampling.Cancel();
    sampler.Wait();
    var seconds = result.Duration.TotalSeconds;
    Console.WriteLine($"pack: {result.BytesBefore / 1e6:F1} MB -> {result.BytesAfter / 1e6:F1} MB, {result.LiveObjects:N0} live objects, {result.RevisionsKept:N0} revisions, in {seconds:F2} s");
    Console.WriteLine($"pack speed: {result.LiveBytes / 1e6 / seconds:F0} MB/s of live data ({result.BytesBefore / 1e6 / seconds:F0} MB/s of input file)");
    Console.WriteLine($"pack memory: managed heap peak {peak / 1e6:F0} MB, {(peak - heapBefore) / 1e6:F0} MB above the open storage's {heapBefore / 1e6:F0} MB; process peak working set {Environment.WorkingSet / 1e6:F0} MB now");
}
foreach (var leftover in Directory.GetFiles(directory, Path.GetFileName(packPath) + "*")) File.Delete(leftover);
return 0;

static double Open(string path, FileStorageOptions? options)
{
    var clock = Stopwatch.StartNew();
    var storage = FileStorage.Open(path, options);
    var elapsed = clock.Elapsed.TotalMilliseconds;
    storage.Dispose();
    return elapsed;
}

static double Median(int runs, Func<double> measure)
{
    var times = Enumerable.Range(0, runs).Select(_ => measure()).Order().ToArray();
    return times[runs / 2];
}

// A record of type 7 with a text state and references.
static byte[] Record(string state, params Oid[] references) =>
    RecordFormat.Compose(7, 1, System.Text.Encoding.UTF8.GetBytes(state), references);

static Oid[] References(ReadOnlySpan<byte> record)
{
    var list = new List<Oid>();
    RecordFormat.References(record, list);
    return [.. list];
}

static string RuntimeInformationText() => System.Runtime.InteropServices.RuntimeInformation.OSDescription;
