using System.Globalization;

namespace Persistence.TestHost;

/// <summary>Commands of the BTree tests: many processes filling one tree.</summary>
internal static partial class HostCommands
{
    /// <summary>
    /// btree-insert PATH PROCESS PROCESSES COUNT BATCH: inserts COUNT distinct keys into the BTree&lt;long, long&gt;
    /// under root "tree", BATCH keys per transaction through Database.Transact. The keys of process P are
    /// P, P + PROCESSES, P + 2·PROCESSES..., scattered over the key space by a fixed odd multiplier, so
    /// processes share buckets. Prints "transactions T", "attempts A" (A − T conflicts reached this code) and "done".
    /// </summary>
    private static int BTreeInserts(string[] args)
    {
        var process = long.Parse(args[1], CultureInfo.InvariantCulture);
        var processes = long.Parse(args[2], CultureInfo.InvariantCulture);
        var count = int.Parse(args[3], CultureInfo.InvariantCulture);
        var batch = int.Parse(args[4], CultureInfo.InvariantCulture);
        // "sequential": every process appends increasing keys (ids, timestamps) interleaved with the others'.
        var sequential = args.Length > 5 && args[5] == "sequential";
        using var db = Database.Open(args[0]);
        var keys = Enumerable.Range(0, count).Select(i => sequential ? process + (i * processes) : Scatter(process + (i * processes))).ToArray();
        var transactions = 0;
        var attempts = 0;
        foreach (var chunk in keys.Chunk(batch))
        {
            db.Transact(connection =>
            {
                attempts++;
                var tree = (BTree<long, long>)connection.Root["tree"];
                foreach (var key in chunk) tree.Add(key, process);
            }, maxAttempts: 1000);
            transactions++;
        }
        Console.WriteLine($"transactions {transactions}");
        Console.WriteLine($"attempts {attempts}");
        Console.WriteLine("done");
        return 0;
    }

    /// <summary>A bijection of the 40-bit numbers: the same key never comes from two inputs.</summary>
    internal static long Scatter(long n) => (n * 0x9E3779B1L) & ((1L << 40) - 1);
}
