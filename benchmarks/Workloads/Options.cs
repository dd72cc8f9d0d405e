using System.Globalization;

namespace Persistence.Workloads;

/// <summary>The command line of the harness (the parent process).</summary>
internal sealed class Options
{
    public const int DefaultObjects = 100_000;
    public const int DefaultMemObjects = 1_000_000;
    public const int DefaultRuns = 3;
    public const int MinimumObjects = 1000;
    public const int DefaultEntries = 1_000_000;

    public static readonly string[] AllWorkloads = ["W1", "W2", "W3", "W4", "W5", "W6", "W7", "MEM", "B1", "B2", "B3"];
    public static readonly string[] DefaultWorkloads = ["W1", "W2", "W3", "W4", "W5", "W6", "W7", "B1", "B2", "B3"];

    public const string Usage = """
        Usage: dotnet run -c Release --project benchmarks/Workloads -- [options]

          --objects N     persons in the database (default 100,000; MEM defaults to 1,000,000)
          --runs R        runs of each workload on each side, alternating sides (default 3)
          --only LIST     workloads to report, comma-separated: W1..W7, MEM, B1..B3 (default W1..W7
                          and B1..B3; MEM runs only when named). Workloads the named ones need run unreported.
          --entries N     BTree entries for B1..B3 (default 1,000,000, or 10 × --objects when that is smaller)
          --dir D         where the temporary databases go (default a new folder under /tmp);
                          removed at the end
          --keep          keep the temporary databases
          --out FILE      also write the table here (default benchmarks/results/latest.md)
        """;

    public int Objects { get; private init; } = DefaultObjects;

    /// <summary>Whether --objects was given (MEM then uses it instead of 1,000,000).</summary>
    public bool ObjectsGiven { get; private init; }

    public int Runs { get; private init; } = DefaultRuns;

    public IReadOnlySet<string> Only { get; private init; } = new HashSet<string>(DefaultWorkloads, StringComparer.OrdinalIgnoreCase);

    public string? Directory { get; private init; }

    public bool Keep { get; private init; }

    public string? Out { get; private init; }

    public bool Help { get; private init; }

    /// <summary>The BTree workloads' entries: --entries, else 1,000,000 scaled down with a small --objects (a smoke test stays short).</summary>
    public int Entries { get; private init; } = DefaultEntries;

    /// <summary>Whether --entries was given.</summary>
    public bool EntriesGiven { get; private init; }

    public int MemObjects => ObjectsGiven ? Objects : DefaultMemObjects;

    public bool Wants(string workload) => Only.Contains(workload);

    public static Options Parse(string[] args)
    {
        int objects = DefaultObjects, runs = DefaultRuns;
        var objectsGiven = false;
        int? entries = null;
        HashSet<string>? only = null;
        string? directory = null, output = null;
        bool keep = false, help = false;
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--objects" or "-n":
                    objects = PositiveInt(args, ref i);
                    objectsGiven = true;
                    break;
                case "--entries":
                    entries = PositiveInt(args, ref i);
                    break;
                case "--runs" or "-r":
                    runs = PositiveInt(args, ref i);
                    break;
                case "--only":
                    only = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
                    foreach (var name in Value(args, ref i).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                    {
                        if (!AllWorkloads.Contains(name, StringComparer.OrdinalIgnoreCase))
                            throw new ArgumentException($"unknown workload '{name}' (known: {string.Join(", ", AllWorkloads)})");
                        only.Add(name.ToUpperInvariant());
                    }
                    if (only.Count == 0) throw new ArgumentException("--only needs at least one workload");
                    break;
                case "--dir":
                    directory = Value(args, ref i);
                    break;
                case "--out":
                    output = Value(args, ref i);
                    break;
                case "--keep":
                    keep = true;
                    break;
                case "--help" or "-h":
                    help = true;
                    break;
                default:
                    throw new ArgumentException($"unknown argument '{args[i]}'");
            }
        }
        if (objects < MinimumObjects)
            throw new ArgumentException($"--objects must be at least {MinimumObjects:N0} (one commit of W1)");
        return new Options
        {
            Objects = objects,
            ObjectsGiven = objectsGiven,
            Entries = entries ?? (objectsGiven ? (int)Math.Min(DefaultEntries, 10L * objects) : DefaultEntries),
            EntriesGiven = entries is not null,
            Runs = runs,
            Only = only ?? new HashSet<string>(DefaultWorkloads, StringComparer.OrdinalIgnoreCase),
            Directory = directory,
            Keep = keep,
            Out = output,
            Help = help,
        };
    }

    private static string Value(string[] args, ref int i)
    {
        if (i + 1 >= args.Length) throw new ArgumentException($"{args[i]} needs a value");
        return args[++i];
    }

    private static int PositiveInt(string[] args, ref int i)
    {
        var name = args[i];
        var text = Value(args, ref i).Replace("_", "", StringComparison.Ordinal).Replace(",", "", StringComparison.Ordinal);
        if (!int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) || value <= 0)
            throw new ArgumentException($"{name} needs a positive whole number, not '{text}'");
        return value;
    }
}
