using System.Globalization;
using Persistence;

namespace Quickstart;

/// <summary>
/// A small inventory kept in a Persistence database file, quickstart.db, in the current folder.
/// Run it without arguments for a guided demo; run it twice to see the first run's data again.
/// </summary>
public static class Program
{
    private const string FileName = "quickstart.db";

    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    public static int Main(string[] args)
    {
        var path = Path.GetFullPath(FileName);
        try
        {
            var command = args.Length == 0 ? "demo" : args[0].ToLowerInvariant();
            return command switch
            {
                "demo" when args.Length == 1 || args.Length == 0 => Demo(path),
                "add" when args.Length is 3 or 4 => Add(path, args[1], args[2], args.Length == 4 ? args[3] : null),
                "remove" when args.Length == 2 => Remove(path, args[1]),
                "list" when args.Length == 1 => List(path),
                "history" when args.Length == 1 => History(path),
                "backup" when args.Length == 2 => Backup(path, args[1]),
                "pack" when args.Length == 1 => Pack(path),
                "check" when args.Length == 1 => Check(path),
                "help" or "-h" or "--help" => Usage(0),
                _ => Usage(2),
            };
        }
        catch (PersistenceException e)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return 1;
        }
    }

    private static int Usage(int exitCode)
    {
        var output = exitCode == 0 ? Console.Out : Console.Error;
        output.WriteLine($"""
            Usage: dotnet run --project samples/Quickstart -- [command]

              (no command)             run the demo: add items, commit, re-read, abort a change
              add <name> <qty> [shelf] add <qty> of an item (or more of one already there)
              remove <name>            remove an item
              list                     show the items
              history                  show every change made so far
              backup <file>            copy the database to <file> while it is in use (a valid
                                       database of every commit made up to then)
              pack                     drop what the file keeps but no one reads any more
                                       (earlier versions of objects, removed items)
              check                    say how this version of the program reads each class
                                       stored in the file (run it before you deploy a new one)

            The data lives in {FileName} in the current folder.
            """);
        return exitCode;
    }

    // ---- The commands ----

    private static int Add(string path, string name, string quantityText, string? shelfName)
    {
        if (!int.TryParse(quantityText, NumberStyles.Integer, Invariant, out var quantity) || quantity <= 0)
        {
            Console.Error.WriteLine($"error: the quantity must be a positive whole number, not '{quantityText}'.");
            return 2;
        }
        using var db = Database.Open(path);
        using var connection = db.OpenConnection();
        var inventory = OpenInventory(connection);
        var item = AddItem(inventory, name, quantity, shelfName, price: null);
        connection.Commit();
        Console.WriteLine($"{item.Name}: {item.Quantity} in stock{ShelfText(item)}. Committed to {path}.");
        return 0;
    }

    private static int Remove(string path, string name)
    {
        using var db = Database.Open(path);
        using var connection = db.OpenConnection();
        var inventory = OpenInventory(connection);
        if (!inventory.Items.Remove(name))
        {
            Console.Error.WriteLine($"error: there is no item called '{name}'. 'list' shows the items.");
            return 1;
        }
        inventory.History.Add(Stamp($"removed {name}"));
        connection.Commit();
        Console.WriteLine($"Removed {name}. Committed to {path}.");
        return 0;
    }

    private static int List(string path)
    {
        using var db = Database.Open(path);
        using var connection = db.OpenConnection();
        var inventory = OpenInventory(connection);
        connection.Commit(); // stores the empty inventory the first time; nothing otherwise
        if (inventory.Items.Count == 0)
        {
            Console.WriteLine($"The inventory in {path} is empty. Try: dotnet run --project samples/Quickstart -- add apple 3");
            return 0;
        }
        PrintItems(inventory);
        return 0;
    }

    private static int History(string path)
    {
        using var db = Database.Open(path);
        using var connection = db.OpenConnection();
        var inventory = OpenInventory(connection);
        connection.Commit();
        if (inventory.History.Count == 0) Console.WriteLine("No changes yet.");
        foreach (var line in inventory.History) Console.WriteLine(line);
        return 0;
    }

    private static int Backup(string path, string destination)
    {
        using var db = Database.Open(path);
        long tid;
        try
        {
            tid = db.Backup(destination);
        }
        catch (ArgumentException e)
        {
            // The destination is the database itself (by whatever path), or a database a program has open for writing.
            Console.Error.WriteLine($"error: {e.Message}");
            return 2;
        }
        var copy = Path.GetFullPath(destination);
        using (var check = Database.Open(copy, new DatabaseOptions { ReadOnly = true }))
        using (var connection = check.OpenReadOnlyConnection())
        {
            var items = connection.Root.TryGetValue("inventory", out var stored) ? ((Inventory)stored).Items.Count : 0;
            Console.WriteLine($"Backed up {Path.GetFileName(path)} to {copy}: every commit up to state {tid.ToString(Invariant)}, {new FileInfo(copy).Length.ToString("N0", Invariant)} bytes, {items.ToString(Invariant)} item(s).");
        }
        return 0;
    }

    private static int Pack(string path)
    {
        using var db = Database.Open(path);
        // The file only grows: a commit appends the new versions of what it changed. A pack copies
        // what the root still reaches to a new file, while other programs go on using the database.
        var result = db.Pack();
        if (!result.Rewritten)
        {
            Console.WriteLine($"Nothing to reclaim in {Path.GetFileName(path)}: its {result.BytesBefore.ToString("N0", Invariant)} bytes hold only what the root reaches ({result.LiveObjects.ToString("N0", Invariant)} object(s)); left as it was.");
            return 0;
        }
        Console.WriteLine($"Packed {Path.GetFileName(path)}: {result.BytesBefore.ToString("N0", Invariant)} bytes before, {result.BytesAfter.ToString("N0", Invariant)} after; {result.LiveObjects.ToString("N0", Invariant)} object(s) kept, in {result.Duration.TotalMilliseconds.ToString("N0", Invariant)} ms.");
        return 0;
    }

    private static int Check(string path)
    {
        using var db = Database.Open(path, new DatabaseOptions { ReadOnly = true });
        // Each class layout the file holds, as this program reads it: a new version of the program
        // run on a copy of the deployed file shows what it could not load before it goes out.
        var check = db.CheckSchema();
        Console.WriteLine(check);
        Console.WriteLine(check.ReadsEverything
            ? "This program loads every object the file holds."
            : $"This program cannot load the objects of {check.Unreadable.Count.ToString(Invariant)} stored layout(s) above.");
        return check.ReadsEverything ? 0 : 1;
    }

    // ---- The demo ----

    private static int Demo(string path)
    {
        Console.WriteLine("Persistence quickstart: an inventory kept in an object database file.");
        Console.WriteLine();
        Console.WriteLine($"Database file: {path}");
        Console.WriteLine(File.Exists(path)
            ? $"  it exists already ({Describe(path)}): this is not the first run."
            : "  it does not exist yet: Database.Open creates it.");

        // 1. Open the file and look at what earlier runs left there.
        int run;
        using (var db = Database.Open(path))
        using (var connection = db.OpenConnection())
        {
            var inventory = OpenInventory(connection);
            run = ++inventory.DemoRuns;
            Console.WriteLine();
            Console.WriteLine($"1. Opened the database. This is demo run #{run} on this file.");
            if (inventory.Items.Count == 0)
            {
                Console.WriteLine("   No items yet.");
            }
            else
            {
                Console.WriteLine($"   Found {inventory.Items.Count} item(s) stored by earlier runs:");
                PrintItems(inventory, indent: "     ");
            }

            // 2. Change the object graph like any other .NET objects, then commit.
            Console.WriteLine();
            Console.WriteLine("2. Adding items (apple and pear share one Shelf object; each has a Price value):");
            var apple = AddItem(inventory, "apple", 12, "Shelf A", new Price(0.40m, "EUR"));
            var pear = AddItem(inventory, "pear", 5, "Shelf A", new Price(0.55m, "EUR"));
            var hammer = AddItem(inventory, "hammer", 1, "Toolbox", new Price(14.90m, "EUR"));
            foreach (var item in new[] { apple, pear, hammer })
                Console.WriteLine($"   + {item.Name} -> {item.Quantity} in stock{ShelfText(item)}");
            connection.Commit();
            Console.WriteLine($"   Commit(): stored durably as transaction {connection.Snapshot}.");
        }
        // Disposing the database closes the file. Everything below is read back from disk.

        // 3. Reopen the file and read the objects back.
        using (var db = Database.Open(path))
        using (var connection = db.OpenConnection())
        {
            Console.WriteLine();
            Console.WriteLine("3. Closed the file, reopened it and read everything back:");
            var inventory = OpenInventory(connection);
            PrintItems(inventory, indent: "     ");
            var apple = inventory.Items["apple"];
            var pear = inventory.Items["pear"];
            var shared = ReferenceEquals(apple.Shelf, pear.Shelf) && apple.Shelf is not null;
            Console.WriteLine($"   apple.Shelf and pear.Shelf are the same object after loading: {shared}");
            Console.WriteLine($"   Objects this connection has loaded so far: {connection.LoadedCount} (the rest stay on disk until touched).");
            if (!shared) return Fail("the shared Shelf came back as two different objects.");

            // 4. Make changes, then abort them: nothing of them is stored.
            Console.WriteLine();
            Console.WriteLine("4. Changing things, then calling Abort() instead of Commit():");
            var before = apple.Quantity;
            apple.Quantity = 0;
            inventory.Items["unicorn"] = new Item { Name = "unicorn", Quantity = 1, Added = DateTime.Now };
            Console.WriteLine($"   in memory: apple -> {apple.Quantity}, unicorn added; HasChanges = {connection.HasChanges}");
            connection.Abort();
            Console.WriteLine($"   after Abort(): apple -> {apple.Quantity}, unicorn present: {inventory.Items.ContainsKey("unicorn")}");
            if (apple.Quantity != before || inventory.Items.ContainsKey("unicorn"))
                return Fail("the aborted change is still visible.");
        }

        // 5. Prove it against the file itself, with a fresh database.
        using (var db = Database.Open(path))
        using (var connection = db.OpenConnection())
        {
            var inventory = OpenInventory(connection);
            var stored = inventory.Items.ContainsKey("unicorn");
            Console.WriteLine($"   reopened the file: apple -> {inventory.Items["apple"].Quantity}, unicorn stored: {stored}");
            if (stored) return Fail("the aborted item was stored.");
        }

        Console.WriteLine();
        Console.WriteLine($"Done. {path} now holds {Describe(path)}.");
        Console.WriteLine(run == 1
            ? "Run the demo again: it finds these items, and adds to their quantities."
            : $"Step 1 showed what {(run == 2 ? "the first run" : $"the {run - 1} earlier runs")} stored: the data outlives the program.");
        Console.WriteLine("Try the commands too: add <name> <qty> [shelf] | remove <name> | list | history | backup <file> | pack");
        return 0;
    }

    // ---- Helpers ----

    /// <summary>The inventory under the database root, created (empty) the first time.</summary>
    private static Inventory OpenInventory(Connection connection) =>
        connection.Root.GetOrAdd("inventory", () => new Inventory
        {
            Items = new PersistentDictionary<string, Item>(),
            Shelves = new PersistentDictionary<string, Shelf>(),
            History = new PersistentList<string>(),
        });

    private static Item AddItem(Inventory inventory, string name, int quantity, string? shelfName, Price? price)
    {
        if (!inventory.Items.TryGetValue(name, out var item))
        {
            item = new Item { Name = name, Added = DateTime.Now };
            inventory.Items[name] = item;
        }
        item.Quantity += quantity;
        if (shelfName is not null) item.Shelf = GetShelf(inventory, shelfName);
        if (price is not null) item.UnitPrice = price;
        inventory.History.Add(Stamp($"added {quantity} {name}"));
        return item;
    }

    private static Shelf GetShelf(Inventory inventory, string name)
    {
        if (!inventory.Shelves.TryGetValue(name, out var shelf))
        {
            shelf = new Shelf { Name = name, Room = name.StartsWith("Tool", StringComparison.Ordinal) ? "Garage" : "Kitchen" };
            inventory.Shelves[name] = shelf;
        }
        return shelf;
    }

    private static void PrintItems(Inventory inventory, string indent = "")
    {
        foreach (var item in inventory.Items.Values.OrderBy(i => i.Name, StringComparer.Ordinal))
        {
            var price = item.UnitPrice is { } p ? $" at {p} each" : "";
            Console.WriteLine(string.Create(Invariant,
                $"{indent}{item.Name,-10} {item.Quantity,5} in stock{ShelfText(item)}{price}, added {item.Added:yyyy-MM-dd HH:mm}"));
        }
    }

    private static string ShelfText(Item item) =>
        item.Shelf is { } shelf ? $" on {shelf.Name} ({shelf.Room})" : "";

    private static string Stamp(string what) =>
        string.Create(Invariant, $"{DateTime.Now:yyyy-MM-dd HH:mm:ss}  {what}");

    /// <summary>The file's size and how many objects (and stored revisions of them) it holds.</summary>
    private static string Describe(string path)
    {
        var bytes = new FileInfo(path).Length;
        using var db = Database.Open(path, new DatabaseOptions { ReadOnly = true });
        var objects = new HashSet<Oid>();
        var revisions = 0;
        foreach (var record in db.Storage.Iterate())
        {
            objects.Add(record.Oid);
            revisions++;
        }
        return string.Create(Invariant, $"{bytes:N0} bytes, {objects.Count} objects in {revisions} stored revisions");
    }

    private static int Fail(string what)
    {
        Console.Error.WriteLine($"error: {what}");
        return 1;
    }
}
