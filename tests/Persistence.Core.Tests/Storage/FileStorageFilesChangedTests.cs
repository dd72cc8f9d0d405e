using Persistence.Storage;
using static Persistence.Tests.Storage.TestRecords;

namespace Persistence.Tests.Storage;

/// <summary>
/// The database's files changed outside Persistence: opened through a symbolic link, deleted or
/// replaced while a writer has them open, a lock file that cannot be created. Nothing a commit reports
/// as done may be lost, and a refusal says what happened.
/// </summary>
public sealed class FileStorageFilesChangedTests : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(120);

    private readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    [Fact]
    public async Task AWriterThroughASymbolicLinkTakesTurnsWithAWriterOfTheFileItself()
    {
        var path = _directory.File("data.persist");
        var link = _directory.File("link.persist");
        using var storage = FileStorage.Open(path);
        var oid = storage.NewOid();
        var t1 = Commit(storage, (oid, 0, Make("one")));
        try
        {
            File.CreateSymbolicLink(link, path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return;
        }

        // Another process holds the commit lock, having opened the database through the link: the lock
        // file is the one beside the file, not one beside the link that no one else locks.
        using var holder = new HostRun("hold-commit", link);
        Assert.Equal("voted", holder.NextLine(Timeout));
        var commit = Task.Run(() => Commit(storage, (oid, t1, Make("two"))));
        await Task.Delay(300);
        Assert.False(commit.IsCompleted);
        Assert.False(File.Exists(link + ".lock"));

        holder.Kill();
        var t2 = await commit.WaitAsync(Timeout);
        Assert.True(t2 > t1);
        using var throughLink = FileStorage.Open(link, new FileStorageOptions { ReadOnly = true });
        Assert.Equal(storage.FilePath, throughLink.FilePath);
        Assert.Equal("two", Text(throughLink.Load(oid)));
        Assert.True(FileStorage.Verify(path).IsValid);
    }

    [Fact]
    public void APackThroughASymbolicLinkReplacesTheFileAndKeepsTheLink()
    {
        var path = _directory.File("data.persist");
        var link = _directory.File("link.persist");
        long t1;
        using (var storage = FileStorage.Open(path))
            t1 = Commit(storage, (Oid.Root, 0, Make("root one")));
        try
        {
            File.CreateSymbolicLink(link, path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return;
        }

        using (var throughLink = FileStorage.Open(link))
        {
            throughLink.Pack();
            Commit(throughLink, (Oid.Root, throughLink.Load(Oid.Root)!.Value.Tid, Make("root two")));
        }

        // The packed file took the place of the file, not of the link: both names still reach one database.
        Assert.NotNull(new FileInfo(link).LinkTarget);
        Assert.False(File.Exists(link + ".lock"));
        using var reopened = FileStorage.Open(path, new FileStorageOptions { ReadOnly = true });
        Assert.Equal("root two", Text(reopened.Load(Oid.Root)));
        Assert.True(reopened.LastTid > t1);
    }

    [Fact]
    public void AFileIsAtItsPathUntilAnotherIsMovedOverIt()
    {
        if (!OperatingSystem.IsLinux()) return;
        var path = _directory.File("data.persist");
        var other = _directory.File("other.persist");
        File.WriteAllText(path, "first");
        File.WriteAllText(other, "second");
        using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        // A reader that sees its file's link count drop while a pack renames over it asks this before it
        // refuses: while the path still leads to its file, the rename is in progress.
        Assert.True(FileLinks.IsAtPath(handle, path));
        Assert.False(FileLinks.IsDeleted(handle));
        File.Move(other, path, overwrite: true);
        Assert.False(FileLinks.IsAtPath(handle, path));
        Assert.True(FileLinks.IsDeleted(handle));
        File.Delete(path);
        Assert.False(FileLinks.IsAtPath(handle, path));
    }

    [Fact]
    public void ACommitToADataFileDeletedWhileOpenIsRefused()
    {
        if (!OperatingSystem.IsLinux()) return;
        var path = _directory.File("data.persist");
        using var storage = FileStorage.Open(path);
        var oid = storage.NewOid();
        var t1 = Commit(storage, (oid, 0, Make("one")));

        File.Delete(path);
        // The commit would go to a file no one can open again, and be lost when the storage closes.
        var e = Assert.Throws<PersistenceException>(() => Commit(storage, (oid, t1, Make("two"))));
        Assert.Contains("was deleted, or replaced by a file moved over it", e.Message);
    }

    [Fact]
    public void ACommitToADataFileThatACopyWasMovedOverIsRefusedAndReopeningFindsTheCopy()
    {
        if (!OperatingSystem.IsLinux()) return;
        var path = _directory.File("data.persist");
        var copy = _directory.File("copy.persist");
        var oid = default(Oid);
        using (var storage = FileStorage.Open(path, new FileStorageOptions { ReserveFreeSpace = false }))
        {
            oid = storage.NewOid();
            var t1 = Commit(storage, (oid, 0, Make("one")));
            File.Copy(path, copy);
            var t2 = Commit(storage, (oid, t1, Make("two")));

            // A backup moved over the live file: the open file has no name any more.
            File.Move(copy, path, overwrite: true);
            var e = Assert.Throws<PersistenceException>(() => Commit(storage, (oid, t2, Make("three"))));
            Assert.Contains("was deleted, or replaced by a file moved over it", e.Message);
        }

        // What is at the path is the copy; no commit reported done is missing from it.
        using var reopened = FileStorage.Open(path);
        Assert.Equal("one", Text(reopened.Load(oid)));
    }

    [Fact]
    public void AReaderOfADataFileThatACopyWasMovedOverSaysSoRatherThanReadTheOldFileForever()
    {
        if (!OperatingSystem.IsLinux()) return;
        var path = _directory.File("data.persist");
        var copy = _directory.File("copy.persist");
        using var writer = FileStorage.Open(path, new FileStorageOptions { ReserveFreeSpace = false });
        var oid = writer.NewOid();
        var t1 = Commit(writer, (oid, 0, Make("one")));
        using var reader = FileStorage.Open(path, new FileStorageOptions { ReadOnly = true });
        Assert.Equal(t1, reader.Poll(0).LastTid);

        File.Copy(path, copy);
        File.Move(copy, path, overwrite: true);
        // Commits now go to the file at the path, which the reader does not have open.
        using (var second = FileStorage.Open(path))
            Commit(second, (oid, t1, Make("two")));
        var e = Assert.Throws<PersistenceException>(() => reader.Poll(t1));
        Assert.Contains("was deleted, or replaced by a file moved over it", e.Message);
        using var reopened = FileStorage.Open(path, new FileStorageOptions { ReadOnly = true });
        Assert.Equal("two", Text(reopened.Load(oid)));
    }

    [Fact]
    public void AWriterWhoseFileAnotherDatabaseWasCopiedOverInPlaceRefusesToCommitAndCutsNothing()
    {
        var path = _directory.File("data.persist");
        var other = _directory.File("other.persist");
        using (var storage = FileStorage.Open(other))
        {
            for (var i = 0; i < 50; i++)
                Commit(storage, (storage.NewOid(), 0, Make(new string('o', 200))));
        }
        var otherBytes = File.ReadAllBytes(other);
        using var writer = FileStorage.Open(path);
        var oid = writer.NewOid();
        var t1 = Commit(writer, (oid, 0, Make("one")));
        Assert.True(new FileInfo(path).Length < otherBytes.Length);

        // cp other data.persist: the same file, rewritten with the other database's longer bytes. Past
        // the writer's end they are no crash's leftovers.
        using (var file = new FileStream(path, FileMode.Open, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete))
        {
            file.SetLength(0);
            file.Write(otherBytes);
        }
        var e = Assert.Throws<PersistenceException>(() => Commit(writer, (oid, t1, Make("two"))));
        Assert.Contains("was overwritten outside Persistence", e.Message);
        Assert.Equal(otherBytes, File.ReadAllBytes(path));
        Assert.True(FileStorage.Verify(path).IsValid);
    }

    [Fact]
    public void ACommitAfterTheLockFileWasDeletedIsRefused()
    {
        if (!OperatingSystem.IsLinux()) return;
        var path = _directory.File("data.persist");
        using var storage = FileStorage.Open(path);
        var oid = storage.NewOid();
        var t1 = Commit(storage, (oid, 0, Make("one")));

        // A writer that opens now creates and locks another lock file: this one's commits could land
        // on top of that writer's.
        File.Delete(path + ".lock");
        using (var other = FileStorage.Open(path))
        {
            var e = Assert.Throws<PersistenceException>(() => Commit(storage, (oid, t1, Make("two"))));
            Assert.Contains("lock file", e.Message);
            Assert.Contains("was deleted or replaced", e.Message);
            Commit(other, (oid, t1, Make("three")));
        }
        using var reopened = FileStorage.Open(path);
        Assert.Equal("three", Text(reopened.Load(oid)));
    }

    [Fact]
    public void AWriterThatCannotCreateTheLockFileSaysSoRatherThanBlameAnotherProgram()
    {
        var path = _directory.File("data.persist");
        // As on a read-only file system: creating the lock file fails, and no program holds it.
        Directory.CreateDirectory(path + ".lock");

        var e = Assert.Throws<PersistenceException>(() => FileStorage.Open(path));
        Assert.Contains("Cannot create or open the lock file", e.Message);
        Assert.Contains("open the database read-only", e.Message);
    }
}
