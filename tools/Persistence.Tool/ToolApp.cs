using System.CommandLine;
using System.Globalization;
using Persistence.Storage;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace Persistence.Tool;

/// <summary>
/// The <c>persistence</c> command: looks into a database file without the program that stored it
/// (<see cref="DatabaseInspector"/>), and verifies, packs and backs it up. Exit codes: 0 done, 1 the
/// file is damaged (verify found damage, info found references to missing objects, any command read a
/// damaged record), 2 the command could not run (no such file, not a database, wrong arguments).
/// </summary>
public static class ToolApp
{
    /// <summary>Exit code: done, nothing wrong found.</summary>
    public const int Done = 0;

    /// <summary>Exit code: the command ran and found the file damaged.</summary>
    public const int ProblemsFound = 1;

    /// <summary>Exit code: the command could not run.</summary>
    public const int Failed = 2;

    /// <summary>Runs the command line <paramref name="args"/>, writing to <paramref name="output"/> and <paramref name="error"/>.</summary>
    public static int Run(string[] args, TextWriter output, TextWriter error, bool color = false)
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(output),
            Ansi = color ? AnsiSupport.Detect : AnsiSupport.No,
            ColorSystem = color ? ColorSystemSupport.Detect : ColorSystemSupport.NoColors,
            Interactive = InteractionSupport.No,
        });
        if (!color) console.Profile.Width = 160;
        var root = Commands(console, error);
        // Numbers and sizes read the same on every machine.
        var culture = CultureInfo.CurrentCulture;
        CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
        try
        {
            var parsed = root.Parse(args);
            if (parsed.Errors.Count > 0)
            {
                // Exit code 1 is for damage found; a wrong command line is a command that could not run.
                foreach (var problem in parsed.Errors) error.WriteLine($"persistence: {problem.Message}");
                error.WriteLine("Run `persistence --help` for the commands, `persistence <command> --help` for one.");
                return Failed;
            }
            return parsed.Invoke(new InvocationConfiguration { Output = output, Error = error, EnableDefaultExceptionHandler = false });
        }
        catch (CorruptDatabaseException e)
        {
            error.WriteLine($"persistence: {e.Message}");
            error.WriteLine("`persistence verify` lists every damaged transaction; restore the file from a backup.");
            return ProblemsFound;
        }
        catch (Exception e) when (e is PersistenceException or IOException or UnauthorizedAccessException or ArgumentException or InvalidOperationException)
        {
            error.WriteLine($"persistence: {Reason(e)}");
            return Failed;
        }
        finally
        {
            CultureInfo.CurrentCulture = culture;
        }
    }

    /// <summary>
    /// What went wrong, for the person at the command line: an <see cref="ArgumentException"/>'s message without the
    /// " (Parameter 'destinationPath')" the runtime adds, which names a method's parameter, not what they typed.
    /// </summary>
    private static string Reason(Exception e) =>
        e is ArgumentException { ParamName: { } name } && e.Message.EndsWith($" (Parameter '{name}')", StringComparison.Ordinal)
            ? e.Message[..^$" (Parameter '{name}')".Length]
            : e.Message;

    private static RootCommand Commands(IAnsiConsole console, TextWriter error)
    {
        var file = new Argument<FileInfo>("file") { Description = "The database file (its .index and .lock files lie beside it)." };
        var oid = new Argument<ulong>("oid") { Description = "The object's oid (1 is the root)." };

        var info = new Command("info", "What the file holds: its size, the objects reachable from the root by class, and what a pack would keep.") { file };
        info.SetAction(parsed => Info(console, error, Existing(parsed.GetValue(file)!)));

        var classes = new Command("classes", "The classes the schema catalog names, with the fields of each schema version.") { file };
        classes.SetAction(parsed => Classes(console, Existing(parsed.GetValue(file)!)));

        var tid = new Option<long?>("--tid") { Description = "Show the revision that was current at this transaction (see history)." };
        var show = new Command("show", "One object's class, fields and references, decoded from the catalog.") { file, oid, tid };
        show.SetAction(parsed => Show(console, error, Existing(parsed.GetValue(file)!), new Oid(parsed.GetValue(oid)), parsed.GetValue(tid)));

        var most = new Option<int>("--most") { Description = "List at most this many revisions.", DefaultValueFactory = _ => 20 };
        var history = new Command("history", "The revisions of one object the file still holds, newest first.") { file, oid, most };
        history.SetAction(parsed => History(console, error, Existing(parsed.GetValue(file)!), new Oid(parsed.GetValue(oid)), parsed.GetValue(most)));

        var className = new Argument<string>("class") { Description = "The class as `classes` names it; its name without the namespace will do if no other class has it." };
        var listMost = new Option<int>("--most") { Description = "List at most this many objects.", DefaultValueFactory = _ => 50 };
        var list = new Command("list", "The objects of one class reachable from the root, with their fields in short.") { file, className, listMost };
        list.SetAction(parsed => List(console, error, Existing(parsed.GetValue(file)!), parsed.GetValue(className)!, parsed.GetValue(listMost)));

        var verify = new Command("verify", "Reads the whole file and checks every checksum and reference; exit code 1 if it finds damage.") { file };
        verify.SetAction(parsed => Verify(console, Existing(parsed.GetValue(file)!)));

        var keep = new Option<long?>("--keep-history-after") { Description = "Keep the revisions committed after this tid (default: only the current ones)." };
        var pack = new Command("pack", "Rewrites the file with only what is reachable from the root; safe while other processes use it.") { file, keep };
        pack.SetAction(parsed => Pack(console, Existing(parsed.GetValue(file)!), parsed.GetValue(keep)));

        var destination = new Argument<FileInfo>("destination") { Description = "The backup's path (a new file, an empty one, or an earlier backup)." };
        var backup = new Command("backup", "Copies the database, consistent as of one transaction, while it is in use.") { file, destination };
        backup.SetAction(parsed => Backup(console, Existing(parsed.GetValue(file)!), parsed.GetValue(destination)!));

        return new RootCommand("Looks into, verifies, packs and backs up a Persistence database file.") { info, classes, list, show, history, verify, pack, backup };
    }

    private static string Existing(FileInfo file) =>
        file.Exists ? file.FullName : throw new FileNotFoundException($"There is no database file at '{file.FullName}'.", file.FullName);

    private static int Info(IAnsiConsole console, TextWriter error, string path)
    {
        using var inspector = DatabaseInspector.Open(path);
        var usage = inspector.MeasureUsage();
        var summary = new Grid().AddColumn().AddColumn();
        summary.AddRow(Plain("file"), Plain(path));
        summary.AddRow(Plain("size"), Plain($"{Size(usage.FileBytes ?? 0)} of transactions (last tid {inspector.SnapshotTid})"));
        summary.AddRow(Plain("objects"), Plain($"{usage.StoredObjects:N0} in the file, {usage.ReachableObjects:N0} reachable from the root"));
        summary.AddRow(Plain("reachable"), Plain($"{Size(usage.ReachableBytes)} of records"));
        summary.AddRow(Plain("classes"), Plain($"{inspector.Classes.Count} in the schema catalog"));
        console.Write(summary);
        if (usage.FileBytes is { } fileBytes && fileBytes > 0)
        {
            console.WriteLine($"A pack now would leave {Size(usage.PackedBytes)} of {Size(fileBytes)}" + (usage.PackedBytes < fileBytes / 2 && fileBytes >= 1 << 20
                ? ": the rest is old revisions and unreachable objects; `persistence pack` frees it."
                : "."));
        }
        var table = new Table().AddColumn("class").AddColumn(new TableColumn("objects").RightAligned()).AddColumn(new TableColumn("bytes").RightAligned()).AddColumn(new TableColumn("bytes/object").RightAligned());
        foreach (var entry in usage.Classes)
            table.AddRow(Plain(entry.ClassName), Plain(entry.Objects.ToString("N0", CultureInfo.InvariantCulture)), Plain(Size(entry.Bytes)), Plain((entry.Bytes / Math.Max(entry.Objects, 1)).ToString(CultureInfo.InvariantCulture)));
        console.Write(table);
        if (usage.MissingReferences.Count == 0) return Done;
        foreach (var (from, to) in usage.MissingReferences.Take(20))
            error.WriteLine($"object {from.Value} references {to.Value}, which the database does not hold");
        error.WriteLine($"{usage.MissingReferences.Count} references lead to missing objects: the file is damaged; run `persistence verify` and restore from a backup.");
        return ProblemsFound;
    }

    private static int Classes(IAnsiConsole console, string path)
    {
        using var inspector = DatabaseInspector.Open(path);
        var table = new Table().AddColumn(new TableColumn("type id").RightAligned()).AddColumn("class").AddColumn(new TableColumn("version").RightAligned()).AddColumn("fields");
        foreach (var stored in inspector.Classes)
            for (var version = 0; version < stored.Versions.Count; version++)
                table.AddRow(
                    Plain(version == 0 ? stored.TypeId.ToString(CultureInfo.InvariantCulture) : ""),
                    Plain(version == 0 ? stored.Name : ""),
                    Plain(version.ToString(CultureInfo.InvariantCulture)),
                    Plain(string.Join(", ", stored.Versions[version].Select(static f => $"{f.Name}: {f.TypeCode}"))));
        console.Write(table);
        return Done;
    }

    private const int ListedValueLength = 60;

    private static int List(IAnsiConsole console, TextWriter error, string path, string className, int most)
    {
        var shortened = false;
        string Shortened(string value)
        {
            if (value.Length <= ListedValueLength) return value;
            shortened = true;
            return value[..(ListedValueLength - 3)] + "...";
        }

        using var inspector = DatabaseInspector.Open(path);
        var names = inspector.Classes.Select(static c => c.Name).Where(name => name == className).ToList();
        if (names.Count == 0)
            names = [.. inspector.Classes.Select(static c => c.Name).Where(name => name.EndsWith("." + className, StringComparison.Ordinal) || name.EndsWith("+" + className, StringComparison.Ordinal)).Distinct()];
        if (names.Count != 1)
        {
            error.WriteLine(names.Count == 0
                ? $"persistence: the database stores no class '{className}' (`persistence classes {path}` lists them)."
                : $"persistence: '{className}' could be {string.Join(" or ", names)}; give the full name.");
            return Failed;
        }
        var table = new Table().AddColumn(new TableColumn("oid").RightAligned()).AddColumn(new TableColumn("tid").RightAligned()).AddColumn("fields");
        var shown = 0;
        foreach (var stored in inspector.ObjectsOf(names[0]))
        {
            if (shown++ == most) break;
            // Each value is shortened rather than the row, so every field shows; `show` prints them whole.
            var fields = string.Join(", ", stored.Fields.Select(f => $"{f.Name}: {Shortened(f.Value)}"));
            table.AddRow(Plain(stored.Oid.Value.ToString(CultureInfo.InvariantCulture)), Plain(stored.Tid.ToString(CultureInfo.InvariantCulture)), Plain(fields));
        }
        console.Write(table);
        console.WriteLine(shown > most ? $"the first {most} of {names[0]}; --most shows more." : $"{shown} object{(shown == 1 ? "" : "s")} of {names[0]}.");
        if (shortened) console.WriteLine($"Values longer than {ListedValueLength} characters are cut short (...); `persistence show {path} <oid>` prints an object's values whole.");
        return Done;
    }

    private static int Show(IAnsiConsole console, TextWriter error, string path, Oid oid, long? tid)
    {
        using var inspector = DatabaseInspector.Open(path);
        var stored = tid is { } at ? inspector.Describe(oid, at) : inspector.Describe(oid);
        if (stored is null)
        {
            error.WriteLine(tid is null
                ? $"persistence: the database holds no object {oid.Value}."
                : $"persistence: object {oid.Value} did not exist at tid {tid}, or that revision was packed away (see `persistence history`).");
            return Failed;
        }
        console.WriteLine($"object {stored.Oid.Value}: {stored.ClassName} (schema version {stored.SchemaVersion}), written by tid {stored.Tid}, {stored.RecordBytes} bytes");
        var table = new Table().AddColumn("field").AddColumn("type").AddColumn("value");
        foreach (var field in stored.Fields) table.AddRow(Plain(field.Name), Plain(field.TypeCode), Plain(field.Value));
        console.Write(table);
        if (stored.References.Count > 0)
            console.WriteLine($"references: {string.Join(", ", stored.References.Select(static r => r.Value.ToString(CultureInfo.InvariantCulture)))}");
        if (stored.Problem is { } problem) console.WriteLine(problem);
        return Done;
    }

    private static int History(IAnsiConsole console, TextWriter error, string path, Oid oid, int most)
    {
        using var inspector = DatabaseInspector.Open(path);
        var revisions = inspector.History(oid, most);
        if (revisions.Count == 0)
        {
            error.WriteLine($"persistence: the database holds no object {oid.Value}.");
            return Failed;
        }
        var table = new Table().AddColumn(new TableColumn("tid").RightAligned()).AddColumn("class").AddColumn(new TableColumn("version").RightAligned()).AddColumn(new TableColumn("bytes").RightAligned());
        foreach (var revision in revisions)
            table.AddRow(Plain(revision.Tid.ToString(CultureInfo.InvariantCulture)), Plain(revision.ClassName), Plain(revision.SchemaVersion.ToString(CultureInfo.InvariantCulture)), Plain(revision.RecordBytes.ToString(CultureInfo.InvariantCulture)));
        console.Write(table);
        console.WriteLine($"`persistence show {path} {oid.Value} --tid T` shows a revision.");
        return Done;
    }

    private static int Verify(IAnsiConsole console, string path)
    {
        var report = FileStorage.Verify(path);
        console.WriteLine(report.ToString());
        return report.IsValid ? Done : ProblemsFound;
    }

    private static int Pack(IAnsiConsole console, string path, long? keepHistoryAfter)
    {
        using var storage = FileStorage.Open(path);
        var result = storage.Pack(keepHistoryAfter);
        console.WriteLine(result.Rewritten
            ? $"packed {path}: {Size(result.BytesBefore)} -> {Size(result.BytesAfter)}, {result.LiveObjects:N0} objects, {result.RevisionsKept:N0} revisions kept, in {result.Duration.TotalSeconds:0.###} s"
            : $"nothing to reclaim in {path}: its {Size(result.BytesBefore)} hold {result.LiveObjects:N0} reachable objects and no revision a pack would drop; left as it was (checked in {result.Duration.TotalSeconds:0.###} s)");
        return Done;
    }

    private static int Backup(IAnsiConsole console, string path, FileInfo destination)
    {
        using var storage = FileStorage.Open(path, new FileStorageOptions { ReadOnly = true });
        var tid = storage.Backup(destination.FullName);
        console.WriteLine($"backed up {path} to {destination.FullName}: {Size(new FileInfo(destination.FullName).Length)}, as of tid {tid}");
        return Done;
    }

    private static IRenderable Plain(string text) => new Text(text);

    private static string Size(long bytes) => bytes switch
    {
        < 1024 => $"{bytes} B",
        < 1024 * 1024 => $"{bytes / 1024.0:0.#} KiB",
        < 1024L * 1024 * 1024 => $"{bytes / (1024.0 * 1024):0.#} MiB",
        _ => $"{bytes / (1024.0 * 1024 * 1024):0.##} GiB",
    };
}
