using System.Diagnostics;
using System.Globalization;
using Persistence.Storage;
using Persistence.Tests.Models;
using Xunit.Abstractions;
using static Persistence.Tests.Storage.TestRecords;

namespace Persistence.Tests.Storage;

/// <summary>
/// Copies of a database made while a writer process commits: with <c>cp</c>, by appending what is
/// new (what <c>rsync --append</c> does), and with the backup API. Each copy must be a valid database
/// holding a prefix of the commits: the writer's chain checks out up to a number at least as high as
/// what was acknowledged before the copy started.
/// </summary>
public sealed class FileStorageBackupTests(ITestOutputHelper output) : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(120);

    private readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    private static long Number(string line) => long.Parse(line[(line.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture);

    /// <summary>Starts the crash test's writer on a new database and waits until it acknowledged a few commits.</summary>
    private HostRun StartWriter(string path, bool reserveFreeSpace = true)
    {
        var writer = reserveFreeSpace ? new HostRun("crash-writer", path) : new HostRun("crash-writer", path, "--no-reserve");
        writer.WaitFor("ack 10", Timeout);
        return writer;
    }

    private static long LastAcknowledged(HostRun writer) =>
        writer.Lines.Where(l => l.StartsWith("ack ", StringComparison.Ordinal)).Select(Number).DefaultIfEmpty(0).Max();

    /// <summary>Checks a copy: sound, and the writer's chain complete up to at least <paramref name="acknowledged"/>.</summary>
    private static FileStorageReport CheckCopy(string copy, long acknowledged)
    {
        var report = FileStorage.Verify(copy);
        Assert.True(report.IsValid, report.ToString());
        var (exitCode, lines, errors) = HostProcess.Run(Timeout, "crash-check", copy);
        Assert.True(exitCode == 0, errors + string.Join(" | ", lines));
        Assert.True(Number(Assert.Single(lines)) >= acknowledged, $"{lines[0]}, but {acknowledged} was acknowledged before the copy");
        return report;
    }

    [Fact]
    public void CopyingTheFileWithCpWhileAWriterCommitsGivesAValidDatabase()
    {
        // A writer that reserves no free space: cp reads the file front to back, so over reserved zeros a
        // transaction written just as cp passes it could be copied half as zeros, with complete ones
        // after it, which is not a prefix of the commits (FileStorageOptions.ReserveFreeSpace).
        var path = _directory.File("data.persist");
        using var writer = StartWriter(path, reserveFreeSpace: false);
        var copies = new List<(string Path, long Acknowledged)>();
        for (var i = 0; i < 5; i++)
        {
            var copy = _directory.File($"copy{i}.persist");
            var acknowledged = LastAcknowledged(writer);
            using (var cp = Process.Start("cp", [path, copy]))
                cp.WaitForExit();
            copies.Add((copy, acknowledged));
            Thread.Sleep(20);
        }
        writer.Kill();

        var torn = 0;
        foreach (var (copy, acknowledged) in copies)
            if (CheckCopy(copy, acknowledged).IncompleteTailOffset is not null) torn++;
        output.WriteLine($"{copies.Count} copies made with cp during commits, {torn} of them ending in a partly copied transaction");
    }

    [Fact]
    public void ACopyTakenWithCpWhileATransactionIsHalfWrittenIsValidAndEndsInAnIgnoredTail()
    {
        // Writes are quick, so the copies above rarely catch one halfway; here a process holds the
        // commit lock with half a transaction written (as a writer in the middle of its write would)
        // while cp copies the file.
        var path = _directory.File("data.persist");
        var copy = _directory.File("copy.persist");
        long acknowledged;
        using (var writer = StartWriter(path))
        {
            writer.Kill();
            acknowledged = LastAcknowledged(writer);
        }
        var complete = FileStorage.Verify(path);
        using (var holder = new HostRun("hold-commit", path, "torn"))
        {
            Assert.Equal("voted", holder.NextLine(Timeout));
            Assert.Equal("torn", holder.NextLine(Timeout));
            using (var cp = Process.Start("cp", [path, copy]))
                cp.WaitForExit();
        }

        var report = CheckCopy(copy, acknowledged);
        Assert.NotNull(report.IncompleteTailOffset);
        Assert.Equal(complete.LastTid, report.LastTid);
        // Opened for writing, the copy drops the partial transaction and takes new commits.
        using var storage = FileStorage.Open(copy);
        Assert.Equal(complete.LastTid, storage.LastTid);
        using (var transaction = storage.Begin())
        {
            transaction.Store(storage.NewOid(), 0, Make("after the copy"));
            transaction.Vote();
            transaction.Finish();
        }
        Assert.Null(FileStorage.Verify(copy).IncompleteTailOffset);
    }

    [Fact]
    public void AppendingWhatIsNewToAnEarlierCopyLikeRsyncAppendGivesAValidDatabase()
    {
        // rsync is not installed here; rsync --append copies the bytes beyond the destination's length,
        // which is what this does, while the writer keeps committing. That needs a writer that reserves
        // no free space: bytes beyond the data's end are written later (FileStorageOptions.ReserveFreeSpace).
        var path = _directory.File("data.persist");
        var copy = _directory.File("copy.persist");
        using var writer = StartWriter(path, reserveFreeSpace: false);
        File.Copy(path, copy);
        for (var round = 0; round < 5; round++)
        {
            Thread.Sleep(30);
            var acknowledged = LastAcknowledged(writer);
            using (var source = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete))
            using (var destination = new FileStream(copy, FileMode.Append, FileAccess.Write))
            {
                source.Position = destination.Length;
                source.CopyTo(destination);
            }
            var report = FileStorage.Verify(copy);
            Assert.True(report.IsValid, report.ToString());
            Assert.True(report.LastTid >= acknowledged);
        }
        writer.Kill();
        CheckCopy(copy, 10);
    }

    [Fact]
    public void TheBackupApiCopiesEveryCommittedTransactionWhileAWriterCommits()
    {
        var path = _directory.File("data.persist");
        using var writer = StartWriter(path);
        using var storage = FileStorage.Open(path, new FileStorageOptions { ReadOnly = true });
        var backups = new List<(string Path, long Acknowledged, long Tid)>();
        for (var i = 0; i < 3; i++)
        {
            var backup = _directory.File($"backup{i}.persist");
            var acknowledged = LastAcknowledged(writer);
            backups.Add((backup, acknowledged, storage.Backup(backup)));
            Thread.Sleep(20);
        }
        writer.Kill();

        foreach (var (backup, acknowledged, tid) in backups)
        {
            var report = CheckCopy(backup, acknowledged);
            Assert.Null(report.IncompleteTailOffset);
            Assert.Equal(tid, report.LastTid);
        }
        Assert.Empty(Directory.GetFiles(_directory.Path, "*.partial"));
    }

    [Fact]
    public void ABackupRemovesTheCopyAKilledBackupLeftButNotOneStillBeingWritten()
    {
        var path = _directory.File("data.persist");
        var backup = _directory.File("backup.persist");
        var killed = backup + ".0badc0de.partial";         // a backup killed part-way: nobody holds it
        var underWay = backup + ".1234abcd.partial";       // another process's backup: held open exclusively
        var fresh = backup + ".2345bcde.partial";          // written a moment ago
        var otherDestination = _directory.File("other.persist") + ".0badc0de.partial";
        var notACopy = backup + ".notes.partial";
        foreach (var file in new[] { killed, underWay, fresh, otherDestination, notACopy })
        {
            File.WriteAllBytes(file, new byte[4096]);
            if (file != fresh) File.SetLastWriteTimeUtc(file, DateTime.UtcNow.AddMinutes(-1));
        }
        using var db = Persistence.Database.Open(path);
        using (File.OpenHandle(underWay, FileMode.Open, FileAccess.Write, FileShare.None))
            db.Backup(backup);

        Assert.False(File.Exists(killed));
        Assert.True(File.Exists(underWay));
        Assert.True(File.Exists(fresh));
        Assert.True(File.Exists(otherDestination));
        Assert.True(File.Exists(notACopy));
        Assert.True(FileStorage.Verify(backup).IsValid);
    }

    [Fact]
    public void DatabaseBackupWritesAValidCopyAndReplacesAnOldOne()
    {
        var path = _directory.File("data.persist");
        var backup = _directory.File("backup.persist");
        long older, tid;
        using (var db = Persistence.Database.Open(path))
        {
            older = db.Backup(backup);
            using (var connection = db.OpenConnection())
            {
                connection.Root["answer"] = new PersistentCounter();
                connection.Commit();
            }
            tid = db.Backup(backup);
        }
        Assert.True(tid > older);

        var report = FileStorage.Verify(backup);
        Assert.True(report.IsValid, report.ToString());
        Assert.Equal(tid, report.LastTid);
        using var copy = Persistence.Database.Open(backup, new DatabaseOptions { ReadOnly = true });
        using var reader = copy.OpenConnection();
        Assert.IsType<PersistentCounter>(reader.Root["answer"]);
    }

    [Fact]
    public void ABackupDoesNotReplaceAFileThatIsNotADatabaseButDoesAnEmptyOne()
    {
        var path = _directory.File("data.persist");
        var notes = _directory.File("notes.txt");
        File.WriteAllText(notes, "the only copy of something else");
        var empty = _directory.File("empty.persist");
        File.WriteAllBytes(empty, []);
        using var db = Persistence.Database.Open(path);

        var error = Assert.Throws<ArgumentException>(() => db.Backup(notes));
        Assert.Contains("exists and is not a Persistence database", error.Message);
        Assert.Contains("delete the file first", error.Message);
        Assert.Equal("the only copy of something else", File.ReadAllText(notes));
        Assert.Empty(Directory.GetFiles(_directory.Path, "*.partial"));

        db.Backup(empty);
        Assert.True(FileStorage.Verify(empty).IsValid);
    }

    [Fact]
    public void ABackupAfterAnotherProcessPackedHoldsWhatItCommittedToThePackedFile()
    {
        // The first has not looked at the file since the second packed it and committed to the packed file.
        var (first, second, backup) = TwoOnOneFile();
        using var closeFirst = first;
        using var closeSecond = second;
        second.Transact(connection => connection.Root["before the pack"] = new PersistentCounter());
        ((FileStorage)second.Storage).Pack();
        second.Transact(connection => connection.Root["after the pack"] = new PersistentCounter());

        var tid = first.Backup(backup);

        Assert.Equal(second.StateNumber, tid);
        Assert.Equal((true, true), ReadCopy(backup, root => (root.ContainsKey("before the pack"), root.ContainsKey("after the pack"))));
    }

    [Fact]
    public void ABackupDuringWhichAPackReplacesTheFileCopiesThePackedFile()
    {
        var (db, packer, backup) = TwoOnOneFile();
        using var closeDb = db;
        using var closePacker = packer;
        // Over 1 MB, so the backup copies it in several chunks.
        db.Transact(connection =>
        {
            for (var i = 0; i < 3; i++) connection.Root[$"large {i}"] = new Node { Label = new string('x', 500_000) };
        });
        var storage = (FileStorage)db.Storage;
        var packs = 0;
        storage.BackupChunkCopied = () =>
        {
            if (packs++ > 0) return;
            // Another process packs and commits; a poll here (another thread of this one) switches to the packed file, closing the old one.
            ((FileStorage)packer.Storage).Pack();
            packer.Transact(connection => connection.Root["after the pack"] = new PersistentCounter());
            _ = db.StateNumber;
        };

        var tid = db.Backup(backup);

        Assert.Equal(packer.StateNumber, tid);
        Assert.True(FileStorage.Verify(backup).IsValid);
        Assert.Equal((500_000, true), ReadCopy(backup, root => (((Node)root["large 2"]).Label!.Length, root.ContainsKey("after the pack"))));
    }

    /// <summary>Two databases on one new file, as two processes would open it, and a path for a backup.</summary>
    private (Persistence.Database First, Persistence.Database Second, string Backup) TwoOnOneFile()
    {
        var path = _directory.File("data.persist");
        return (Persistence.Database.Open(path), Persistence.Database.Open(path), _directory.File("backup.persist"));
    }

    /// <summary>Reads what <paramref name="read"/> asks of the root of the backup at <paramref name="path"/>, opened read-only.</summary>
    private static T ReadCopy<T>(string path, Func<PersistentDictionary<string, PersistentObject>, T> read)
    {
        using var copy = Persistence.Database.Open(path, new DatabaseOptions { ReadOnly = true });
        using var reader = copy.OpenConnection();
        return read(reader.Root);
    }

    [Fact]
    public void ABackupsRefusalsSayWhyWithoutNamingAParameterOfTheMethod()
    {
        // A program shows these messages to its user: "(Parameter 'destinationPath')" at their end named a
        // parameter of FileStorage.Backup that neither that user nor Database.Backup's caller ever wrote.
        var path = _directory.File("data.persist");
        var notes = _directory.File("notes.txt");
        File.WriteAllText(notes, "not a database");
        using var db = Persistence.Database.Open(path);
        var refusals = new List<ArgumentException>
        {
            Assert.Throws<ArgumentException>(() => db.Backup(path)),
            Assert.Throws<ArgumentException>(() => db.Backup(path + ".index")),
            Assert.Throws<ArgumentException>(() => db.Backup(notes)),
            Assert.Throws<ArgumentException>(() => db.Backup("")),
            Assert.Throws<ArgumentNullException>(() => db.Backup(null!)),
        };
        foreach (var refused in refusals)
        {
            Assert.DoesNotContain("(Parameter", refused.Message);
            Assert.EndsWith(".", refused.Message);
        }
        Assert.Contains("choose another path", refusals[0].Message);
        Assert.Contains("none was given", refusals[4].Message);
    }

    [Fact]
    public void ABackupOverTheDatabaseItselfIsRefused()
    {
        var path = _directory.File("data.persist");
        using var storage = FileStorage.Open(path);
        using (var transaction = storage.Begin())
        {
            transaction.Store(storage.NewOid(), 0, Make("x"));
            transaction.Vote();
            transaction.Finish();
        }
        Assert.Throws<ArgumentException>(() => storage.Backup(path));
        Assert.Throws<ArgumentException>(() => storage.Backup(path + ".lock"));
        Assert.True(FileStorage.Verify(path).IsValid);
    }

    [Fact]
    public void ABackupOverAFileTheDatabaseKeepsBesideItIsRefused()
    {
        // The index checkpoint is not there yet (a small file): a backup to its name was written, and the
        // next checkpoint (a close after 1 MiB, Checkpoint(), a pack) renamed over it, losing the backup.
        var path = _directory.File("data.persist");
        using var storage = FileStorage.Open(path);
        Commit(storage, "kept");
        foreach (var companion in new[] { ".index", ".pack", ".pack.index", ".lock" })
        {
            var refused = Assert.Throws<ArgumentException>(() => storage.Backup(path + companion));
            Assert.Contains("choose another path", refused.Message);
            Assert.Contains(path + companion, refused.Message);
        }
        Assert.False(File.Exists(path + ".index"));
        storage.Backup(path + ".backup");
        storage.Checkpoint();
        Assert.True(FileStorage.Verify(path + ".backup").IsValid);
    }

    [Fact]
    public void ABackupOverAnotherDatabaseThatAWriterHasOpenIsRefused()
    {
        if (!OperatingSystem.IsLinux()) return;
        var source = _directory.File("source.persist");
        var live = _directory.File("live.persist");
        using var storage = FileStorage.Open(source);
        var sourceOid = Commit(storage, "from the source");
        var liveOid = Oid.Null;
        using (var other = FileStorage.Open(live))
        {
            liveOid = Commit(other, "in the live database");

            var error = Assert.Throws<ArgumentException>(() => storage.Backup(live));

            Assert.Contains("open for writing", error.Message);
            Commit(other, "committed after the refused backup");
        }
        using (var reopened = FileStorage.Open(live))
            Assert.Equal("in the live database", Text(reopened.Load(liveOid)));
        Assert.Empty(Directory.GetFiles(_directory.Path, "*.partial"));

        // Once no one has it open, the backup replaces it, as any file.
        storage.Backup(live);
        using var replaced = FileStorage.Open(live);
        Assert.Equal("from the source", Text(replaced.Load(sourceOid)));
    }

    [Fact]
    public async Task ABackupRightAfterTheWriterClosedIsWrittenWhileThisProcessStartsOtherPrograms()
    {
        if (!OperatingSystem.IsLinux()) return;
        var source = _directory.File("source.persist");
        var live = _directory.File("live.persist");
        using var storage = FileStorage.Open(source);
        var sourceOid = Commit(storage, "from the source");
        // A program started at the moment the writer closes holds its lock file's descriptor until it runs.
        using var starting = new CancellationTokenSource();
        var started = 0;
        var starter = Task.Factory.StartNew(() =>
        {
            while (!starting.IsCancellationRequested)
            {
                using var process = Process.Start(new ProcessStartInfo("/bin/true") { UseShellExecute = false })!;
                process.WaitForExit();
                Interlocked.Increment(ref started);
            }
        }, TaskCreationOptions.LongRunning);
        while (Volatile.Read(ref started) == 0 && !starter.IsCompleted) Thread.Sleep(1);
        // Rounds until 100 programs have started during them (a loaded machine starts fewer a round).
        var startedBefore = Volatile.Read(ref started);
        var rounds = 0;
        for (; rounds < 100 || Volatile.Read(ref started) - startedBefore < 100; rounds++)
        {
            Assert.False(starter.IsCompleted, "The programs stopped starting");
            using (var writer = FileStorage.Open(live)) Commit(writer, $"round {rounds}");
            storage.Backup(live);
        }
        starting.Cancel();
        await starter;
        using var replaced = FileStorage.Open(live);
        Assert.Equal("from the source", Text(replaced.Load(sourceOid)));
    }

    [Fact]
    public void ABackupOverADatabaseWhoseLockFileAProgramHoldsExclusivelyIsRefused()
    {
        if (!OperatingSystem.IsLinux() || !File.Exists("/usr/bin/flock")) return;
        var source = _directory.File("source.persist");
        var held = _directory.File("held.persist");
        using var storage = FileStorage.Open(source);
        Commit(storage, "from the source");
        using (var other = FileStorage.Open(held)) Commit(other, "held by an offline tool");
        // One process holds the lock file from start to end (the shell execs sleep), as an offline tool would.
        using var holder = Process.Start(new ProcessStartInfo("/usr/bin/flock", ["--exclusive", "--no-fork", held + ".lock", "-c", "echo locked; exec sleep 30"])
        {
            RedirectStandardOutput = true,
            UseShellExecute = false,
        })!;
        try
        {
            Assert.Equal("locked", holder.StandardOutput.ReadLine());
            Assert.Contains("open for writing", Assert.Throws<ArgumentException>(() => storage.Backup(held)).Message);
        }
        finally
        {
            holder.Kill();
            holder.WaitForExit();
        }
        storage.Backup(held);
    }

    private static Oid Commit(FileStorage storage, string text)
    {
        var oid = storage.NewOid();
        using var transaction = storage.Begin();
        transaction.Store(oid, 0, Make(text));
        transaction.Vote();
        transaction.Finish();
        return oid;
    }

    /// <summary>
    /// Makes <paramref name="link"/> a symbolic link to <paramref name="target"/>; false where this
    /// process may not make one (Windows without the privilege or developer mode).
    /// </summary>
    private static bool TryLink(string link, string target, bool directory)
    {
        try
        {
            if (directory) Directory.CreateSymbolicLink(link, target);
            else File.CreateSymbolicLink(link, target);
            return true;
        }
        catch (Exception e) when (OperatingSystem.IsWindows() && e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    [Fact]
    public void ABackupThroughALinkToTheDatabaseDirectoryIsRefusedAndLaterCommitsSurvive()
    {
        // The rename that finishes a backup would put the copy in place of the open data file; the
        // commits after it would then go to the replaced file and be gone on reopen.
        var directory = _directory.File("data");
        Directory.CreateDirectory(directory);
        var path = Path.Combine(directory, "data.persist");
        var linked = _directory.File("linked");
        if (!TryLink(linked, "data", directory: true)) return;
        using (var db = Persistence.Database.Open(path))
        {
            using (var connection = db.OpenConnection())
            {
                connection.Root["before"] = new PersistentCounter();
                connection.Commit();
            }
            Assert.Throws<ArgumentException>(() => db.Backup(Path.Combine(linked, "data.persist")));
            Assert.Throws<ArgumentException>(() => db.Backup(Path.Combine(linked, "data.persist.lock")));
            using (var connection = db.OpenConnection())
            {
                connection.Root["after"] = new PersistentCounter();
                connection.Commit();
            }
        }

        Assert.True(FileStorage.Verify(path).IsValid);
        using var reopened = Persistence.Database.Open(path);
        using var reader = reopened.OpenConnection();
        Assert.IsType<PersistentCounter>(reader.Root["before"]);
        Assert.IsType<PersistentCounter>(reader.Root["after"]);
        Assert.Empty(Directory.GetFiles(directory, "*.partial"));
    }

    [Fact]
    public void ABackupToALinkToTheDataFileIsRefused()
    {
        var path = _directory.File("data.persist");
        var absolute = _directory.File("absolute.persist");
        var relative = _directory.File("relative.persist");
        var chained = _directory.File("chained.persist");
        if (!TryLink(absolute, path, directory: false)) return;
        Assert.True(TryLink(relative, "data.persist", directory: false));
        Assert.True(TryLink(chained, "relative.persist", directory: false));
        using var storage = FileStorage.Open(path);
        using (var transaction = storage.Begin())
        {
            transaction.Store(storage.NewOid(), 0, Make("x"));
            transaction.Vote();
            transaction.Finish();
        }
        Assert.Throws<ArgumentException>(() => storage.Backup(absolute));
        Assert.Throws<ArgumentException>(() => storage.Backup(relative));
        Assert.Throws<ArgumentException>(() => storage.Backup(chained));
        Assert.Equal(path, new FileInfo(absolute).LinkTarget);
        Assert.True(FileStorage.Verify(path).IsValid);
    }

    [Fact]
    public void ABackupThroughALinkedDirectoryToAnotherFileNameIsWritten()
    {
        var directory = _directory.File("data");
        Directory.CreateDirectory(directory);
        var path = Path.Combine(directory, "data.persist");
        var linked = _directory.File("linked");
        if (!TryLink(linked, directory, directory: true)) return;
        long tid;
        using (var storage = FileStorage.Open(path))
        {
            using (var transaction = storage.Begin())
            {
                transaction.Store(storage.NewOid(), 0, Make("x"));
                transaction.Vote();
                transaction.Finish();
            }
            tid = storage.Backup(Path.Combine(linked, "backup.persist"));
        }

        var report = FileStorage.Verify(Path.Combine(directory, "backup.persist"));
        Assert.True(report.IsValid, report.ToString());
        Assert.Equal(tid, report.LastTid);
        Assert.True(FileStorage.Verify(path).IsValid);
    }
}
