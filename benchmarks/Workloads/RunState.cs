namespace Persistence.Workloads;

/// <summary>What one run of the workloads shares: the options, the data, the databases of both sides, the results.</summary>
internal sealed class RunState(Options options, Results results, PersonData data, int run, string directory)
{
    public Options Options { get; } = options;

    public Results Results { get; } = results;

    public PersonData Data { get; } = data;

    /// <summary>1-based.</summary>
    public int Run { get; } = run;

    /// <summary>This run's folder; each side has a folder in it.</summary>
    public string Directory { get; } = directory;

    public int Objects => Data.Count;

    /// <summary>The fsync latency measured at the start of this run.</summary>
    public double FsyncMs { get; set; } = double.NaN;

    /// <summary>The workloads each side has done in this run (setup included).</summary>
    public HashSet<(Side, string)> Done { get; } = [];

    /// <summary>Failures (exceptions, broken invariants); the harness exits with 1 if there are any.</summary>
    public List<string> Failures { get; } = [];

    public string SideDirectory(Side side)
    {
        var path = Path.Combine(Directory, side.Key());
        System.IO.Directory.CreateDirectory(path);
        return path;
    }

    public string DatabasePath(Side side) =>
        side == Side.Persistence ? Ours.DataFile(SideDirectory(side)) : Sql.DataFile(SideDirectory(side));

    /// <summary>Whether the workload's numbers go into the table (else it runs only as another's setup).</summary>
    public bool Reports(string workload) => Options.Wants(workload);

    public void Record(Metric metric, Side side, double value)
    {
        if (!Reports(metric.Workload)) return;
        Results.Add(metric, side, value);
    }

    public void Progress(string text) => Console.Error.WriteLine($"[run {Run}/{Options.Runs}] {text}");

    public void Fail(string text)
    {
        Failures.Add($"run {Run}: {text}");
        Console.Error.WriteLine($"[run {Run}/{Options.Runs}] FAILED: {text}");
    }

    // ---- Workload sizes (scaled down for tiny N, so a smoke test stays short) ----

    /// <summary>W2: 2,000 transactions at N ≥ 100,000; N / 50 (at least 100) below.</summary>
    public int UpdateTransactions => Math.Clamp(Objects / 50, 100, 2000);

    /// <summary>W5: 10,000 lookups.</summary>
    public int Lookups => 10_000;

    /// <summary>W7: 8 processes at once.</summary>
    public int ContentionProcesses => 8;

    /// <summary>W7: 200 transactions per process at N ≥ 100,000; N / 500 (at least 20) below.</summary>
    public int ContentionTransactions => Math.Clamp(Objects / 500, 20, 200);
}
