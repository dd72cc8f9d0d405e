using System.Diagnostics;
using System.Globalization;
using Persistence.Storage;
using Xunit.Abstractions;

namespace Persistence.Tests.Storage;

/// <summary>
/// A writer process (the test host's crash-writer, through Database and Connection) commits numbered
/// transactions and reports each one Commit() returned for; it is killed with SIGKILL at random
/// moments, and after every kill the next writer opens the file, finds every acknowledged transaction
/// there in full and none in part, and goes on writing.
/// </summary>
public sealed class FileStorageCrashTests(ITestOutputHelper output) : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(120);

    private readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    [Fact]
    public void AWriterKilledTwentyTimesAtRandomLosesNothingItAcknowledged() => KillAndCheck(kills: 20, seed: 1);

    [LongRunningFact]
    public void AWriterKilledTwoHundredTimesAtRandomLosesNothingItAcknowledged() => KillAndCheck(kills: 200, seed: 2);

    private void KillAndCheck(int kills, int seed)
    {
        var path = _directory.File("crash.persist");
        var random = new Random(seed);
        long acknowledged = 0;
        var tornTails = 0;
        var killedWhileOpening = 0;
        var selfKilled = 0;
        var clock = Stopwatch.StartNew();
        for (var kill = 0; kill < kills; kill++)
        {
            // Every fourth writer commits with relaxed durability: a killed process loses nothing either way.
            var relaxed = kill % 4 == 3;
            var how = random.Next(8);
            // Half the writers kill themselves inside a large commit (see the crash-writer command).
            using var writer = how < 4
                ? new HostRun("crash-writer", path, relaxed ? "relaxed" : "durable")
                : new HostRun("crash-writer", path, relaxed ? "relaxed" : "durable", random.Next().ToString(CultureInfo.InvariantCulture));
            switch (how)
            {
                case 0:
                    // While it opens, checks and repairs the file.
                    Thread.Sleep(random.Next(250));
                    break;
                case < 4:
                    writer.WaitFor("state ", Timeout);
                    Thread.Sleep(random.Next(60));
                    break;
                default:
                    if (!writer.Process.WaitForExit(Timeout)) throw new TimeoutException("The writer did not kill itself.");
                    Assert.Equal(137, writer.Process.ExitCode); // 128 + SIGKILL
                    selfKilled++;
                    break;
            }
            writer.Kill();

            var lines = writer.Lines;
            Assert.DoesNotContain(lines, l => l.StartsWith("error", StringComparison.Ordinal));
            if (lines.FirstOrDefault(l => l.StartsWith("removed ", StringComparison.Ordinal)) is { } removed && Number(removed) > 0) tornTails++;
            if (lines.FirstOrDefault(l => l.StartsWith("state ", StringComparison.Ordinal)) is { } state)
            {
                // Everything acknowledged is there; the one commit in flight when the last writer died
                // may be there too (it was written whole, only its acknowledgement was lost).
                Assert.InRange(Number(state), acknowledged, acknowledged + 1);
                acknowledged = Number(state);
            }
            else
            {
                killedWhileOpening++;
            }
            foreach (var ack in lines.Where(l => l.StartsWith("ack ", StringComparison.Ordinal)))
                acknowledged = Math.Max(acknowledged, Number(ack));
        }

        var report = FileStorage.Verify(path);
        Assert.True(report.IsValid, report.ToString());
        if (report.IncompleteTailOffset is not null) tornTails++;
        var (exitCode, final, errors) = HostProcess.Run(Timeout, "crash-check", path);
        Assert.True(exitCode == 0, errors + string.Join(" | ", final));
        Assert.InRange(Number(Assert.Single(final)), acknowledged, acknowledged + 1);
        output.WriteLine($"{kills} kills in {clock.Elapsed.TotalSeconds:F0} s ({selfKilled} of them by the writer itself inside a large commit): {acknowledged} transactions acknowledged and found, " +
            $"{tornTails} kills left a half-written transaction (removed by the next writer), {killedWhileOpening} killed while opening. {report}");
    }

    private static long Number(string line) => long.Parse(line[(line.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture);
}
