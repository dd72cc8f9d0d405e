using System.Buffers.Binary;
using Persistence.Storage;
using static Persistence.Tests.Storage.TestRecords;

namespace Persistence.Tests.Storage;

/// <summary>
/// Free space: the zeros a writer of many small commits reserves after the last transaction, writes
/// its next commits over, and cuts off when it closes (docs/FORMAT.md, "Free space").
/// </summary>
[Collection(ClosingWritersCollection.Name)]
public sealed class FileStorageFreeSpaceTests : IDisposable
{
    // More small commits than a writer makes before it reserves.
    private const int ManyCommits = 40;

    private readonly TempDirectory _directory = new();
    private readonly string _path;

    public FileStorageFreeSpaceTests() => _path = _directory.File("data.persist");

    public void Dispose() => _directory.Dispose();

    private long FileLength => new FileInfo(_path).Length;

    private static byte[] ReadShared(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        var bytes = new byte[stream.Length];
        stream.ReadExactly(bytes);
        return bytes;
    }

    /// <summary>Commits <paramref name="count"/> small revisions of one object; returns its oid and last tid.</summary>
    private static (Oid Oid, long Tid) SmallCommits(FileStorage storage, int count, Oid? oid = null, long serial = 0)
    {
        var target = oid ?? storage.NewOid();
        for (var i = 0; i < count; i++)
            serial = Commit(storage, (target, serial, Make($"revision {i}")));
        return (target, serial);
    }

    [Fact]
    public void ManySmallCommitsAreWrittenOverReservedZerosAndCloseCutsTheRestOff()
    {
        long dataEnd;
        using (var writer = FileStorage.Open(_path))
        {
            var (oid, tid) = SmallCommits(writer, ManyCommits);
            Assert.True(FileLength > writer.DataEnd, $"file {FileLength} bytes, data {writer.DataEnd}: nothing reserved");
            var bytes = ReadShared(_path);
            Assert.True(bytes.AsSpan((int)writer.DataEnd).IndexOfAnyExcept((byte)0) < 0, "the free space is not all zeros");

            // A second writer opened now reads up to the zeros, and commits over them.
            using (var other = FileStorage.Open(_path))
            {
                Assert.Equal(tid, other.LastTid);
                Assert.Equal(Make($"revision {ManyCommits - 1}"), other.Load(oid)!.Value.Data.ToArray());
                var length = FileLength;
                tid = Commit(other, (oid, tid, Make("from the other writer")));
                Assert.Equal(length, FileLength);
            }
            writer.Poll(0);
            Assert.Equal(tid, writer.LastTid);
            Assert.Equal(Make("from the other writer"), writer.Load(oid)!.Value.Data.ToArray());
            (_, tid) = SmallCommits(writer, 5, oid, tid);

            var report = FileStorage.Verify(_path);
            Assert.True(report.IsValid, report.ToString());
            Assert.Null(report.IncompleteTailOffset);
            Assert.Equal(tid, report.LastTid);
            dataEnd = writer.DataEnd;
        }
        Assert.Equal(dataEnd, FileLength);
        using var reopened = FileStorage.Open(_path, new FileStorageOptions { ReadOnly = true });
        Assert.Equal(ManyCommits + 6, reopened.LastTid);
    }

    [Fact]
    public void TheFreeSpaceStaysWhileAnotherWriterHasTheDatabaseOpenAndTheLastToCloseCutsItOff()
    {
        var first = FileStorage.Open(_path);
        var (oid, tid) = SmallCommits(first, ManyCommits);
        var reserved = FileLength;
        Assert.True(reserved > first.DataEnd, $"file {reserved} bytes, data {first.DataEnd}: nothing reserved");
        using var second = FileStorage.Open(_path);
        tid = Commit(second, (oid, tid, Make("from the second writer")));
        first.Dispose();
        // Where a writer can tell it is not the last (Linux), the zeros stay for the others' commits.
        if (OperatingSystem.IsLinux()) Assert.Equal(reserved, FileLength);
        tid = Commit(second, (oid, tid, Make("after the first closed")));
        if (OperatingSystem.IsLinux()) Assert.Equal(reserved, FileLength);
        var dataEnd = second.DataEnd;
        second.Dispose();
        // The second writer reserved nothing itself, but it is the last to close.
        if (OperatingSystem.IsLinux()) Assert.Equal(dataEnd, FileLength);
        using var reopened = FileStorage.Open(_path, new FileStorageOptions { ReadOnly = true });
        Assert.Equal(tid, reopened.LastTid);
        Assert.Equal(Make("after the first closed"), reopened.Load(oid)!.Value.Data.ToArray());
    }

    [Fact]
    public void AReaderSeesCommitsWrittenOverTheFreeSpaceAtItsNextPoll()
    {
        using var writer = FileStorage.Open(_path);
        var (oid, tid) = SmallCommits(writer, ManyCommits);
        using var reader = FileStorage.Open(_path, new FileStorageOptions { ReadOnly = true });
        Assert.Equal(tid, reader.LastTid);
        for (var i = 0; i < 5; i++)
        {
            tid = Commit(writer, (oid, tid, Make($"seen {i}")));
            var changes = reader.Poll(tid - 1);
            Assert.Equal(tid, changes.LastTid);
            Assert.Equal([oid], changes.ChangedOids);
            Assert.Equal(Make($"seen {i}"), reader.Load(oid)!.Value.Data.ToArray());
        }
    }

    /// <summary>A record of about <paramref name="size"/> bytes that starts with <paramref name="label"/>.</summary>
    private static byte[] Sized(string label, int size) => Make(label.PadRight(size, '.'));

    [Fact]
    public void AReaderCatchesUpPastTheEndOfTheFreeSpaceItLastSawWhenAWriterReservedMore()
    {
        using var writer = FileStorage.Open(_path);
        var (oid, tid) = SmallCommits(writer, ManyCommits);
        using var reader = FileStorage.Open(_path, new FileStorageOptions { ReadOnly = true });
        Assert.Equal(tid, reader.LastTid);
        var seenLength = FileLength;

        // Commits that fill the free space the reader saw and go on over what the writer reserves
        // after it, one of them across its end, and one larger than all the free space there was.
        var other = writer.NewOid();
        var otherSerial = 0L;
        var revision = 0;
        while (writer.DataEnd < seenLength + 4096)
            tid = Commit(writer, (oid, tid, Sized($"filling {revision++}", 1500)));
        otherSerial = Commit(writer, (other, otherSerial, Sized("large", (int)seenLength)));
        Assert.True(FileLength > seenLength);

        var changes = reader.Poll(tid - 1);
        Assert.Equal(otherSerial, changes.LastTid);
        Assert.Equal(writer.DataEnd, reader.DataEnd);
        Assert.Equal(Sized($"filling {revision - 1}", 1500), reader.Load(oid)!.Value.Data.ToArray());
        Assert.Equal(Sized("large", (int)seenLength), reader.Load(other)!.Value.Data.ToArray());
    }

    [Fact]
    public void AReaderWhoseFileWasCutShortOutsidePersistenceSaysSoAtItsNextPoll()
    {
        long tid;
        using (var writer = FileStorage.Open(_path))
        {
            (_, tid) = SmallCommits(writer, ManyCommits);
            var copy = _directory.File("copy.persist");
            File.WriteAllBytes(copy, ReadShared(_path));
        }
        File.Copy(_directory.File("copy.persist"), _path, overwrite: true);
        using var reader = FileStorage.Open(_path, new FileStorageOptions { ReadOnly = true });
        Assert.Equal(tid, reader.LastTid);
        Assert.True(FileLength > reader.DataEnd, "the copy has no free space");

        using (var stream = new FileStream(_path, FileMode.Open, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete))
            stream.SetLength(reader.DataEnd - 10);
        var error = Assert.Throws<PersistenceException>(() => reader.Poll(tid));
        Assert.Contains("shorter than the transactions this storage already read", error.Message);
    }

    [Fact]
    public void CommitsOfAHundredKilobytesAreWrittenOverRoomForTwoMoreAndCommitsOfAMegabyteAreAppended()
    {
        using (var writer = FileStorage.Open(_path))
        {
            var oid = writer.NewOid();
            long serial = 0;
            for (var i = 0; i < ManyCommits; i++)
            {
                serial = Commit(writer, (oid, serial, Sized($"revision {i}", 100_000)));
                // Past the first few commits, the next two like these always fit in what is reserved.
                if (i >= 20) Assert.True(FileLength - writer.DataEnd >= 200_000, $"commit {i}: {FileLength - writer.DataEnd} bytes reserved");
            }
            Assert.True(ReadShared(_path).AsSpan((int)writer.DataEnd).IndexOfAnyExcept((byte)0) < 0, "the free space is not all zeros");
            Assert.Equal(Sized($"revision {ManyCommits - 1}", 100_000), writer.Load(oid)!.Value.Data.ToArray());
        }
        Assert.Equal(ManyCommits, FileStorage.Verify(_path).LastTid);
        var closedLength = FileLength;

        // Commits larger than the free space is for: each one makes the file longer, and nothing is reserved after it.
        using var large = FileStorage.Open(_path);
        Assert.Equal(closedLength, large.DataEnd);
        var big = large.NewOid();
        long bigSerial = 0;
        for (var i = 0; i < 20; i++)
        {
            bigSerial = Commit(large, (big, bigSerial, Sized($"large {i}", 1 << 20)));
            Assert.Equal(large.DataEnd, FileLength);
        }
    }

    [Fact]
    public void TheZerosForTheNextCommitsAreWrittenOnceTheCommitThatFoundTheRoomShortIsOnDisk()
    {
        using var writer = FileStorage.Open(_path);
        var oid = writer.NewOid();
        long serial = 0;
        var reservations = 0;
        for (var i = 0; i < ManyCommits; i++)
        {
            var before = FileLength;
            serial = Commit(writer, (oid, serial, Sized($"revision {i}", 20_000)));
            if (FileLength <= before || FileLength <= writer.DataEnd) continue;
            // This commit reserved: not before its own flush, which would have taken the zeros too.
            reservations++;
            Assert.Equal(writer.DataEnd, writer.DurableEndAtReservation);
        }
        Assert.True(reservations >= 2, $"{reservations} reservations in {ManyCommits} commits of 20 KB");
        Assert.True(ReadShared(_path).AsSpan((int)writer.DataEnd).IndexOfAnyExcept((byte)0) < 0, "the free space is not all zeros");
        Assert.Equal(Sized($"revision {ManyCommits - 1}", 20_000), writer.Load(oid)!.Value.Data.ToArray());
    }

    [Fact]
    public void ARelaxedWriterReservesNothingItsCommitsDoNotWaitForTheDisk()
    {
        using var writer = FileStorage.Open(_path, new FileStorageOptions { Durability = Durability.Relaxed });
        var oid = writer.NewOid();
        long serial = 0;
        for (var i = 0; i < ManyCommits; i++)
        {
            serial = Commit(writer, (oid, serial, i % 2 == 0 ? Make($"revision {i}") : Sized($"revision {i}", 100_000)));
            Assert.Equal(writer.DataEnd, FileLength);
        }
    }

    [Fact]
    public void WithoutReservingTheFileEndsAtItsLastTransactionAfterEveryCommit()
    {
        using var writer = FileStorage.Open(_path, new FileStorageOptions { ReserveFreeSpace = false });
        var oid = writer.NewOid();
        long serial = 0;
        for (var i = 0; i < ManyCommits; i++)
        {
            serial = Commit(writer, (oid, serial, Make($"revision {i}")));
            Assert.Equal(writer.DataEnd, FileLength);
        }
    }

    /// <summary>A file with free space as a writer leaves it when it is killed (or the system stops) before closing.</summary>
    private (long DataEnd, long LastTid, Oid Oid) FileWithFreeSpace()
    {
        var copy = _directory.File("source.persist");
        using var writer = FileStorage.Open(copy);
        var (oid, tid) = SmallCommits(writer, ManyCommits);
        File.WriteAllBytes(_path, ReadShared(copy));
        Assert.True(FileLength > writer.DataEnd);
        return (writer.DataEnd, tid, oid);
    }

    [Fact]
    public void WhatASystemCrashLeftInTheFreeSpaceIsIgnoredByReadersAndCutOffByTheNextWriter()
    {
        var (dataEnd, lastTid, oid) = FileWithFreeSpace();
        // Later pages of a write that was never acknowledged, kept while the first page was lost.
        var garbage = new byte[3000];
        new Random(5).NextBytes(garbage);
        using (var stream = new FileStream(_path, FileMode.Open))
        {
            stream.Position = dataEnd + 4096;
            stream.Write(garbage);
        }
        var length = FileLength;

        using (var reader = FileStorage.Open(_path, new FileStorageOptions { ReadOnly = true }))
        {
            Assert.Equal(lastTid, reader.LastTid);
            Assert.Equal(Make($"revision {ManyCommits - 1}"), reader.Load(oid)!.Value.Data.ToArray());
        }
        Assert.Equal(length, FileLength);

        using var writer = FileStorage.Open(_path);
        Assert.Equal(dataEnd, FileLength);
        var tid = Commit(writer, (oid, lastTid, Make("after the crash")));
        var report = FileStorage.Verify(_path);
        Assert.True(report.IsValid, report.ToString());
        Assert.Equal(tid, report.LastTid);
        Assert.Null(report.IncompleteTailOffset);
    }

    [Fact]
    public void ATransactionCutShortOverTheFreeSpaceIsATailTheNextWriterRemoves()
    {
        var (dataEnd, lastTid, oid) = FileWithFreeSpace();
        // A writer killed while it wrote: the first bytes of a transaction (a copy of the last one's
        // header, with a tid after it, would pass its header checks), zeros after them.
        var bytes = File.ReadAllBytes(_path);
        var lastStart = LastTransactionStart(bytes, dataEnd);
        var partial = bytes.AsSpan((int)lastStart, (int)BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan((int)lastStart + 16)) / 2).ToArray();
        using (var stream = new FileStream(_path, FileMode.Open))
        {
            stream.Position = dataEnd;
            stream.Write(partial);
        }

        using (var reader = FileStorage.Open(_path, new FileStorageOptions { ReadOnly = true }))
            Assert.Equal(lastTid, reader.LastTid);
        var report = FileStorage.Verify(_path);
        Assert.True(report.IsValid, report.ToString());
        Assert.Equal(dataEnd, report.IncompleteTailOffset);

        using var writer = FileStorage.Open(_path);
        Assert.Equal(dataEnd, FileLength);
        Commit(writer, (oid, lastTid, Make("after the cut")));
        Assert.Null(FileStorage.Verify(_path).IncompleteTailOffset);
    }

    [Fact]
    public void AskingForTheWriteBackOfAFileClosedMeanwhileIsIgnored()
    {
        // The free space is reserved after a commit's flush, outside the commit locks, and the disk asked
        // to write it back then: by that time a pack may have switched the storage to a new file and
        // closed the old one. The commit is on disk and must not fail for the hint.
        var handle = File.OpenHandle(_path, FileMode.CreateNew, FileAccess.ReadWrite);
        RandomAccess.Write(handle, new byte[8192], 0);
        handle.Dispose();
        FileSystemSync.StartWriteBack(handle, 0, 8192);
        Assert.True(handle.IsClosed);
        Assert.Equal(8192, FileLength);
    }

    /// <summary>The start of the transaction that ends at <paramref name="end"/>, from the length its trailer repeats.</summary>
    private static long LastTransactionStart(byte[] bytes, long end) =>
        end - BitConverter.ToInt64(bytes, (int)end - 16);
}
