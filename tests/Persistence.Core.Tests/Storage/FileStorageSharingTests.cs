using System.Buffers.Binary;
using Persistence.Storage;
using Xunit.Abstractions;
using static Persistence.Tests.Storage.TestRecords;

namespace Persistence.Tests.Storage;

/// <summary>
/// Several storages on one file in this process (each takes the commit lock through its own open of
/// the lock file, exactly as another process would), group commit, relaxed durability, and the
/// durable end that tells a tail lost in a system crash from damage.
/// </summary>
public sealed class FileStorageSharingTests : IDisposable
{
    private readonly TempDirectory _directory = new();
    private readonly ITestOutputHelper _output;
    private readonly string _path;

    public FileStorageSharingTests(ITestOutputHelper output)
    {
        _output = output;
        _path = _directory.File("data.persist");
    }

    public void Dispose() => _directory.Dispose();


    private long FileLength => new FileInfo(_path).Length;

    // ---- conflicts and catching up ----

    [Fact]
    public void AVoteReadsWhatOtherWritersAppendedAndDetectsTheConflict()
    {
        using var first = FileStorage.Open(_path);
        using var second = FileStorage.Open(_path);
        var oid = first.NewOid();
        var t1 = Commit(first, (oid, 0, Make("one")));
        second.Poll(0);
        Assert.Equal(t1, second.Load(oid)!.Value.Tid);

        Commit(first, (oid, t1, Make("two")));

        // The second has not polled: only the vote's catching up can know of the commit.
        using var stale = second.Begin();
        stale.Store(oid, t1, Make("lost update"));
        var conflict = Assert.Throws<ConflictException>(stale.Vote);
        Assert.Equal(new[] { oid }, conflict.Oids);
        Assert.Equal("two", Text(second.Load(oid)));
    }

    [Fact]
    public void AnObjectAnotherWriterCreatedIsAConflictForANewObjectUnderItsOid()
    {
        using var first = FileStorage.Open(_path);
        using var second = FileStorage.Open(_path);
        Commit(second, (second.NewOid(), 0, Make("known to both")));
        first.Poll(0);
        // Above every oid the second storage knows of: only the vote's catching up tells it the oid is taken.
        var oid = first.NewOid();
        Commit(first, (oid, 0, Make("first")));

        CreatingAgainConflicts(second, oid, "first");
    }

    /// <summary>Storing <paramref name="oid"/> in <paramref name="storage"/> as a new object (serial 0) is a conflict on it, and the stored object keeps <paramref name="stored"/>.</summary>
    private static void CreatingAgainConflicts(FileStorage storage, Oid oid, string stored)
    {
        using var again = storage.Begin();
        again.Store(oid, 0, Make("created again"));
        var conflict = Assert.Throws<ConflictException>(again.Vote);
        Assert.Equal(new[] { oid }, conflict.Oids);
        Assert.Equal(stored, Text(storage.Load(oid)));
    }

    // Oids at or above 2^63 (stored under oids of their own, as an import does) lie beyond the oid
    // counter, which stops at 2^63 - 1: the vote must look them up rather than take them for new.

    [Fact]
    public void AnObjectStoredUnderAnOidAbove63BitsChangesWithoutAConflict()
    {
        var oid = new Oid((1UL << 63) + 5);
        using var storage = FileStorage.Open(_path);
        var created = Commit(storage, (oid, 0, Make("one")));
        Commit(storage, (oid, created, Make("two")));
        Assert.Equal("two", Text(storage.Load(oid)));
    }

    [Fact]
    public void ANewObjectUnderAStoredOidAbove63BitsIsAConflict()
    {
        var oid = new Oid(ulong.MaxValue - 1);
        using var storage = FileStorage.Open(_path);
        Commit(storage, (oid, 0, Make("imported")));
        CreatingAgainConflicts(storage, oid, "imported");
    }

    [Fact]
    public void NewOidsPastAnOidAbove63BitsNeverReplaceItsObject()
    {
        var imported = new Oid((1UL << 63) + 2);
        using var storage = FileStorage.Open(_path);
        Commit(storage, (imported, 0, Make("imported")));
        // New objects, each under the next new oid; the counter reaches the imported oid on the way.
        var conflicts = 0;
        for (var i = 0; i < 6; i++)
        {
            var oid = storage.NewOid();
            using var transaction = storage.Begin();
            transaction.Store(oid, 0, Make("new " + i));
            try
            {
                transaction.Vote();
                transaction.Finish();
            }
            catch (ConflictException e)
            {
                Assert.Equal(new[] { imported }, e.Oids);
                conflicts++;
            }
        }
        Assert.Equal(1, conflicts);
        Assert.Equal("imported", Text(storage.Load(imported)));
    }

    [Fact]
    public void CreatingTheRootInTwoStoragesAtOnceConflictsInsteadOfOverwriting()
    {
        using var first = FileStorage.Open(_path);
        using var second = FileStorage.Open(_path);
        Commit(first, (Oid.Root, 0, Make("root one")));

        Assert.Throws<ConflictException>(() => Commit(second, (Oid.Root, 0, Make("root two"))));
        Assert.Equal("root one", Text(second.Load(Oid.Root)));
    }

    [Fact]
    public void ConcurrentWritersInOneProcessCommitEverythingWithUniqueTids()
    {
        const int writers = 4;
        const int commits = 30;
        var storages = Enumerable.Range(0, writers).Select(_ => FileStorage.Open(_path)).ToArray();
        try
        {
            var counter = storages[0].NewOid();
            Commit(storages[0], (counter, 0, Make("0")));
            var tids = new List<long>();
            Parallel.For(0, writers, new ParallelOptions { MaxDegreeOfParallelism = writers }, w =>
            {
                var storage = storages[w];
                for (var i = 0; i < commits; i++)
                {
                    while (true)
                    {
                        storage.Poll(0);
                        var current = storage.Load(counter)!.Value;
                        try
                        {
                            var tid = Commit(storage, (counter, current.Tid, Make((int.Parse(Text(current.Data)) + 1).ToString())), (storage.NewOid(), 0, Make($"{w}/{i}")));
                            lock (tids) tids.Add(tid);
                            break;
                        }
                        catch (ConflictException)
                        {
                        }
                    }
                }
            });

            Assert.Equal(writers * commits, tids.Distinct().Count());
            storages[1].Poll(0);
            Assert.Equal((writers * commits).ToString(), Text(storages[1].Load(counter)));
            Assert.True(FileStorage.Verify(_path).IsValid);
        }
        finally
        {
            foreach (var storage in storages) storage.Dispose();
        }
    }

    // ---- oids ----

    [Fact]
    public void OidsFromSeveralStoragesOnOneFileNeverRepeat()
    {
        var storages = Enumerable.Range(0, 3).Select(_ => FileStorage.Open(_path)).ToArray();
        try
        {
            var oids = new Oid[3][];
            Parallel.For(0, 3, i => oids[i] = Enumerable.Range(0, 3000).Select(_ => storages[i].NewOid()).ToArray());

            var all = oids.SelectMany(o => o).ToList();
            Assert.Equal(all.Count, all.Distinct().Count());
        }
        finally
        {
            foreach (var storage in storages) storage.Dispose();
        }
    }

    [Fact]
    public void StoragesTakingTurnsToStoreNewObjectsKeepTheirOidsDense()
    {
        // Each goes on with its own block while the other stores objects under higher oids; leaving its
        // block whenever the file held a higher oid made them leapfrog, each abandoning the rest of its block.
        using var first = FileStorage.Open(_path);
        using var second = FileStorage.Open(_path);
        var oids = new List<Oid>();
        for (var round = 0; round < 300; round++)
        {
            foreach (var storage in new[] { first, second })
            {
                var batch = Enumerable.Range(0, 5).Select(_ => storage.NewOid()).ToArray();
                Commit(storage, [.. batch.Select(oid => (oid, 0L, Make("object")))]);
                oids.AddRange(batch);
            }
        }

        Assert.Equal(oids.Count, oids.Distinct().Count());
        // 3,000 objects: at most the two blocks (up to 4,096 oids each) left unused beyond them.
        Assert.InRange(oids.Max(o => o.Value), 3_000UL, 3_000UL + 2 * 4_096 + Oid.FirstUser.Value);
    }

    [Fact]
    public void RunsOfOidsGivenBackByCommitsSideBySideAreHandedOutAgain()
    {
        // Two commits side by side, one new object each: each takes a run of 8 and gives back the 7 it
        // did not use, the first after the second took its run, so its 7 cannot go back into the block.
        using var storage = FileStorage.Open(_path);
        var used = new List<ulong>();
        for (var round = 0; round < 100; round++)
        {
            var first = storage.NewOids(8);
            var second = storage.NewOids(8);
            used.Add(first.First);
            used.Add(second.First);
            storage.GiveBackOids(first.First + 1, first.Count - 1);
            storage.GiveBackOids(second.First + 1, second.Count - 1);
        }

        Assert.Equal(used.Count, used.Distinct().Count());
        // 200 oids used: the runs given back are handed out again rather than left as gaps (900 wide).
        Assert.InRange(used.Max() - used.Min(), 199UL, 199UL + 16);
    }

    [Fact]
    public void AnOidStoredInsideTheRestOfABlockMovesTheBlockPastIt()
    {
        using var storage = FileStorage.Open(_path);
        var handedOut = storage.NewOid();
        var imported = new Oid(handedOut.Value + 3);
        Commit(storage, (imported, 0, Make("imported")));

        Assert.True(storage.NewOid().Value > imported.Value);
    }

    [Fact]
    public void NewOidsStayAboveEveryStoredOidWhenTheLockFileIsLost()
    {
        using (var storage = FileStorage.Open(_path))
            Commit(storage, (new Oid(500), 0, Make("imported")));
        File.Delete(_path + ".lock");

        using var reopened = FileStorage.Open(_path);
        Assert.True(reopened.NewOid().Value > 500);
    }

    [Fact]
    public void AClosedStorageGivesBackTheUnusedOidsOfItsBlock()
    {
        Oid last;
        using (var storage = FileStorage.Open(_path))
        {
            storage.NewOid();
            last = storage.NewOid();
        }
        using var next = FileStorage.Open(_path);
        Assert.Equal(last.Value + 1, next.NewOid().Value);
    }

    // ---- incomplete tails ----

    [Fact]
    public void AnIncompleteTailIsLeftWhileSomeoneHoldsTheCommitLockAndRemovedByTheNextCommit()
    {
        using var holder = FileStorage.Open(_path);
        var oid = holder.NewOid();
        var t1 = Commit(holder, (oid, 0, Make("kept")));
        var end = FileLength;
        var held = holder.Begin();
        held.Store(holder.NewOid(), 0, Make("held"));
        held.Vote();
        // What a writer killed in the middle of its write would leave.
        AppendGarbage(200);

        using (var other = FileStorage.Open(_path))
        {
            // Someone holds the commit lock, so the tail may be a write in progress: left alone.
            Assert.Equal(end + 200, FileLength);
            Assert.Equal(t1, other.LastTid);
            held.Abort();

            var t2 = Commit(other, (oid, t1, Make("changed")));
            Assert.True(t2 > t1);
        }
        var report = FileStorage.Verify(_path);
        Assert.True(report.IsValid, report.ToString());
        Assert.Null(report.IncompleteTailOffset);
        Assert.Equal(2, report.TransactionCount);
    }

    private void AppendGarbage(int count)
    {
        var bytes = new byte[count];
        BinaryPrimitives.WriteUInt32LittleEndian(bytes, 0x4E585450); // "PTXN": looks like the start of a transaction
        new Random(count).NextBytes(bytes.AsSpan(4));
        using var stream = new FileStream(_path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete);
        stream.Write(bytes);
    }

    // ---- group commit and durability ----

    [Fact]
    public void EachDurableCommitFlushesWhenItCommitsAlone()
    {
        using var storage = FileStorage.Open(_path);
        var oid = storage.NewOid();
        var serial = 0L;
        for (var i = 0; i < 10; i++)
            serial = Commit(storage, (oid, serial, Make($"{i}")));

        Assert.Equal(10, storage.FlushCount);
    }

    [Fact]
    public void CommitsWaitingTogetherShareFlushes()
    {
        const int threads = 8;
        const int commits = 40;
        using var storage = FileStorage.Open(_path);
        // Threads of their own, started together: the thread pool of a new test process has as many
        // threads as cores, and with two of them each commit's flush ran before the next was appended.
        using var start = new Barrier(threads);
        var failures = new System.Collections.Concurrent.ConcurrentQueue<Exception>();
        var writers = Enumerable.Range(0, threads).Select(_ => new Thread(() =>
        {
            try
            {
                var oid = storage.NewOid();
                var serial = 0L;
                start.SignalAndWait();
                for (var i = 0; i < commits; i++)
                    serial = Commit(storage, (oid, serial, Make($"{i}")));
            }
            catch (Exception e)
            {
                // Thrown on a thread of its own it would end the test process; the test reports it.
                failures.Enqueue(e);
                start.RemoveParticipant();
            }
        })).ToList();
        writers.ForEach(writer => writer.Start());
        writers.ForEach(writer => writer.Join());
        Assert.Empty(failures);

        _output.WriteLine($"{threads * commits} commits from {threads} threads, {storage.FlushCount} flushes");
        Assert.InRange(storage.FlushCount, 1, threads * commits - 1);
        using var reopened = FileStorage.Open(_path, new FileStorageOptions { ReadOnly = true });
        Assert.Equal(threads * commits, reopened.LastTid);
    }

    [Fact]
    public void RelaxedCommitsDoNotFlushUntilFlushOrClose()
    {
        var storage = FileStorage.Open(_path, new FileStorageOptions { Durability = Durability.Relaxed });
        var oid = storage.NewOid();
        var serial = 0L;
        for (var i = 0; i < 20; i++)
            serial = Commit(storage, (oid, serial, Make($"{i}")));
        Assert.Equal(0, storage.FlushCount);

        storage.Flush();
        Assert.Equal(1, storage.FlushCount);
        Commit(storage, (oid, serial, Make("last")));
        storage.Dispose();
        Assert.Equal(2, storage.FlushCount);

        using var reopened = FileStorage.Open(_path);
        Assert.Equal("last", Text(reopened.Load(oid)));
    }

    [Fact]
    public void ARelaxedCommitFlushesOnceWhileTheDurableEndIsUnknown()
    {
        using (var storage = FileStorage.Open(_path))
            Commit(storage, (storage.NewOid(), 0, Make("first")));
        File.Delete(_path + ".lock"); // as left by an older version, or lost

        using var relaxed = FileStorage.Open(_path, new FileStorageOptions { Durability = Durability.Relaxed });
        var oid = relaxed.NewOid();
        var serial = Commit(relaxed, (oid, 0, Make("a")));
        Commit(relaxed, (oid, serial, Make("b")));
        Assert.Equal(1, relaxed.FlushCount);
    }

    [Fact]
    public void DurabilityOutOfRangeIsRefused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => FileStorage.Open(_path, new FileStorageOptions { Durability = (Durability)7 }));
    }

    [Fact]
    public void AFailedReadOfOthersCommitsBeforeAFlushNeitherFailsTheCommitNorStopsTheInstance()
    {
        using var writer = FileStorage.Open(_path);
        using var other = FileStorage.Open(_path, new FileStorageOptions { Durability = Durability.Relaxed });
        var mine = writer.NewOid();
        var theirs = other.NewOid();
        var t1 = Commit(writer, (mine, 0, Make("one")));
        other.Poll(0);
        var theirFirst = Commit(other, (theirs, 0, Make("first")));
        writer.Poll(t1);

        // The other writer commits (without a flush) after this commit's append, so this commit's flush
        // first reads it, to record the flush as covering it; that read fails.
        var steps = new List<string>();
        writer.CommitStep = step =>
        {
            steps.Add(step);
            if (step == "appended") Commit(other, (theirs, theirFirst, Make("second")));
            if (step == "catching up before the flush") throw new IOException("The read failed (test).");
        };
        var flushes = writer.FlushCount;
        var t2 = Commit(writer, (mine, t1, Make("two")));
        writer.CommitStep = null;
        Assert.Equal(["appended", "catching up before the flush", "flushed"], steps);
        Assert.Equal(flushes + 1, writer.FlushCount);

        // The instance goes on: its next poll reads the other's commit, and it commits again.
        writer.Poll(t2);
        Assert.Equal("second", Text(writer.Load(theirs)));
        var t3 = Commit(writer, (mine, t2, Make("three")));
        Assert.Equal(t3, writer.Load(mine)!.Value.Tid);
    }

    [Fact]
    public void AFailedRecordOfTheDurableEndAfterAGoodFlushNeitherFailsTheCommitNorStopsTheInstance()
    {
        var mine = Oid.Null;
        long t2;
        using (var writer = FileStorage.Open(_path))
        {
            mine = writer.NewOid();
            var t1 = Commit(writer, (mine, 0, Make("one")));
            var steps = new List<string>();
            writer.CommitStep = step =>
            {
                steps.Add(step);
                if (step == "flushed") throw new IOException("The lock file could not be written (test).");
            };
            t2 = Commit(writer, (mine, t1, Make("two")));
            writer.CommitStep = null;
            Assert.Equal(["appended", "flushed"], steps);
            Commit(writer, (mine, t2, Make("three")));
        }

        using var reopened = FileStorage.Open(_path);
        Assert.Equal("three", Text(reopened.Load(mine)));
    }

    // ---- the durable end: a tail lost in a system crash versus damage ----

    /// <summary>Four transactions, the lock file saying the file is on disk up to the end of the second.</summary>
    private (long[] Starts, long[] Tids) FourTransactionsDurableUpToTheSecond()
    {
        var starts = new List<long>();
        var tids = new List<long>();
        using (var storage = FileStorage.Open(_path))
        {
            for (var i = 0; i < 4; i++)
            {
                starts.Add(FileLength);
                tids.Add(Commit(storage, (storage.NewOid(), 0, Make($"object {i}"))));
            }
            starts.Add(FileLength);
        }
        var header = File.ReadAllBytes(_path).AsSpan(0, 64);
        using var lockFile = FileStorageLock.OpenForWriting(Path.GetFullPath(_path));
        lockFile.Bind(new Guid(header[16..32]), BinaryPrimitives.ReadUInt64LittleEndian(header[32..]));
        lockFile.ForgetDurableEnd();
        lockFile.RaiseDurableEnd(starts[2]);
        return ([.. starts], [.. tids]);
    }

    private void FlipByte(long offset)
    {
        var bytes = File.ReadAllBytes(_path);
        bytes[offset] ^= 0x40;
        File.WriteAllBytes(_path, bytes);
    }

    [Fact]
    public void ADamagedTransactionPastTheDurableEndIsALostTailEvenWithCompleteOnesAfterIt()
    {
        var (starts, tids) = FourTransactionsDurableUpToTheSecond();
        // A system crash wrote the fourth transaction's pages to disk but not all of the third's.
        FlipByte(starts[2] + 40);

        var report = FileStorage.Verify(_path);
        Assert.True(report.IsValid, report.ToString());
        Assert.Equal(starts[2], report.IncompleteTailOffset);
        using (var reader = FileStorage.Open(_path, new FileStorageOptions { ReadOnly = true }))
            Assert.Equal(tids[1], reader.LastTid);
        Assert.Equal(starts[4], FileLength);

        using (var writer = FileStorage.Open(_path))
        {
            Assert.Equal(tids[1], writer.LastTid);
            Assert.Equal(starts[2], FileLength);
            Assert.True(Commit(writer, (writer.NewOid(), 0, Make("after the crash"))) > tids[1]);
        }
        Assert.True(FileStorage.Verify(_path).IsValid);
    }

    [Fact]
    public void ADamagedTransactionBeforeTheDurableEndIsDamage()
    {
        var (starts, _) = FourTransactionsDurableUpToTheSecond();
        FlipByte(starts[1] + 40);

        var error = Assert.Throws<CorruptDatabaseException>(() => FileStorage.Open(_path));
        Assert.Equal(starts[1], error.Offset);
        Assert.Equal(starts[4], FileLength);
        var report = FileStorage.Verify(_path);
        Assert.Equal(starts[1], Assert.Single(report.Problems).Offset);
    }

    /// <summary>Four transactions of a storage closed as usual: the lock file says the file is on disk up to its end.</summary>
    private long[] FourTransactionsAllDurable()
    {
        var starts = new List<long>();
        using (var storage = FileStorage.Open(_path))
        {
            for (var i = 0; i < 4; i++)
            {
                starts.Add(FileLength);
                Commit(storage, (storage.NewOid(), 0, Make($"object {i}")));
            }
            starts.Add(FileLength);
        }
        return [.. starts];
    }

    [Fact]
    public void ADamagedLastTransactionBeforeTheDurableEndIsDamageNotALostTail()
    {
        var starts = FourTransactionsAllDurable();
        FlipByte(starts[3] + 40);

        var reading = Assert.Throws<CorruptDatabaseException>(() => FileStorage.Open(_path, new FileStorageOptions { ReadOnly = true }));
        Assert.Equal(starts[3], reading.Offset);
        Assert.Contains("flushed to disk whole", reading.Message);
        Assert.Contains("delete the lock file", reading.Message);
        Assert.Equal(starts[3], Assert.Throws<CorruptDatabaseException>(() => FileStorage.Open(_path)).Offset);
        // The writer's open removed nothing.
        Assert.Equal(starts[4], FileLength);
        var report = FileStorage.Verify(_path);
        Assert.Equal(starts[3], Assert.Single(report.Problems).Offset);
        Assert.Null(report.IncompleteTailOffset);
    }

    [Fact]
    public void ZerosInPlaceOfTheLastDurableTransactionAreDamageNotFreeSpace()
    {
        var starts = FourTransactionsAllDurable();
        var bytes = File.ReadAllBytes(_path);
        bytes.AsSpan((int)starts[3]).Clear();
        File.WriteAllBytes(_path, bytes);

        Assert.Equal(starts[3], Assert.Throws<CorruptDatabaseException>(() => FileStorage.Open(_path)).Offset);
        Assert.Equal(starts[4], FileLength);
        Assert.Equal(starts[3], Assert.Single(FileStorage.Verify(_path).Problems).Offset);
    }

    [Fact]
    public void AnOlderCopyCutInsideItsLastTransactionStillLosesOnlyThatTail()
    {
        var starts = FourTransactionsAllDurable();
        // Shorter than the durable end the lock file records: a copy from before, not damage.
        File.WriteAllBytes(_path, File.ReadAllBytes(_path)[..(int)(starts[3] + 40)]);

        using (var writer = FileStorage.Open(_path))
            Assert.Equal(starts[3], FileLength);
        Assert.True(FileStorage.Verify(_path).IsValid);
    }

    [Fact]
    public async Task APollThatFindsDamageJudgesItWhileNoOneAppendsThenReportsIt()
    {
        using var writer = FileStorage.Open(_path);
        var first = Commit(writer, (writer.NewOid(), 0, Make("first")));
        using var reader = FileStorage.Open(_path, new FileStorageOptions { ReadOnly = true });
        var start = FileLength;
        Commit(writer, (writer.NewOid(), 0, Make("second")));
        Commit(writer, (writer.NewOid(), 0, Make("third")));
        using var other = FileStorage.Open(_path);
        var held = other.Begin();
        held.Store(other.NewOid(), 0, Make("held"));
        held.Vote();
        using (var stream = new FileStream(_path, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite))
        {
            stream.Position = start + 40;
            var b = stream.ReadByte();
            stream.Position--;
            stream.WriteByte((byte)(b ^ 0x40));
        }

        // The verdict waits for the commit lock: a writer may be rewriting the end right now.
        var poll = Task.Run(() => reader.Poll(first));
        await Task.Delay(300);
        Assert.False(poll.IsCompleted);
        held.Abort();

        var error = await Assert.ThrowsAsync<CorruptDatabaseException>(() => poll.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(start, error.Offset);
    }
}
