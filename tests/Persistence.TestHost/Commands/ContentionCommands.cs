using System.Diagnostics;
using System.Globalization;

namespace Persistence.TestHost;

/// <summary>Many processes reading, changing, creating and deleting objects in a few slots at once.</summary>
internal static partial class HostCommands
{
    /// <summary>slots-setup PATH K: creates the empty slots root "slot0" .. "slotK-1".</summary>
    private static int SlotsSetup(string[] args)
    {
        using var db = Database.Open(args[0]);
        using var connection = db.OpenConnection();
        for (var i = 0; i < int.Parse(args[1], CultureInfo.InvariantCulture); i++)
            connection.Root["slot" + i] = new Slot();
        connection.Commit();
        Console.WriteLine("done");
        return 0;
    }

    /// <summary>
    /// slots-work PATH SEED OPS GOFILE: prints "ready", waits until GOFILE exists (so all processes
    /// start together), then does OPS units of work on random slots, each in its own transaction: an
    /// empty slot gets a new cell of value 1 (its generation goes up); a filled one has its cell's
    /// value incremented, or one time in four its cell deleted (the slot emptied, the cell marked, so
    /// a concurrent increment of it conflicts). On <see cref="ConflictException"/> the unit is aborted
    /// and redone from fresh state. After each commit it prints what it committed: "create K G 1",
    /// "inc K G V" or "delete K G V" (slot, generation, the cell's value); at the end "conflicts C"
    /// and "done".
    /// </summary>
    private static int SlotsWork(string[] args)
    {
        var random = new Random(int.Parse(args[1], CultureInfo.InvariantCulture));
        var operations = int.Parse(args[2], CultureInfo.InvariantCulture);
        using var db = Database.Open(args[0]);
        using var connection = db.OpenConnection();
        var slots = connection.Root.Keys.Count(k => k.StartsWith("slot", StringComparison.Ordinal));
        Console.WriteLine("ready");
        var waited = Stopwatch.StartNew();
        while (!File.Exists(args[3]))
        {
            if (waited.Elapsed > TimeSpan.FromMinutes(2)) return Fail("the go file never appeared");
            Thread.Sleep(2);
        }
        connection.Abort(); // start from the newest state
        var conflicts = 0;
        for (var i = 0; i < operations; i++)
        {
            var key = random.Next(slots);
            var delete = random.Next(4) == 0;
            while (true)
            {
                string report;
                try
                {
                    var slot = (Slot)connection.Root["slot" + key];
                    if (slot.Current is null)
                    {
                        slot.Generation++;
                        slot.Current = new Cell { Value = 1, Owner = "generation " + slot.Generation };
                        report = $"create {key} {slot.Generation} 1";
                    }
                    else if (delete)
                    {
                        var cell = slot.Current;
                        cell.Owner = "deleted";
                        slot.Current = null;
                        report = $"delete {key} {slot.Generation} {cell.Value}";
                    }
                    else
                    {
                        slot.Current.Value++;
                        report = $"inc {key} {slot.Generation} {slot.Current.Value}";
                    }
                    connection.Commit();
                }
                catch (ConflictException)
                {
                    conflicts++;
                    connection.Abort();
                    continue;
                }
                Console.WriteLine(report);
                break;
            }
        }
        Console.WriteLine($"conflicts {conflicts}");
        Console.WriteLine("done");
        return 0;
    }

    /// <summary>slots-check PATH: prints "slot K G V" for each slot (V "none" when empty).</summary>
    private static int SlotsCheck(string[] args)
    {
        using var db = Database.Open(args[0], new DatabaseOptions { ReadOnly = true });
        using var connection = db.OpenConnection();
        foreach (var (name, value) in connection.Root.Where(e => e.Key.StartsWith("slot", StringComparison.Ordinal)))
        {
            var slot = (Slot)value;
            Console.WriteLine($"slot {name[4..]} {slot.Generation} {(slot.Current is null ? "none" : slot.Current.Value.ToString(CultureInfo.InvariantCulture))}");
        }
        return 0;
    }

    private static int Fail(string message)
    {
        Console.Error.WriteLine(message);
        return 1;
    }
}
