using System.Runtime.CompilerServices;
using Microsoft.CodeAnalysis;

namespace Persistence.Generators.Tests.Infrastructure;

/// <summary>
/// Compares generated files with the baselines committed in <c>Snapshots/</c>:
/// <c>&lt;Test&gt;.&lt;hint name&gt;.verified.cs</c>. On a difference it writes
/// <c>.received.cs</c> beside the baseline and fails; run with <c>PERSISTENCE_ACCEPT_SNAPSHOTS=1</c>
/// to accept the received output as the new baseline.
/// </summary>
internal static class Snapshot
{
    private const string AcceptVariable = "PERSISTENCE_ACCEPT_SNAPSHOTS";

    public static void Verify(GeneratorRunResult result, string testName, [CallerFilePath] string callerPath = "")
    {
        var directory = Path.Combine(Path.GetDirectoryName(callerPath)!, "Snapshots");
        // The caller may sit in a subfolder; baselines live in the project's Snapshots folder.
        for (var current = Path.GetDirectoryName(callerPath); current is not null; current = Path.GetDirectoryName(current))
        {
            if (File.Exists(Path.Combine(current, "Persistence.Generators.Tests.csproj")))
            {
                directory = Path.Combine(current, "Snapshots");
                break;
            }
        }
        Directory.CreateDirectory(directory);
        var accept = Environment.GetEnvironmentVariable(AcceptVariable) == "1";

        var failures = new List<string>();
        var expectedFiles = new HashSet<string>(StringComparer.Ordinal);
        foreach (var source in result.GeneratedSources.OrderBy(s => s.HintName, StringComparer.Ordinal))
        {
            var baseName = testName + "." + StripExtension(source.HintName);
            var verifiedPath = Path.Combine(directory, baseName + ".verified.cs");
            var receivedPath = Path.Combine(directory, baseName + ".received.cs");
            expectedFiles.Add(Path.GetFileName(verifiedPath));
            var received = Normalize(source.SourceText.ToString());
            var verified = File.Exists(verifiedPath) ? Normalize(File.ReadAllText(verifiedPath)) : null;
            if (verified == received)
            {
                File.Delete(receivedPath);
                continue;
            }
            if (accept)
            {
                File.WriteAllText(verifiedPath, received);
                File.Delete(receivedPath);
                continue;
            }
            File.WriteAllText(receivedPath, received);
            failures.Add(verified is null
                ? $"No baseline for {source.HintName}: review {receivedPath}"
                : $"{source.HintName} differs from its baseline at {FirstDifference(verified, received)}: diff \"{verifiedPath}\" \"{receivedPath}\"");
        }

        foreach (var stale in Directory.GetFiles(directory, testName + ".*.verified.cs"))
        {
            var name = Path.GetFileName(stale);
            if (expectedFiles.Contains(name) || !IsOwnBaseline(name, testName)) continue;
            if (accept) File.Delete(stale);
            else failures.Add($"The generator no longer emits the file of baseline {name}");
        }

        Assert.True(
            failures.Count == 0,
            string.Join(Environment.NewLine, failures) + Environment.NewLine +
            $"If the new output is right, run the tests with {AcceptVariable}=1 to accept it.");
    }

    private static string StripExtension(string hintName) =>
        hintName.EndsWith(".g.cs", StringComparison.Ordinal) ? hintName[..^5]
        : hintName.EndsWith(".cs", StringComparison.Ordinal) ? hintName[..^3]
        : hintName;

    // "Test.Shop.Customer.verified.cs" belongs to Test, not to "TestWithAlias".
    private static bool IsOwnBaseline(string fileName, string testName) =>
        fileName.Length > testName.Length && fileName[testName.Length] == '.';

    private static string Normalize(string text) => text.Replace("\r\n", "\n");

    private static string FirstDifference(string expected, string actual)
    {
        var expectedLines = expected.Split('\n');
        var actualLines = actual.Split('\n');
        for (var i = 0; i < Math.Max(expectedLines.Length, actualLines.Length); i++)
        {
            var e = i < expectedLines.Length ? expectedLines[i] : "<end of file>";
            var a = i < actualLines.Length ? actualLines[i] : "<end of file>";
            if (e != a) return $"line {i + 1}:{Environment.NewLine}  expected: {e.Trim()}{Environment.NewLine}  received: {a.Trim()}";
        }
        return "the end of the file";
    }
}
