using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Running;

namespace Persistence.Benchmarks;

/// <summary>
/// Runs the micro-benchmarks with BenchmarkDotNet's command line, for example
/// <c>dotnet run -c Release --project benchmarks/Micro -- --filter '*' --job short</c>.
/// Without arguments every benchmark runs with the default job.
/// </summary>
public static class Program
{
    public static int Main(string[] args)
    {
        if (args.Length == 0) args = ["--filter", "*"];
        var config = DefaultConfig.Instance
            .AddColumn(StatisticColumn.OperationsPerSecond)
            .WithOption(ConfigOptions.JoinSummary, false);
        var summaries = BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args, config);
        return summaries.Any(s => s.HasCriticalValidationErrors || s.Reports.Any(r => !r.Success)) ? 1 : 0;
    }
}
