using System.Buffers.Binary;
using System.Diagnostics;
using System.Text;
using Persistence.Storage;
using static Persistence.Tests.Storage.TestRecords;

namespace Persistence.Tests.Storage;

public sealed class FileStorageTests : IDisposable
{
    private readonly TempDirectory _directory = new();
    private readonly string _path;

    public FileStorageTests() => _path = _directory.File("data.persist");

    public void Dispose() => _directory.Dispose();


    private long FileLength => new FileInfo(_path).Length;

    /// <summary>A database of four transactions; returns where each one starts, plus the file's end.</summary>
    private (long[] Starts, long[] Tids, Oid[] Oids) FourTransactions()
    {
        using var storage = FileStorage.Open(_path);
        var oids = Enumerable.Range(0, 4).Select(_ => storage.NewOid()).ToArray();
        var starts = new List<long>();
        var tids = new List<long>();
        for (var i = 0; i < 4; i++)
        {
            starts.Add(FileLength);
            tids.Add(Commit(storage, (oids[i], 0, Make($"object {i}")), (Oid.Root, i == 0 ? 0 : tids[^1], Make($"root {i}", oids[..(i + 1)]))));
        }
        starts.Add(FileLength);
        return ([.. starts], [.. tids], oids);
    }

    // ---- creating and reopening ----

    [Fact]
    public void OpeningCreatesTheFileWithAHeader()
    {
        using (var storage = FileStorage.Open(_path))
        {
            Assert.Equal(FileStorage.WithLinksResolved(Path.GetFullPath(_path)), storage.FilePath);
            Assert.Equal(64, FileLength);
        }
        Assert.Equal([0x89, (byte)'P', (byte)'S', (byte)'T', 0x0D, 0x0A, 0x1A, 0x0A], File.ReadAllBytes(_path)[..8]);
        using var reopened = FileStorage.Open(_path);
        Assert.Equal(0, reopened.LastTid);
    }

    [Fact]
    public void ReopeningFindsEverythingCommitted()
    {
        var expected = new Dictionary<Oid, (long Tid, string Text)>();
        long lastTid;
        Oid lastOid;
        using (var storage = FileStorage.Open(_path))
        {
            var oids = Enumerable.Range(0, 50).Select(_ => storage.NewOid()).ToArray();
            for (var round = 0; round < 5; round++)
            {
                using var transaction = storage.Begin();
                foreach (var oid in oids.Where((_, i) => i % (round + 1) == 0))
                    transaction.Store(oid, expected.TryGetValue(oid, out var old) ? old.Tid : 0, Make($"{oid} in round {round}"));
                transaction.Vote();
                var tid = transaction.Finish();
                foreach (var oid in oids.Where((_, i) => i % (round + 1) == 0))
                    expected[oid] = (tid, $"{oid} in round {round}");
            }
            lastTid = storage.LastTid;
            lastOid = oids[^1];
        }

        using var reopened = FileStorage.Open(_path);
        Assert.Equal(lastTid, reopened.LastTid);
        foreach (var (oid, (tid, text)) in expected)
        {
            Assert.Equal(tid, reopened.Load(oid)!.Value.Tid);
            Assert.Equal(text, Text(reopened.Load(oid)));
        }
        Assert.True(reopened.NewOid().Value > lastOid.Value);
    }

    [Fact]
    public void AnAbortedTransactionWritesNothing()
    {
        using var storage = FileStorage.Open(_path);
        Commit(storage, (storage.NewOid(), 0, Make("kept")));
        var length = FileLength;

        using (var transaction = storage.Begin())
        {
            transaction.Store(storage.NewOid(), 0, Make("dropped"));
            transaction.Vote();
            transaction.Abort();
        }

        Assert.Equal(length, FileLength);
        Assert.DoesNotContain("dropped", Encoding.UTF8.GetString(File.ReadAllBytes(_path)));
    }

    [Fact]
    public void ATransactionLargerThanTheWriteBufferIsWrittenWhole()
    {
        var state = new byte[300_000];
        new Random(1).NextBytes(state);
        Oid[] oids;
        using (var storage = FileStorage.Open(_path))
        {
            oids = Enumerable.Range(0, 40).Select(_ => storage.NewOid()).ToArray();
            using var transaction = storage.Begin();
            for (var i = 0; i < oids.Length; i++)
            {
                state[0] = (byte)i;
                transaction.Store(oids[i], 0, Make(state, oids[(i + 1) % oids.Length]));
            }
            transaction.Vote();
            transaction.Finish();
        }

        using var reopened = FileStorage.Open(_path);
        for (var i = 0; i < oids.Length; i++)
        {
            state[0] = (byte)i;
            Assert.Equal(Make(state, oids[(i + 1) % oids.Length]), reopened.Load(oids[i])!.Value.Data.ToArray());
        }
        Assert.Equal(oids.Length, reopened.Iterate().Count());
    }

    // ---- torn tails ----

    [Fact]
    public void ATransactionCutShortAtAnyByteIsRemovedOnOpen()
    {
        Oid first, second;
        long t1, start, end;
        using (var storage = FileStorage.Open(_path))
        {
            first = storage.NewOid();
            second = storage.NewOid();
            t1 = Commit(storage, (first, 0, Make("first")));
            start = FileLength;
            Commit(storage, (first, t1, Make("first, changed")), (second, 0, Make("second", first)));
            end = FileLength;
        }
        var whole = File.ReadAllBytes(_path);
        Assert.InRange(end - start, 60, 400);

        for (var cut = start + 1; cut < end; cut++)
        {
            File.WriteAllBytes(_path, whole[..(int)cut]);

            using (var storage = FileStorage.Open(_path))
            {
                Assert.Equal(t1, storage.LastTid);
                Assert.Equal("first", Text(storage.Load(first)));
                Assert.Null(storage.Load(second));
                Assert.Equal(start, FileLength);
                Assert.True(Commit(storage, (second, 0, Make("again"))) > t1);
            }
            using (var storage = FileStorage.Open(_path))
                Assert.Equal("again", Text(storage.Load(second)));
        }
    }

    [Fact]
    public void ReadOnlyOpeningIgnoresATornTailWithoutRemovingIt()
    {
        var (starts, tids, oids) = FourTransactions();
        var cut = starts[3] + 40;
        using (var stream = new FileStream(_path, FileMode.Open))
            stream.SetLength(cut);

        using (var storage = FileStorage.Open(_path, new FileStorageOptions { ReadOnly = true }))
        {
            Assert.Equal(tids[2], storage.LastTid);
            Assert.Null(storage.Load(oids[3]));
            Assert.Equal(3, storage.Iterate().Count(r => r.Oid == Oid.Root));
        }
        Assert.Equal(cut, FileLength);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(16)]
    [InlineData(40)]
    [InlineData(80)]
    public void GarbageOverTheLastTransactionIsRemovedOnOpen(int garbageBytes)
    {
        var (starts, tids, oids) = FourTransactions();
        Assert.True(garbageBytes < starts[4] - starts[3], "the garbage stays within the last transaction");
        // A crash's unfinished write: no lock file records it as flushed (one that did would make it damage).
        File.Delete(_path + ".lock");
        var bytes = File.ReadAllBytes(_path);
        var garbage = new byte[garbageBytes];
        new Random(garbageBytes).NextBytes(garbage);
        garbage.CopyTo(bytes, bytes.Length - garbageBytes);
        File.WriteAllBytes(_path, bytes);

        using var storage = FileStorage.Open(_path);
        Assert.Equal(tids[2], storage.LastTid);
        Assert.Null(storage.Load(oids[3]));
        Assert.Equal(starts[3], FileLength);
    }

    [Fact]
    public void GarbageAfterTheLastTransactionIsRemovedOnOpen()
    {
        var (starts, tids, _) = FourTransactions();
        var garbage = new byte[5000];
        new Random(3).NextBytes(garbage);
        using (var stream = new FileStream(_path, FileMode.Append))
            stream.Write(garbage);

        using var storage = FileStorage.Open(_path);
        Assert.Equal(tids[3], storage.LastTid);
        Assert.Equal(starts[4], FileLength);
    }

    [Fact]
    public void ZerosAfterTheLastTransactionAreFreeSpaceThatTheNextCommitIsWrittenOver()
    {
        var (starts, tids, oids) = FourTransactions();
        using (var stream = new FileStream(_path, FileMode.Append))
            stream.Write(new byte[5000]);

        using var storage = FileStorage.Open(_path);
        Assert.Equal(tids[3], storage.LastTid);
        Assert.Equal(starts[4] + 5000, FileLength);
        var tid = Commit(storage, (oids[0], tids[0], Make("over the zeros")));
        Assert.Equal(starts[4] + 5000, FileLength);
        Assert.Equal(Make("over the zeros"), storage.Load(oids[0])!.Value.Data.ToArray());

        using var reopened = FileStorage.Open(_path, new FileStorageOptions { ReadOnly = true });
        Assert.Equal(tid, reopened.LastTid);
        Assert.Equal(Make("over the zeros"), reopened.Load(oids[0])!.Value.Data.ToArray());
        var report = FileStorage.Verify(_path);
        Assert.True(report.IsValid, report.ToString());
        Assert.Null(report.IncompleteTailOffset);
    }

    [Fact]
    public void RecordBytesThatLookLikeATransactionDoNotTurnATornTailIntoDamage()
    {
        // A record may hold anything, a copy of another database included. Here the last transaction
        // stores a complete transaction of another database (with a tid ahead of this one's) and then
        // loses its commit marker: that is still a torn tail, not damage followed by a transaction.
        var other = _directory.File("other.persist");
        long embeddedStart;
        using (var storage = FileStorage.Open(other))
        {
            for (var i = 0; i < 5; i++) Commit(storage, (storage.NewOid(), 0, Make($"other {i}")));
            embeddedStart = new FileInfo(other).Length;
            Commit(storage, (storage.NewOid(), 0, Make("embedded")));
        }
        var embedded = File.ReadAllBytes(other)[(int)embeddedStart..];
        long t1;
        using (var storage = FileStorage.Open(_path))
        {
            t1 = Commit(storage, (storage.NewOid(), 0, Make("first")));
            Commit(storage, (storage.NewOid(), 0, Make(embedded)));
        }
        var bytes = File.ReadAllBytes(_path);
        bytes[^1] ^= 0xFF;
        File.WriteAllBytes(_path, bytes);
        // Unfinished, not flushed: no lock file records it as on disk.
        File.Delete(_path + ".lock");

        using var reopened = FileStorage.Open(_path);
        Assert.Equal(t1, reopened.LastTid);
    }

    [Fact]
    public void AHalfWrittenFileHeaderIsCompletedOnOpen()
    {
        File.WriteAllBytes(_path, [0x89, (byte)'P', (byte)'S']);

        using (var storage = FileStorage.Open(_path))
            Commit(storage, (storage.NewOid(), 0, Make("x")));

        using var reopened = FileStorage.Open(_path);
        Assert.Equal("x", Text(reopened.Load(Oid.FirstUser)));
    }

    // ---- damage ----

    [Theory]
    [InlineData(0)]    // transaction magic
    [InlineData(9)]    // tid
    [InlineData(17)]   // length
    [InlineData(33)]   // first data record's oid
    [InlineData(50)]   // its previous-revision offset
    [InlineData(70)]   // its record bytes
    [InlineData(-12)]  // the trailer's repeated length
    [InlineData(-6)]   // the trailer's checksum
    [InlineData(-1)]   // the commit marker
    public void AByteFlippedInAMiddleTransactionIsReportedWithItsOffset(int where)
    {
        var (starts, _, _) = FourTransactions();
        var damaged = starts[1];
        var position = where >= 0 ? damaged + where : starts[2] + where;
        var bytes = File.ReadAllBytes(_path);
        bytes[position] ^= 0x20;
        File.WriteAllBytes(_path, bytes);

        var error = Assert.Throws<CorruptDatabaseException>(() => FileStorage.Open(_path));
        Assert.Equal(damaged, error.Offset);
        Assert.Contains($"offset {damaged}", error.Message);
        Assert.Contains("backup", error.Message);
        // Damage is reported, never cut off.
        Assert.Equal(bytes.Length, FileLength);
        Assert.Throws<CorruptDatabaseException>(() => FileStorage.Open(_path, new FileStorageOptions { ReadOnly = true }));
    }

    [Fact]
    public void AnImpossibleLengthInAMiddleTransactionIsReported()
    {
        var (starts, _, _) = FourTransactions();
        var bytes = File.ReadAllBytes(_path);
        var header = bytes.AsSpan((int)starts[1], 32);
        BinaryPrimitives.WriteInt64LittleEndian(header[16..], 20);
        BinaryPrimitives.WriteUInt32LittleEndian(header[28..], Crc32C.Compute(header[..28]));
        File.WriteAllBytes(_path, bytes);

        var error = Assert.Throws<CorruptDatabaseException>(() => FileStorage.Open(_path));
        Assert.Equal(starts[1], error.Offset);
        Assert.Contains("impossible", error.Message);
    }

    [Fact]
    public void ADamagedFileHeaderIsReported()
    {
        FourTransactions();
        var bytes = File.ReadAllBytes(_path);
        bytes[20] ^= 1;
        File.WriteAllBytes(_path, bytes);

        Assert.Equal(0, Assert.Throws<CorruptDatabaseException>(() => FileStorage.Open(_path)).Offset);
    }

    [Fact]
    public void ARecordDamagedAfterOpeningIsReportedWhenLoaded()
    {
        var (starts, _, oids) = FourTransactions();
        using var storage = FileStorage.Open(_path);
        var recordOffset = starts[2] + 32;
        using (var stream = new FileStream(_path, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite))
        {
            stream.Position = recordOffset + DataHeaderSizeAt(_path, recordOffset) + 2;
            var b = stream.ReadByte();
            stream.Position--;
            stream.WriteByte((byte)(b ^ 1));
        }

        var error = Assert.Throws<CorruptDatabaseException>(() => storage.Load(oids[2]));
        Assert.Equal(oids[2], error.Oid);
        Assert.Equal(recordOffset, error.Offset);
        Assert.Equal("object 3", Text(storage.Load(oids[3])));
    }

    [Fact]
    public void ARecordWhoseTidNoTransactionHasIsDamageNotARevisionNewerThanTheSnapshot()
    {
        // Enough objects that the checkpoint's check of a sample of its entries passes over the damaged one.
        Oid[] oids;
        long first, second, third, recordOffset;
        using (var storage = FileStorage.Open(_path))
        {
            oids = Enumerable.Range(0, 300).Select(_ => storage.NewOid()).ToArray();
            first = Commit(storage, [.. oids.Select(oid => (oid, 0L, Make($"object {oid.Value}")))]);
            second = Commit(storage, (Oid.Root, 0, Make("root", oids)));
            third = Commit(storage, (oids[0], first, Make("changed")));
            storage.Checkpoint();
            recordOffset = storage.NewestOffset(oids[2]);
        }
        // The header of the only revision of oids[2] is given a tid beyond the last transaction's, every
        // checksum made to hold again: the checkpoint covers it, so opening does not read it.
        var bytes = File.ReadAllBytes(_path);
        Assert.True(FileStorageFormat.TryReadDataHeader(bytes.AsSpan((int)recordOffset), recordOffset, out var header));
        Assert.Equal(oids[2].Value, header.Oid);
        // The oid and the tid are one byte each.
        var tidAt = (int)recordOffset + 5;
        Assert.Equal(first, bytes[tidAt]);
        bytes[tidAt] |= 0x40;
        var damagedTid = (long)bytes[tidAt];
        MakeChecksumsHold(bytes, recordOffset);
        File.WriteAllBytes(_path, bytes);

        using var reopened = FileStorage.Open(_path, new FileStorageOptions { ReadOnly = true });
        Assert.Equal(third, reopened.LastTid);
        var error = Assert.Throws<CorruptDatabaseException>(() => reopened.LoadBefore(oids[2], reopened.LastTid + 1));
        Assert.Equal(oids[2], error.Oid);
        Assert.Equal(recordOffset, error.Offset);
        Assert.Contains($"tid {damagedTid}", error.Message);
        // A revision newer than the snapshot asked for is not damage: an older one is read, and before
        // an object's first revision there is none.
        Assert.Equal($"object {oids[0].Value}", Text(reopened.LoadBefore(oids[0], third)));
        Assert.Null(reopened.LoadBefore(Oid.Root, second));
        Assert.Equal($"object {oids[1].Value}", Text(reopened.LoadBefore(oids[1], second)));
    }

    [Fact]
    public void AFileThatIsNotADatabaseIsRefusedAndLeftAlone()
    {
        var text = "These are my notes, not a database. " + new string('x', 200);
        File.WriteAllText(_path, text);

        var error = Assert.Throws<PersistenceException>(() => FileStorage.Open(_path));
        Assert.IsNotType<CorruptDatabaseException>(error);
        Assert.Contains("not a Persistence database", error.Message);
        Assert.Equal(text, File.ReadAllText(_path));
        // The open created a lock file and takes it away again: a mistaken path leaves nothing behind.
        Assert.False(File.Exists(_path + ".lock"));

        File.WriteAllText(_path, "short");
        Assert.Contains("not a Persistence database", Assert.Throws<PersistenceException>(() => FileStorage.Open(_path)).Message);
        Assert.Equal("short", File.ReadAllText(_path));
        Assert.False(File.Exists(_path + ".lock"));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(16)]
    [InlineData(40)]
    public void AFileCutBelowItsHeaderIsDamageWhenTheLockFileShowsItHeldDataAndIsLeftAsItIs(int length)
    {
        FourTransactions();
        var bytes = File.ReadAllBytes(_path)[..length];
        File.WriteAllBytes(_path, bytes);

        foreach (var readOnly in new[] { true, false })
        {
            var error = Assert.Throws<CorruptDatabaseException>(() => FileStorage.Open(_path, new FileStorageOptions { ReadOnly = readOnly }));
            Assert.Equal(0, error.Offset);
            Assert.Contains($"is {length} bytes long, shorter than its 64-byte header, yet the lock file {_path}.lock records", error.Message);
            Assert.Contains("delete the lock file", error.Message);
            Assert.Equal(bytes, File.ReadAllBytes(_path));
        }
        var report = FileStorage.Verify(_path);
        Assert.False(report.IsValid);
        Assert.Equal(0, Assert.Single(report.Problems).Offset);

        // A copy put in place on purpose: without the lock file, the file is a database being created.
        File.Delete(_path + ".lock");
        using (var created = FileStorage.Open(_path)) Assert.Equal(0, created.LastTid);
        // A data file deleted (its lock file stays, as it always does) is a new database too.
        FourTransactions();
        File.Delete(_path);
        using var fresh = FileStorage.Open(_path);
        Assert.Equal(0, fresh.LastTid);
    }

    [Fact]
    public void AZeroedFirstPageIsDamageWhenTheLockFileOrALaterTransactionShowsADatabase()
    {
        using (var storage = FileStorage.Open(_path))
        {
            var oid = storage.NewOid();
            var serial = 0L;
            for (var i = 0; i < 12; i++) serial = Commit(storage, (oid, serial, Make(new string((char)('a' + i), 1000))));
        }
        var bytes = File.ReadAllBytes(_path);
        Assert.True(bytes.Length > 3 * 4096);
        bytes.AsSpan(0, 4096).Clear();
        File.WriteAllBytes(_path, bytes);

        // Shown by the lock file's durable end; then, with the lock file gone, by the transactions after the page.
        foreach (var evidence in new[] { $"the lock file {_path}.lock records", "a complete transaction of a database lies at offset" })
        {
            foreach (var readOnly in new[] { true, false })
            {
                var error = Assert.Throws<CorruptDatabaseException>(() => FileStorage.Open(_path, new FileStorageOptions { ReadOnly = readOnly }));
                Assert.Equal(0, error.Offset);
                Assert.Contains("lacks the signature, yet " + evidence, error.Message);
                Assert.Equal(bytes, File.ReadAllBytes(_path));
            }
            // A read-write open made the lock file if there was none: it stays beside a damaged database.
            Assert.True(File.Exists(_path + ".lock"));
            var report = FileStorage.Verify(_path);
            Assert.False(report.IsValid);
            Assert.Equal(0, report.Problems[0].Offset);
            Assert.Contains("lacks the signature", report.Problems[0].Description);
            File.Delete(_path + ".lock");
        }
    }

    [Fact]
    public void ADirectoryIsRefusedAsSuchAndNothingIsLeftBesideIt()
    {
        var directory = Path.Combine(_directory.Path, "data");
        Directory.CreateDirectory(directory);

        var error = Assert.Throws<PersistenceException>(() => FileStorage.Open(directory));

        Assert.Contains("is a directory", error.Message);
        Assert.False(File.Exists(directory + ".lock"));
        Assert.Contains("is a directory", Assert.Throws<PersistenceException>(() => FileStorage.Open(directory, new FileStorageOptions { ReadOnly = true })).Message);
    }

    [Fact]
    public void ALockFileThatWasThereBeforeAFailedOpenStays()
    {
        // Someone else's file of that name, beside a file that is not a database.
        File.WriteAllText(_path, "These are my notes, not a database.");
        File.WriteAllText(_path + ".lock", "another program's lock");
        Assert.Throws<PersistenceException>(() => FileStorage.Open(_path));
        // (A writer's open maps the lock file's first bytes, growing it with zeros if it is shorter.)
        Assert.StartsWith("another program's lock", File.ReadAllText(_path + ".lock"));

        // A database whose header was damaged: its lock file stays, as it does while the database is in use.
        File.Delete(_path);
        File.Delete(_path + ".lock");
        FourTransactions();
        Assert.True(File.Exists(_path + ".lock"));
        var bytes = File.ReadAllBytes(_path);
        bytes[20] ^= 0xFF;
        File.WriteAllBytes(_path, bytes);
        Assert.Throws<CorruptDatabaseException>(() => FileStorage.Open(_path));
        Assert.True(File.Exists(_path + ".lock"));
    }

    [Theory]
    [InlineData(3u, "newer version")]
    [InlineData(1u, "file format 1, which a development version")]
    public void AFileOfAnotherFormatIsRefusedAndLeftAsItIs(uint version, string message)
    {
        FourTransactions();
        var bytes = File.ReadAllBytes(_path);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(8), version);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(60), Crc32C.Compute(bytes.AsSpan(0, 60)));
        File.WriteAllBytes(_path, bytes);

        var error = Assert.Throws<PersistenceException>(() => FileStorage.Open(_path));
        Assert.IsNotType<CorruptDatabaseException>(error);
        Assert.Contains(message, error.Message);
        Assert.Equal(bytes, File.ReadAllBytes(_path));
    }

    [Fact]
    public void AFlippedBitInTheFormatVersionIsDamageNotANewerVersion()
    {
        FourTransactions();
        var bytes = File.ReadAllBytes(_path);
        // Format 2 reads as 6 (a newer version's number), but the header's checksum no longer holds.
        bytes[8] ^= 4;
        File.WriteAllBytes(_path, bytes);

        foreach (var readOnly in new[] { true, false })
        {
            var error = Assert.Throws<CorruptDatabaseException>(() => FileStorage.Open(_path, new FileStorageOptions { ReadOnly = readOnly }));
            Assert.Equal(0, error.Offset);
            Assert.Contains("file header", error.Message);
            Assert.DoesNotContain("newer version", error.Message);
        }
        Assert.Equal(bytes, File.ReadAllBytes(_path));
    }

    // ---- locking ----

    [Fact]
    public void TwoWritersOnOneFileCommitInTurnAndSeeEachOthersWork()
    {
        using var first = FileStorage.Open(_path);
        using var second = FileStorage.Open(Path.Combine(_directory.Path, ".", "data.persist"));
        var oid = first.NewOid();
        var t1 = Commit(first, (oid, 0, Make("from first")));

        // The second learns of the commit at its next transaction boundary.
        Assert.Null(second.Load(oid));
        Assert.Equal(new[] { oid }, second.Poll(0).ChangedOids);
        Assert.Equal("from first", Text(second.Load(oid)));

        var t2 = Commit(second, (oid, t1, Make("from second")));
        Assert.True(t2 > t1);
        Assert.Equal(new[] { oid }, first.Poll(t1).ChangedOids);
        Assert.Equal("from second", Text(first.Load(oid)));
        Assert.NotEqual(first.NewOid(), second.NewOid());
    }

    [Fact]
    public void AWriterIsRefusedWhileAnotherProcessHoldsTheLock()
    {
        if (!OperatingSystem.IsLinux() || !File.Exists("/usr/bin/flock")) return;
        using (FileStorage.Open(_path)) { }
        // One process holds the lock from start to end (no fork, the shell execs sleep), so killing it releases it.
        using var holder = Process.Start(new ProcessStartInfo("/usr/bin/flock", ["--exclusive", "--no-fork", _path + ".lock", "-c", "echo locked; exec sleep 30"])
        {
            RedirectStandardOutput = true,
        })!;
        try
        {
            Assert.Equal("locked", holder.StandardOutput.ReadLine());

            Assert.Throws<StorageLockedException>(() => FileStorage.Open(_path));
            using var reader = FileStorage.Open(_path, new FileStorageOptions { ReadOnly = true });
            Assert.True(reader.IsReadOnly);
        }
        finally
        {
            holder.Kill();
            holder.WaitForExit();
        }
        using var writer = FileStorage.Open(_path);
    }

    [Fact]
    public void AnotherProcessCannotTakeTheLockWhileAWriterIsOpen()
    {
        if (!OperatingSystem.IsLinux() || !File.Exists("/usr/bin/flock")) return;
        using (FileStorage.Open(_path))
            Assert.Equal(1, RunFlock());
        Assert.Equal(0, RunFlock());

        int RunFlock()
        {
            using var process = Process.Start("/usr/bin/flock", ["--nonblock", "--exclusive", _path + ".lock", "true"]);
            process.WaitForExit();
            return process.ExitCode;
        }
    }

    // ---- read-only ----

    [Fact]
    public void AReadOnlyInstanceSeesAWritersLaterCommitsAfterPoll()
    {
        using var writer = FileStorage.Open(_path);
        var a = writer.NewOid();
        var b = writer.NewOid();
        var t1 = Commit(writer, (a, 0, Make("a1")));
        using var reader = FileStorage.Open(_path, new FileStorageOptions { ReadOnly = true });
        Assert.Equal(t1, reader.LastTid);
        Assert.Equal("a1", Text(reader.Load(a)));

        var t2 = Commit(writer, (a, t1, Make("a2")), (b, 0, Make("b1")));
        Assert.Equal(t1, reader.LastTid);
        Assert.Null(reader.Load(b));

        var changes = reader.Poll(t1);
        Assert.Equal(t2, changes.LastTid);
        Assert.Equal(new[] { a, b }, changes.ChangedOids.Order());
        Assert.Equal(t2, reader.LastTid);
        Assert.Equal("a2", Text(reader.Load(a)));
        Assert.Equal("a1", Text(reader.LoadBefore(a, t2)));
        Assert.Equal("b1", Text(reader.Load(b)));
        Assert.Equal(3, reader.Iterate().Count());

        var t3 = Commit(writer, (b, t2, Make("b2")));
        Assert.Equal(new[] { b }, reader.Poll(t2).ChangedOids);
        Assert.Equal(t3, reader.LastTid);
        Assert.Empty(reader.Poll(t3).ChangedOids);
    }

    [Fact]
    public void AReadOnlyInstanceWaitsOutATransactionBeingWritten()
    {
        var (starts, tids, oids) = FourTransactions();
        var whole = File.ReadAllBytes(_path);
        File.WriteAllBytes(_path, whole[..(int)starts[3]]);
        using var reader = FileStorage.Open(_path, new FileStorageOptions { ReadOnly = true });
        Assert.Equal(tids[2], reader.LastTid);

        using (var stream = new FileStream(_path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite))
            stream.Write(whole.AsSpan((int)starts[3], 50));
        Assert.Empty(reader.Poll(tids[2]).ChangedOids);
        Assert.Null(reader.Load(oids[3]));

        using (var stream = new FileStream(_path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite))
            stream.Write(whole.AsSpan((int)starts[3] + 50));
        Assert.Equal(new[] { Oid.Root, oids[3] }, reader.Poll(tids[2]).ChangedOids.Order());
        Assert.Equal("object 3", Text(reader.Load(oids[3])));
    }

    [Fact]
    public void AReadOnlyInstanceRefusesToWrite()
    {
        using (FileStorage.Open(_path)) { }
        using var reader = FileStorage.Open(_path, new FileStorageOptions { ReadOnly = true });

        Assert.True(reader.IsReadOnly);
        Assert.Throws<StorageLockedException>(() => reader.Begin());
        Assert.Throws<StorageLockedException>(() => reader.NewOid());
    }

    [Fact]
    public void OpeningAMissingFileReadOnlyIsRefused()
    {
        var error = Assert.Throws<PersistenceException>(() => FileStorage.Open(_path, new FileStorageOptions { ReadOnly = true }));
        Assert.Contains("no database", error.Message);
        Assert.False(File.Exists(_path));
    }

    [Fact]
    public void OpeningInAMissingDirectoryIsRefusedClearly()
    {
        var error = Assert.Throws<PersistenceException>(() => FileStorage.Open(_directory.File("missing/data.persist")));
        Assert.Contains("does not exist", error.Message);
    }

    // ---- poll beyond memory ----

    [Fact]
    public void PollFromBeforeOpeningReturnsEveryOid()
    {
        var (_, tids, oids) = FourTransactions();
        using var storage = FileStorage.Open(_path);

        Assert.Equal(oids.Append(Oid.Root).Order(), storage.Poll(tids[2]).ChangedOids.Order());
        Assert.Empty(storage.Poll(tids[3]).ChangedOids);
    }
}
