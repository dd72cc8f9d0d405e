using Persistence.Storage;
using Xunit.Abstractions;
using static Persistence.Tests.Storage.TestRecords;

namespace Persistence.Tests.Storage;

/// <summary>
/// Read-only opens of files this process cannot write. The tests run as root on the build machine,
/// and root bypasses permission checks; so a read-only open is checked to write nothing (it opens
/// with read access only and creates no lock file), and where the tests run as root on Linux with
/// <c>setpriv</c>, a second test runs the test host as the user nobody against a file and directory
/// whose modes deny it writing.
/// </summary>
public sealed class FileStorageReadOnlyTests(ITestOutputHelper output) : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(120);
    private const UnixFileMode ReadOnlyFile = UnixFileMode.UserRead | UnixFileMode.GroupRead | UnixFileMode.OtherRead;
    private const UnixFileMode ReadOnlyDirectory = ReadOnlyFile | UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute;

    private readonly TempDirectory _directory = new();

    public void Dispose()
    {
        if (!OperatingSystem.IsWindows())
            File.SetUnixFileMode(_directory.Path, ReadOnlyDirectory | UnixFileMode.UserWrite);
        _directory.Dispose();
    }


    /// <summary>A database in a directory of its own; returns its path and its last tid.</summary>
    private (string Path, long Tid) Database(string name)
    {
        var path = _directory.File(name);
        using var storage = FileStorage.Open(path);
        var oid = storage.NewOid();
        var tid = Commit(storage, (oid, 0, Make("one")));
        return (path, Commit(storage, (oid, tid, Make("two")), (storage.NewOid(), 0, Make("three"))));
    }

    [Fact]
    public void AReadOnlyOpenOfAReadOnlyFileInAReadOnlyDirectoryWritesNothing()
    {
        if (OperatingSystem.IsWindows()) return;
        var (path, tid) = Database("data.persist");
        File.Delete(path + ".lock");
        File.SetUnixFileMode(path, ReadOnlyFile);
        File.SetUnixFileMode(_directory.Path, ReadOnlyDirectory);
        var before = Directory.GetFiles(_directory.Path).Order().ToArray();
        var length = new FileInfo(path).Length;

        using (var storage = FileStorage.Open(path, new FileStorageOptions { ReadOnly = true }))
        {
            Assert.True(storage.IsReadOnly);
            Assert.Equal(tid, storage.LastTid);
            Assert.Equal("two", Text(storage.Load(Oid.FirstUser)));
            Assert.Equal(tid, storage.Poll(0).LastTid);
            Assert.Equal(3, storage.Iterate().Count());
            Assert.Throws<StorageLockedException>(storage.Begin);
        }
        Assert.True(FileStorage.Verify(path).IsValid);

        Assert.Equal(before, Directory.GetFiles(_directory.Path).Order().ToArray());
        Assert.Equal(length, new FileInfo(path).Length);
    }

    [Fact]
    public void AReadOnlyOpenWorksWhileAWriterIsCommitting()
    {
        var (path, tid) = Database("data.persist");
        using var writer = FileStorage.Open(path);
        using var reader = FileStorage.Open(path, new FileStorageOptions { ReadOnly = true });
        var next = Commit(writer, (writer.NewOid(), 0, Make("four")));

        Assert.Equal(tid, reader.LastTid);
        Assert.Equal(next, reader.Poll(tid).LastTid);
    }

    [Fact]
    public void AUserWhoMayNotWriteTheFileCanReadItButNotOpenItForWriting()
    {
        if (!OperatingSystem.IsLinux() || Environment.UserName != "root" || !File.Exists("/usr/bin/setpriv"))
        {
            output.WriteLine("Not tested here: needs Linux, root and setpriv to run the test host as another user.");
            return;
        }
        // The user nobody must be able to reach the files: the temporary directories are world-readable.
        var (path, tid) = Database("data.persist");
        File.SetUnixFileMode(path, ReadOnlyFile);
        File.SetUnixFileMode(path + ".lock", ReadOnlyFile);

        // With the lock file there (readable, not writable).
        var (exitCode, lines, errors) = HostProcess.Run(Timeout, "as-user", "65534", "ro-read", path);
        Assert.True(exitCode == 0, errors + string.Join(" | ", lines));
        Assert.Equal([$"tid {tid}", "records 3"], lines);
        var refused = HostProcess.Run(Timeout, "as-user", "65534", "rw-open", path).Lines;
        Assert.StartsWith("error ", Assert.Single(refused));
        Assert.Contains("DatabaseOptions.ReadOnly or FileStorageOptions.ReadOnly", refused[0]);

        // And in a read-only directory without a lock file.
        File.Delete(path + ".lock");
        File.SetUnixFileMode(_directory.Path, ReadOnlyDirectory);
        (exitCode, lines, errors) = HostProcess.Run(Timeout, "as-user", "65534", "ro-read", path);
        Assert.True(exitCode == 0, errors + string.Join(" | ", lines));
        Assert.Equal([$"tid {tid}", "records 3"], lines);
        refused = HostProcess.Run(Timeout, "as-user", "65534", "rw-open", path).Lines;
        Assert.Contains("DatabaseOptions.ReadOnly or FileStorageOptions.ReadOnly", Assert.Single(refused));
        Assert.False(File.Exists(path + ".lock"));
    }
}
