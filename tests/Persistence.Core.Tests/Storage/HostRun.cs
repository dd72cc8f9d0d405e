using System.Collections.Concurrent;
using System.Diagnostics;

namespace Persistence.Tests.Storage;

/// <summary>
/// A test host process whose output lines are collected as they come, so a test can wait for one
/// line, kill the process at any moment (SIGKILL on Unix) and still read everything it printed before.
/// </summary>
internal sealed class HostRun : IDisposable
{
    private readonly BlockingCollection<string> _lines = [];
    private readonly List<string> _all = [];
    private readonly List<string> _errors = [];
    private readonly Dictionary<string, long> _arrivals = [];

    public HostRun(params string[] arguments)
    {
        Arguments = string.Join(' ', arguments);
        Process = HostProcess.Start(arguments);
        Process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null)
            {
                _lines.CompleteAdding();
                return;
            }
            lock (_all)
            {
                _all.Add(e.Data);
                _arrivals.TryAdd(e.Data, Stopwatch.GetTimestamp());
            }
            _lines.Add(e.Data);
        };
        Process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null) lock (_errors) _errors.Add(e.Data);
        };
        Process.BeginOutputReadLine();
        Process.BeginErrorReadLine();
    }

    public Process Process { get; }

    public string Arguments { get; }

    /// <summary>Every line printed so far.</summary>
    public string[] Lines
    {
        get
        {
            lock (_all) return [.. _all];
        }
    }

    /// <summary>When <paramref name="line"/> arrived (a <see cref="Stopwatch"/> timestamp), if it did.</summary>
    public long? ArrivalOf(string line)
    {
        lock (_all) return _arrivals.TryGetValue(line, out var at) ? at : null;
    }

    public string Errors
    {
        get
        {
            lock (_errors) return string.Join('\n', _errors);
        }
    }

    /// <summary>The next line not yet taken; fails the test if the process ends or the time runs out first.</summary>
    public string NextLine(TimeSpan timeout)
    {
        try
        {
            if (_lines.TryTake(out var line, timeout)) return line;
        }
        catch (InvalidOperationException)
        {
            // Completed: the process closed its output.
        }
        throw new Xunit.Sdk.XunitException($"The host ({Arguments}) printed no further line within {timeout} (exited: {Process.HasExited}). Errors: {Errors}");
    }

    /// <summary>Takes lines until one starts with <paramref name="prefix"/>, and returns it.</summary>
    public string WaitFor(string prefix, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var line = NextLine(timeout - clock.Elapsed > TimeSpan.Zero ? timeout - clock.Elapsed : TimeSpan.Zero);
            if (line.StartsWith(prefix, StringComparison.Ordinal)) return line;
            if (line.StartsWith("error", StringComparison.Ordinal))
                throw new Xunit.Sdk.XunitException($"The host ({Arguments}) reported: {line}");
        }
    }

    /// <summary>Kills the process (SIGKILL) and waits until it is gone and its output is read.</summary>
    public void Kill()
    {
        try
        {
            Process.Kill();
        }
        catch (InvalidOperationException)
        {
            // It had already exited.
        }
        Process.WaitForExit();
    }

    /// <summary>Waits for the process to exit on its own; fails the test if it does not in time or fails.</summary>
    public void WaitForSuccess(TimeSpan timeout)
    {
        if (!Process.WaitForExit(timeout))
        {
            Kill();
            throw new Xunit.Sdk.XunitException($"The host ({Arguments}) did not finish within {timeout}. Output so far: {string.Join(" | ", Lines.TakeLast(5))}");
        }
        Process.WaitForExit(); // drains the output
        if (Process.ExitCode != 0)
            throw new Xunit.Sdk.XunitException($"The host ({Arguments}) failed with exit code {Process.ExitCode}: {Errors} {string.Join(" | ", Lines.TakeLast(5))}");
    }

    public void Dispose()
    {
        if (!Process.HasExited) Kill();
        Process.WaitForExit(); // the output is read to its end, so no line arrives after this
        Process.Dispose();
        _lines.Dispose();
    }
}
