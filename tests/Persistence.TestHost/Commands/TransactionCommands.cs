using System.Diagnostics;
using System.Globalization;

namespace Persistence.TestHost;

/// <summary>Commands of the transaction tests: counters, bank transfers, waiting for a state, snapshots.</summary>
internal static partial class HostCommands
{
    private static long Number(string text) => long.Parse(text, CultureInfo.InvariantCulture);

    /// <summary>
    /// counter PATH N: increments the PersistentCounter under root "counter" N times, one commit each,
    /// without any retry. Prints "conflicts C" (conflicts that reached this code) and "done".
    /// </summary>
    private static int CounterIncrements(string[] args)
    {
        using var db = Database.Open(args[0]);
        using var connection = db.OpenConnection();
        var conflicts = 0;
        for (var i = 0; i < Number(args[1]); i++)
        {
            try
            {
                ((PersistentCounter)connection.Root["counter"]).Increment();
                connection.Commit();
            }
            catch (ConflictException)
            {
                conflicts++;
                connection.Abort();
            }
        }
        Console.WriteLine($"conflicts {conflicts}");
        Console.WriteLine("done");
        return 0;
    }

    /// <summary>
    /// transfer PATH SECONDS SEED ACCOUNTS [MINIMUM]: moves random amounts between the accounts under root
    /// "account0".."accountN-1" through Database.Transact for SECONDS, and until MINIMUM transfers are
    /// done (0 if not given: a disk whose flushes stall for seconds, as right after a large build, can
    /// leave a few seconds with almost none). Prints one line "moved FROM TO AMOUNT" per committed
    /// transfer, then "attempts A" and "done".
    /// </summary>
    private static int BankTransfers(string[] args)
    {
        using var db = Database.Open(args[0]);
        var until = Stopwatch.GetTimestamp() + (long)(double.Parse(args[1], CultureInfo.InvariantCulture) * Stopwatch.Frequency);
        var random = new Random((int)Number(args[2]));
        var accounts = (int)Number(args[3]);
        var minimum = args.Length > 4 ? Number(args[4]) : 0;
        var attempts = 0;
        for (var done = 0L; Stopwatch.GetTimestamp() < until || done < minimum; done++)
        {
            var from = random.Next(accounts);
            var to = (from + 1 + random.Next(accounts - 1)) % accounts;
            var amount = random.Next(1, 50);
            db.Transact(connection =>
            {
                attempts++;
                var source = (Account)connection.Root["account" + from];
                var target = (Account)connection.Root["account" + to];
                source.Balance -= amount;
                target.Balance += amount;
            }, maxAttempts: 1000);
            Console.WriteLine($"moved {from} {to} {amount}");
        }
        Console.WriteLine($"attempts {attempts}");
        Console.WriteLine("done");
        return 0;
    }

    /// <summary>wait-state PATH STATE TIMEOUT_MS: opens the file read-only and waits for the state. Prints "ready", then "reached S" or "timeout".</summary>
    private static int WaitForState(string[] args)
    {
        using var db = Database.Open(args[0], new DatabaseOptions { ReadOnly = true });
        Console.WriteLine("ready");
        Console.Out.Flush();
        var reached = db.WaitForState(Number(args[1]), TimeSpan.FromMilliseconds(Number(args[2])));
        Console.WriteLine(reached ? $"reached {db.StateNumber}" : "timeout");
        return 0;
    }

    /// <summary>commit-numbers PATH COUNT: commits COUNT transactions, each setting the Cell under root "cell" to the next number.</summary>
    private static int CommitNumbers(string[] args)
    {
        using var db = Database.Open(args[0]);
        using var connection = db.OpenConnection();
        for (var i = 1; i <= Number(args[1]); i++)
        {
            ((Cell)connection.Root["cell"]).Value = i;
            connection.Commit();
        }
        Console.WriteLine("done");
        return 0;
    }

    /// <summary>
    /// snapshot-reader PATH: reads the Cells under root "a" and "b" in one transaction, waiting for a
    /// line on standard input between the two reads; prints "a VALUE", "b VALUE". Then aborts and prints
    /// them again as "after a VALUE", "after b VALUE".
    /// </summary>
    private static int SnapshotReader(string[] args)
    {
        using var db = Database.Open(args[0], new DatabaseOptions { ReadOnly = true });
        using var connection = db.OpenReadOnlyConnection();
        var a = ((Cell)connection.Root["a"]).Value;
        Console.WriteLine($"a {a}");
        Console.Out.Flush();
        Console.In.ReadLine();
        var b = ((Cell)connection.Root["b"]).Value;
        Console.WriteLine($"b {b}");
        connection.Abort();
        Console.WriteLine($"after a {((Cell)connection.Root["a"]).Value}");
        Console.WriteLine($"after b {((Cell)connection.Root["b"]).Value}");
        return 0;
    }
}
