namespace Persistence.Workloads;

internal enum Side
{
    Persistence,
    Sqlite,
}

internal static class Sides
{
    public static string Name(this Side side) => side == Side.Persistence ? "Persistence" : "SQLite";

    public static string Key(this Side side) => side == Side.Persistence ? "persistence" : "sqlite";

    public static Side Parse(string key) => key switch
    {
        "persistence" => Side.Persistence,
        "sqlite" => Side.Sqlite,
        _ => throw new ArgumentException($"unknown side '{key}'"),
    };
}

/// <summary>What a target compares: our median, SQLite's median (if measured), the fsync latency in ms.</summary>
internal readonly record struct TargetInput(double Ours, double? Sqlite, double? FsyncMs);

/// <summary>One of the targets for a metric.</summary>
/// <param name="Text">How the table shows it, e.g. "≥ 1,000,000/s and ≥ 6× SQLite".</param>
/// <param name="Check">Whether it is met; null when it cannot be judged (a side missing).</param>
internal sealed record Target(string Text, Func<TargetInput, bool?> Check)
{
    public static Target AtLeast(double value, string text) => new(text, input => input.Ours >= value);

    public static Target AtMost(double value, string text) => new(text, input => input.Ours <= value);

    /// <summary>Ours ÷ SQLite at least <paramref name="factor"/> (for "higher is better" metrics).</summary>
    public static Target RatioAtLeast(double factor, string text) =>
        new(text, input => input.Sqlite is { } s && s > 0 ? input.Ours / s >= factor : null);

    /// <summary>Ours ÷ SQLite at most <paramref name="factor"/> (for sizes).</summary>
    public static Target RatioAtMost(double factor, string text) =>
        new(text, input => input.Sqlite is { } s && s > 0 ? input.Ours / s <= factor : null);

    public static Target All(string text, params Target[] parts) => new(text, input =>
    {
        var all = true;
        foreach (var part in parts)
        {
            var met = part.Check(input);
            if (met is null) return null;
            all &= met.Value;
        }
        return all;
    });
}

/// <summary>A number a workload reports (one table row).</summary>
/// <param name="Workload">W1…W7, MEM.</param>
/// <param name="Name">The metric and its unit, e.g. "objects/s".</param>
/// <param name="HigherIsBetter">Shown as ↑ or ↓.</param>
/// <param name="Decimals">Decimals shown.</param>
/// <param name="Target">The target, if any.</param>
/// <param name="OursOnly">Only Persistence reports it (SQLite's cell shows "—").</param>
/// <param name="NoRatio">A count or check, where Persistence ÷ SQLite means nothing.</param>
internal sealed record Metric(string Workload, string Name, bool HigherIsBetter, int Decimals, Target? Target = null, bool OursOnly = false, bool NoRatio = false)
{
    /// <summary>The fsync latency row: measured once per run, not per side.</summary>
    public static readonly Metric Fsync = new("fsync", "latency ms (append 64 B + fsync, median of 200) ↓", HigherIsBetter: false, Decimals: 2, OursOnly: true);

    /// <summary>The mean of the same 200 fsyncs.</summary>
    public static readonly Metric FsyncMean = new("fsync", "latency ms, mean of the same 200 ↓", HigherIsBetter: false, Decimals: 2, OursOnly: true);

    /// <summary>Writes over bytes the file already has, each fsynced: no new file size to put on disk.</summary>
    public static readonly Metric FsyncOverwrite = new("fsync", "latency ms (overwrite 64 B in place + fsync, median of 200) ↓", HigherIsBetter: false, Decimals: 2, OursOnly: true);

    /// <summary>Writes over bytes the file already has, each fdatasynced (Linux): not even the file's times to put on disk.</summary>
    public static readonly Metric FsyncOverwriteData = new("fsync", "latency ms (overwrite 64 B in place + fdatasync, median of 200) ↓", HigherIsBetter: false, Decimals: 2, OursOnly: true);

    /// <summary>The floor of a run: the lowest of its medians (one is NaN where fdatasync was not measured).</summary>
    public static double Floor(double appendMs, double overwriteMs, double overwriteDataMs) =>
        double.IsNaN(overwriteDataMs) ? Math.Min(appendMs, overwriteMs) : Math.Min(Math.Min(appendMs, overwriteMs), overwriteDataMs);
}

/// <summary>Every value measured, per metric and side, plus notes, in the order metrics were first reported.</summary>
internal sealed class Results
{
    private readonly List<Metric> _order = [];
    private readonly Dictionary<Metric, (List<double> Ours, List<double> Sqlite)> _values = [];
    private readonly Dictionary<string, string> _labels = [];
    private readonly List<string> _notes = [];
    private readonly Dictionary<(string, Side), string> _unavailable = [];

    public IReadOnlyList<Metric> Metrics => _order;

    public IReadOnlyList<string> Notes => _notes;

    public void Label(string workload, string label) => _labels[workload] = label;

    public string LabelOf(string workload) => _labels.TryGetValue(workload, out var label) ? label : workload;

    /// <summary>Declares a row (so rows appear in workload order even if a side fails).</summary>
    public void Declare(Metric metric)
    {
        if (_values.ContainsKey(metric)) return;
        _order.Add(metric);
        _values[metric] = ([], []);
    }

    public void Add(Metric metric, Side side, double value)
    {
        Declare(metric);
        (side == Side.Persistence ? _values[metric].Ours : _values[metric].Sqlite).Add(value);
    }

    /// <summary>Says why a side has no numbers for a workload (e.g. "n/a: pack not available").</summary>
    public void MarkUnavailable(string workload, Side side, string why) => _unavailable[(workload, side)] = why;

    public string? Unavailable(string workload, Side side) => _unavailable.TryGetValue((workload, side), out var why) ? why : null;

    public void Note(string note)
    {
        if (!_notes.Contains(note)) _notes.Add(note);
    }

    public IReadOnlyList<double> Values(Metric metric, Side side) =>
        _values.TryGetValue(metric, out var v) ? (side == Side.Persistence ? v.Ours : v.Sqlite) : [];
}

internal static class Stats
{
    public static double Median(IReadOnlyList<double> values)
    {
        var valid = values.Where(v => !double.IsNaN(v)).Order().ToArray();
        if (valid.Length == 0) return double.NaN;
        var middle = valid.Length / 2;
        return valid.Length % 2 == 1 ? valid[middle] : (valid[middle - 1] + valid[middle]) / 2;
    }

    /// <summary>The value below which <paramref name="fraction"/> of the values lie (nearest rank).</summary>
    public static double Percentile(double[] values, double fraction)
    {
        if (values.Length == 0) return double.NaN;
        var sorted = values.Order().ToArray();
        var rank = (int)Math.Ceiling(fraction * sorted.Length) - 1;
        return sorted[Math.Clamp(rank, 0, sorted.Length - 1)];
    }

    public static (double Min, double Max) Range(IReadOnlyList<double> values)
    {
        var valid = values.Where(v => !double.IsNaN(v)).ToArray();
        return valid.Length == 0 ? (double.NaN, double.NaN) : (valid.Min(), valid.Max());
    }
}
