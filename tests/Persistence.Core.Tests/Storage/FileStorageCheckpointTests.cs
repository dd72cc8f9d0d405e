using System.Buffers.Binary;
using Persistence.Storage;
using static Persistence.Tests.Storage.TestRecords;

namespace Persistence.Tests.Storage;

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

    private Expected DatabaseWithCheckpoint(int transactions = 20)
    {
        var expected = new Expected();
        using var storage = FileStorage.Open(_path);
        Fill(storage, expected, transactions);
        storage.Checkpoint();
        return expected;
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

        using var storage = FileStorage.Open(_path);
        Assert.Equal("there is no checkpoint", storage.CheckpointRejection);
        Assert.Equal(20, storage.TransactionsScanned);
        expected.Check(storage);
    }

    [Theory]
    [InlineData(0)]       // signature
    [InlineData(20)]      // database id
    [InlineData(41)]      // covered end
    [InlineData(49)]      // last tid
    [InlineData(80)]      // object count
    [InlineData(100)]     // an offset
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
    public void ACheckpointThatPointsAnObjectElsewhereIsCaughtBySampling()
    {
        var expected = DatabaseWithCheckpoint(40);
        var slots = BinaryPrimitives.ReadUInt64LittleEndian(File.ReadAllBytes(CheckpointPath).AsSpan(72));
        // The first sampled slot past zero, pointed at another object's record.
        var sampled = (int)(slots / 32);
        var other = sampled + 1;
        CorruptCheckpoint(bytes =>
        {
            var wrong = BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan(96 + 8 * other));
            BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(96 + 8 * sampled), wrong);
        }, fixChecksum: true);

        using var storage = FileStorage.Open(_path);
        Assert.Contains($"oid {sampled}", storage.CheckpointRejection);
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
        CorruptCheckpoint(bytes => BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(96 + 8 * (int)victim.Value), 0), fixChecksum: true);

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
            Assert.Contains("delete the checkpoint", error.Message);
        }
        Assert.Equal(end, new FileInfo(_path).Length);
        var report = FileStorage.Verify(_path);
        Assert.Null(report.IncompleteTailOffset);
        Assert.Equal(start, Assert.Single(report.Problems).Offset);

        // What the message says to do for a copy put in place: without the checkpoint, the damaged end
        // is taken as a crash's and removed.
        File.Delete(CheckpointPath);
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
}
