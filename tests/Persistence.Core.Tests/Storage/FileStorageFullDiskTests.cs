using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;
using Persistence.Storage;
using static Persistence.Tests.Storage.TestRecords;

namespace Persistence.Tests.Storage;

/// <summary>
/// A full disk fails a call with an exception that says so, and never kills the process. A writer on
/// Linux maps the start of the lock file: bytes the file has only by its size (no room taken on the
/// disk) would make the first write through the mapping on a full disk a SIGBUS, which .NET cannot
/// turn into an exception.
/// </summary>
public sealed class FileStorageFullDiskTests : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(120);
    private const int SeekData = 3;

    private readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    [Fact]
    public void AWritersNewLockFileHasTheBytesItMapsWrittenNotOnlyASize()
    {
        if (!OperatingSystem.IsLinux()) return;
        var path = _directory.File("data.persist");

        // The open alone, before any state is written through the mapping (which would give the bytes room).
        using var opened = FileStorageLock.OpenForWriting(path);
        using var lockFile = File.OpenHandle(path + ".lock", FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        Assert.True(RandomAccess.GetLength(lockFile) >= FlushSignal.MappedLength);
        // A hole (a size alone) is no data at offset 0; file systems that cannot tell report all of a file as data.
        Assert.Equal(0, SeekDataFrom(lockFile, 0));
    }

    [Fact]
    public void ALockFileThatIsOnlyASizeGetsItsStateWrittenByTheNextWriter()
    {
        if (!OperatingSystem.IsLinux()) return;
        var path = _directory.File("data.persist");
        // What a writer that died right after mapping a new lock file left: 128 bytes, none of them written.
        using (var file = File.OpenHandle(path + ".lock", FileMode.CreateNew, FileAccess.Write))
            RandomAccess.SetLength(file, FlushSignal.MappedLength);

        using var opened = FileStorageLock.OpenForWriting(path);
        using var lockFile = File.OpenHandle(path + ".lock", FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        Assert.Equal(FlushSignal.MappedLength, RandomAccess.GetLength(lockFile));
        Assert.Equal(0, SeekDataFrom(lockFile, 0));
    }

    [Fact]
    public void ASystemMessageThatEndsWithItsPathIsEndedAsASentenceBeforeWhatFollows()
    {
        // How .NET words most errors of a file call: the system's text, then the path.
        var full = new IOException("No space left on device : '/data/shop.db'");
        Assert.Equal("No space left on device : '/data/shop.db'.", PersistenceException.Sentence(full));
        var denied = new UnauthorizedAccessException("Access to the path '/data/shop.db' is denied.");
        Assert.Equal(denied.Message, PersistenceException.Sentence(denied));
    }

    [TmpfsFact]
    public void AWriterOpenOnAFullDiskWithoutALockFileFailsWithAMessageInsteadOfKillingTheProcess()
    {
        var mount = _directory.File("disk");
        Directory.CreateDirectory(mount);
        Assert.Null(TmpfsFactAttribute.Mount(mount, 1024));
        try
        {
            // A database restored onto a disk without its lock file, and the disk then full.
            var path = Path.Combine(mount, "data.persist");
            using (var storage = FileStorage.Open(path))
                Commit(storage, (storage.NewOid(), 0, Make("one")));
            File.Delete(path + ".lock");
            var filler = Path.Combine(mount, "filler");
            Fill(filler);

            var (exitCode, lines, errors) = HostProcess.Run(Timeout, "rw-open", path);
            Assert.True(exitCode == 0, $"exit code {exitCode}: {errors}");
            var refusal = Assert.Single(lines);
            Assert.StartsWith($"error Cannot write the lock file {path}.lock", refusal);
            Assert.Contains("Free disk space and open it again", refusal);

            File.Delete(filler);
            Assert.Equal(["opened"], HostProcess.Run(Timeout, "rw-open", path).Lines);
            Assert.True(FileStorage.Verify(path).IsValid);
        }
        finally
        {
            TmpfsFactAttribute.Unmount(mount);
        }
    }

    [TmpfsFact]
    public void CreatingADatabaseOnAFullDiskSaysToFreeSpaceAndTheNextOpenFinishesIt()
    {
        var mount = _directory.File("disk");
        Directory.CreateDirectory(mount);
        Assert.Null(TmpfsFactAttribute.Mount(mount, 1024));
        try
        {
            // One page left: the lock file takes it, the data file's header finds none.
            var filler = Path.Combine(mount, "filler");
            var length = Fill(filler);
            using (var file = File.OpenHandle(filler, FileMode.Open, FileAccess.Write))
                RandomAccess.SetLength(file, length - 4096);
            var path = Path.Combine(mount, "data.persist");

            var refusal = Assert.Throws<PersistenceException>(() => FileStorage.Open(path));
            Assert.StartsWith($"Cannot create the database {path}: ", refusal.Message);
            // The system's message ends with the path it names; a full stop parts it from what follows.
            Assert.Contains($"No space left on device : '{path}'. Free disk space (or fix what the message names) and open it again: that open finishes creating it.", refusal.Message);

            File.Delete(filler);
            using (var storage = FileStorage.Open(path))
                Commit(storage, (storage.NewOid(), 0, Make("one")));
            Assert.True(FileStorage.Verify(path).IsValid);
        }
        finally
        {
            TmpfsFactAttribute.Unmount(mount);
        }
    }

    /// <summary>Writes to <paramref name="path"/> until the disk is full; returns how much it wrote.</summary>
    private static long Fill(string path)
    {
        using var file = File.OpenHandle(path, FileMode.CreateNew, FileAccess.Write);
        var page = new byte[4096];
        long position = 0;
        try
        {
            while (true)
            {
                RandomAccess.Write(file, page, position);
                position += page.Length;
            }
        }
        catch (IOException)
        {
            // Full.
        }
        return position;
    }

    /// <summary>Where the first data (not a hole) at or after <paramref name="offset"/> is; -1 if none.</summary>
    private static long SeekDataFrom(SafeFileHandle file, long offset) => Native.lseek(file, offset, SeekData);

    private static class Native
    {
        [DllImport("libc", SetLastError = true)]
        public static extern long lseek(SafeFileHandle fd, long offset, int whence);
    }
}
