using Persistence.Storage;
using static Persistence.Tests.Storage.TestRecords;

namespace Persistence.Tests.Storage;

/// <summary>
/// Loads in file order read ahead: one read serves many records. What they return must be exactly
/// what was committed, also when others append after the bytes were read, and records already
/// returned must stay as they were while later loads go on.
/// </summary>
public sealed class FileStorageReadAheadTests : IDisposable
{
    private readonly TempDirectory _directory = new();
    private readonly string _path;

    public FileStorageReadAheadTests() => _path = _directory.File("data.persist");

    public void Dispose() => _directory.Dispose();

    [Fact]
    public void AScanInFileOrderReadsEveryRecordAsCommittedAndRecordsStayIntactAfterLaterLoads()
    {
        using var storage = FileStorage.Open(_path);
        var oids = Enumerable.Range(0, 3_000).Select(_ => storage.NewOid()).ToArray();
        Commit(storage, [.. oids.Select((oid, i) => (oid, 0L, Make($"record {i}")))]);

        var first = storage.Load(oids[0]);
        for (var i = 0; i < oids.Length; i++) Assert.Equal($"record {i}", Text(storage.Load(oids[i])));
        // Backwards and at random too.
        for (var i = oids.Length - 1; i >= 0; i -= 7) Assert.Equal($"record {i}", Text(storage.Load(oids[i])));
        Assert.Equal("record 0", Text(first));
    }

    [Fact]
    public void AScanInterruptedByLoadsElsewhereOrGoingBackAndForthReadsEachBlockOnce()
    {
        const int Count = 3_000;
        string Padded(string text) => text.PadRight(100, '.');
        Oid[] oids;
        using (var writer = FileStorage.Open(_path))
        {
            oids = [.. Enumerable.Range(0, Count).Select(_ => writer.NewOid())];
            var tid = Commit(writer, [.. oids.Select((oid, i) => (oid, 0L, Make(Padded($"record {i}"))))]);
            // Every 40th record changed later: its newest revision lies after all the others.
            Commit(writer, [.. Enumerable.Range(0, Count / 40).Select(k => (oids[k * 40], tid, Make(Padded($"changed {k * 40}"))))]);
        }
        string Expected(int i) => Padded(i % 40 == 0 ? $"changed {i}" : $"record {i}");

        // About 330 KB of records: a pass in order meets a changed one every 40 (75 loads elsewhere).
        using (var storage = FileStorage.Open(_path))
        {
            for (var i = 0; i < Count; i++) Assert.Equal(Expected(i), Text(storage.Load(oids[i])));
            Assert.InRange(storage.LoadReadCalls, 1, 30);
        }
        // Back and forth between the two halves, 160 KB apart.
        using (var storage = FileStorage.Open(_path))
        {
            for (var i = 0; i < Count / 2; i++)
            {
                Assert.Equal(Expected(i), Text(storage.Load(oids[i])));
                Assert.Equal(Expected(i + (Count / 2)), Text(storage.Load(oids[i + (Count / 2)])));
            }
            // Each half grows its own windows once they served a scan (a window read per load: 3,000).
            Assert.InRange(storage.LoadReadCalls, 1, 60);
        }
    }

    [Fact]
    public void AReadersScanReadsIntoTheBuffersOfTheBlocksItLetGoAndEachRecordIsRightWhenLoaded()
    {
        // About 2.6 MB: forty 64 KB blocks.
        var oids = WriteRecords(20_000);
        using var storage = FileStorage.Open(_path);
        // Each record read through a reader is what was committed when it is loaded, before the next load.
        var first = storage.NewScanReader();
        for (var i = 0; i < oids.Length; i++) Assert.Equal(Padded(i), Text(storage.LoadBefore(oids[i], long.MaxValue, first)));
        for (var i = oids.Length - 1; i >= 0; i -= 3) Assert.Equal(Padded(i), Text(storage.LoadBefore(oids[i], long.MaxValue, first)));

        // Another reader's scan (the storage's own notes on these records made already).
        var scans = storage.NewScanReader();
        long lengths = 0;
        var allocated = GC.GetAllocatedBytesForCurrentThread();
        foreach (var oid in oids) lengths += storage.LoadBefore(oid, long.MaxValue, scans)!.Value.Data.Length;
        allocated = GC.GetAllocatedBytesForCurrentThread() - allocated;
        // The buffers of the first five blocks (the reader keeps four) and a little for each read,
        // about 600 KB: without using them again, every block read is a new buffer (2.6 MB, more than
        // the records).
        Assert.True(lengths > 2_000_000, $"{lengths} bytes of records");
        Assert.InRange(allocated, 1, lengths / 2);
    }

    [Fact]
    public void AScanThatReadTheNextBlockAlreadyReadsARecordAcrossItsStartAlone()
    {
        var oids = WriteRecords(3_000);
        using var storage = FileStorage.Open(_path);
        // A record that crosses the start of a 64 KB block (from the third on), its header before it.
        var (_, crossing) = Enumerable.Range(2, 4)
            .Select(block => (long)block << 16)
            .Select(start => (start, Enumerable.Range(0, oids.Length - 1).First(i => storage.NewestOffset(oids[i + 1]) > start)))
            .First(pair => storage.NewestOffset(oids[pair.Item2]) <= pair.start - 40);

        // A scan up to it, then a load in the next block (as a pass loads a tree's next bucket before
        // its first entries), which the scan reads whole.
        for (var i = 0; i < crossing; i++) Assert.Equal(Padded(i), Text(storage.Load(oids[i])));
        Assert.Equal(Padded(crossing + 20), Text(storage.Load(oids[crossing + 20])));
        var (calls, bytes) = (storage.LoadReadCalls, storage.LoadReadBytes);

        // The record across the boundary is read alone: the block after it is not read again.
        Assert.Equal(Padded(crossing), Text(storage.Load(oids[crossing])));
        Assert.Equal(calls + 1, storage.LoadReadCalls);
        Assert.InRange(storage.LoadReadBytes - bytes, 100, 512);
        // And the scan goes on in the block read before.
        for (var i = crossing + 1; i < crossing + 200; i++) Assert.Equal(Padded(i), Text(storage.Load(oids[i])));
        Assert.Equal(calls + 1, storage.LoadReadCalls);
    }

    [Fact]
    public void RandomLoadsAcrossAFileThatFitsInThePageCacheReadItInBlocksAndLoadsInBlocksReadBeforeMakeNoReadCall()
    {
        var oids = WriteRecords(3_000);
        using var storage = FileStorage.Open(_path);
        LoadAtRandom(storage, oids, 2_000, seed: 11);
        // Five whole blocks of 64 KB and part of a sixth hold the 3,000 records (340 KB): after the
        // first loads every load finds its block read already (the part block by pages; a record across
        // two blocks is read alone). Windows that a few loads hit by chance are no scan: growing them
        // read 64 KB for single records (128 MB here). Nor is a block that a load or two used before
        // one in the block beside it: reading that one as a scan's kept a copy of it outside the cache
        // (2 x the file's length).
        var length = new FileInfo(_path).Length;
        Assert.InRange(storage.LoadReadCalls, 1, 30);
        Assert.InRange(storage.LoadReadBytes, 1, length + (16 << 10));
    }

    [Fact]
    public void ALoadInTheLastBlockStillBeingFilledReadsOnlyItsPageAndOneInAWholeBlockReadsTheBlock()
    {
        var oids = WriteRecords(3_000);
        using var storage = FileStorage.Open(_path);
        Assert.True(storage.DataEnd % (64 << 10) != 0, "the data ends inside a block");
        // The last record lies in the block commits go on filling: read by its page.
        Assert.Equal(Padded(oids.Length - 1), Text(storage.Load(oids[^1])));
        Assert.Equal(1, storage.LoadReadCalls);
        var pageBytes = storage.LoadReadBytes;
        Assert.InRange(pageBytes, 1, 4096);
        // The first lies in a whole block (after the file header): read with the rest of it.
        Assert.Equal(Padded(0), Text(storage.Load(oids[0])));
        Assert.Equal(2, storage.LoadReadCalls);
        Assert.Equal((64 << 10) - 64, storage.LoadReadBytes - pageBytes);
    }

    [Fact]
    public void RandomLoadsAcrossAFileManyTimesLargerThanThePageCacheReadTheirRecordsAndKeepFewPages()
    {
        var oids = WriteRecords(30_000);
        // 64 pages for about 880 (3.3 MB): a page read for one record would mostly be replaced before
        // a load used it again.
        using var storage = FileStorage.Open(_path, new FileStorageOptions { PageCacheBytes = 256 << 10 });
        LoadAtRandom(storage, oids, 2_000, seed: 11);
        // Most loads read a small window of their own; a load that misses a page its slot's last miss
        // wanted too (about one in 14 here) reads the page and keeps it.
        Assert.InRange(storage.LoadReadCalls, 1_000, 2_000);
        Assert.InRange(storage.LoadReadBytes, 1, storage.LoadReadCalls * 1024);
        Assert.InRange(storage.PagesHeld, 1, 64);
    }

    [Fact]
    public void APageOfAFileLargerThanThePageCacheIsReadAndKeptWhenALoadMissesItASecondTime()
    {
        var oids = WriteRecords(30_000);
        using var storage = FileStorage.Open(_path, new FileStorageOptions { PageCacheBytes = 256 << 10 });
        var calls = 0L;
        var bytes = 0L;
        void Load(int i, int expectedCalls, int minBytes, int maxBytes)
        {
            Assert.Equal(Padded(i), Text(storage.Load(oids[i])));
            Assert.Equal(expectedCalls, storage.LoadReadCalls - calls);
            Assert.InRange(storage.LoadReadBytes - bytes, minBytes, maxBytes);
            calls = storage.LoadReadCalls;
            bytes = storage.LoadReadBytes;
        }

        // The first miss reads a small window around the record, not its page.
        Load(15_000, 1, 1, 512);
        // Two loads far away take the places of the last small windows.
        Load(5_000, 1, 1, 512);
        Load(25_000, 1, 1, 512);
        // The second miss of the page reads it whole, and the cache keeps it.
        Load(15_000, 1, 4096, 4096);
        Assert.Equal(1, storage.PagesHeld);
        Load(7_000, 1, 1, 512);
        Load(23_000, 1, 1, 512);
        // Now a load in that page needs no read call.
        Load(15_000, 0, 0, 0);
    }

    [Fact]
    public void WithoutAPageCacheEachRandomLoadReadsASmallWindow()
    {
        var oids = WriteRecords(3_000);
        using var storage = FileStorage.Open(_path, new FileStorageOptions { PageCacheBytes = 0 });
        LoadAtRandom(storage, oids, 2_000, seed: 11);
        Assert.InRange(storage.LoadReadCalls, 1_000, 2_000);
        Assert.InRange(storage.LoadReadBytes, 1, storage.LoadReadCalls * 1024);
    }

    [Fact]
    public void APageCacheSmallerThanTheFileReplacesPagesAndStillReadsEveryRecordAsCommitted()
    {
        var oids = WriteRecords(3_000);
        // Two pages for about 100: nearly every load maps to a slot that holds another page.
        using var small = FileStorage.Open(_path, new FileStorageOptions { PageCacheBytes = 2 * 4096 + 100 });
        using var large = FileStorage.Open(_path);
        var random = new Random(12);
        for (var n = 0; n < 2_000; n++)
        {
            var i = random.Next(oids.Length);
            Assert.Equal(Padded(i), Text(small.Load(oids[i])));
            Assert.Equal(Padded(i), Text(large.Load(oids[i])));
        }
        Assert.True(small.LoadReadCalls > large.LoadReadCalls, $"{small.LoadReadCalls} read calls with two pages, {large.LoadReadCalls} with the default cache");
    }

    [Fact]
    public void ThreadsLoadingAtRandomThroughASmallPageCacheEachReadWhatWasCommitted()
    {
        var oids = WriteRecords(3_000);
        // Four pages for about 100, shared by four threads: pages are replaced while other threads read them.
        using var storage = FileStorage.Open(_path, new FileStorageOptions { PageCacheBytes = 4 * 4096 });
        var wrong = 0;
        Parallel.For(0, 4, new ParallelOptions { MaxDegreeOfParallelism = 4 }, thread =>
        {
            var random = new Random(100 + thread);
            for (var n = 0; n < 3_000; n++)
            {
                var i = random.Next(oids.Length);
                if (Text(storage.Load(oids[i])) != Padded(i)) Interlocked.Increment(ref wrong);
            }
        });
        Assert.Equal(0, wrong);
        Assert.InRange(storage.PagesHeld, 1, 4);
    }

    [Fact]
    public void ANegativePageCacheSizeIsRefused()
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => FileStorage.Open(_path, new FileStorageOptions { PageCacheBytes = -1 }));
        Assert.Contains("PageCacheBytes", error.Message);
    }

    [Fact]
    public void APageReadWhileItWasTheLastIsReadAgainForWhatOthersAppendedIntoIt()
    {
        using var writer = FileStorage.Open(_path);
        var oids = Enumerable.Range(0, 201).Select(_ => writer.NewOid()).ToArray();
        // Small commits first, after which the writer keeps free space (zeros) after its transactions.
        var other = writer.NewOid();
        for (long i = 0, serial = 0; i < 20; i++) serial = Commit(writer, (other, serial, Make($"other {i}")));
        var t1 = Commit(writer, (oids[0], 0, Make("first")));
        Assert.True(new FileInfo(_path).Length > writer.DataEnd, "free space is reserved");
        string Value(int i) => $"new {i} " + new string('n', 140);
        using var reader = FileStorage.Open(_path);
        // Loaded from the page the file ends in (nothing caught up: no recent tail holds it): the page
        // is read up to the end, and kept.
        Assert.Equal("first", Text(reader.Load(oids[0])));
        // New objects, then a new revision, appended into the rest of that page and beyond: 30 KB, more
        // than the reader's catch-up keeps as its recent tail, so its loads read the file.
        for (var k = 0; k < 10; k++)
            Commit(writer, [.. Enumerable.Range(1 + (k * 20), 20).Select(i => (oids[i], 0L, Make(Value(i))))]);
        var t3 = Commit(writer, (oids[0], t1, Make("first, changed")));
        reader.Poll(t1);
        var readCalls = reader.LoadReadCalls;
        for (var i = 1; i < oids.Length; i++) Assert.Equal(Value(i), Text(reader.Load(oids[i])));
        Assert.Equal("first, changed", Text(reader.Load(oids[0])));
        Assert.Equal("first", Text(reader.LoadBefore(oids[0], t3)));
        Assert.True(reader.LoadReadCalls > readCalls, "the loads read the file");
    }

    private static string Padded(int i) => $"record {i}".PadRight(100, '.');

    /// <summary>Loads <paramref name="count"/> of the records <see cref="WriteRecords"/> wrote, picked at random, and checks each.</summary>
    private static void LoadAtRandom(FileStorage storage, Oid[] oids, int count, int seed)
    {
        var random = new Random(seed);
        for (var n = 0; n < count; n++)
        {
            var i = random.Next(oids.Length);
            Assert.Equal(Padded(i), Text(storage.Load(oids[i])));
        }
    }

    /// <summary>Commits <paramref name="count"/> records of 100 characters in one transaction and returns their oids.</summary>
    private Oid[] WriteRecords(int count)
    {
        using var writer = FileStorage.Open(_path);
        Oid[] oids = [.. Enumerable.Range(0, count).Select(_ => writer.NewOid())];
        Commit(writer, [.. oids.Select((oid, i) => (oid, 0L, Make(Padded(i))))]);
        return oids;
    }

    [Fact]
    public void WhatAnotherStorageAppendsAfterAScanIsReadFromTheFileNotFromBytesReadBefore()
    {
        using var writer = FileStorage.Open(_path);
        using var reader = FileStorage.Open(_path);
        var oids = Enumerable.Range(0, 200).Select(_ => writer.NewOid()).ToArray();
        var t1 = Commit(writer, [.. oids[..100].Select((oid, i) => (oid, 0L, Make($"one {i}")))]);
        reader.Poll(0);
        for (var i = 0; i < 100; i++) Assert.Equal($"one {i}", Text(reader.Load(oids[i])));

        // Appended right after the bytes the reader just read: new objects and new revisions of old ones.
        Commit(writer, [.. oids[100..].Select((oid, i) => (oid, 0L, Make($"two {i}"))), (oids[0], t1, Make("one 0, changed"))]);
        reader.Poll(t1);
        for (var i = 0; i < 100; i++) Assert.Equal($"two {i}", Text(reader.Load(oids[100 + i])));
        Assert.Equal("one 0, changed", Text(reader.Load(oids[0])));
        Assert.Equal("one 0", Text(reader.LoadBefore(oids[0], t1 + 1)));
    }

    [Fact]
    public void RecordsLargerThanAReadWindowAmongSmallOnesReadWhole()
    {
        using var storage = FileStorage.Open(_path);
        var oids = Enumerable.Range(0, 30).Select(_ => storage.NewOid()).ToArray();
        string Value(int i) => i % 3 == 0 ? new string((char)('a' + i % 26), 100_000 + i) : $"small {i}";
        Commit(storage, [.. oids.Select((oid, i) => (oid, 0L, Make(Value(i))))]);
        for (var i = 0; i < oids.Length; i++) Assert.Equal(Value(i), Text(storage.Load(oids[i])));
    }
    [Fact]
    public void AWalkBackAlongManyRevisionsReadsEachOneAsCommitted()
    {
        var tids = new List<long>();
        Oid counter, other;
        using (var writer = FileStorage.Open(_path))
        {
            counter = writer.NewOid();
            other = writer.NewOid();
            long serial = 0, otherSerial = 0;
            for (var i = 0; i < 300; i++)
            {
                // Revisions of varying sizes, with another object's between them, as others' commits leave them.
                serial = Commit(writer, (counter, serial, Make($"revision {i} " + new string('r', i % 40))));
                tids.Add(serial);
                if (i % 3 == 0) otherSerial = Commit(writer, (other, otherSerial, Make(new string('o', 50 + (i * 37 % 3000)))));
            }
        }
        using var reader = FileStorage.Open(_path);
        // Newest first, then each older revision: every step is just before the bytes read last.
        for (var i = tids.Count - 1; i >= 0; i -= 1 + (i % 4))
            Assert.Equal($"revision {i} " + new string('r', i % 40), Text(reader.LoadBefore(counter, tids[i] + 1)));
        Assert.Null(reader.LoadBefore(counter, tids[0]));
        Assert.Equal("revision 299 " + new string('r', 299 % 40), Text(reader.Load(counter)));
    }

    [Fact]
    public void LoadsOfWhatTheLastCatchUpReadOrThisStorageAppendedNeedNoReadCall()
    {
        using var writer = FileStorage.Open(_path);
        using var reader = FileStorage.Open(_path);
        var counter = writer.NewOid();
        var person = writer.NewOid();
        var t1 = Commit(writer, (counter, 0, Make("counter 1")), (person, 0, Make("person 1")));
        var t2 = Commit(writer, (counter, t1, Make("counter 2")));
        reader.Poll(0);
        var t3 = Commit(writer, (counter, t2, Make("counter 3")), (person, t1, Make("person 3")));
        reader.Poll(t2);

        var readCalls = reader.LoadReadCalls;
        Assert.Equal("counter 3", Text(reader.Load(counter)));
        Assert.Equal("person 3", Text(reader.Load(person)));
        // The revisions before, as a merge of a conflicting change needs them: caught up earlier.
        Assert.Equal("counter 2", Text(reader.LoadBefore(counter, t3)));
        Assert.Equal("counter 1", Text(reader.LoadBefore(counter, t2)));
        Assert.Equal("person 1", Text(reader.LoadBefore(person, t3)));
        Assert.Equal(readCalls, reader.LoadReadCalls);

        // What a storage appended itself.
        readCalls = writer.LoadReadCalls;
        Assert.Equal("counter 3", Text(writer.Load(counter)));
        Assert.Equal("counter 2", Text(writer.LoadBefore(counter, t3)));
        Assert.Equal(readCalls, writer.LoadReadCalls);
    }

    [Fact]
    public void RevisionsReadAsCommittedWhileWritersTakeTurnsWithTransactionsOfEverySize()
    {
        using var first = FileStorage.Open(_path);
        using var second = FileStorage.Open(_path);
        FileStorage[] storages = [first, second];
        var random = new Random(11);
        var oids = Enumerable.Range(0, 12).Select(_ => first.NewOid()).ToArray();
        var serials = new long[oids.Length];
        var history = oids.Select(_ => new List<(long Tid, string Text)>()).ToArray();
        for (var round = 0; round < 300; round++)
        {
            var writer = storages[random.Next(2)];
            // Catch up before writing (a commit needs the newest serials), unless the commit does it itself.
            if (random.Next(3) > 0) writer.Poll(writer.LastTid);
            var count = 1 + random.Next(3);
            var chosen = Enumerable.Range(0, oids.Length).OrderBy(_ => random.Next()).Take(count).ToArray();
            // Mostly small records; now and then one larger than half the recent tail or than all of it.
            var texts = chosen.Select(i => $"{i}@{round} " + new string((char)('a' + round % 26), random.Next(10) switch
            {
                0 => 20_000 + random.Next(30_000),
                1 => 2_000 + random.Next(6_000),
                _ => random.Next(200),
            })).ToArray();
            var tid = Commit(writer, [.. chosen.Select((i, k) => (oids[i], serials[i], Make(texts[k])))]);
            for (var k = 0; k < chosen.Length; k++)
            {
                serials[chosen[k]] = tid;
                history[chosen[k]].Add((tid, texts[k]));
            }
            if (round % 7 != 0) continue;
            foreach (var storage in storages)
            {
                storage.Poll(storage.LastTid);
                for (var i = 0; i < oids.Length; i++)
                {
                    if (history[i].Count == 0) continue;
                    Assert.Equal(history[i][^1].Text, Text(storage.Load(oids[i])));
                    // A few older revisions as well, as snapshots and merges load them.
                    foreach (var (revisionTid, text) in history[i].TakeLast(3))
                        Assert.Equal(text, Text(storage.LoadBefore(oids[i], revisionTid + 1)));
                }
            }
        }
    }
}
