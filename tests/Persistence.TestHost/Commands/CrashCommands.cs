using System.Diagnostics;
using Persistence.Storage;

namespace Persistence.TestHost;

/// <summary>The crash test's writer, killed at random moments, and its checker.</summary>
internal static partial class HostCommands
{
    /// <summary>
    /// crash-writer PATH [durable|relaxed] [SEED] [--no-reserve]: opens the database, checks it (see
    /// <see cref="CheckChain"/>, printing "state N" and "removed B" for the bytes of an incomplete
    /// tail the open removed), then commits N+1, N+2, ... until it is killed, printing "commit K"
    /// before and "ack K" after each commit. Each commit adds a record and its payload, moves root
    /// "head" to it and sets the counter cell root "count" to K: a partial transaction would show as a
    /// head and a count that differ.
    /// </summary>
    /// <remarks>
    /// With a SEED the writer also kills itself with SIGKILL, from a second thread, at a random moment
    /// while it writes one of its next commits, which it makes large (9 MB, more than the storage's
    /// write buffer, so it is written in several calls): that thread watches the file grow and kills
    /// the process up to 3 ms after the write began. Killing from outside at random rarely cuts a
    /// write: a megabyte reaches the operating system in a few hundred microseconds out of a commit's
    /// several milliseconds, Linux copies a write in chunks of up to 2 MB (a large folio) and lets a
    /// kill stop it only between chunks, and a pipe tells the test of a commit too late to aim at it.
    /// </remarks>
    private static int CrashWriter(string[] args)
    {
        // --no-reserve: the file only ever grows at its end (FileStorageOptions.ReserveFreeSpace).
        var reserve = !args.Contains("--no-reserve");
        args = [.. args.Where(a => a != "--no-reserve")];
        var path = args[0];
        var durability = args.Length > 1 && args[1] == "relaxed" ? Durability.Relaxed : Durability.Durable;
        var random = args.Length > 2 ? new Random(int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture)) : null;
        var before = File.Exists(path) ? new FileInfo(path).Length : 0;
        using var db = Database.Open(FileStorage.Open(path, new FileStorageOptions { Durability = durability, ReserveFreeSpace = reserve }));
        Console.WriteLine($"removed {Math.Max(0, before - new FileInfo(path).Length)}");
        using var connection = db.OpenConnection();
        if (!CheckChain(connection, fullPayloads: false, out var number)) return 1;
        Console.WriteLine($"state {number}");
        // The victim: one of the next few commits.
        var victim = random is null ? -1 : number + 1 + random.Next(10);
        using var starting = new ManualResetEventSlim();
        if (random is not null)
        {
            var delay = (long)(random.NextDouble() * 0.003 * Stopwatch.Frequency);
            // Open until the process dies.
            var watched = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            var killer = new Thread(() =>
            {
                starting.Wait();
                var start = RandomAccess.GetLength(watched);
                while (RandomAccess.GetLength(watched) <= start) Thread.SpinWait(1);
                var target = Stopwatch.GetTimestamp() + delay;
                while (Stopwatch.GetTimestamp() < target) Thread.SpinWait(1);
                Process.GetCurrentProcess().Kill();
            }) { IsBackground = true };
            killer.Start();
        }
        while (true)
        {
            number++;
            var head = connection.Root.TryGetValue("head", out var found) ? (CrashRecord)found : null;
            var record = new CrashRecord { Number = number, Previous = head, Payload = new Blob { Bytes = Payload(number, large: number == victim) } };
            connection.Root["head"] = record;
            if (!connection.Root.TryGetValue("count", out var count))
                connection.Root["count"] = count = new Cell();
            ((Cell)count).Value = number;
            Console.WriteLine($"commit {number}");
            if (number == victim) starting.Set();
            connection.Commit();
            Console.WriteLine($"ack {number}");
        }
    }

    /// <summary>crash-check PATH: checks the whole chain, every payload included; prints "state N".</summary>
    private static int CrashCheck(string[] args)
    {
        using var db = Database.Open(args[0], new DatabaseOptions { ReadOnly = true });
        using var connection = db.OpenConnection();
        if (!CheckChain(connection, fullPayloads: true, out var number)) return 1;
        Console.WriteLine($"state {number}");
        return 0;
    }

    /// <summary>
    /// Checks that root "count" equals the head's number and the chain runs down to 1 without a gap;
    /// the payloads of the newest 20 records (all if <paramref name="fullPayloads"/>) must be the bytes
    /// their number makes. Prints "error ..." when not.
    /// </summary>
    private static bool CheckChain(Connection connection, bool fullPayloads, out long number)
    {
        number = 0;
        if (!connection.Root.TryGetValue("head", out var found))
        {
            if (connection.Root.ContainsKey("count")) return Error("a count without a head");
            return true;
        }
        var head = (CrashRecord)found;
        number = head.Number;
        var count = ((Cell)connection.Root["count"]).Value;
        if (count != head.Number) return Error($"head {head.Number} but count {count}: a transaction is visible in part");
        var expected = head.Number;
        for (var record = head; record is not null; record = record.Previous, expected--)
        {
            if (record.Number != expected) return Error($"record {record.Number} where {expected} was expected");
            if (fullPayloads || head.Number - expected < 20)
            {
                var bytes = record.Payload!.Bytes;
                if (!bytes.AsSpan().SequenceEqual(Payload(record.Number, large: bytes?.Length == LargePayload)))
                    return Error($"the payload of record {record.Number} differs");
            }
        }
        return expected == 0 || Error($"the chain ends at {expected + 1}, not 1");
    }

    private static bool Error(string message)
    {
        Console.WriteLine("error " + message);
        return false;
    }

    private const int LargePayload = 9 << 20;

    /// <summary>
    /// The payload of commit <paramref name="number"/>: its bytes follow from the number; its size
    /// mostly a few kilobytes, every 16th (K % 16 == 7) up to a megabyte, or 9 MB when it is
    /// <paramref name="large"/> (the commit a self-killing writer aims at).
    /// </summary>
    private static byte[] Payload(long number, bool large)
    {
        var sizer = new Random((int)number);
        var size = large ? LargePayload : number % 16 == 7 ? sizer.Next(256 << 10, 1 << 20) : sizer.Next(100, 4096);
        var bytes = new byte[size];
        new Random((int)(number * 7919)).NextBytes(bytes);
        return bytes;
    }
}
