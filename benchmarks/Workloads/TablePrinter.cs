using System.Globalization;
using System.Text;

namespace Persistence.Workloads;

/// <summary>The results as Markdown: a header saying what ran where, the table, notes.</summary>
internal static class TablePrinter
{
    private const string Missing = "—";

    public static string Render(Options options, Results results, IReadOnlyList<string> failures, TimeSpan elapsed, (double? Start, double? End) load)
    {
        var text = new StringBuilder();
        var fsyncMs = Metric.Floor(
            Stats.Median(results.Values(Metric.Fsync, Side.Persistence)),
            Stats.Median(results.Values(Metric.FsyncOverwrite, Side.Persistence)),
            results.Values(Metric.FsyncOverwriteData, Side.Persistence) is { Count: > 0 } dataOnly ? Stats.Median(dataOnly) : double.NaN);
        text.AppendLine("# Workload benchmarks: Persistence vs SQLite");
        text.AppendLine();
        text.AppendLine($"- date: {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC; took {(elapsed.TotalSeconds < 120 ? $"{elapsed.TotalSeconds:F0} s" : $"{elapsed.TotalMinutes:F1} min")}");
        text.AppendLine($"- machine: {Runner.Machine()}");
        if (load.Start is { } start && load.End is { } end)
            text.AppendLine($"- load average (1 min) at the start {start:F2}, at the end {end:F2}: anything above 0 is other work sharing the cores");
        text.AppendLine($"- command: `dotnet run -c Release --project benchmarks/Workloads -- {Arguments(options)}`");
        // The B workloads store no persons; their sizes and schemas are in their labels and note.
        var persons = options.Only.Any(workload => !workload.StartsWith('B'));
        var sizes = new List<string>();
        if (persons) sizes.Add($"N = {options.Objects:N0} persons{(options.Wants("MEM") ? $" (MEM: {options.MemObjects:N0})" : "")}");
        if (options.Only.Any(workload => workload.StartsWith('B'))) sizes.Add($"{options.Entries:N0} BTree entries (B1–B3)");
        text.AppendLine($"- {string.Join(", ", sizes)}; {options.Runs} run(s) per side, alternating which side goes first; each run on new databases; cells are median (min–max) over the runs");
        if (persons)
        {
            text.AppendLine($"- model: Person {{ Name (~12 chars), Age, Email (~20 chars), Friend (an earlier Person, null 20% of the time), Created (DateTime) }}");
            text.AppendLine($"- collection: {Ours.CollectionDescription}");
        }
        text.AppendLine("- Persistence: FileStorage, default durability (every commit flushed to disk before it returns: fsync, fdatasync on Linux; group commit, across processes too), default DatabaseOptions unless a row says otherwise; Serializable isolation");
        text.AppendLine($"- SQLite {Sql.Version()}: {Sql.Description}");
        if (!double.IsNaN(fsyncMs))
            text.AppendLine($"- fsync latency in the databases' directory, this run: {fsyncMs:F2} ms median, the lowest of an append + fsync, an overwrite in place + fsync and (Linux) an overwrite in place + fdatasync, so at most ≈ {1000 / fsyncMs:N0} durable commits/s one after another (the physical floor, which the W2 target uses)");
        text.AppendLine("- ↑ higher is better, ↓ lower is better; \"P ÷ S\" is Persistence's median over SQLite's; the page cache is warm (the files were just written)");
        text.AppendLine();
        text.AppendLine("| workload | metric | Persistence | SQLite | P ÷ S | issue target |");
        text.AppendLine("| --- | --- | ---: | ---: | ---: | --- |");
        string? previous = null;
        foreach (var metric in results.Metrics)
        {
            var label = metric == Metric.Fsync ? "fsync (physical floor of a durable commit)" : results.LabelOf(metric.Workload);
            var workloadCell = metric.Workload == previous ? "" : label;
            previous = metric.Workload;
            var ours = results.Values(metric, Side.Persistence);
            var sqlite = results.Values(metric, Side.Sqlite);
            var oursMedian = Stats.Median(ours);
            var sqliteMedian = Stats.Median(sqlite);
            string oursCell, sqliteCell, ratio, target;
            if (metric.Workload == Metric.Fsync.Workload)
            {
                oursCell = Cell(ours, metric.Decimals);
                sqliteCell = "same disk";
                ratio = Missing;
                target = double.IsNaN(oursMedian) ? "" : $"floor ≈ {1000 / oursMedian:N0} commits/s";
            }
            else
            {
                oursCell = ours.Count == 0 ? results.Unavailable(metric.Workload, Side.Persistence) ?? Missing : Cell(ours, metric.Decimals);
                sqliteCell = metric.OursOnly ? Missing : sqlite.Count == 0 ? results.Unavailable(metric.Workload, Side.Sqlite) ?? Missing : Cell(sqlite, metric.Decimals);
                ratio = metric.OursOnly || metric.NoRatio || double.IsNaN(oursMedian) || double.IsNaN(sqliteMedian) || sqliteMedian == 0
                    ? Missing
                    : $"{oursMedian / sqliteMedian:0.00}×";
                target = Target(metric, oursMedian, metric.OursOnly ? null : sqliteMedian, fsyncMs);
            }
            text.AppendLine($"| {workloadCell} | {metric.Name} | {oursCell} | {sqliteCell} | {ratio} | {target} |");
        }
        if (results.Notes.Count > 0 || failures.Count > 0)
        {
            text.AppendLine();
            foreach (var note in results.Notes) text.AppendLine($"- {note}");
            foreach (var failure in failures) text.AppendLine($"- FAILED: {failure}");
        }
        return text.ToString();
    }

    private static string Target(Metric metric, double ours, double? sqlite, double fsyncMs)
    {
        if (metric.Target is not { } target) return "";
        if (double.IsNaN(ours)) return target.Text;
        var met = target.Check(new TargetInput(ours, sqlite is { } s && !double.IsNaN(s) ? s : null, double.IsNaN(fsyncMs) ? null : fsyncMs));
        return met switch
        {
            true => $"{target.Text}: ✅ met",
            false => $"{target.Text}: ❌ missed",
            null => $"{target.Text}: ?",
        };
    }

    private static string Cell(IReadOnlyList<double> values, int decimals)
    {
        if (values.Count == 0) return Missing;
        var median = Stats.Median(values);
        if (values.Count == 1) return Number(median, decimals);
        var (min, max) = Stats.Range(values);
        return $"{Number(median, decimals)} ({Number(min, decimals)}–{Number(max, decimals)})";
    }

    private static string Number(double value, int decimals)
    {
        if (double.IsNaN(value)) return "n/a";
        // Large numbers need no decimals; small ones keep enough to be read.
        if (Math.Abs(value) >= 1000) decimals = 0;
        return value.ToString("N" + decimals.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
    }

    private static string Arguments(Options options)
    {
        var parts = new List<string>();
        if (options.ObjectsGiven) parts.Add($"--objects {options.Objects}");
        if (options.EntriesGiven) parts.Add($"--entries {options.Entries}");
        parts.Add($"--runs {options.Runs}");
        var only = Options.AllWorkloads.Where(options.Wants).ToArray();
        if (!only.SequenceEqual(Options.AllWorkloads.Where(Options.DefaultWorkloads.Contains))) parts.Add($"--only {string.Join(",", only)}");
        return string.Join(" ", parts);
    }
}
