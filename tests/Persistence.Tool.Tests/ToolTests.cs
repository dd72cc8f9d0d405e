using System.Diagnostics;
using Persistence.Storage;

namespace Persistence.Tool.Tests;

[Persistent]
public partial class Book
{
    public partial string Title { get; set; }
    public partial int Pages { get; set; }
    public partial Book? Sequel { get; set; }
}

public sealed class ToolTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "persistence-tool-tests", Guid.NewGuid().ToString("N"));

    public ToolTests() => Directory.CreateDirectory(_folder);

    public void Dispose()
    {
        try
        {
            Directory.Delete(_folder, recursive: true);
        }
        catch (IOException)
        {
            // Left to the temp cleaner.
        }
    }

    private string File(string name) => Path.Combine(_folder, name);

    private static (int Code, string Output, string Error) Run(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var code = ToolApp.Run(args, output, error);
        return (code, output.ToString(), error.ToString());
    }

    /// <summary>A library of <paramref name="books"/> books under root["books"], then all but <paramref name="kept"/> of them dropped (garbage until a pack).</summary>
    private string Library(int books, int kept)
    {
        var path = File("library.db");
        using var db = Database.Open(path);
        using var c = db.OpenConnection();
        var tree = new BTree<int, Book>();
        c.Root["books"] = tree;
        for (var i = 0; i < books; i++) tree[i] = new Book { Title = $"Book {i} of the shelf, in a long title", Pages = 100 + i };
        c.Commit();
        for (var i = kept; i < books; i++) tree.Remove(i);
        c.Commit();
        return path;
    }

    [Fact]
    public void Info_counts_reachable_objects_by_class_and_says_what_a_pack_would_keep()
    {
        var path = Library(books: 20_000, kept: 1_000);
        var (code, output, error) = Run("info", path);
        Assert.Equal(ToolApp.Done, code);
        Assert.Equal("", error);
        var bookRow = output.Split('\n').Single(line => line.Contains(" Persistence.Tool.Tests.Book "));
        Assert.Contains(" 1,000 ", bookRow);
        Assert.Contains("reachable from the root", output);
        Assert.Contains("`persistence pack` frees it", output);

        // What info said a pack would leave is what the pack leaves.
        using (var inspector = DatabaseInspector.Open(path))
        {
            var expected = inspector.MeasureUsage().PackedBytes;
            Assert.Equal(ToolApp.Done, Run("pack", path).Code);
            Assert.Equal(expected, new FileInfo(path).Length);
        }
    }

    [Fact]
    public void Show_prints_the_fields_and_history_lists_the_revisions()
    {
        var path = File("show.db");
        Oid oid;
        long first, second;
        using (var db = Database.Open(path))
        using (var c = db.OpenConnection())
        {
            var book = new Book { Title = "Dune", Pages = 412, Sequel = new Book { Title = "Dune Messiah", Pages = 256 } };
            c.Root["book"] = book;
            c.Commit();
            first = db.Storage.LastTid;
            book.Pages = 500;
            c.Commit();
            second = db.Storage.LastTid;
            oid = book.PersistentOid;
        }

        var (code, output, _) = Run("show", path, oid.Value.ToString());
        Assert.Equal(ToolApp.Done, code);
        Assert.Contains("Persistence.Tool.Tests.Book", output);
        Assert.Contains("\"Dune\"", output);
        Assert.Contains(" 500 ", output);
        Assert.Contains("-> ", output);

        var old = Run("show", path, oid.Value.ToString(), "--tid", first.ToString());
        Assert.Equal(ToolApp.Done, old.Code);
        Assert.Contains(" 412 ", old.Output);

        var history = Run("history", path, oid.Value.ToString());
        Assert.Equal(ToolApp.Done, history.Code);
        Assert.True(history.Output.IndexOf($" {second} ", StringComparison.Ordinal) < history.Output.IndexOf($" {first} ", StringComparison.Ordinal), history.Output);

        var none = Run("show", path, "987654");
        Assert.Equal(ToolApp.Failed, none.Code);
        Assert.Contains("holds no object 987654", none.Error);
    }

    [Fact]
    public void List_finds_a_class_by_its_short_name_and_lists_its_reachable_objects()
    {
        var path = Library(books: 30, kept: 12);
        var (code, output, error) = Run("list", path, "Book", "--most", "100");
        Assert.Equal(ToolApp.Done, code);
        Assert.Equal("", error);
        for (var i = 0; i < 30; i++)
            Assert.Equal(i < 12, output.Contains($"\"Book {i} of the shelf", StringComparison.Ordinal));
        Assert.Contains("12 objects of Persistence.Tool.Tests.Book", output);

        var few = Run("list", path, "Persistence.Tool.Tests.Book", "--most", "5");
        Assert.Equal(5, few.Output.Split('\n').Count(line => line.Contains("\"Book ", StringComparison.Ordinal)));
        Assert.Contains("the first 5", few.Output);

        // A long value is cut short, not the row: the fields after it still show.
        using (var db = Database.Open(path))
        using (var c = db.OpenConnection())
        {
            foreach (var book in ((BTree<int, Book>)c.Root["books"]!).Values) book.Title = new string('x', 500) + " the end";
            c.Commit();
        }
        var cut = Run("list", path, "Book", "--most", "1").Output;
        Assert.Contains("xxx...", cut);
        Assert.DoesNotContain("the end", cut);
        Assert.Contains("Pages: 1", cut);
        Assert.Contains("Sequel: null", cut);
        Assert.Contains("cut short", cut);
        Assert.DoesNotContain("cut short", few.Output);

        var unknown = Run("list", path, "Author");
        Assert.Equal(ToolApp.Failed, unknown.Code);
        Assert.Contains("stores no class 'Author'", unknown.Error);
    }

    [Fact]
    public void Verify_exits_with_1_on_damage_and_0_on_a_sound_file()
    {
        var path = Library(books: 2_000, kept: 2_000);
        var sound = Run("verify", path);
        Assert.Equal(ToolApp.Done, sound.Code);
        Assert.Contains("no damage", sound.Output);

        // Damage in the middle of the file: a byte of a record flipped.
        var bytes = System.IO.File.ReadAllBytes(path);
        bytes[bytes.Length / 2] ^= 0x5A;
        System.IO.File.WriteAllBytes(path, bytes);
        var damaged = Run("verify", path);
        Assert.Equal(ToolApp.ProblemsFound, damaged.Code);
        Assert.DoesNotContain("no damage", damaged.Output);

        // Every record is current (one commit), so the walk of info reads the damaged one too.
        var info = Run("info", path);
        Assert.Equal(ToolApp.ProblemsFound, info.Code);
        Assert.Contains("`persistence verify` lists every damaged transaction", info.Error);
    }

    [Fact]
    public void Pack_keeps_what_is_reachable_and_backup_writes_a_database_that_verifies()
    {
        var path = Library(books: 5_000, kept: 100);
        var before = new FileInfo(path).Length;
        var packed = Run("pack", path);
        Assert.Equal(ToolApp.Done, packed.Code);
        Assert.True(new FileInfo(path).Length < before / 4, $"{before} -> {new FileInfo(path).Length}");
        Assert.StartsWith("packed ", packed.Output);
        // A second pack finds nothing to drop and says so.
        var again = Run("pack", path);
        Assert.Equal(ToolApp.Done, again.Code);
        Assert.StartsWith("nothing to reclaim in ", again.Output);
        using (var db = Database.Open(path))
        using (var c = db.OpenConnection())
        {
            var tree = (BTree<int, Book>)c.Root["books"]!;
            Assert.Equal(100, tree.Count);
            Assert.Equal(199, tree[99].Pages);
        }

        var copy = File("backup.db");
        var backup = Run("backup", path, copy);
        Assert.Equal(ToolApp.Done, backup.Code);
        Assert.True(FileStorage.Verify(copy).IsValid);
        using (var db = Database.Open(copy))
        using (var c = db.OpenConnection())
            Assert.Equal(100, ((BTree<int, Book>)c.Root["books"]!).Count);
    }

    [Fact]
    public void Mistakes_exit_with_2_and_say_what_is_wrong()
    {
        var missing = Run("info", File("none.db"));
        Assert.Equal(ToolApp.Failed, missing.Code);
        Assert.Contains("There is no database file", missing.Error);

        var notes = File("notes.txt");
        System.IO.File.WriteAllText(notes, "a shopping list, which is not a database file at all, but long enough to look at");
        var notADatabase = Run("info", notes);
        Assert.Equal(ToolApp.Failed, notADatabase.Code);
        Assert.StartsWith("persistence: ", notADatabase.Error);
        Assert.Equal("a shopping list, which is not a database file at all, but long enough to look at", System.IO.File.ReadAllText(notes));

        var backupOverNotes = Run("backup", Library(10, 10), notes);
        Assert.Equal(ToolApp.Failed, backupOverNotes.Code);
        Assert.StartsWith("a shopping list", System.IO.File.ReadAllText(notes));
        // The reason is for the person at the command line: no name of a method's parameter.
        Assert.Contains("is not a Persistence database", backupOverNotes.Error);
        Assert.DoesNotContain("(Parameter '", backupOverNotes.Error);

        var wrong = Run("show", File("x.db"), "not-a-number");
        Assert.Equal(ToolApp.Failed, wrong.Code);
        Assert.Contains("persistence --help", wrong.Error);
    }

    [Fact]
    public void The_installed_command_runs_as_a_process()
    {
        var path = Library(books: 10, kept: 10);
        var tool = Path.Combine(AppContext.BaseDirectory, "persistence.dll");
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in new[] { tool, "verify", path }) start.ArgumentList.Add(argument);
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEnd();
        var error = process.StandardError.ReadToEnd();
        Assert.True(process.WaitForExit(60_000));
        Assert.Equal(0, process.ExitCode);
        Assert.Contains("no damage", output);
        Assert.Equal("", error);
    }
}
