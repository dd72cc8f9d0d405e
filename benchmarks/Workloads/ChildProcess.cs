using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Persistence.Workloads;

/// <summary>
/// The "new process" workloads: the harness starts itself again (<c>dotnet Workloads.dll --child W3 --side … --db …</c>,
/// or the app host with the same arguments) and reads what the child prints on stdout, one line each:
/// "started" first thing in Main, "ready" when it waits for "go" on stdin (W7), and a JSON object with
/// its numbers last (after which a W7 child waits for "exit"). The child's stderr goes straight to the parent's.
/// </summary>
internal sealed class ChildProcess : IDisposable
{
    public const string StartedLine = "started";
    public const string ReadyLine = "ready";
    public const string GoLine = "go";
    public const string ExitLine = "exit";

    private static readonly JsonSerializerOptions Json = new() { NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals };

    private readonly Process _process;
    private readonly long _startedAt;
    private readonly string _what;

    private ChildProcess(Process process, long startedAt, string what)
    {
        _process = process;
        _startedAt = startedAt;
        _what = what;
    }

    /// <summary>Starts a child that runs <paramref name="workload"/> with the given named arguments.</summary>
    public static ChildProcess Start(string workload, Side side, string database, params (string Name, object Value)[] arguments)
    {
        var host = Environment.ProcessPath ?? throw new InvalidOperationException("The path of this process is unknown.");
        var info = new ProcessStartInfo(host)
        {
            RedirectStandardOutput = true,
            RedirectStandardInput = true,
            RedirectStandardError = false,
            UseShellExecute = false,
        };
        // Under the dotnet host the program is its dll; the app host (bin/…/Workloads) is the program itself.
        if (string.Equals(Path.GetFileNameWithoutExtension(host), "dotnet", StringComparison.OrdinalIgnoreCase))
            info.ArgumentList.Add(typeof(Program).Assembly.Location);
        info.ArgumentList.Add("--child");
        info.ArgumentList.Add(workload);
        info.ArgumentList.Add("--side");
        info.ArgumentList.Add(side.Key());
        info.ArgumentList.Add("--db");
        info.ArgumentList.Add(database);
        foreach (var (name, value) in arguments)
        {
            info.ArgumentList.Add("--" + name);
            info.ArgumentList.Add(Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture)!);
        }
        var startedAt = Stopwatch.GetTimestamp();
        var process = Process.Start(info) ?? throw new InvalidOperationException($"Could not start {host}.");
        return new ChildProcess(process, startedAt, $"{workload} child ({side.Name()}, pid {process.Id})");
    }

    /// <summary>Waits for the child's first line; returns the time from before the process was started to it (start-up and JIT of Main).</summary>
    public TimeSpan WaitStarted()
    {
        Expect(StartedLine);
        return Stopwatch.GetElapsedTime(_startedAt);
    }

    public void WaitReady() => Expect(ReadyLine);

    public void Go()
    {
        _process.StandardInput.WriteLine(GoLine);
        _process.StandardInput.Flush();
    }

    /// <summary>Reads the child's result line and waits for it to exit.</summary>
    public Dictionary<string, double> Result()
    {
        var result = ReadResult();
        WaitForExit();
        return result;
    }

    /// <summary>Reads the child's result line (a child that waits for "exit" after it is still running).</summary>
    public Dictionary<string, double> ReadResult()
    {
        var line = ReadLine();
        if (!line.StartsWith('{')) throw new InvalidOperationException($"The {_what} printed '{line}' where its result was expected.");
        return JsonSerializer.Deserialize<Dictionary<string, double>>(line, Json)
            ?? throw new InvalidOperationException($"The {_what} printed an empty result.");
    }

    /// <summary>Tells a child that reported its result (<see cref="ReportAndWaitForExit"/>) to close and exit.</summary>
    public void Release()
    {
        _process.StandardInput.WriteLine(ExitLine);
        _process.StandardInput.Flush();
    }

    public void WaitForExit()
    {
        if (!_process.WaitForExit(TimeSpan.FromMinutes(5))) throw new TimeoutException($"The {_what} did not exit.");
        if (_process.ExitCode != 0) throw new InvalidOperationException($"The {_what} exited with {_process.ExitCode}.");
    }

    public void Dispose()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill();
                _process.WaitForExit(TimeSpan.FromSeconds(10));
            }
        }
        catch (InvalidOperationException)
        {
            // It exited meanwhile.
        }
        _process.Dispose();
    }

    private void Expect(string expected)
    {
        var line = ReadLine();
        if (line != expected) throw new InvalidOperationException($"The {_what} printed '{line}' where '{expected}' was expected.");
    }

    private string ReadLine() =>
        _process.StandardOutput.ReadLine()
        ?? throw new InvalidOperationException($"The {_what} ended early (exit code {(_process.WaitForExit(TimeSpan.FromSeconds(10)) ? _process.ExitCode : -1)}); its stderr is above.");

    // ---- In the child ----

    /// <summary>Runs the workload named after --child and prints its result as one JSON line.</summary>
    public static int Run(string[] args)
    {
        var named = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 2; i + 1 < args.Length; i += 2)
            named[args[i].TrimStart('-')] = args[i + 1];
        try
        {
            var arguments = new ChildArguments(named);
            // Null from a child that printed its result itself (ReportAndWaitForExit).
            var result = args[1] switch
            {
                "W3" => W3ColdRead.Child(arguments),
                "W3F" => PlainFloor.Child(arguments),
                "W5" => W5Lookups.Child(arguments),
                "W7" => W7Contention.Child(arguments),
                "MEM" => MemOverhead.Child(arguments),
                "B2" => B2BTreeLookups.Child(arguments),
                "B3" => B3BTreeScan.Child(arguments),
                _ => throw new ArgumentException($"unknown child workload '{args[1]}'"),
            };
            if (result is not null) Report(result);
            return 0;
        }
        catch (Exception e)
        {
            Console.Error.WriteLine($"{args[1]} child ({(named.TryGetValue("side", out var side) ? side : "?")}): {e}");
            return 1;
        }
    }

    /// <summary>
    /// Serializes and parses a result once, untimed. The first use of the JSON serializer in a process
    /// costs tens of milliseconds of compiling: in W7 a child that finished first spent them on its
    /// report while the others were still timed (on two cores, a third of the CPU in W7's window with
    /// 1,000 transactions per child), and the parent on the first result it read.
    /// </summary>
    public static void WarmUpResults()
    {
        var line = JsonSerializer.Serialize(new Dictionary<string, double> { ["warm"] = double.NaN, ["up"] = 1.5 }, Json);
        _ = JsonSerializer.Deserialize<Dictionary<string, double>>(line, Json);
    }

    /// <summary>In the child: waits for the parent's "go" (W7 starts every child at once).</summary>
    public static void SignalReadyAndWait()
    {
        Console.Out.WriteLine(ReadyLine);
        Console.Out.Flush();
        ExpectFromParent(GoLine);
    }

    /// <summary>
    /// In the child: prints the result, then waits for the parent's "exit" (W7: a child that is done
    /// closes its database and exits only when every child is done, so that no closing or exiting
    /// process takes the cores from those still timed).
    /// </summary>
    public static void ReportAndWaitForExit(Dictionary<string, double> result)
    {
        Report(result);
        ExpectFromParent(ExitLine);
    }

    private static void Report(Dictionary<string, double> result)
    {
        Console.Out.WriteLine(JsonSerializer.Serialize(result, Json));
        Console.Out.Flush();
    }

    private static void ExpectFromParent(string expected)
    {
        var line = Console.In.ReadLine();
        if (line != expected) throw new InvalidOperationException($"expected '{expected}' from the parent, got '{line}'");
    }
}

/// <summary>The named arguments a child was started with.</summary>
internal sealed class ChildArguments(Dictionary<string, string> values)
{
    public Side Side => Sides.Parse(Get("side"));

    public string Database => Get("db");

    public string Get(string name) =>
        values.TryGetValue(name, out var value) ? value : throw new ArgumentException($"the child needs --{name}");

    public int Int(string name) => int.Parse(Get(name), System.Globalization.CultureInfo.InvariantCulture);

    public long Long(string name) => long.Parse(Get(name), System.Globalization.CultureInfo.InvariantCulture);
}
