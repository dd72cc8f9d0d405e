namespace Persistence.Tests;

public class HostProcessTests
{
    [Fact]
    public void The_test_host_runs_as_a_separate_process()
    {
        var (exitCode, lines, errors) = HostProcess.Run(TimeSpan.FromSeconds(60), "ping");
        Assert.True(exitCode == 0, errors);
        Assert.Equal(["pong"], lines);
    }
}
