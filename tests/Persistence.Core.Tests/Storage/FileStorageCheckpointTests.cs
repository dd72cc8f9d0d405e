using System.Buffers.Binary;
using Persistence.Storage;
using static Persistence.Tests.Storage.TestRecords;

namespace Persistence.Tests.Storage;

[Collection(ClosingWritersCollection.Name)]
public sealed class FileStorageCheckpointTests : IDisposable
{
    private readonly TempDirectory _directory = new();
    private readonly string _path;

    public FileStorageCheckpointTests() => _path = _directory.File("data.persist");

    public void Dispose() => _directory.Dispose();

    private string CheckpointPath => _path + ".index";


    /// <summary>What was committed: each object's newest text and tid, and every revision for LoadBefore.</summary>
    private sealed class Expected
    {
        public Dictionary<Oid, (long Tid, string Text)> Current { get; } = [];
        public List<(Oid Oid, long Tid, string Text)> Revisions { get; } = [];
        public long LastTid { get; set; }

        public long Commit(IStorage storage, params (Oid Oid, string Text)[] changes)
        {
            var tid = TestRecords.Commit(storage, [.. changes.Select(c => (c.Oid, Current.TryGetValue(c.Oid, out var old) ? old.Tid : 0, Make(c.Text)))]);
            foreach (var (oid, text) in changes)
            {
                Current[oid] = (tid, text);
                Revisions.Add((oid, tid, text));
            }
            LastTid = tid;
            return tid;
        }

        public void Check(IStorage storage)
        {
            Assert.Equal(LastTid, storage.LastTid);
            foreach (var (oid, (tid, text)) in Current)
            {
                var record = storage.Load(oid);
                Assert.Equal(tid, record!.Value.Tid);
                Assert.Equal(text, Text(record));
            }
            // Every revision is still reachable through the previous-revision links.
            foreach (var (oid, tid, text) in Revisions)
                Assert.Equal(text, Text(storage.LoadBefore(oid, tid + 1)));
        }
    }

    /// <summary>Commits <paramref name="transactions"/> transactions of a few objects each, updating some older ones.</summary>
    private static void Fill(FileStorage storage, Expected expected, int transactions, int perTransaction = 5)
    {
        for (var t = 0; t < transactions; t++)
        {
            var changes = Enumerable.Range(0, perTransaction).Select(i => (storage.NewOid(), $"object {t}.{i}")).ToList();
            if (expected.Current.Count > 0)
            {
                var old = expected.Current.Keys.ElementAt((t * 7) % expected.Current.Count);
                if (changes.All(c => c.Item1 != old)) changes.Add((old, $"updated in {t}"));
            }
            expected.Commit(storage, [.. changes]);
        }
    }

    private void CorruptCheckpoint(Action<byte[]> change, bool fixChecksum)
    {
        var bytes = File.ReadAllBytes(CheckpointPath);
        change(bytes);
        if (fixChecksum)
        {
            var crc = Crc32C.Append(Crc32C.Compute(bytes.AsSpan(0, 92)), bytes.AsSpan(96));
            BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(92), crc);
        }
        File.WriteAllBytes(CheckpointPath, bytes);
    }

    /// <summary>The checkpoint as it is on disk, read without checking it against the data file.</summary>
    private LoadedCheckpoint ReadCheckpoint(string? path = null)
    {
        path ??= CheckpointPath;
        var header = File.ReadAllBytes(path).AsSpan(0, FileStorageCheckpoint.HeaderSize);
        using var file = File.OpenHandle(path);
        var loaded = FileStorageCheckpoint.Read(file, path, new Guid(header[16..32]), BinaryPrimitives.ReadUInt64LittleEndian(header[32..]), long.MaxValue, out var rejection);
        Assert.Null(rejection);
        // Every dense page into memory before the file closes: the tests change and rewrite the index.
        loaded!.Value.Index.LoadAllPending();
        return loaded.Value;
    }

    /// <summary>Writes the checkpoint anew, as it covers the same transaction, with <paramref name="change"/> made to its index.</summary>
    private void RewriteCheckpoint(Action<FileStorageIndex> change)
    {
        var loaded = ReadCheckpoint();
        change(loaded.Index);
        FileStorageCheckpoint.WriteFile(CheckpointPath, loaded.Index, loaded.Info);
    }

    private Expected DatabaseWithCheckpoint(int transactions = 20)
    {
        var expected = new Expected();
        using var storage = FileStorage.Open(_path);
        Fill(storage, expected, transactions);
        storage.Checkpoint();
        return expected;
    }

    /// <summary>
    /// A database whose checkpoint has dense pages: three transactions of 8,192 new objects (pages 0 to 2
    /// dense, page 3 sparse), then the root, which references them all (so a pack keeps them).
    /// </summary>
    private (Expected Expected, List<Oid> Oids) DenseDatabase()
    {
        var expected = new Expected();
        var oids = new List<Oid>();
        using var storage = FileStorage.Open(_path, new FileStorageOptions { Durability = Durability.Relaxed });
        for (var t = 0; t < 3; t++)
        {
            var changes = Enumerable.Range(0, FileStorageIndex.PageSize).Select(i => (storage.NewOid(), $"object {t}.{i}")).ToArray();
            oids.AddRange(changes.Select(c => c.Item1));
            expected.Commit(storage, changes);
        }
        expected.LastTid = Commit(storage, (Oid.Root, 0, Make("root", [.. oids])));
        storage.Checkpoint();
        return (expected, oids);
    }

    private static Oid InPage(List<Oid> oids, int page) => oids.First(o => (int)(o.Value >> FileStorageIndex.PageShift) == page);

    [Fact]
    public void AnOpenReadsADensePageOfTheCheckpointOnlyWhenSomethingFirstLooksInIt()
    {
        var (expected, oids) = DenseDatabase();

        using var storage = FileStorage.Open(_path);
        Assert.Null(storage.CheckpointRejection);
        // The open checked the root's record (page 0) against the data file; pages 1 and 2 wait.
        Assert.Equal(2, storage.PendingIndexPages);
        var inPageOne = InPage(oids, 1);
        Assert.Equal(expected.Current[inPageOne].Text, Text(storage.Load(inPageOne)));
        Assert.Equal(1, storage.PendingIndexPages);
        // The storage keeps the checkpoint it checked open: a new one renamed over the name, or none at all, changes nothing.
        File.Delete(CheckpointPath);
        expected.Check(storage);
        Assert.Equal(0, storage.PendingIndexPages);
    }

    [Fact]
    public void ChangesPollsCheckpointsAndPacksOfAStorageWithPagesPendingSeeEveryObject()
    {
        var (expected, oids) = DenseDatabase();
        using (var storage = FileStorage.Open(_path))
        {
            Assert.Equal(2, storage.PendingIndexPages);
            var checkpointTid = expected.LastTid;
            expected.Commit(storage, (InPage(oids, 2), "changed"));
            Assert.Equal(1, storage.PendingIndexPages);
            // A poll from before the checkpoint lists every object, those in pages still pending too.
            Assert.Equal(oids.Count + 1, storage.Poll(checkpointTid - 1).ChangedOids.Count);
        }
        using (var storage = FileStorage.Open(_path))
        {
            // The scan of the change after the checkpoint read page 2.
            Assert.Equal(1, storage.PendingIndexPages);
            storage.Checkpoint();
            Assert.Equal(0, storage.PendingIndexPages);
        }
        using (var storage = FileStorage.Open(_path))
        {
            Assert.Null(storage.CheckpointRejection);
            Assert.Equal(0, storage.TransactionsScanned);
            expected.Check(storage);
        }
        using (var storage = FileStorage.Open(_path))
        {
            // The open checked the change (page 2) against the data file; pages 0 and 1 wait.
            Assert.Equal(2, storage.PendingIndexPages);
            Assert.Equal(oids.Count + 1, storage.Pack().LiveObjects);
            foreach (var (oid, (_, text)) in expected.Current) Assert.Equal(text, Text(storage.Load(oid)));
        }
        using (var storage = FileStorage.Open(_path))
        {
            Assert.Null(storage.CheckpointRejection);
            foreach (var (oid, (_, text)) in expected.Current) Assert.Equal(text, Text(storage.Load(oid)));
        }
    }

    [Fact]
    public void OpeningUsesTheCheckpointAndScansNothingWhenItIsCurrent()
    {
        var expected = DatabaseWithCheckpoint();

        using var storage = FileStorage.Open(_path);
        Assert.Null(storage.CheckpointRejection);
        Assert.Equal(0, storage.TransactionsScanned);
        Assert.Equal(new FileInfo(_path).Length, storage.OpenScanStart);
        expected.Check(storage);
        Assert.True(storage.NewOid().Value > expected.Current.Keys.Max(o => o.Value));
    }

    [Fact]
    public void OpeningScansOnlyTheTailAfterTheCheckpoint()
    {
        var expected = DatabaseWithCheckpoint();
        var covered = new FileInfo(_path).Length;
        using (var storage = FileStorage.Open(_path))
            Fill(storage, expected, 3);

        using (var storage = FileStorage.Open(_path))
        {
            Assert.Null(storage.CheckpointRejection);
            Assert.Equal(covered, storage.OpenScanStart);
            Assert.Equal(3, storage.TransactionsScanned);
            expected.Check(storage);
        }
        using (var reader = FileStorage.Open(_path, new FileStorageOptions { ReadOnly = true }))
        {
            Assert.Equal(3, reader.TransactionsScanned);
            expected.Check(reader);
        }
    }

    [Fact]
    public void PollFromBeforeACheckpointedOpenReturnsEveryOid()
    {
        var expected = DatabaseWithCheckpoint();
        using var storage = FileStorage.Open(_path);

        Assert.Equal(expected.Current.Keys.Order(), storage.Poll(expected.LastTid - 1).ChangedOids.Order());
        Assert.Empty(storage.Poll(expected.LastTid).ChangedOids);
        var oid = storage.NewOid();
        var tid = Commit(storage, (oid, 0, Make("new")));
        Assert.Equal(new[] { oid }, storage.Poll(expected.LastTid).ChangedOids);
        Assert.Empty(storage.Poll(tid).ChangedOids);
    }

    [Fact]
    public void AWriterWritesACheckpointWhenItClosesAfterALargeTail()
    {
        var expected = new Expected();
        using (var storage = FileStorage.Open(_path))
        {
            LargeTail(storage, expected);
            Assert.False(File.Exists(CheckpointPath));
        }
        Assert.True(File.Exists(CheckpointPath));

        OpensFromTheCheckpointAlone(expected);
    }

    [Fact]
    public void OfSeveralWritersTheLastToCloseWritesTheCheckpoint()
    {
        var (first, second, expected) = TwoWritersTheFirstWithALargeTail();
        second.Poll(0);
        first.Dispose();
        // Where a writer can tell others still have the file open (Linux), it leaves the checkpoint to the last.
        if (OperatingSystem.IsLinux()) Assert.False(File.Exists(CheckpointPath));
        second.Dispose();
        Assert.True(File.Exists(CheckpointPath));

        OpensFromTheCheckpointAlone(expected);
    }

    [Fact]
    public void AWriterDoesNotWriteACheckpointAnotherWriterWroteAlready()
    {
        var (first, second, expected) = TwoWritersTheFirstWithALargeTail();
        first.Checkpoint();
        first.Dispose();
        var written = File.GetLastWriteTimeUtc(CheckpointPath);
        var bytes = File.ReadAllBytes(CheckpointPath);
        Thread.Sleep(20);
        // The last to close, with a large tail it has not checkpointed itself, finds it covered.
        second.Poll(0);
        second.Dispose();
        Assert.Equal(written, File.GetLastWriteTimeUtc(CheckpointPath));
        Assert.Equal(bytes, File.ReadAllBytes(CheckpointPath));

        OpensFromTheCheckpointAlone(expected);
    }

    /// <summary>Two writers on the file, the first of which has committed a large tail.</summary>
    private (FileStorage First, FileStorage Second, Expected Expected) TwoWritersTheFirstWithALargeTail()
    {
        var expected = new Expected();
        var first = FileStorage.Open(_path);
        var second = FileStorage.Open(_path);
        LargeTail(first, expected);
        return (first, second, expected);
    }

    /// <summary>Opens the file and checks that opening scanned nothing after the checkpoint and reads what was committed.</summary>
    private void OpensFromTheCheckpointAlone(Expected expected)
    {
        using var reopened = FileStorage.Open(_path);
        Assert.Null(reopened.CheckpointRejection);
        Assert.Equal(0, reopened.TransactionsScanned);
        expected.Check(reopened);
    }

    /// <summary>Commits over a megabyte in a few transactions.</summary>
    private static void LargeTail(FileStorage storage, Expected expected)
    {
        for (var t = 0; t < 4; t++)
            expected.Commit(storage, [.. Enumerable.Range(0, 100).Select(i => (storage.NewOid(), new string('x', 3000) + $"{t}.{i}"))]);
    }

    [Fact]
    public void ACloseWritesACheckpointAfterManySmallTransactionsEvenIfTheirBytesAreFew()
    {
        var expected = DatabaseWithCheckpoint(2);
        // 300 transactions of one small object: far less than a megabyte, but each one an open would scan.
        using (var storage = FileStorage.Open(_path))
            Fill(storage, expected, 300, perTransaction: 1);
        Assert.True(new FileInfo(_path).Length < 1 << 20);

        using var reopened = FileStorage.Open(_path);
        Assert.Null(reopened.CheckpointRejection);
        Assert.Equal(0, reopened.TransactionsScanned);
        expected.Check(reopened);
    }

    [Fact]
    public void NoCheckpointIsWrittenForASmallTail()
    {
        using (var storage = FileStorage.Open(_path))
            Fill(storage, new Expected(), 10);

        Assert.False(File.Exists(CheckpointPath));
        using var reopened = FileStorage.Open(_path);
        Assert.Equal("there is no checkpoint", reopened.CheckpointRejection);
        Assert.Equal(10, reopened.TransactionsScanned);
    }

    [Fact]
    public void AWriterCheckpointsInTheBackgroundAsTheFileGrows()
    {
        var expected = new Expected();
        using (var storage = FileStorage.Open(_path))
        {
            storage.BackgroundCheckpointInterval = 4096;
            var deadline = DateTime.UtcNow.AddSeconds(20);
            while (!File.Exists(CheckpointPath))
            {
                Assert.True(DateTime.UtcNow < deadline, "no background checkpoint was written");
                Fill(storage, expected, 5);
            }
        }

        using var reopened = FileStorage.Open(_path);
        Assert.Null(reopened.CheckpointRejection);
        Assert.True(reopened.OpenScanStart > 64);
        expected.Check(reopened);
    }

    [Fact]
    public void AMissingCheckpointMeansAFullScan()
    {
        var expected = DatabaseWithCheckpoint();
        File.Delete(CheckpointPath);

        OpensByScanningTheWholeFile(expected, "there is no checkpoint");
    }

    /// <summary>Opens the file of <see cref="DatabaseWithCheckpoint"/> and checks that opening did not use the checkpoint, for the reason given, and reads what was committed.</summary>
    private void OpensByScanningTheWholeFile(Expected expected, string rejection)
    {
        using var storage = FileStorage.Open(_path);
        Assert.Equal(rejection, storage.CheckpointRejection);
        Assert.Equal(20, storage.TransactionsScanned);
        expected.Check(storage);
    }

    [Theory]
    [InlineData(0)]       // signature
    [InlineData(20)]      // database id
    [InlineData(41)]      // covered end
    [InlineData(49)]      // last tid
    [InlineData(80)]      // object count
    [InlineData(98)]      // the first page's object count
    [InlineData(100)]     // the first page's first slot
    [InlineData(-1)]      // the last offset
    public void ADamagedCheckpointIsIgnored(int where)
    {
        var expected = DatabaseWithCheckpoint();
        CorruptCheckpoint(bytes => bytes[where >= 0 ? where : bytes.Length + where] ^= 0x10, fixChecksum: false);

        using var storage = FileStorage.Open(_path);
        Assert.NotNull(storage.CheckpointRejection);
        Assert.Equal(20, storage.TransactionsScanned);
        expected.Check(storage);
    }

    [Fact]
    public void ACheckpointCutShortIsIgnored()
    {
        var expected = DatabaseWithCheckpoint();
        var bytes = File.ReadAllBytes(CheckpointPath);
        File.WriteAllBytes(CheckpointPath, bytes[..^8]);

        using var storage = FileStorage.Open(_path);
        Assert.Contains("sizes", storage.CheckpointRejection);
        expected.Check(storage);
    }

    [Fact]
    public void AnotherDatabasesCheckpointIsIgnored()
    {
        var other = _directory.File("other.persist");
        using (var storage = FileStorage.Open(other))
        {
            Fill(storage, new Expected(), 30);
            storage.Checkpoint();
        }
        var expected = DatabaseWithCheckpoint();
        File.Copy(other + ".index", CheckpointPath, overwrite: true);

        using var reopened = FileStorage.Open(_path);
        Assert.Contains("another database", reopened.CheckpointRejection);
        Assert.Equal(20, reopened.TransactionsScanned);
        expected.Check(reopened);
    }

    [Fact]
    public void ACheckpointBeyondTheEndOfTheFileIsIgnored()
    {
        // The data file was put back to an older copy; the checkpoint speaks of a longer file.
        var expected = new Expected();
        var backup = _directory.File("backup.persist");
        using (var storage = FileStorage.Open(_path))
        {
            Fill(storage, expected, 10);
            File.Copy(_path, backup);
            Fill(storage, new Expected(), 10);
            storage.Checkpoint();
        }
        File.Copy(backup, _path, overwrite: true);

        using var reopened = FileStorage.Open(_path);
        Assert.Contains("bytes long", reopened.CheckpointRejection);
        expected.Check(reopened);
    }

    [Fact]
    public void AWriterReplacesTheCheckpointOfTheLongerFileABackupWasRestoredOver()
    {
        // The data file was put back to an older copy while the checkpoint of the longer file stayed
        // beside it: each open rejects that checkpoint, so the next writer to close after a large tail
        // must write one of the restored file, not take the stale one, which claims to cover more than
        // the file holds, for another process's.
        var expected = new Expected();
        var backup = _directory.File("backup.persist");
        using (var storage = FileStorage.Open(_path))
        {
            Fill(storage, expected, 10);
            File.Copy(_path, backup);
            LargeTail(storage, new Expected());
            LargeTail(storage, new Expected());
        }
        Assert.True(File.Exists(CheckpointPath));
        File.Copy(backup, _path, overwrite: true);

        using (var storage = FileStorage.Open(_path))
        {
            Assert.Contains("bytes long", storage.CheckpointRejection);
            LargeTail(storage, expected);
        }

        OpensFromTheCheckpointAlone(expected);
    }

    [Fact]
    public void ACheckpointOfAFileThatWasRestoredAndWrittenAnewIsIgnored()
    {
        // The same number of transactions of the same sizes after a restore: the transaction that ends
        // at the checkpoint's offset has the recorded tid, but not the recorded checksum.
        var backup = _directory.File("backup.persist");
        Oid oid;
        using (var storage = FileStorage.Open(_path))
        {
            oid = storage.NewOid();
            Commit(storage, (oid, 0, Make("first")));
            File.Copy(_path, backup);
            Commit(storage, (oid, storage.LastTid, Make("AAAAA")));
            storage.Checkpoint();
        }
        File.Copy(backup, _path, overwrite: true);
        using (var storage = FileStorage.Open(_path))
            Commit(storage, (oid, storage.LastTid, Make("BBBBB")));

        using var reopened = FileStorage.Open(_path);
        Assert.Contains("no transaction ends where the checkpoint says", reopened.CheckpointRejection);
        Assert.Equal("BBBBB", Text(reopened.Load(oid)));
    }

    [Fact]
    public void ACheckpointWhoseLastTidDoesNotMatchIsIgnored()
    {
        var expected = DatabaseWithCheckpoint();
        CorruptCheckpoint(bytes => BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(48), expected.LastTid - 1), fixChecksum: true);

        using var storage = FileStorage.Open(_path);
        Assert.Contains($"not {expected.LastTid - 1}", storage.CheckpointRejection);
        expected.Check(storage);
    }

    [Fact]
    public void ACheckpointOfFewObjectsAmongManyOidsIsSampledAtTheObjectsItHas()
    {
        var expected = DatabaseWithCheckpoint(40);
        var lastTransaction = expected.Revisions.Where(r => r.Tid == expected.LastTid).Select(r => r.Oid.Value).ToHashSet();
        var wrong = 0UL;
        RewriteCheckpoint(index =>
        {
            // The evenly spread points the sample starts from hold no object (as after a pack that dropped
            // most), and the first object after one of them points at another object's record.
            var limit = index.SlotLimit;
            ulong Point(int k) => limit * (ulong)k / 32;
            for (var k = 1; k < 32; k++)
            {
                if (!lastTransaction.Contains(Point(k))) index.Set(Point(k), 0);
            }
            for (var k = 1; k < 31 && wrong == 0; k++)
            {
                var next = index.NextWithRevision(Point(k), Point(k + 1));
                if (index.Find(Point(k)) == 0 && next < Point(k + 1) && !lastTransaction.Contains(next)) wrong = next;
            }
            Assert.NotEqual(0UL, wrong);
            index.Set(wrong, index.Find(index.NextWithRevision(wrong + 1, limit)));
        });

        using var storage = FileStorage.Open(_path);
        Assert.Contains($"oid {wrong}", storage.CheckpointRejection);
        expected.Check(storage);
    }

    [Fact]
    public void ACheckpointThatPointsAnObjectElsewhereIsCaughtBySampling()
    {
        var expected = DatabaseWithCheckpoint(40);
        // The first sampled slot past zero, pointed at another object's record.
        var sampled = 0UL;
        RewriteCheckpoint(index =>
        {
            sampled = index.SlotLimit / 32;
            index.Set(sampled, index.Find(sampled + 1));
        });

        using var storage = FileStorage.Open(_path);
        Assert.Contains($"oid {sampled}", storage.CheckpointRejection);
        expected.Check(storage);
    }

    [Fact]
    public void ACheckpointThatPointsAnObjectInADensePageElsewhereIsCaughtBySampling()
    {
        // The sample is taken while the dense pages stream by, not from pages kept in memory.
        var (expected, _) = DenseDatabase();
        var sampled = 0UL;
        RewriteCheckpoint(index =>
        {
            // The first sampled slot in page 1, which is dense.
            var k = (int)((1UL << FileStorageIndex.PageShift) * 32 / index.SlotLimit) + 1;
            sampled = index.SlotLimit * (ulong)k / 32;
            Assert.NotNull(index.DensePage((int)(sampled >> FileStorageIndex.PageShift), out _));
            index.Set(sampled, index.Find(sampled + 1));
        });

        using var storage = FileStorage.Open(_path);
        Assert.Contains($"oid {sampled} ", storage.CheckpointRejection);
        expected.Check(storage);
    }

    [Fact]
    public void ATailThatDoesNotFollowFromTheCheckpointMeansAFullScan()
    {
        // A checkpoint that says an object has no revision yet, when the tail updates it: the tail's
        // previous-revision link disagrees, so the checkpoint is dropped rather than the file called damaged.
        var expected = new Expected();
        Oid victim;
        using (var storage = FileStorage.Open(_path))
        {
            Fill(storage, expected, 5);
            victim = expected.Current.Keys.First(o => o.Value % 32 != 0);
            storage.Checkpoint();
            expected.Commit(storage, (victim, "changed after the checkpoint"));
        }
        RewriteCheckpoint(index => index.Set(victim.Value, 0));

        using var reopened = FileStorage.Open(_path);
        Assert.Contains("do not follow", reopened.CheckpointRejection);
        Assert.Equal(6, reopened.TransactionsScanned);
        expected.Check(reopened);
    }

    [Theory]
    [InlineData(1)]    // the transaction's header
    [InlineData(40)]   // its first record
    [InlineData(-20)]  // its last record
    [InlineData(-1)]   // the commit marker
    public void TheLastTransactionTheCheckpointCoversDamagedIsReportedNotRemovedAsACrashsTail(int where)
    {
        // The checkpoint was written after the file was flushed, and the trailer of the transaction it
        // ends at is the one it recorded: that transaction was whole on disk, so bytes of it that no
        // longer read are damage. Taken for a crash's unfinished write, it was cut off: a committed
        // transaction lost without a word.
        var expected = new Expected();
        long start, end;
        using (var storage = FileStorage.Open(_path))
        {
            Fill(storage, expected, 5);
            start = new FileInfo(_path).Length;
            Fill(storage, expected, 1);
            storage.Checkpoint();
        }
        end = new FileInfo(_path).Length;
        var bytes = File.ReadAllBytes(_path);
        bytes[where >= 0 ? start + where : end + where] ^= 0x5A;
        File.WriteAllBytes(_path, bytes);

        foreach (var readOnly in new[] { false, true })
        {
            var error = Assert.Throws<CorruptDatabaseException>(() => FileStorage.Open(_path, new FileStorageOptions { ReadOnly = readOnly }));
            Assert.Equal(start, error.Offset);
            Assert.Contains("index checkpoint", error.Message);
            Assert.Contains("delete the checkpoint and the lock file", error.Message);
        }
        Assert.Equal(end, new FileInfo(_path).Length);
        var report = FileStorage.Verify(_path);
        Assert.Null(report.IncompleteTailOffset);
        Assert.Equal(start, Assert.Single(report.Problems).Offset);

        // What the message says to do for a copy put in place: without the checkpoint, the lock file still
        // shows the end was flushed whole (and its own message says to delete it); without both, the damaged
        // end is taken as a crash's and removed.
        File.Delete(CheckpointPath);
        Assert.Contains("delete the lock file", Assert.Throws<CorruptDatabaseException>(() => FileStorage.Open(_path)).Message);
        File.Delete(_path + ".lock");
        using var reopened = FileStorage.Open(_path);
        Assert.Equal(expected.LastTid - 1, reopened.LastTid);
        Assert.Equal(start, new FileInfo(_path).Length);
    }

    [Fact]
    public void AFileCutShortInsideTheLastTransactionTheCheckpointCoversIsACopysEndAndIsRemoved()
    {
        // A copy taken while the last transaction was being written, put in place with a checkpoint
        // written later: shorter than the checkpoint's end, so the checkpoint vouches for nothing in it.
        var expected = new Expected();
        long start;
        using (var storage = FileStorage.Open(_path))
        {
            Fill(storage, expected, 5);
            start = new FileInfo(_path).Length;
            Fill(storage, expected, 1);
            storage.Checkpoint();
        }
        using (var stream = new FileStream(_path, FileMode.Open))
            stream.SetLength(stream.Length - 3);
        Assert.Equal(start, FileStorage.Verify(_path).IncompleteTailOffset);

        using var reopened = FileStorage.Open(_path);
        Assert.StartsWith("the checkpoint covers the data file up to", reopened.CheckpointRejection);
        Assert.Equal(expected.LastTid - 1, reopened.LastTid);
        Assert.Equal(start, new FileInfo(_path).Length);
    }

    [Fact]
    public void ATornTailAfterTheCheckpointIsIgnoredAsBefore()
    {
        var expected = DatabaseWithCheckpoint();
        var covered = new FileInfo(_path).Length;
        using (var storage = FileStorage.Open(_path))
            Fill(storage, new Expected(), 1);
        using (var stream = new FileStream(_path, FileMode.Open))
            stream.SetLength(stream.Length - 5);

        using (var reader = FileStorage.Open(_path, new FileStorageOptions { ReadOnly = true }))
            expected.Check(reader);
        using (var storage = FileStorage.Open(_path))
        {
            Assert.Null(storage.CheckpointRejection);
            expected.Check(storage);
            Fill(storage, expected, 2);
        }
        Assert.True(new FileInfo(_path).Length > covered);
        using var reopened = FileStorage.Open(_path);
        expected.Check(reopened);
    }

    [Fact]
    public void AReadOnlyInstanceUsesTheCheckpointWhileAWriterCommits()
    {
        var expected = DatabaseWithCheckpoint();
        using var writer = FileStorage.Open(_path);
        using var reader = FileStorage.Open(_path, new FileStorageOptions { ReadOnly = true });
        Assert.Null(reader.CheckpointRejection);
        Assert.Equal(0, reader.TransactionsScanned);

        var before = expected.LastTid;
        Fill(writer, expected, 2);
        var changed = reader.Poll(before).ChangedOids;
        Assert.Equal(expected.Revisions.Where(r => r.Tid > before).Select(r => r.Oid).Distinct().Order(), changed.Order());
        expected.Check(reader);
    }

    [Fact]
    public void CheckpointOnAReadOnlyInstanceIsRefused()
    {
        DatabaseWithCheckpoint(2);
        using var reader = FileStorage.Open(_path, new FileStorageOptions { ReadOnly = true });
        Assert.Throws<StorageLockedException>(reader.Checkpoint);
    }

    [Fact]
    public void AnEmptyDatabaseCanBeCheckpointed()
    {
        using (var storage = FileStorage.Open(_path))
            storage.Checkpoint();

        using var reopened = FileStorage.Open(_path);
        Assert.Null(reopened.CheckpointRejection);
        Assert.Equal(0, reopened.LastTid);
        Assert.Equal(Oid.FirstUser, reopened.NewOid());
    }

    [Fact]
    public void HugeOidsSurviveACheckpoint()
    {
        var expected = new Expected();
        using (var storage = FileStorage.Open(_path))
        {
            expected.Commit(storage, (new Oid(1UL << 40), "far"), (new Oid(70_000), "sparse"), (Oid.Root, "root"));
            storage.Checkpoint();
        }

        using var reopened = FileStorage.Open(_path);
        Assert.Null(reopened.CheckpointRejection);
        expected.Check(reopened);
        Assert.True(reopened.NewOid().Value > 1UL << 40);
    }

    [Fact]
    public void AWriterRemovesOldCheckpointTemporariesOnly()
    {
        DatabaseWithCheckpoint(2);
        var old = CheckpointPath + ".deadbeef.tmp";
        var young = CheckpointPath + ".cafebabe.tmp";
        File.WriteAllText(old, "left by a process that died");
        File.WriteAllText(young, "being written by another process");
        File.SetLastWriteTimeUtc(old, DateTime.UtcNow.AddHours(-1));

        using (FileStorage.Open(_path)) { }

        Assert.False(File.Exists(old));
        Assert.True(File.Exists(young));
    }

    [Fact]
    public void TheDirectoryOfARenamedFileIsFlushedOnUnix()
    {
        // The rename of a checkpoint or a packed file is durable only once its directory is flushed.
        Assert.Equal(OperatingSystem.IsLinux() || OperatingSystem.IsMacOS(), FileSystemSync.FlushDirectoryOf(_path));
    }

    [Fact]
    public void TheCheckpointIsReplacedAtomicallyAndLeavesNoTemporary()
    {
        var expected = DatabaseWithCheckpoint();
        using (var storage = FileStorage.Open(_path))
        {
            Fill(storage, expected, 5);
            storage.Checkpoint();
        }

        Assert.Empty(Directory.GetFiles(_directory.Path, "*.tmp"));
        using var reopened = FileStorage.Open(_path);
        Assert.Equal(0, reopened.TransactionsScanned);
        expected.Check(reopened);
    }

    [Fact]
    public void ACheckpointKeepsEachPageInItsFormAndReadsBackTheSameIndex()
    {
        const int size = FileStorageIndex.PageSize;
        var index = new FileStorageIndex();
        for (var oid = 3UL; oid < size; oid++) index.Set(oid, 64 + (long)oid);          // page 0 full
        for (var oid = 3UL; oid < size; oid += 3) index.Set(oid, 0);                    // ... and dense with a third gone
        for (var oid = size + 10UL; oid < 2 * size; oid += 97) index.Set(oid, 7 * (long)oid); // page 1 sparse
        index.Set(5UL * size + size - 1, 12_345);                                       // pages 2-4 empty, page 5 one object in its last slot
        index.Set(9UL * size + 1, 99);
        index.Set(9UL * size + 1, 0);                                                   // page 9 emptied; it stays in the slot count
        index.Set(1UL << 40, 777);
        var path = _directory.File("round-trip.index");
        var info = new CheckpointInfo(Guid.NewGuid(), 42, 1000, 17, 0xABCD);

        FileStorageCheckpoint.WriteFile(path, index, info);
        var loaded = ReadCheckpoint(path);

        var copy = loaded.Index;
        Assert.Equal(info, loaded.Info);
        Assert.Equal(1UL << 40, loaded.HighestOid);
        Assert.Equal(index.Count, copy.Count);
        Assert.Equal(index.SlotLimit, copy.SlotLimit);
        Assert.Equal(index.Oids, copy.Oids);
        for (var oid = 0UL; oid < index.SlotLimit; oid++) Assert.Equal(index.Find(oid), copy.Find(oid));
        Assert.Equal(777, copy.Find(1UL << 40));
        for (var p = 0; p < 10; p++)
        {
            Assert.Equal(index.DensePage(p, out var count) is null, copy.DensePage(p, out var copiedCount) is null);
            Assert.Equal(count, copiedCount);
            Assert.Equal(index.SparsePage(p)?.Count, copy.SparsePage(p)?.Count);
        }
        Assert.NotNull(copy.DensePage(0, out _));
        Assert.NotNull(copy.SparsePage(1));
        Assert.NotNull(copy.SparsePage(5));
        Assert.Null(copy.SparsePage(9));
        // One dense page and the sparse objects, not 8 bytes for each of the ten pages' oids.
        Assert.True(new FileInfo(path).Length < 2 * size * sizeof(long), $"{new FileInfo(path).Length} bytes");

        // The copy is an index like any other.
        copy.Set(size + 11, 5);
        copy.Set(4, 0);
        Assert.Equal(5, copy.Find(size + 11));
        Assert.Equal(0, copy.Find(4));
        Assert.Equal(index.Count, copy.Count);
        // Its dense page, counted on that first change, goes sparse and then away as its objects do.
        foreach (var oid in copy.Oids.Where(o => o < size).ToList()) copy.Set(oid, 0);
        Assert.Null(copy.DensePage(0, out _));
        Assert.Null(copy.SparsePage(0));
        Assert.Equal(copy.Oids.Count(), copy.Count);
        Assert.Equal(index.Count - index.Oids.Count(o => o < size) + 1, copy.Count); // + 1: oid size + 11
    }

    [Fact]
    public void ASparsePageOutOfOrderIsRejectedEvenWithAValidChecksum()
    {
        var expected = DatabaseWithCheckpoint();
        // The first page's first two slots swapped.
        CorruptCheckpoint(bytes =>
        {
            var first = BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(100));
            bytes.AsSpan(102, 2).CopyTo(bytes.AsSpan(100));
            BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(102), first);
        }, fixChecksum: true);

        OpensByScanningTheWholeFile(expected, "the checkpoint's page 0 is not well formed");
    }

    [Fact]
    public void ACheckpointOfTheFirstVersionIsNotUsedAndTheWriterReplacesIt()
    {
        // Written by an earlier release: every offset up to the slot count, 0 for none.
        var expected = new Expected();
        using (var storage = FileStorage.Open(_path))
        {
            LargeTail(storage, expected);
            storage.Checkpoint();
        }
        var index = ReadCheckpoint().Index;
        var header = File.ReadAllBytes(CheckpointPath)[..FileStorageCheckpoint.HeaderSize];
        var firstVersion = new byte[FileStorageCheckpoint.HeaderSize + 8 * (int)index.SlotLimit];
        header.CopyTo(firstVersion, 0);
        BinaryPrimitives.WriteUInt32LittleEndian(firstVersion.AsSpan(8), 1);
        for (var oid = 0UL; oid < index.SlotLimit; oid++)
            BinaryPrimitives.WriteInt64LittleEndian(firstVersion.AsSpan(FileStorageCheckpoint.HeaderSize + 8 * (int)oid), index.Find(oid));
        File.WriteAllBytes(CheckpointPath, firstVersion);
        CorruptCheckpoint(_ => { }, fixChecksum: true);
        firstVersion = File.ReadAllBytes(CheckpointPath);

        using (var reader = FileStorage.Open(_path, new FileStorageOptions { ReadOnly = true }))
        {
            Assert.Equal("the checkpoint has another format version", reader.CheckpointRejection);
            Assert.Equal(4, reader.TransactionsScanned);
            expected.Check(reader);
        }
        Assert.Equal(firstVersion, File.ReadAllBytes(CheckpointPath));
        using (var writer = FileStorage.Open(_path))
        {
            Assert.Equal("the checkpoint has another format version", writer.CheckpointRejection);
            expected.Check(writer);
        }

        // The writer closed with over a megabyte the checkpoint did not cover: it wrote one of this version.
        Assert.Equal(FileStorageCheckpoint.Version, BinaryPrimitives.ReadUInt32LittleEndian(File.ReadAllBytes(CheckpointPath).AsSpan(8)));
        OpensFromTheCheckpointAlone(expected);
    }

    [Fact]
    public void AfterAPackDropsMostObjectsTheIndexAndItsCheckpointAreAFractionOfTheirDenseSize()
    {
        // A long-running program's file: 300,000 objects made, 90% of them dropped at random, then a pack.
        const int objects = 300_000;
        var random = new Random(11);
        var kept = new List<Oid>();
        ulong highest = 0;
        using (var storage = FileStorage.Open(_path, new FileStorageOptions { Durability = Durability.Relaxed }))
        {
            for (var made = 0; made < objects; made += 1000)
            {
                using var transaction = storage.Begin();
                for (var i = 0; i < 1000; i++)
                {
                    var oid = storage.NewOid();
                    transaction.Store(oid, 0, Make($"object {oid.Value}"));
                    if (random.Next(10) == 0) kept.Add(oid);
                    highest = oid.Value;
                }
                transaction.Vote();
                transaction.Finish();
            }
            Commit(storage, (Oid.Root, 0, Make("root", [.. kept])));
            storage.Pack();

            // What the index and its checkpoint were: 8 bytes for every oid ever handed out.
            var denseBytes = (long)(highest + 1) * sizeof(long);
            Assert.True(storage.IndexBytes < denseBytes / 4, $"{storage.IndexBytes:N0} bytes in memory for {kept.Count + 1:N0} objects; dense {denseBytes:N0}");
            var checkpointBytes = new FileInfo(CheckpointPath).Length;
            Assert.True(checkpointBytes < denseBytes / 4, $"{checkpointBytes:N0} bytes on disk for {kept.Count + 1:N0} objects; dense {denseBytes:N0}");
        }

        using var reopened = FileStorage.Open(_path);
        Assert.Null(reopened.CheckpointRejection);
        Assert.Equal(0, reopened.TransactionsScanned);
        foreach (var oid in kept) Assert.Equal($"object {oid.Value}", Text(reopened.Load(oid)));
        Assert.True(reopened.IndexBytes < (long)(highest + 1) * sizeof(long) / 4);
    }
}
