using System.Diagnostics;

namespace Persistence.Tests;

/// <summary>Starts the test host program (tests/Persistence.TestHost) as a separate process.</summary>
public static class HostProcess
{
    private static readonly Lazy<string> HostPath = new(FindHost);

    /// <summary>Starts a host command with its standard output redirected.</summary>
    public static Process Start(params string[] arguments)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(HostPath.Value);
        foreach (var argument in arguments) info.ArgumentList.Add(argument);
        info.Environment["DOTNET_TieredPGO"] = "0";
        return Process.Start(info) ?? throw new InvalidOperationException("Could not start the test host.");
    }

    /// <summary>Runs a host command to the end and returns its exit code and output lines.</summary>
    public static (int ExitCode, string[] Lines, string Errors) Run(TimeSpan timeout, params string[] arguments)
    {
        using var process = Start(arguments);
        var errors = process.StandardError.ReadToEndAsync();
        var output = process.StandardOutput.ReadToEndAsync();
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"The test host ({string.Join(' ', arguments)}) did not finish within {timeout}.");
        }
        return (process.ExitCode, output.Result.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries), errors.Result);
    }

    private static string FindHost()
    {
        // The test project references the host, so the build puts it in tests/Persistence.TestHost/bin/<config>/net10.0.
        var here = AppContext.BaseDirectory;
        var configuration = new DirectoryInfo(here).Parent!.Name;
        var root = here;
        while (root is not null && !File.Exists(Path.Combine(root, "Persistence.sln"))) root = Path.GetDirectoryName(root);
        if (root is null) throw new InvalidOperationException("Cannot find the repository root from " + here);
        var path = Path.Combine(root, "tests", "Persistence.TestHost", "bin", configuration, "net10.0", "Persistence.TestHost.dll");
        return File.Exists(path) ? path : throw new FileNotFoundException("Build tests/Persistence.TestHost first.", path);
    }
}
