using System.Text;
using Persistence.Serialization;
using Persistence.Storage;

namespace Persistence.TestHost;

/// <summary>The pack crash test's writer: commits and packs until it is killed.</summary>
internal static partial class HostCommands
{
    private const int PackLoopBucketSize = 100;

    /// <summary>
    /// pack-loop PATH: commits and packs a raw file storage forever. Each commit stores a new object
    /// ("item N"), adds it to a bucket object the root references, and stores a garbage object (work
    /// for the pack); every 10th commit is followed by a pack.
    /// Prints "ack OID TID TEXT" after each commit returns, "packing" before and "packed" after each
    /// pack, so the test can aim its kill -9 and then check that every acknowledged commit survived.
    /// </summary>
    private static int PackLoop(string[] args)
    {
        using var storage = FileStorage.Open(args[0], new FileStorageOptions { Durability = Durability.Relaxed });
        var buckets = new List<Oid>();
        var members = new List<Oid>();
        if (storage.Load(Oid.Root) is { } root)
        {
            // A later run continues where the killed one stopped.
            var references = new List<Oid>();
            RecordFormat.References(root.Data.Span, references);
            buckets.AddRange(references);
            if (buckets.Count > 0)
                RecordFormat.References(storage.Load(buckets[^1])!.Value.Data.Span, members);
        }
        var random = new Random();
        for (var n = 1; ; n++)
        {
            if (buckets.Count == 0 || members.Count == PackLoopBucketSize)
            {
                buckets.Add(storage.NewOid());
                members.Clear();
            }
            var item = storage.NewOid();
            members.Add(item);
            var text = $"item {item.Value}";
            using (var transaction = storage.Begin())
            {
                transaction.Store(item, 0, PackLoopRecord(text));
                transaction.Store(buckets[^1], storage.Load(buckets[^1])?.Tid ?? 0, PackLoopRecord("bucket", [.. members]));
                if (members.Count == 1) transaction.Store(Oid.Root, storage.Load(Oid.Root)?.Tid ?? 0, PackLoopRecord("root", [.. buckets]));
                transaction.Store(storage.NewOid(), 0, PackLoopRecord("garbage " + new string('g', random.Next(100, 3000))));
                transaction.Vote();
                var tid = transaction.Finish();
                Console.WriteLine($"ack {item.Value} {tid} {text}");
            }
            if (n % 10 == 0)
            {
                Console.WriteLine("packing");
                storage.Pack();
                Console.WriteLine("packed");
            }
        }
    }

    /// <summary>
    /// change-and-pack PATH KEY VALUE [UNLINK]: sets the cell at root KEY to VALUE, removes root UNLINK
    /// (which leaves that cell unreachable) if given, commits, then packs the database, keeping no
    /// history (no connection of this process is open), and prints "packed LIVE" (the live objects).
    /// </summary>
    private static int ChangeAndPack(string[] args)
    {
        using var db = Database.Open(args[0]);
        using (var connection = db.OpenConnection())
        {
            ((Cell)connection.Root[args[1]]).Value = long.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture);
            if (args.Length > 3 && !connection.Root.Remove(args[3])) return Fail($"there is no {args[3]} to unlink");
            connection.Commit();
        }
        var packed = db.Pack();
        Console.WriteLine($"packed {packed.LiveObjects}");
        return 0;
    }

    private static byte[] PackLoopRecord(string state, params Oid[] references) =>
        RecordFormat.Compose(7, 1, Encoding.UTF8.GetBytes(state), references);
}
