using System.Diagnostics;
using Persistence.TestHost;

namespace Persistence.Tests.Connections;

/// <summary>Transactions across real processes on one database file (the test host program).</summary>
public class ProcessTransactionTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(120);

    private static void Setup(string path, Action<Connection> build)
    {
        using var db = Database.Open(path);
        using var connection = db.OpenConnection();
        build(connection);
        connection.Commit();
    }

    private static string ReadLine(Process process)
    {
        var line = process.StandardOutput.ReadLine();
        return line ?? throw new InvalidOperationException("The host process ended early: " + process.StandardError.ReadToEnd());
    }

    [Fact]
    public void A_reader_process_keeps_its_snapshot_until_its_next_boundary()
    {
        using var folder = new TempFolder();
        var path = folder.File("snapshot.db");
        Setup(path, c =>
        {
            c.Root["a"] = new Cell { Value = 1 };
            c.Root["b"] = new Cell { Value = 1 };
        });
        using var reader = HostProcess.Start("snapshot-reader", path);
        Assert.Equal("a 1", ReadLine(reader));

        using (var db = Database.Open(path))
        {
            db.Transact(c =>
            {
                ((Cell)c.Root["a"]).Value = 2;
                ((Cell)c.Root["b"]).Value = 2;
            });
        }
        reader.StandardInput.WriteLine("go");
        reader.StandardInput.Flush();
        Assert.Equal("b 1", ReadLine(reader));
        Assert.Equal("after a 2", ReadLine(reader));
        Assert.Equal("after b 2", ReadLine(reader));
        Assert.True(reader.WaitForExit(Timeout));
        Assert.Equal(0, reader.ExitCode);
    }

    [Fact]
    public void WaitForState_in_another_process_wakes_when_this_process_commits()
    {
        using var folder = new TempFolder();
        var path = folder.File("state.db");
        Setup(path, c => c.Root["cell"] = new Cell());
        long target;
        using (var db = Database.Open(path)) target = db.StateNumber + 5;

        using var waiter = HostProcess.Start("wait-state", path, target.ToString(), "60000");
        Assert.Equal("ready", ReadLine(waiter));
        using (var db = Database.Open(path))
        using (var connection = db.OpenConnection())
        {
            for (var i = 0; i < 5; i++)
            {
                ((Cell)connection.Root["cell"]).Value = i + 1;
                connection.Commit();
            }
        }
        Assert.Equal($"reached {target}", ReadLine(waiter));
        Assert.True(waiter.WaitForExit(Timeout));
    }

    [Fact]
    public void An_auto_refreshing_reader_sees_another_processes_commits_within_a_quarter_second()
    {
        using var folder = new TempFolder();
        var path = folder.File("refresh.db");
        Setup(path, c => c.Root["cell"] = new Cell { Value = 0 });
        using var db = Database.Open(path, new DatabaseOptions { ReadOnly = true });
        using var reader = db.OpenReadOnlyConnection(autoRefresh: true);
        Assert.Equal(0, ((Cell)reader.Root["cell"]).Value);

        var (exitCode, _, errors) = HostProcess.Run(Timeout, "commit-numbers", path, "3");
        Assert.True(exitCode == 0, errors);
        var committed = Stopwatch.GetTimestamp();
        long seen;
        do
        {
            seen = ((Cell)reader.Root["cell"]).Value;
        }
        while (seen != 3 && Stopwatch.GetElapsedTime(committed) < TimeSpan.FromSeconds(5));
        Assert.Equal(3, seen);
        Assert.True(Stopwatch.GetElapsedTime(committed) < TimeSpan.FromMilliseconds(250), $"took {Stopwatch.GetElapsedTime(committed).TotalMilliseconds} ms");
    }

    [Fact]
    public async Task Eight_processes_incrementing_one_counter_end_at_the_sum_with_no_conflicts_raised()
    {
        using var folder = new TempFolder();
        var path = folder.File("counter.db");
        Setup(path, c => c.Root["counter"] = new PersistentCounter());
        var processes = Enumerable.Range(0, 8).Select(_ => HostProcess.Start("counter", path, "200")).ToList();
        var outputs = processes.Select(p => (Output: p.StandardOutput.ReadToEndAsync(), Errors: p.StandardError.ReadToEndAsync())).ToList();
        foreach (var (process, output) in processes.Zip(outputs))
        {
            Assert.True(process.WaitForExit(Timeout), "a counter process did not finish");
            Assert.True(process.ExitCode == 0, await output.Errors);
            Assert.Contains("conflicts 0", await output.Output);
            process.Dispose();
        }
        using var db = Database.Open(path);
        using var connection = db.OpenConnection();
        Assert.Equal(1600, ((PersistentCounter)connection.Root["counter"]).Value);
    }

    [Fact]
    public async Task Bank_transfers_from_several_processes_keep_the_total_and_apply_each_transfer_once()
    {
        using var folder = new TempFolder();
        var path = folder.File("bank.db");
        const int accounts = 6;
        Setup(path, c =>
        {
            for (var i = 0; i < accounts; i++) c.Root["account" + i] = new Account { Name = "#" + i, Balance = 1000 };
        });
        var processes = Enumerable.Range(0, 4).Select(seed => HostProcess.Start("transfer", path, "2", seed.ToString(), accounts.ToString(), "10")).ToList();
        var outputs = processes.Select(p => (Output: p.StandardOutput.ReadToEndAsync(), Errors: p.StandardError.ReadToEndAsync())).ToList();
        var expected = Enumerable.Repeat(1000L, accounts).ToArray();
        var transfers = 0;
        foreach (var (process, output) in processes.Zip(outputs))
        {
            Assert.True(process.WaitForExit(Timeout), "a transfer process did not finish");
            Assert.True(process.ExitCode == 0, await output.Errors);
            var text = await output.Output;
            foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
            {
                var parts = line.Trim().Split(' ');
                if (parts[0] != "moved") continue;
                expected[int.Parse(parts[1])] -= long.Parse(parts[3]);
                expected[int.Parse(parts[2])] += long.Parse(parts[3]);
                transfers++;
            }
            Assert.Contains("done", text);
            process.Dispose();
        }
        using var db = Database.Open(path);
        using var connection = db.OpenConnection();
        var balances = Enumerable.Range(0, accounts).Select(i => ((Account)connection.Root["account" + i]).Balance).ToArray();
        Assert.True(transfers >= 4 * 10, $"only {transfers} transfers ran");
        Assert.Equal(expected, balances);
        Assert.Equal(accounts * 1000L, balances.Sum());
    }
}
