using Persistence.Tests.Models;
using Persistence.Storage;
using static Persistence.Tests.Storage.TestRecords;

namespace Persistence.Tests.Storage;

public sealed class FileStoragePackTests : IDisposable
{
    private readonly TempDirectory _directory = new();
    private readonly string _path;

    public FileStoragePackTests() => _path = _directory.File("data.persist");

    public void Dispose() => _directory.Dispose();


    private static long Serial(IStorage storage, Oid oid) => storage.Load(oid)?.Tid ?? 0;

    /// <summary>Stores a new revision of <paramref name="oid"/> on top of its current one.</summary>
    private static long Put(IStorage storage, Oid oid, string text, params Oid[] references) =>
        Commit(storage, (oid, Serial(storage, oid), Make(text, references)));

    /// <summary>
    /// root → a → b; a changed three times; c never referenced; d referenced by the root for a
    /// while, then dropped; the catalog → e.
    /// </summary>
    private sealed record Graph(Oid A, Oid B, Oid C, Oid D, Oid E, long[] ATids, long DroppedAt);

    private static Graph Build(FileStorage storage)
    {
        var (a, b, c, d, e) = (storage.NewOid(), storage.NewOid(), storage.NewOid(), storage.NewOid(), storage.NewOid());
        Commit(storage, (b, 0, Make("b")), (c, 0, Make("c, never referenced")), (d, 0, Make("d")), (e, 0, Make("e")));
        var aTids = new List<long> { Put(storage, a, "a0", b) };
        Put(storage, Oid.Root, "root with d", a, d);
        Put(storage, Oid.Catalog, "catalog", e);
        aTids.Add(Put(storage, a, "a1", b));
        var dropped = Put(storage, Oid.Root, "root without d", a);
        aTids.Add(Put(storage, a, "a2", b));
        return new Graph(a, b, c, d, e, [.. aTids], dropped);
    }

    private long FileLength => new FileInfo(_path).Length;

    [Fact]
    public void APackLetsGoOfThePagesOfTheOldFileInThePackerAndInTheProcessesThatSwitch()
    {
        Graph g;
        using (var writer = FileStorage.Open(_path)) g = Build(writer);
        using var packer = FileStorage.Open(_path);
        using var reader = FileStorage.Open(_path);
        foreach (var storage in new[] { packer, reader })
        {
            Assert.Equal("a2", Text(storage.Load(g.A)));
            Assert.Equal("b", Text(storage.Load(g.B)));
            Assert.True(storage.PagesHeld > 0, "single loads keep their pages");
        }

        packer.Pack();
        Assert.Equal(0, packer.PagesHeld);
        reader.Poll(reader.LastTid);
        Assert.Equal(0, reader.PagesHeld);
        foreach (var storage in new[] { packer, reader })
        {
            Assert.Equal("a2", Text(storage.Load(g.A)));
            Assert.Equal("b", Text(storage.Load(g.B)));
            Assert.Null(storage.Load(g.C));
        }
    }

    [Fact]
    public void PackKeepsTheCurrentRevisionsOfWhatIsReachableAndDropsTheRest()
    {
        using var storage = FileStorage.Open(_path);
        var g = Build(storage);
        var lastTid = storage.LastTid;
        var before = FileLength;

        var result = storage.Pack();

        Assert.Equal(before, result.BytesBefore);
        Assert.Equal(FileLength, result.BytesAfter);
        Assert.True(result.BytesAfter < before);
        Assert.Equal(5, result.LiveObjects); // root, catalog, a, b, e
        Assert.Equal(5, result.RevisionsKept);
        Assert.Equal(1, result.Attempts);
        Assert.Equal(lastTid, storage.LastTid);
        Assert.Equal("a2", Text(storage.Load(g.A)));
        Assert.Equal(g.ATids[2], storage.Load(g.A)!.Value.Tid);
        Assert.Equal("b", Text(storage.Load(g.B)));
        Assert.Equal("e", Text(storage.Load(g.E)));
        Assert.Equal("root without d", Text(storage.Load(Oid.Root)));
        Assert.Null(storage.Load(g.C));
        Assert.Null(storage.Load(g.D));
        Assert.Null(storage.LoadBefore(g.A, g.ATids[2]));
        Assert.Equal(5, storage.Iterate().Count());

        // The database goes on in the new file.
        var t = Put(storage, g.A, "a3", g.B);
        Assert.Equal(new[] { g.A }, storage.Poll(lastTid).ChangedOids);
        storage.Dispose();
        using var reopened = FileStorage.Open(_path);
        Assert.Null(reopened.CheckpointRejection);
        Assert.Equal(t, reopened.LastTid);
        Assert.Equal("a3", Text(reopened.Load(g.A)));
        Assert.Equal("a2", Text(reopened.LoadBefore(g.A, t)));
        Assert.Null(reopened.Load(g.C));
        Assert.True(reopened.NewOid().Value > g.E.Value);
        Assert.Empty(FileStorage.Verify(_path).Problems);
    }

    [Fact]
    public void PackKeepsTheHistoryReadersAfterTheChosenTidCanSee()
    {
        using var storage = FileStorage.Open(_path);
        var g = Build(storage);
        var lastTid = storage.LastTid;
        var keepAfter = g.ATids[1] - 1; // a0 was current then; d was still referenced by the root
        var answers = new Dictionary<(Oid, long), string?>();
        foreach (var oid in new[] { Oid.Root, Oid.Catalog, g.A, g.B, g.D, g.E })
        {
            for (var tid = keepAfter + 1; tid <= lastTid + 1; tid++)
                answers[(oid, tid)] = storage.LoadBefore(oid, tid) is { } r ? Text(r) : null;
        }

        var result = storage.Pack(keepHistoryAfterTid: keepAfter);

        // Every snapshot from keepAfter on reads as it did; d is kept, reachable from an old root.
        foreach (var ((oid, tid), text) in answers)
            Assert.Equal(text, storage.LoadBefore(oid, tid) is { } r ? Text(r) : null);
        Assert.Equal("d", Text(storage.Load(g.D)));
        Assert.Null(storage.Load(g.C));
        Assert.Equal(6, result.LiveObjects);
        Assert.Equal(9, result.RevisionsKept); // a0 a1 a2, root ×2, b, d, e, catalog
        storage.Dispose();
        using var reopened = FileStorage.Open(_path);
        Assert.Equal("a0", Text(reopened.LoadBefore(g.A, g.ATids[1])));
        Assert.Null(reopened.LoadBefore(g.A, g.ATids[0]));
    }

    [Fact]
    public void PackingAgainKeepsTheSameDataAndDropsWhatBecameUnreachable()
    {
        using var storage = FileStorage.Open(_path);
        var g = Build(storage);
        storage.Pack();
        Put(storage, g.A, "a without b");

        var second = storage.Pack();

        Assert.Equal(4, second.LiveObjects);
        Assert.Null(storage.Load(g.B));
        Assert.Equal("a without b", Text(storage.Load(g.A)));
        storage.Dispose();
        using var reopened = FileStorage.Open(_path);
        Assert.Null(reopened.CheckpointRejection);
        Assert.Null(reopened.Load(g.B));
    }

    [Fact]
    public void PackingAnEmptyDatabaseWorks()
    {
        using var storage = FileStorage.Open(_path);
        var result = storage.Pack();

        Assert.Equal(0, result.LiveObjects);
        Assert.Equal(64, FileLength);
        var oid = storage.NewOid();
        Commit(storage, (oid, 0, Make("after")));
        Assert.Equal("after", Text(storage.Load(oid)));
    }

    [Fact]
    public void ReferencesToObjectsThatDoNotExistAreIgnored()
    {
        using var storage = FileStorage.Open(_path);
        var a = storage.NewOid();
        Commit(storage, (a, 0, Make("a", new Oid(999_999), Oid.Root)), (Oid.Root, 0, Make("root", a, new Oid(1UL << 50))));

        var result = storage.Pack();

        Assert.Equal(2, result.LiveObjects);
        Assert.Equal("a", Text(storage.Load(a)));
    }

    [Fact]
    public void OidsOfDroppedObjectsAreNeverHandedOutAgain()
    {
        Oid dropped;
        using (var storage = FileStorage.Open(_path))
        {
            Build(storage);
            dropped = storage.NewOid();
            Commit(storage, (dropped, 0, Make("garbage with the highest oid")));
            storage.Pack();
            Assert.Null(storage.Load(dropped));
        }
        // Without the checkpoint too: the packed file's header remembers the highest oid.
        File.Delete(_path + ".index");
        using (var storage = FileStorage.Open(_path))
            Assert.True(storage.NewOid().Value > dropped.Value);
        using var reader = FileStorage.Open(_path, new FileStorageOptions { ReadOnly = true });
        using var writer = FileStorage.Open(_path);
        Assert.True(writer.NewOid().Value > dropped.Value);
    }

    [Fact]
    public void APackThatDropsNothingLeavesTheFileAndAReaderGoesOnWithIt()
    {
        using var writer = FileStorage.Open(_path);
        var a = writer.NewOid();
        var t1 = Commit(writer, (a, 0, Make("a")), (Oid.Root, 0, Make("root", a)));
        using var reader = FileStorage.Open(_path, new FileStorageOptions { ReadOnly = true });
        var bytes = File.ReadAllBytes(_path);

        var result = writer.Pack();

        Assert.False(result.Rewritten);
        Assert.Equal((bytes.Length, bytes.Length), (result.BytesBefore, result.BytesAfter));
        Assert.Equal((2, 2), (result.LiveObjects, result.RevisionsKept));
        Assert.Equal(bytes, File.ReadAllBytes(_path));
        Assert.False(File.Exists(_path + ".pack"));
        Assert.Equal(0, writer.FileEpoch);
        Assert.Empty(reader.Poll(t1).ChangedOids);
        Assert.Equal("a", Text(reader.Load(a)));

        var t2 = Commit(writer, (a, t1, Make("a2")));
        Assert.Equal(new[] { a }, reader.Poll(t1).ChangedOids);
        Assert.Equal(0, reader.FileEpoch);
        Assert.Equal("a2", Text(reader.Load(a)));
        Assert.Equal(t2, reader.LastTid);
    }

    [Fact]
    public void PackingAPackedFileAgainLeavesItAsItWas()
    {
        using var storage = FileStorage.Open(_path);
        var g = Build(storage);
        var first = storage.Pack();
        var packed = File.ReadAllBytes(_path);

        var second = storage.Pack();

        Assert.True(first.Rewritten);
        Assert.False(second.Rewritten);
        Assert.Equal((first.BytesAfter, first.BytesAfter), (second.BytesBefore, second.BytesAfter));
        Assert.Equal((first.LiveObjects, first.RevisionsKept, first.LiveBytes), (second.LiveObjects, second.RevisionsKept, second.LiveBytes));
        Assert.Equal(packed, File.ReadAllBytes(_path));
        Assert.Equal(1, storage.FileEpoch);
        Assert.Equal("a2", Text(storage.Load(g.A)));
    }

    [Fact]
    public void AnOlderRevisionOrAnUnreachableObjectIsEnoughToRewrite()
    {
        using var storage = FileStorage.Open(_path);
        var (a, c) = (storage.NewOid(), storage.NewOid());
        var t1 = Commit(storage, (a, 0, Make("a")), (Oid.Root, 0, Make("root", a)));
        Commit(storage, (a, t1, Make("a, changed")));

        // All the history kept: every revision stays, so there is nothing to drop.
        var keepingAll = storage.Pack(keepHistoryAfterTid: 0);
        Assert.False(keepingAll.Rewritten);
        Assert.Equal(3, keepingAll.RevisionsKept);
        // a's first revision is older than what is kept now.
        var current = storage.Pack();
        Assert.True(current.Rewritten);
        Assert.True(current.BytesAfter < current.BytesBefore);
        Assert.Equal(2, current.RevisionsKept);
        Assert.False(storage.Pack().Rewritten);

        Commit(storage, (c, 0, Make("c, never referenced")));
        var unreachable = storage.Pack();
        Assert.True(unreachable.Rewritten);
        Assert.Equal(2, unreachable.LiveObjects);
        Assert.Null(storage.Load(c));
        Assert.Equal("a, changed", Text(storage.Load(a)));
    }

    [Fact]
    public void ReadOnlyStoragesCannotPack()
    {
        using (FileStorage.Open(_path)) { }
        using var reader = FileStorage.Open(_path, new FileStorageOptions { ReadOnly = true });
        Assert.Throws<StorageLockedException>(() => reader.Pack());
    }

    [Fact]
    public async Task CommitsMadeWhilePackRunsAllSurvive()
    {
        using var storage = FileStorage.Open(_path);
        // Enough data that the pack takes a while: 20,000 objects under 200 containers.
        var containers = new List<Oid>();
        for (var t = 0; t < 200; t++)
        {
            var leaves = Enumerable.Range(0, 100).Select(_ => storage.NewOid()).ToArray();
            var container = storage.NewOid();
            Commit(storage, [.. leaves.Select(l => (l, 0L, Make($"leaf {l}"))), (container, 0L, Make("container", leaves))]);
            containers.Add(container);
        }
        Put(storage, Oid.Root, "root", [.. containers]);
        var garbage = Enumerable.Range(0, 2000).Select(_ => storage.NewOid()).ToArray();
        Commit(storage, [.. garbage.Select(o => (o, 0L, Make("garbage " + new string('g', 200))))]);

        var committed = new List<(Oid Oid, long Tid)>();
        var stop = false;
        var packsSeen = 0;
        var committer = Task.Run(() =>
        {
            // New objects, each linked from a list object that the root reaches.
            var list = storage.NewOid();
            var members = new List<Oid>();
            Put(storage, list, "list");
            Put(storage, Oid.Root, "root", [.. containers, list]);
            while (!Volatile.Read(ref stop) || committed.Count < 20)
            {
                var oid = storage.NewOid();
                members.Add(oid);
                var tid = Commit(storage, (oid, 0, Make($"committed {oid}")), (list, Serial(storage, list), Make("list", [.. members.TakeLast(500)])));
                lock (committed) committed.Add((oid, tid));
                if (storage.FileEpoch > 0) packsSeen++;
            }
            return members;
        });
        while (committed.Count < 5) Thread.Sleep(1);

        var result = storage.Pack();
        Volatile.Write(ref stop, true);
        var members = await committer;

        Assert.True(packsSeen > 0, "no commit landed after the pack");
        Assert.True(result.LiveObjects >= 20_000 + 200);
        foreach (var (oid, tid) in committed.Where(c => members.TakeLast(500).Contains(c.Oid)))
        {
            Assert.Equal(tid, storage.Load(oid)!.Value.Tid);
            Assert.Equal($"committed {oid}", Text(storage.Load(oid)));
        }
        Assert.Null(storage.Load(garbage[0]));
        storage.Dispose();
        using var reopened = FileStorage.Open(_path);
        foreach (var (oid, tid) in committed.Where(c => members.TakeLast(500).Contains(c.Oid)))
            Assert.Equal(tid, reopened.Load(oid)!.Value.Tid);
        Assert.Equal(containers.Count, reopened.Iterate().Count(r => Text(r.Data) == "container"));
    }

    [Fact]
    public void ACommitThatLinksADroppedObjectBackMakesThePackStartOver()
    {
        using var storage = FileStorage.Open(_path);
        var g = Build(storage);
        var linked = false;
        // A connection whose snapshot predates "root without d" links d from a (it may: it still sees d).
        storage.PackStep = step =>
        {
            if (step != "copied" || linked) return;
            linked = true;
            Put(storage, g.A, "a links d", g.B, g.D);
        };

        var result = storage.Pack();

        Assert.Equal(2, result.Attempts);
        Assert.Equal("d", Text(storage.Load(g.D)));
        Assert.Equal("a links d", Text(storage.Load(g.A)));
        Assert.Null(storage.Load(g.C));
    }

    [Fact]
    public void ACommitAfterThePackThatLinksADroppedObjectIsRefused()
    {
        using var storage = FileStorage.Open(_path);
        var g = Build(storage);
        storage.Pack();
        var serial = Serial(storage, g.A);

        // A writer that still held d (loaded before it became unreachable) links it from a.
        var error = Assert.Throws<ReadConflictException>(() => Commit(storage, (g.A, serial, Make("a links d", g.B, g.D))));

        Assert.Equal([g.D], error.Oids);
        Assert.Contains("a pack removed", error.Message);
        Assert.Equal("a2", Text(storage.Load(g.A)));
        // Links to kept objects and to objects stored in the same transaction commit as before.
        var f = storage.NewOid();
        Commit(storage, (g.A, serial, Make("a links b and f", g.B, f)), (f, 0, Make("f", g.E)));
        Assert.Equal("a links b and f", Text(storage.Load(g.A)));
        storage.Dispose();
        Assert.Empty(FileStorage.Verify(_path).Problems);
    }

    [Fact]
    public void AStoredReferenceToAnObjectThePackedFileLacksIsDamageNotALinkToADroppedObject()
    {
        Graph g;
        long recordOffset;
        using (var storage = FileStorage.Open(_path))
        {
            g = Build(storage);
            storage.Pack();
            recordOffset = storage.NewestOffset(g.B);
        }
        // b's record is given an oid no object has, its checksums made to hold again, and the checkpoint
        // is deleted: the packed file no longer holds b, which a's stored revision references.
        var bytes = File.ReadAllBytes(_path);
        Assert.Equal(g.B.Value, bytes[(int)recordOffset + 4]);
        bytes[(int)recordOffset + 4] = 0x7F;
        MakeChecksumsHold(bytes, recordOffset);
        File.WriteAllBytes(_path, bytes);
        File.Delete(_path + ".index");

        using var reopened = FileStorage.Open(_path);
        Assert.Null(reopened.Load(g.B));
        // A writer that changes a and keeps its reference to b: no retry would help.
        var error = Assert.Throws<CorruptDatabaseException>(() => Commit(reopened, (g.A, Serial(reopened, g.A), Make("a3", g.B))));
        Assert.Equal(g.A, error.Oid);
        Assert.Equal(reopened.NewestOffset(g.A), error.Offset);
        Assert.Contains($"The stored revision of {g.A}", error.Message);
        Assert.Contains($"references {g.B}, of which the file holds no revision", error.Message);
        // Linking an object the pack dropped, which no stored revision references, is still a read conflict.
        Assert.Throws<ReadConflictException>(() => Commit(reopened, (g.A, Serial(reopened, g.A), Make("a links d", g.D))));
    }

    [Fact]
    public void AConnectionThatKeptAnObjectAPackDroppedCannotLinkItBack()
    {
        using (var db = Database.Open(_path))
        {
            using (var setUp = db.OpenConnection())
            {
                setUp.Root["a"] = new Node { Label = "a", Next = new Node { Label = "leaf" } };
                setUp.Root["b"] = new Node { Label = "b" };
                setUp.Commit();
            }
            using var keeper = db.OpenConnection();
            var leaf = ((Node)keeper.Root["a"]).Next!;
            Assert.Equal("leaf", leaf.Label);
            keeper.Commit();
            using (var other = db.OpenConnection())
            {
                ((Node)other.Root["a"]).Next = null;
                other.Commit();
            }
            ((FileStorage)db.Storage).Pack();

            ((Node)keeper.Root["b"]).Next = leaf;
            Assert.Contains("a pack removed", Assert.Throws<ReadConflictException>(keeper.Commit).Message);
            keeper.Abort();
            Assert.Null(((Node)keeper.Root["b"]).Next);
        }
        Assert.Empty(FileStorage.Verify(_path).Problems);
        using var reopened = Database.Open(_path);
        using var connection = reopened.OpenConnection();
        Assert.Equal(("a", "b"), (((Node)connection.Root["a"]).Label, ((Node)connection.Root["b"]).Label));
        Assert.Null(((Node)connection.Root["b"]).Next);
    }

    [Theory]
    [InlineData("marked")]
    [InlineData("copied")]
    [InlineData("caught-up")]
    [InlineData("flushed")]
    public void AnInterruptedPackLeavesTheDatabaseAsItWas(string step)
    {
        using var storage = FileStorage.Open(_path);
        var g = Build(storage);
        var bytes = File.ReadAllBytes(_path);
        storage.PackStep = s =>
        {
            if (s == step) throw new IOException("interrupted at " + s);
        };

        var error = Assert.Throws<PersistenceException>(() => storage.Pack());

        Assert.Contains("interrupted at " + step, error.Message);
        Assert.Equal(bytes, File.ReadAllBytes(_path));
        Assert.False(File.Exists(_path + ".pack"));
        Assert.False(File.Exists(_path + ".pack.index"));
        Assert.Equal(0, storage.FileEpoch);
        // The storage goes on with the old file, and a later pack succeeds.
        var t = Put(storage, g.A, "a after the failed pack", g.B);
        storage.PackStep = null;
        storage.Pack();
        Assert.Equal("a after the failed pack", Text(storage.Load(g.A)));
        Assert.Equal(t, storage.LastTid);
        Assert.Null(storage.Load(g.C));
    }

    /// <summary>Flips one bit of the file at the first place <paramref name="text"/> occurs, plus <paramref name="skip"/> bytes.</summary>
    private void Damage(string text, int skip)
    {
        var bytes = File.ReadAllBytes(_path);
        var at = bytes.AsSpan().IndexOf(System.Text.Encoding.UTF8.GetBytes(text));
        Assert.True(at > 0);
        using var file = new FileStream(_path, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete);
        file.Position = at + skip;
        var b = (byte)file.ReadByte();
        file.Position = at + skip;
        file.WriteByte((byte)(b ^ 0x10));
    }

    [Theory]
    [InlineData(0)] // the state
    [InlineData(16)] // the reference list, which pack follows: its one reference becomes one to an oid not stored
    public void APackRefusesToCopyADamagedRecordAndChangesNothing(int skip)
    {
        using var storage = FileStorage.Open(_path);
        var (x, y) = (storage.NewOid(), storage.NewOid());
        var z = storage.NewOid();
        // z is never referenced, so the pack has something to drop and copies x.
        Commit(storage, (y, 0, Make("y")), (x, 0, Make("x, to be damaged", y)), (Oid.Root, 0, Make("root", x)), (z, 0, Make("z")));
        Damage("x, to be damaged", skip);
        var bytes = File.ReadAllBytes(_path);

        var error = Assert.Throws<CorruptDatabaseException>(() => storage.Pack());

        Assert.Contains("checksum", error.Message);
        Assert.Equal(x, error.Oid);
        Assert.Equal(bytes, File.ReadAllBytes(_path));
        Assert.False(File.Exists(_path + ".pack"));
        Assert.False(File.Exists(_path + ".pack.index"));
        Assert.Equal(0, storage.FileEpoch);
    }

    [Fact]
    public void DamageInWhatThePackDropsDoesNotStopIt()
    {
        using var storage = FileStorage.Open(_path);
        var x = storage.NewOid();
        Commit(storage, (x, 0, Make("x, old and damaged")), (Oid.Root, 0, Make("root", x)));
        Put(storage, x, "x, current");
        Damage("x, old and damaged", 0);

        var result = storage.Pack();

        Assert.Equal(2, result.RevisionsKept);
        Assert.Equal("x, current", Text(storage.Load(x)));
        Assert.Empty(FileStorage.Verify(_path).Problems);
    }

    [Fact]
    public void LeftoversOfAPackThatDiedAreRemovedByTheNextWriter()
    {
        using (var storage = FileStorage.Open(_path))
            Build(storage);
        File.WriteAllText(_path + ".pack", "half a packed file");
        File.WriteAllText(_path + ".pack.index", "half a checkpoint");

        using (var storage = FileStorage.Open(_path))
        {
            Assert.False(File.Exists(_path + ".pack"));
            Assert.False(File.Exists(_path + ".pack.index"));
        }

        File.WriteAllText(_path + ".pack", "half a packed file");
        using (var reader = FileStorage.Open(_path, new FileStorageOptions { ReadOnly = true }))
            Assert.True(File.Exists(_path + ".pack"));
        using var writer = FileStorage.Open(_path);
        writer.Pack();
        Assert.False(File.Exists(_path + ".pack"));
    }

    [Fact]
    public void AReadOnlyInstanceSwitchesToThePackedFileAtItsNextPoll()
    {
        using var writer = FileStorage.Open(_path);
        var g = Build(writer);
        var lastTid = writer.LastTid;
        using var reader = FileStorage.Open(_path, new FileStorageOptions { ReadOnly = true });
        Assert.Equal("c, never referenced", Text(reader.Load(g.C)));

        writer.Pack();
        // Until its next poll the reader reads the old file, which it still has open.
        Assert.Equal("c, never referenced", Text(reader.Load(g.C)));
        Assert.Equal(0, reader.FileEpoch);

        Assert.Empty(reader.Poll(lastTid).ChangedOids);
        Assert.Equal(1, reader.FileEpoch);
        Assert.Null(reader.Load(g.C));
        Assert.Equal("a2", Text(reader.Load(g.A)));
        Assert.Equal(lastTid, reader.LastTid);

        var t = Put(writer, g.B, "b after the pack");
        Assert.Equal(new[] { g.B }, reader.Poll(lastTid).ChangedOids);
        Assert.Equal("b after the pack", Text(reader.Load(g.B)));
        Assert.Equal("b", Text(reader.LoadBefore(g.B, t)));
        Assert.Equal(6, reader.Iterate().Count());
    }

    [Fact]
    public void AReaderThatFellBehindReadsTheOldFilesLastTransactionsBeforeSwitching()
    {
        using var writer = FileStorage.Open(_path);
        var g = Build(writer);
        using var reader = FileStorage.Open(_path, new FileStorageOptions { ReadOnly = true });
        var seen = reader.LastTid;
        Put(writer, g.B, "b before the pack");
        writer.Pack();
        Put(writer, g.E, "e after the pack");

        var changes = reader.Poll(seen);

        Assert.Equal(new[] { g.B, g.E }.Order(), changes.ChangedOids.Order());
        Assert.Equal(writer.LastTid, reader.LastTid);
        Assert.Equal("b before the pack", Text(reader.Load(g.B)));
        Assert.Equal("e after the pack", Text(reader.Load(g.E)));
    }

    [Fact]
    public void AReaderWhoseNewCheckpointIsAheadOfItReturnsEveryOidOnce()
    {
        using var writer = FileStorage.Open(_path);
        var g = Build(writer);
        using var reader = FileStorage.Open(_path, new FileStorageOptions { ReadOnly = true });
        var seen = reader.LastTid;
        writer.Pack();
        var t = Put(writer, g.B, "b after the pack");
        // A checkpoint of the new file newer than anything the reader read: what changed in between
        // is not known to it, so it answers with every oid (a superset), and exactly from then on.
        writer.Checkpoint();

        Assert.Equal(new[] { Oid.Root, Oid.Catalog, g.A, g.B, g.E }.Order(), reader.Poll(seen).ChangedOids.Order());
        Assert.Equal(t, reader.LastTid);
        Assert.Equal("b after the pack", Text(reader.Load(g.B)));
        var t2 = Put(writer, g.E, "e");
        Assert.Equal(new[] { g.E }, reader.Poll(t).ChangedOids);
        Assert.Equal(t2, reader.LastTid);
    }

    [Fact]
    public async Task LoadsRunningWhileTheFileIsReplacedReadCorrectData()
    {
        using var writer = FileStorage.Open(_path);
        var g = Build(writer);
        using var reader = FileStorage.Open(_path, new FileStorageOptions { ReadOnly = true });
        var stop = false;
        var loads = 0;
        var loaders = Enumerable.Range(0, 2).Select(_ => Task.Run(() =>
        {
            while (!Volatile.Read(ref stop))
            {
                Assert.Equal("b", Text(reader.Load(g.B)));
                Assert.Equal("a2", Text(writer.Load(g.A)));
                Interlocked.Increment(ref loads);
            }
        })).ToArray();
        SpinWait.SpinUntil(() => Volatile.Read(ref loads) > 10, TimeSpan.FromSeconds(10));

        var packs = 0;
        var loadsBefore = Volatile.Read(ref loads);
        while (packs < 5 || (Volatile.Read(ref loads) - loadsBefore < 1000 && packs < 200))
        {
            // Garbage for each pack to drop, so each packed file differs from the one before.
            Put(writer, writer.NewOid(), "garbage");
            writer.Pack();
            reader.Poll(writer.LastTid);
            packs++;
        }
        Volatile.Write(ref stop, true);
        await Task.WhenAll(loaders);

        Assert.True(Volatile.Read(ref loads) - loadsBefore > 0);
        Assert.Equal(packs, reader.FileEpoch);
    }

    [Fact]
    public void AnotherWriterSwitchesToThePackedFileBeforeItCommits()
    {
        using var packer = FileStorage.Open(_path);
        var g = Build(packer);
        using var other = FileStorage.Open(_path);
        var serial = other.Load(g.B)!.Value.Tid;

        packer.Pack();
        var t = Commit(other, (g.B, serial, Make("b from the other writer", g.E)));

        Assert.Equal(1, other.FileEpoch);
        Assert.Equal(new[] { g.B }, packer.Poll(t - 1).ChangedOids);
        Assert.Equal("b from the other writer", Text(packer.Load(g.B)));
        Assert.Throws<ConflictException>(() => Commit(other, (g.B, serial, Make("stale"))));
        other.Dispose();
        packer.Dispose();
        using var reopened = FileStorage.Open(_path);
        Assert.Equal("b from the other writer", Text(reopened.Load(g.B)));
        Assert.Empty(FileStorage.Verify(_path).Problems);
    }

    [Fact]
    public async Task OnlyOnePackRunsAtATime()
    {
        using var first = FileStorage.Open(_path);
        Build(first);
        using var second = FileStorage.Open(_path);
        using var copied = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        first.PackStep = step =>
        {
            if (step != "copied") return;
            copied.Set();
            release.Wait();
        };
        var running = Task.Run(() => first.Pack());
        copied.Wait();

        // Its own type, so that a pack run periodically (a hosted service in each of several processes) can skip its turn.
        var error = Assert.Throws<StorageLockedException>(() => second.Pack());
        Assert.Contains("Another process is packing", error.Message);
        Assert.True(File.Exists(_path + ".pack"));

        release.Set();
        Assert.Equal(1, (await running).Attempts);
        second.Pack();
    }

    [Fact]
    public async Task ACommitWaitingForTheDiskAsAnotherProcessPacksIsOnDiskWhenItReturns()
    {
        // Two storages on one file, each with its own open of the lock file, as two processes.
        using var writer = FileStorage.Open(_path);
        using var packer = FileStorage.Open(_path);
        var first = writer.NewOid();
        var rootTid = Commit(writer, (first, 0, Make("first")), (Oid.Root, 0, Make("root", first)));
        packer.Poll(0);

        // The writer's commit is appended to the file and has let go of the commit lock, but not flushed.
        using var appended = new ManualResetEventSlim();
        using var flushNow = new ManualResetEventSlim();
        writer.CommitStep = HoldAt("appended", appended, flushNow);
        var flushesBefore = writer.FlushCount;
        var second = writer.NewOid();
        var committing = Task.Run(() => Commit(writer, (second, 0, Make("second")), (Oid.Root, rootTid, Make("root", first, second))));
        Assert.True(appended.Wait(TimeSpan.FromSeconds(30)));
        writer.CommitStep = null;

        // The other process's pack copies it (the objects are reachable) into the new file and renames that over the data file; it
        // has not flushed the directory yet, so a crash now would bring back the old file.
        using var renamed = new ManualResetEventSlim();
        using var finishPack = new ManualResetEventSlim();
        packer.PackStep = HoldAt("renamed", renamed, finishPack);
        var packing = Task.Run(() => packer.Pack());
        Assert.True(renamed.Wait(TimeSpan.FromSeconds(30)));

        try
        {
            // Another thread of the writer's process polls and switches to the new file: the commit, which
            // is in it, counts as on disk from then on, so the switch must have made the rename durable.
            writer.Poll(writer.LastTid);
            Assert.Equal(1, writer.FileEpoch);
            flushNow.Set();
            await committing;
            Assert.True(writer.FlushCount > flushesBefore || writer.SwitchDirectoryFlushes == 1,
                "The commit returned with neither its file flushed nor the rename of the packed file over it");
        }
        finally
        {
            flushNow.Set();
            finishPack.Set();
        }
        await packing;
        Assert.Equal("second", Text(writer.Load(second)));
        Assert.Equal("first", Text(packer.Load(first)));
    }

    [Fact]
    public void APackedFileNeverSharesTheOldFilesDurableHintTag()
    {
        // The tag is 16 bits: among a million random ids, about fifteen share the open file's.
        using var storage = FileStorage.Open(_path);
        for (var i = 0; i < 1_000_000; i++)
            Assert.False(storage.SharesHintTagWithThisFile(storage.NewFileId()));
    }

    /// <summary>A step hook that, at the step named <paramref name="name"/>, sets <paramref name="reached"/> and waits for <paramref name="release"/>.</summary>
    private static Action<string> HoldAt(string name, ManualResetEventSlim reached, ManualResetEventSlim release) => step =>
    {
        if (step != name) return;
        reached.Set();
        Assert.True(release.Wait(TimeSpan.FromSeconds(30)));
    };

    [Fact]
    public void APackedFileNeedsNoFullScanToOpen()
    {
        using (var storage = FileStorage.Open(_path))
        {
            Build(storage);
            storage.Pack();
        }

        using var reopened = FileStorage.Open(_path);
        Assert.Null(reopened.CheckpointRejection);
        Assert.Equal(0, reopened.TransactionsScanned);
    }

    [Fact]
    public void TheOldCheckpointIsIgnoredIfThePackDiedBeforeReplacingIt()
    {
        Graph g;
        using (var storage = FileStorage.Open(_path))
        {
            g = Build(storage);
            storage.Checkpoint();
        }
        var oldCheckpoint = File.ReadAllBytes(_path + ".index");
        using (var storage = FileStorage.Open(_path))
            storage.Pack();
        // As if killed between the two renames: the new data file, the old file's checkpoint.
        File.WriteAllBytes(_path + ".index", oldCheckpoint);

        using var reopened = FileStorage.Open(_path);
        Assert.Contains("another file of this database", reopened.CheckpointRejection);
        Assert.Equal("a2", Text(reopened.Load(g.A)));
        Assert.Null(reopened.Load(g.C));
    }
}
