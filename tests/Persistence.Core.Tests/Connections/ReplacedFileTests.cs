using Persistence.Storage;
using Persistence.TestHost;

namespace Persistence.Tests.Connections;

/// <summary>
/// Snapshots from before a pack by another process or storage instance: the storage keeps the file the
/// pack replaced for them, and lets go of it once no connection reads it (real files, a real second process).
/// </summary>
public sealed class ReplacedFileTests : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(120);

    // No record cache: it would serve old revisions from memory; what is proved here is the storage's.
    private static readonly DatabaseOptions Uncached = new() { RecordCacheBytes = 0 };

    private readonly TempFolder _folder = new();
    private readonly string _path;

    public ReplacedFileTests()
    {
        _path = _folder.File("replaced.db");
        using var db = Database.Open(_path);
        using var connection = db.OpenConnection();
        connection.Root["a"] = new Cell { Value = 1 };
        connection.Root["b"] = new Cell { Value = 1 };
        connection.Root["c"] = new Cell { Value = 1 };
        connection.Root["gone"] = new Cell { Value = 7, Owner = "dropped by the pack" };
        connection.Root["w"] = new Cell();
        connection.Commit();
    }

    public void Dispose() => _folder.Dispose();

    /// <summary>Runs change-and-pack in another process: sets root KEY to VALUE, unlinks UNLINK, packs.</summary>
    private void ChangeAndPackInAnotherProcess(string key, long value, string? unlink = null)
    {
        var (exitCode, lines, errors) = unlink is null
            ? HostProcess.Run(Timeout, "change-and-pack", _path, key, value.ToString())
            : HostProcess.Run(Timeout, "change-and-pack", _path, key, value.ToString(), unlink);
        Assert.True(exitCode == 0, $"change-and-pack exited with {exitCode}: {errors}");
        Assert.StartsWith("packed ", Assert.Single(lines));
    }

    /// <summary>The handles this process holds open on a file renamed over (Linux lists them in /proc/self/fd); null elsewhere.</summary>
    private static int? HandlesOnReplacedFiles(string path)
    {
        if (!OperatingSystem.IsLinux()) return null;
        var count = 0;
        foreach (var fd in Directory.EnumerateFileSystemEntries("/proc/self/fd"))
        {
            try
            {
                if (new FileInfo(fd).LinkTarget == path + " (deleted)") count++;
            }
            catch (IOException)
            {
                // Closed while listed.
            }
        }
        return count;
    }

    /// <summary>Checks the handles on replaced files, waiting a while for closes, which run in the background.</summary>
    private static void AssertHandlesOnReplacedFiles(int expected, string path)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (HandlesOnReplacedFiles(path) is { } count && count != expected && DateTime.UtcNow < deadline) Thread.Sleep(10);
        if (HandlesOnReplacedFiles(path) is { } final) Assert.Equal(expected, final);
    }

    [Fact]
    public void Letting_go_of_a_replaced_file_does_not_wait_for_its_close()
    {
        // Closing the last handle on a large file renamed over frees its disk space within the call
        // (seconds for gigabytes): the connection whose Abort() lets go of it must not wait for that.
        using var db = Database.Open(_path, Uncached);
        var file = (FileStorage)db.Storage;
        using var reader = db.OpenReadOnlyConnection();
        _ = reader.Root;
        ChangeAndPackInAnotherProcess("a", 2);
        db.Transact(c => ((Cell)c.Root["w"]).Value = 1);
        Assert.Equal(1, file.ReplacedFilesKept);

        using var closing = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        file.ClosingReplacedFile = _ =>
        {
            closing.Set();
            release.Wait(TimeSpan.FromSeconds(15));
        };
        try
        {
            var clock = System.Diagnostics.Stopwatch.StartNew();
            reader.Abort();
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"Abort() waited {clock.Elapsed} for the replaced file to close");
            Assert.Equal(0, file.ReplacedFilesKept);
            Assert.True(closing.Wait(TimeSpan.FromSeconds(10)));
            AssertHandlesOnReplacedFiles(1, file.FilePath);
        }
        finally
        {
            release.Set();
        }
        AssertHandlesOnReplacedFiles(0, file.FilePath);
        Assert.Equal(2L, ((Cell)reader.Root["a"]).Value);
    }

    [Fact]
    public void A_reader_from_before_two_packs_by_another_process_reads_its_snapshot_and_the_replaced_files_are_closed_once_it_moves_on()
    {
        using var db = Database.Open(_path, Uncached);
        var file = (FileStorage)db.Storage;
        using var reader = db.OpenReadOnlyConnection();
        // The root is loaded; the cells stay ghosts, loaded only after the packs.
        var root = reader.Root;
        var snapshot = reader.Snapshot;

        // The other process changes a, unlinks gone and packs; a commit of this process switches it to the packed file.
        ChangeAndPackInAnotherProcess("a", 2, unlink: "gone");
        db.Transact(c => ((Cell)c.Root["w"]).Value = 1);
        Assert.Equal(1, file.ReplacedFilesKept);
        AssertHandlesOnReplacedFiles(1, file.FilePath);
        var gone = (Cell)root["gone"];
        Assert.Equal((7, "dropped by the pack"), (gone.Value, gone.Owner));

        // A second pack: b changes; a's revision of the snapshot is only in the first replaced file now.
        ChangeAndPackInAnotherProcess("b", 3);
        db.Transact(c => ((Cell)c.Root["w"]).Value = 2);
        Assert.Equal(2, file.ReplacedFilesKept);
        AssertHandlesOnReplacedFiles(2, file.FilePath);
        Assert.Equal((1L, 1L, 1L), (((Cell)root["a"]).Value, ((Cell)root["b"]).Value, ((Cell)root["c"]).Value));
        Assert.Equal(snapshot, reader.Snapshot);

        // A connection at the newest state reads the packed file, where gone is no more.
        db.Transact(c =>
        {
            Assert.Equal((2L, 3L, 2L), (((Cell)c.Root["a"]).Value, ((Cell)c.Root["b"]).Value, ((Cell)c.Root["w"]).Value));
            Assert.False(c.Root.ContainsKey("gone"));
        });
        Assert.Equal(2, file.ReplacedFilesKept);

        reader.Abort();
        Assert.Equal(0, file.ReplacedFilesKept);
        AssertHandlesOnReplacedFiles(0, file.FilePath);
        Assert.Equal((2L, 3L), (((Cell)reader.Root["a"]).Value, ((Cell)reader.Root["b"]).Value));
        Assert.False(reader.Root.ContainsKey("gone"));
    }

    [Fact]
    public void A_commit_from_before_another_instances_pack_conflicts_on_an_object_changed_meanwhile_and_commits_one_that_was_not()
    {
        // Snapshot isolation: only written objects are checked, so each commit is about the object it writes.
        using var db = Database.Open(_path, new DatabaseOptions { RecordCacheBytes = 0, Isolation = TransactionIsolation.Snapshot });
        var file = (FileStorage)db.Storage;
        using var stale = db.OpenConnection();
        using var other = db.OpenConnection();
        _ = stale.Root.Count;
        _ = other.Root.Count;
        // Another instance in this process, with a storage of its own: to this one, like another process.
        using (var packer = Database.Open(_path))
        {
            packer.Transact(c =>
            {
                ((Cell)c.Root["a"]).Value = 2;
                c.Root.Remove("gone");
            });
            packer.Pack();
        }
        db.Transact(c => ((Cell)c.Root["w"]).Value = 1);
        Assert.Equal(1, file.ReplacedFilesKept);

        var staleA = (Cell)stale.Root["a"];
        var a = staleA.PersistentOid;
        Assert.Equal(1, staleA.Value);
        staleA.Value = 10;
        var conflict = Assert.Throws<ConflictException>(stale.Commit);
        Assert.Contains(a, conflict.Oids);
        stale.Abort();
        Assert.Equal(2, ((Cell)stale.Root["a"]).Value);
        Assert.Equal(1, file.ReplacedFilesKept);

        // c is unchanged since the snapshot: its revision in the packed file has the same tid, so no conflict.
        var otherC = (Cell)other.Root["c"];
        Assert.Equal(7, ((Cell)other.Root["gone"]).Value);
        otherC.Value = 5;
        other.Commit();
        Assert.Equal(0, file.ReplacedFilesKept);
        AssertHandlesOnReplacedFiles(0, file.FilePath);

        db.Dispose();
        Assert.Empty(FileStorage.Verify(_path).Problems);
        using var reopened = Database.Open(_path);
        using var check = reopened.OpenConnection();
        Assert.Equal((2L, 5L, 1L), (((Cell)check.Root["a"]).Value, ((Cell)check.Root["c"]).Value, ((Cell)check.Root["w"]).Value));
    }

    [Fact]
    public void Loads_from_many_threads_at_an_old_snapshot_read_it_whole_while_the_storage_switches_to_packed_files()
    {
        using (var setUp = Database.Open(_path))
        {
            setUp.Transact(c =>
            {
                for (var i = 0; i < 200; i++) c.Root[$"cell {i}"] = new Cell { Value = 1 };
            });
        }
        using var db = Database.Open(_path, Uncached);
        var file = (FileStorage)db.Storage;
        using var reader = db.OpenReadOnlyConnection();
        var cells = Enumerable.Range(0, 200).Select(i => ((Cell)reader.Root[$"cell {i}"]).PersistentOid).ToArray();
        var before = reader.Snapshot + 1;
        var expected = cells.Select(oid => file.LoadBefore(oid, before)!.Value.Tid).ToArray();

        // Four threads load every cell as of the reader's snapshot, over and over, while another
        // instance changes them all and packs three times, and this one switches after each pack.
        var stop = false;
        var loads = new long[4];
        var failures = new Exception?[4];
        var loaders = Enumerable.Range(0, 4).Select(t => new Thread(() =>
        {
            try
            {
                while (!Volatile.Read(ref stop))
                {
                    for (var i = 0; i < cells.Length; i++)
                    {
                        var record = file.LoadBefore(cells[i], before) ?? throw new InvalidOperationException($"no revision of {cells[i]} before {before}");
                        if (record.Tid != expected[i]) throw new InvalidOperationException($"{cells[i]} read at tid {record.Tid}, not {expected[i]}");
                        loads[t]++;
                    }
                }
            }
            catch (Exception e)
            {
                failures[t] = e;
            }
        })).ToArray();
        foreach (var loader in loaders) loader.Start();
        using (var packer = Database.Open(_path))
        {
            for (var round = 2; round <= 4; round++)
            {
                var value = round;
                packer.Transact(c =>
                {
                    for (var i = 0; i < 200; i++) ((Cell)c.Root[$"cell {i}"]).Value = value;
                });
                packer.Pack();
                db.Transact(c => ((Cell)c.Root["w"]).Value = value);
                Assert.Equal(round - 1, file.ReplacedFilesKept);
            }
        }
        Thread.Sleep(200);
        Volatile.Write(ref stop, true);
        foreach (var loader in loaders) loader.Join();
        Assert.All(failures, failure => Assert.Null(failure));
        Assert.All(loads, count => Assert.True(count >= cells.Length, $"{count} loads"));
        Assert.Equal(1, ((Cell)reader.Root["cell 7"]).Value);

        reader.Abort();
        Assert.Equal(0, file.ReplacedFilesKept);
        AssertHandlesOnReplacedFiles(0, file.FilePath);
        Assert.Equal(4, ((Cell)reader.Root["cell 7"]).Value);
    }

    [Fact]
    public void Closing_the_last_connection_that_reads_a_replaced_file_closes_it()
    {
        using var db = Database.Open(_path, Uncached);
        var file = (FileStorage)db.Storage;
        var reader = db.OpenReadOnlyConnection();
        _ = reader.Root.Count;
        ChangeAndPackInAnotherProcess("a", 2, unlink: "gone");
        db.Transact(c => ((Cell)c.Root["w"]).Value = 1);
        Assert.Equal(1, file.ReplacedFilesKept);
        Assert.Equal(1, ((Cell)reader.Root["a"]).Value);

        reader.Dispose();
        Assert.Equal(0, file.ReplacedFilesKept);
        AssertHandlesOnReplacedFiles(0, file.FilePath);
    }

    [Fact]
    public void A_boundary_that_moves_the_last_old_snapshot_past_the_switch_closes_the_replaced_file_at_once()
    {
        using var db = Database.Open(_path, Uncached);
        var file = (FileStorage)db.Storage;
        // The only connection: its Abort switches, and its new snapshot is one the packed file serves.
        using var idle = db.OpenConnection();
        ChangeAndPackInAnotherProcess("a", 2);
        idle.Abort();
        Assert.Equal(0, file.ReplacedFilesKept);
        AssertHandlesOnReplacedFiles(0, file.FilePath);
        Assert.Equal(2, ((Cell)idle.Root["a"]).Value);
    }

    [Fact]
    public void A_storage_used_without_a_database_closes_the_replaced_file_at_the_switch()
    {
        using var storage = FileStorage.Open(_path);
        var root = storage.Load(Oid.Root)!.Value;
        ChangeAndPackInAnotherProcess("a", 2, unlink: "gone");
        storage.Poll(storage.LastTid);
        Assert.Equal(0, storage.ReplacedFilesKept);
        AssertHandlesOnReplacedFiles(0, storage.FilePath);
        // Nothing is kept for readers the storage is not told of: the root's revision before the change is packed away.
        Assert.Null(storage.LoadBefore(Oid.Root, root.Tid + 1));
    }
}
