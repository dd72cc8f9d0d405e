using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Persistence.Workloads;

/// <summary>
/// Runs the workloads R times, alternating the sides (odd runs Persistence first, even runs SQLite
/// first, workload by workload), each run on fresh databases, and prints the table.
/// </summary>
internal static class Runner
{
    public static int Run(Options options)
    {
        var root = options.Directory is { } given
            ? Path.GetFullPath(given)
            : Path.Combine(Path.GetTempPath(), $"persistence-workloads-{Environment.ProcessId}");
        var createdRoot = !System.IO.Directory.Exists(root);
        System.IO.Directory.CreateDirectory(root);
        var results = new Results();
        var failures = new List<string>();
        var clock = Stopwatch.StartNew();
        var loadAtStart = LoadAverage();
        Console.Error.WriteLine($"Workloads: N = {options.Objects:N0}, runs = {options.Runs}, only {string.Join(",", Options.AllWorkloads.Where(options.Wants))}; databases in {root}");
        try
        {
            var needsDatabase = new[] { "W1", "W2", "W3", "W4", "W5", "W6", "W7" }.Any(options.Wants);
            var data = needsDatabase ? PersonData.Generate(options.Objects) : null;
            var memData = options.Wants("MEM")
                ? (data is not null && data.Count == options.MemObjects ? data : PersonData.Generate(options.MemObjects))
                : null;
            for (var run = 1; run <= options.Runs; run++)
            {
                var directory = Path.Combine(root, $"run{run}");
                try
                {
                    var (append, appendMean, overwrite, overwriteData) = FsyncProbe.Milliseconds(directory);
                    results.Add(Metric.Fsync, Side.Persistence, append);
                    results.Add(Metric.FsyncMean, Side.Persistence, appendMean);
                    results.Add(Metric.FsyncOverwrite, Side.Persistence, overwrite);
                    if (!double.IsNaN(overwriteData)) results.Add(Metric.FsyncOverwriteData, Side.Persistence, overwriteData);
                    var fsync = Metric.Floor(append, overwrite, overwriteData);
                    Console.Error.WriteLine($"[run {run}/{options.Runs}] fsync latency: append {append:F2} ms median ({appendMean:F2} ms mean), overwrite {overwrite:F2} ms median, overwrite + fdatasync {overwriteData:F2} ms median ({FsyncProbe.Samples} samples each)");
                    Side[] order = run % 2 == 1 ? [Side.Persistence, Side.Sqlite] : [Side.Sqlite, Side.Persistence];
                    if (data is not null)
                    {
                        var state = new RunState(options, results, data, run, directory) { FsyncMs = fsync };
                        RunDatabaseWorkloads(state, order);
                        failures.AddRange(state.Failures);
                    }
                    if (BTreeWorkloads.Any(options.Wants))
                    {
                        var state = new RunState(options, results, data ?? PersonData.Generate(0), run, Path.Combine(directory, "btree")) { FsyncMs = fsync };
                        RunBTreeWorkloads(state, order);
                        failures.AddRange(state.Failures);
                    }
                    if (memData is not null)
                    {
                        var state = new RunState(options, results, memData, run, Path.Combine(directory, "mem")) { FsyncMs = fsync };
                        foreach (var side in order) Step(state, "MEM", side, () => MemOverhead.Run(side, state));
                        failures.AddRange(state.Failures);
                    }
                }
                finally
                {
                    if (!options.Keep) Files.DeleteDirectory(directory);
                }
            }
        }
        finally
        {
            if (!options.Keep && createdRoot) Files.DeleteDirectory(root);
        }

        var table = TablePrinter.Render(options, results, failures, clock.Elapsed, (loadAtStart, LoadAverage()));
        Console.Out.Write(table);
        var output = options.Out ?? DefaultOutput();
        System.IO.Directory.CreateDirectory(Path.GetDirectoryName(output)!);
        File.WriteAllText(output, table);
        Console.Error.WriteLine($"Wrote {output} ({clock.Elapsed.TotalSeconds:F0} s in all).");
        if (failures.Count > 0)
        {
            Console.Error.WriteLine($"{failures.Count} failure(s):");
            foreach (var failure in failures) Console.Error.WriteLine("  " + failure);
            return 1;
        }
        return 0;
    }

    /// <summary>W1 builds the database the others use; W6 packs what W2 left. What a reported workload needs runs even if it is not reported.</summary>
    private static void RunDatabaseWorkloads(RunState state, Side[] order)
    {
        var o = state.Options;
        var w2 = o.Wants("W2") || o.Wants("W6");
        var w3 = o.Wants("W3") || o.Wants("W4");
        foreach (var side in order) Step(state, "W1", side, () => W1Insert.Run(side, state));
        if (w2) foreach (var side in order) Step(state, "W2", side, () => W2Update.Run(side, state), "W1");
        if (w3) foreach (var side in order) Step(state, "W3", side, () => W3ColdRead.Run(side, state), "W1");
        if (o.Wants("W5")) foreach (var side in order) Step(state, "W5", side, () => W5Lookups.Run(side, state), "W1");
        if (o.Wants("W6")) foreach (var side in order) Step(state, "W6", side, () => W6Pack.Run(side, state), "W2");
        if (o.Wants("W7")) foreach (var side in order) Step(state, "W7", side, () => W7Contention.Run(side, state), "W1");
    }

    private static readonly string[] BTreeWorkloads = ["B1", "B2", "B3"];

    /// <summary>B2 and B3 read the tree B1 wrote in random order, so B1 runs (unreported) for them.</summary>
    private static void RunBTreeWorkloads(RunState state, Side[] order)
    {
        state.Results.Note(BTreeData.Description);
        foreach (var side in order) Step(state, "B1", side, () => B1BTreeInsert.Run(side, state));
        if (state.Options.Wants("B2")) foreach (var side in order) Step(state, "B2", side, () => B2BTreeLookups.Run(side, state), "B1");
        if (state.Options.Wants("B3")) foreach (var side in order) Step(state, "B3", side, () => B3BTreeScan.Run(side, state), "B1");
    }

    /// <summary>Runs one workload on one side; a failure is reported and the run goes on.</summary>
    private static void Step(RunState state, string workload, Side side, Action action, string? needs = null)
    {
        if (needs is not null && !state.Done.Contains((side, needs)))
        {
            state.Progress($"{workload} {side.Name()}: skipped ({needs} did not complete)");
            return;
        }
        state.Progress($"{workload} {side.Name()}{(state.Reports(workload) || (workload == "W3" && state.Reports("W4")) ? "" : " (setup, not reported)")}…");
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        try
        {
            action();
            state.Done.Add((side, workload));
        }
        catch (Exception e)
        {
            state.Fail($"{workload} on {side.Name()}: {e.GetType().Name}: {e.Message}");
            Console.Error.WriteLine(e);
        }
    }

    /// <summary>benchmarks/results/latest.md in the repository this program was built from (else the current folder).</summary>
    private static string DefaultOutput()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Persistence.sln")))
                return Path.Combine(directory.FullName, "benchmarks", "results", "latest.md");
        }
        return Path.GetFullPath(Path.Combine("benchmarks", "results", "latest.md"));
    }

    /// <summary>The 1-minute load average (Linux), or null: other work on the machine skews the numbers.</summary>
    private static double? LoadAverage()
    {
        try
        {
            var text = File.ReadAllText("/proc/loadavg");
            return double.Parse(text.Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
        {
            return null;
        }
    }

    public static string Machine()
    {
        var memory = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / (1024.0 * 1024 * 1024);
        return $"{RuntimeInformation.OSDescription.Trim()}, {RuntimeInformation.OSArchitecture}, {Environment.ProcessorCount} cores, {memory:F0} GiB, .NET {Environment.Version}";
    }
}
