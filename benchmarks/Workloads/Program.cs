using System.Globalization;

namespace Persistence.Workloads;

/// <summary>
/// The workload harness of the issue "Workload benchmarks side by side with SQLite":
/// <c>dotnet run -c Release --project benchmarks/Workloads -- [--objects N] [--runs R] [--only W2,...] [--dir D] [--keep]</c>.
/// Progress goes to stderr, the Markdown table to stdout and to <c>benchmarks/results/latest.md</c>.
/// The same program is the child process of the "new process" workloads (<c>--child W3 ...</c>).
/// </summary>
public static class Program
{
    public static int Main(string[] args)
    {
        CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
        CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
        if (args.Length > 0 && args[0] == "--child")
        {
            // The first line a child prints: the parent times process start → this line (start-up and JIT).
            Console.Out.WriteLine(ChildProcess.StartedLine);
            return ChildProcess.Run(args);
        }

        Options options;
        try
        {
            options = Options.Parse(args);
        }
        catch (ArgumentException e)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            Console.Error.WriteLine(Options.Usage);
            return 2;
        }
        if (options.Help)
        {
            Console.Out.WriteLine(Options.Usage);
            return 0;
        }
        return Runner.Run(options);
    }
}
