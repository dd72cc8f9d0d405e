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
            .WithOption(ConfigOptions.JoinSummary, false)
            // Building the generated project takes about a minute on a 2-core machine, more when it is busy (the default 2 min
            // was reached in a CI run while other builds ran); a build that fails is still reported as one.
            .WithBuildTimeout(TimeSpan.FromMinutes(10));
        var summaries = BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args, config);
        return summaries.Any(s => s.HasCriticalValidationErrors || s.Reports.Any(r => !r.Success)) ? 1 : 0;
    }
}
