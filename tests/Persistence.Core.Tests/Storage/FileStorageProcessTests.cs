using System.Diagnostics;
using System.Globalization;
using Persistence.Storage;
using Xunit.Abstractions;
using static Persistence.Tests.Storage.TestRecords;

namespace Persistence.Tests.Storage;

/// <summary>
/// One data file shared by real processes (the test host program): the commit lock across
/// processes, a process killed while it holds it, oids, invalidation at transaction boundaries, and
/// many processes reading, writing and deleting at once.
/// </summary>
public sealed class FileStorageProcessTests(ITestOutputHelper output) : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(120);

    private readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();


    private static long Number(string line) => long.Parse(line[(line.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture);

    // ---- the commit lock across processes ----

    [Fact]
    public async Task AProcessKilledWhileHoldingTheCommitLockReleasesItAndReadersNeverWaitForIt()
    {
        var path = _directory.File("data.persist");
        using var storage = FileStorage.Open(path);
        var oid = storage.NewOid();
        var t1 = Commit(storage, (oid, 0, Make("one")));

        using var holder = new HostRun("hold-commit", path);
        Assert.Equal("voted", holder.NextLine(Timeout));

        // Readers go on: loading and polling take no lock.
        var clock = Stopwatch.StartNew();
        Assert.Equal("one", Text(storage.Load(oid)));
        storage.Poll(t1);
        using (var reader = FileStorage.Open(path, new FileStorageOptions { ReadOnly = true }))
            Assert.Equal(t1, reader.LastTid);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5));

        // A writer waits for its turn...
        var commit = Task.Run(() => Commit(storage, (oid, t1, Make("two"))));
        await Task.Delay(300);
        Assert.False(commit.IsCompleted);

        // ...which comes when the holder dies: the operating system releases its lock.
        holder.Kill();
        var t2 = await commit.WaitAsync(Timeout);
        Assert.True(t2 > t1);
        Assert.True(FileStorage.Verify(path).IsValid);
    }

    [Fact]
    public void AProcessKilledHalfwayThroughItsWriteLeavesATailTheNextWriterRemovesBeforeItAppends()
    {
        var path = _directory.File("data.persist");
        using var storage = FileStorage.Open(path);
        var oid = storage.NewOid();
        var t1 = Commit(storage, (oid, 0, Make("one")));
        var end = new FileInfo(path).Length;

        using (var holder = new HostRun("hold-commit", path, "torn"))
        {
            Assert.Equal("voted", holder.NextLine(Timeout));
            Assert.Equal("torn", holder.NextLine(Timeout));
            holder.Kill();
        }
        Assert.Equal(end + 300, new FileInfo(path).Length);
        Assert.Equal(end, FileStorage.Verify(path).IncompleteTailOffset);
        Assert.Equal(t1, storage.Poll(t1).LastTid);

        var t2 = Commit(storage, (oid, t1, Make("two")));

        var report = FileStorage.Verify(path);
        Assert.True(report.IsValid, report.ToString());
        Assert.Null(report.IncompleteTailOffset);
        Assert.Equal(2, report.TransactionCount);
        using var reopened = FileStorage.Open(path, new FileStorageOptions { ReadOnly = true });
        Assert.Equal(t2, reopened.LastTid);
        Assert.Equal("two", Text(reopened.Load(oid)));
    }

    // ---- oids ----

    [Fact]
    public void OidsHandedOutInSeveralProcessesAtOnceNeverRepeat()
    {
        var path = _directory.File("data.persist");
        using (var storage = FileStorage.Open(path))
            Commit(storage, (storage.NewOid(), 0, Make("first")));

        var runs = Enumerable.Range(0, 3).Select(_ => new HostRun("new-oids", path, "400")).ToList();
        var oids = new List<ulong>();
        using var local = FileStorage.Open(path);
        for (var i = 0; i < 400; i++) oids.Add(local.NewOid().Value);
        foreach (var run in runs)
        {
            run.WaitForSuccess(Timeout);
            oids.AddRange(run.Lines.Select(line => (ulong)Number(line)));
            run.Dispose();
        }

        Assert.Equal(1600, oids.Count);
        Assert.Equal(oids.Count, oids.Distinct().Count());
        Assert.True(oids.Min() > Oid.FirstUser.Value);
    }

    // ---- transaction boundaries ----

    [Theory]
    [InlineData("readwrite")]
    [InlineData("readonly")]
    public void AReaderProcessSeesAWriterProcesssCommitAtItsNextTransactionBoundary(string mode)
    {
        var path = _directory.File("data.persist");
        var go = _directory.File("go");
        Assert.Equal(0, HostProcess.Run(Timeout, "set-cell", path, "watched", "1").ExitCode);
        using var watcher = new HostRun("watch-cell", path, "watched", go, mode);
        Assert.Equal("before 1", watcher.NextLine(Timeout));

        var (exitCode, _, errors) = HostProcess.Run(Timeout, "set-cell", path, "watched", "2");
        Assert.True(exitCode == 0, errors);
        File.WriteAllText(go, "");

        // Until its next boundary the reader keeps its snapshot; then it sees the other process's commit.
        Assert.Equal("peek 1", watcher.NextLine(Timeout));
        Assert.Equal("after 2", watcher.NextLine(Timeout));
        watcher.WaitForSuccess(Timeout);
    }

    // ---- many processes at once ----

    [Fact]
    public void FiftyProcessesReadingWritingAndDeletingAtOnceCommitEveryChangeExactlyOnce()
    {
        const int processes = 50;
        const int operations = 4;
        const int slots = 8;
        var path = _directory.File("data.persist");
        var go = _directory.File("go");
        Assert.Equal(0, HostProcess.Run(Timeout, "slots-setup", path, slots.ToString(CultureInfo.InvariantCulture)).ExitCode);

        var clock = Stopwatch.StartNew();
        var runs = Enumerable.Range(0, processes)
            .Select(i => new HostRun("slots-work", path, i.ToString(CultureInfo.InvariantCulture), operations.ToString(CultureInfo.InvariantCulture), go))
            .ToList();
        try
        {
            foreach (var run in runs) Assert.Equal("ready", run.NextLine(Timeout));
            var started = clock.Elapsed;
            File.WriteAllText(go, "");
            foreach (var run in runs) run.WaitForSuccess(Timeout);
            output.WriteLine($"{processes} processes started in {started.TotalSeconds:F1} s, worked {(clock.Elapsed - started).TotalSeconds:F1} s");

            var lines = runs.SelectMany(r => r.Lines).ToList();
            Assert.Equal(processes, lines.Count(l => l == "done"));
            var conflicts = lines.Where(l => l.StartsWith("conflicts ", StringComparison.Ordinal)).Sum(Number);
            output.WriteLine($"{processes * operations} units of work committed, {conflicts} conflicts raised and retried");
            Assert.True(conflicts > 0, "the processes should have collided");

            var expected = CheckHistories(lines.Where(l => l.StartsWith("create ", StringComparison.Ordinal) || l.StartsWith("inc ", StringComparison.Ordinal) || l.StartsWith("delete ", StringComparison.Ordinal)).ToList(), slots);
            Assert.Equal(processes * operations, expected.Operations);

            var (exitCode, state, errors) = HostProcess.Run(Timeout, "slots-check", path);
            Assert.True(exitCode == 0, errors);
            Assert.Equal(expected.Final.Order(), state.Order());
            var report = FileStorage.Verify(path);
            Assert.True(report.IsValid, report.ToString());
            output.WriteLine(report.ToString());
        }
        finally
        {
            foreach (var run in runs) run.Dispose();
        }
    }

    /// <summary>
    /// Checks what the processes say they committed: per slot and generation, the values 1..m each
    /// committed once (a lost update would commit one twice), a delete at most once and only of the
    /// last value, generations without gaps. Returns the state the database must be in.
    /// </summary>
    private static (int Operations, List<string> Final) CheckHistories(List<string> reports, int slots)
    {
        var final = new List<string>();
        for (var slot = 0; slot < slots; slot++)
        {
            var mine = reports.Select(r => r.Split(' ')).Where(p => p[1] == slot.ToString(CultureInfo.InvariantCulture)).ToList();
            var generations = mine.Select(p => long.Parse(p[2], CultureInfo.InvariantCulture)).DefaultIfEmpty(0).Max();
            var lastDeleted = false;
            long lastValue = 0;
            for (var g = 1L; g <= generations; g++)
            {
                var history = mine.Where(p => long.Parse(p[2], CultureInfo.InvariantCulture) == g).ToList();
                var values = history.Where(p => p[0] != "delete").Select(p => long.Parse(p[3], CultureInfo.InvariantCulture)).Order().ToList();
                Assert.Equal(Enumerable.Range(1, values.Count).Select(v => (long)v), values);
                Assert.Equal("create", history.Single(p => p[3] == "1" && p[0] != "delete")[0]);
                var deletes = history.Where(p => p[0] == "delete").ToList();
                Assert.True(deletes.Count <= 1, $"slot {slot} generation {g} was deleted twice");
                if (deletes.Count == 1) Assert.Equal(values.Count, long.Parse(deletes[0][3], CultureInfo.InvariantCulture));
                // Only the newest generation may still be alive.
                if (g < generations) Assert.Single(deletes);
                lastDeleted = deletes.Count == 1;
                lastValue = values.Count;
            }
            final.Add($"slot {slot} {generations} {(generations == 0 || lastDeleted ? "none" : lastValue.ToString(CultureInfo.InvariantCulture))}");
        }
        return (reports.Count, final);
    }
}
