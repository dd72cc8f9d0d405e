using Persistence.Serialization;
using Persistence.Storage;
using static Persistence.Tests.Storage.TestRecords;

namespace Persistence.Tests.Storage;

/// <summary>
/// What every <see cref="IStorage"/> must do. A storage's test class derives from this one and says
/// how to create a fresh storage and how to reopen it (a persistent storage is closed and opened
/// again; the others return the same instance), so the persistence of everything checked here is
/// checked too.
/// </summary>
public abstract class StorageConformanceTests : IDisposable
{
    private readonly List<IStorage> _storages = [];

    /// <summary>Creates a new, empty storage.</summary>
    protected abstract IStorage CreateStorage();

    /// <summary>Closes and opens <paramref name="storage"/> again if it is persistent, else returns it.</summary>
    protected abstract IStorage ReopenStorage(IStorage storage);

    public virtual void Dispose()
    {
        foreach (var storage in _storages) storage.Dispose();
        GC.SuppressFinalize(this);
    }

    private IStorage NewStorage() => Track(CreateStorage());

    private IStorage Reopen(IStorage storage) => Track(ReopenStorage(storage));

    private IStorage Track(IStorage storage)
    {
        _storages.Add(storage);
        return storage;
    }


    // ---- empty storage, oids ----

    [Fact]
    public void AnEmptyStorageHasNoTransactionsAndNoRecords()
    {
        var storage = NewStorage();

        Assert.Equal(0, storage.LastTid);
        Assert.False(storage.IsReadOnly);
        Assert.Null(storage.Load(Oid.Root));
        Assert.Null(storage.Load(Oid.FirstUser));
        Assert.Null(storage.LoadBefore(Oid.FirstUser, long.MaxValue));
        Assert.Empty(storage.Iterate());
        var changes = storage.Poll(0);
        Assert.Equal(0, changes.LastTid);
        Assert.Empty(changes.ChangedOids);

        storage = Reopen(storage);
        Assert.Equal(0, storage.LastTid);
        Assert.Empty(storage.Iterate());
    }

    [Fact]
    public void NewOidStartsAtFirstUserAndNeverRepeats()
    {
        var storage = NewStorage();

        Assert.Equal(Oid.FirstUser, storage.NewOid());
        var oids = new Oid[4][];
        Parallel.For(0, 4, i => oids[i] = Enumerable.Range(0, 1000).Select(_ => storage.NewOid()).ToArray());

        var all = oids.SelectMany(o => o).Append(Oid.FirstUser).ToList();
        Assert.Equal(all.Count, all.Distinct().Count());
        Assert.All(all, oid => Assert.True(oid.Value >= Oid.FirstUser.Value));
    }

    [Fact]
    public void NewOidContinuesAfterEveryStoredOid()
    {
        var storage = NewStorage();
        Commit(storage, (Oid.Root, 0, Make("root")), (new Oid(100), 0, Make("far")));

        Assert.True(storage.NewOid().Value > 100);

        storage = Reopen(storage);
        Assert.True(storage.NewOid().Value > 100);
    }

    // ---- commit and load ----

    [Fact]
    public void ACommittedRecordLoadsBackWithItsTid()
    {
        var storage = NewStorage();
        var oid = storage.NewOid();

        var tid = Commit(storage, (oid, 0, Make("hello")));

        Assert.True(tid > 0);
        Assert.Equal(tid, storage.LastTid);
        var loaded = storage.Load(oid);
        Assert.NotNull(loaded);
        Assert.Equal(oid, loaded.Value.Oid);
        Assert.Equal(tid, loaded.Value.Tid);
        Assert.Equal(Make("hello"), loaded.Value.Data.ToArray());

        storage = Reopen(storage);
        Assert.Equal(tid, storage.LastTid);
        Assert.Equal("hello", Text(storage.Load(oid)));
        Assert.Equal(tid, storage.Load(oid)!.Value.Tid);
    }

    [Fact]
    public void TidsStrictlyIncrease()
    {
        var storage = NewStorage();
        var oid = storage.NewOid();
        var tids = new List<long>();
        var serial = 0L;
        for (var i = 0; i < 5; i++)
        {
            serial = Commit(storage, (oid, serial, Make($"v{i}")), (storage.NewOid(), 0, Make("other")));
            tids.Add(serial);
        }
        storage = Reopen(storage);
        tids.Add(Commit(storage, (oid, serial, Make("after reopen"))));

        Assert.Equal(tids.Order(), tids);
        Assert.Equal(tids.Count, tids.Distinct().Count());
        Assert.True(tids[0] > 0);
        Assert.Equal(tids[^1], storage.LastTid);
    }

    [Fact]
    public void TheStorageKeepsItsOwnCopyOfTheBytes()
    {
        var storage = NewStorage();
        var oid = storage.NewOid();
        var data = Make("original");

        Commit(storage, (oid, 0, data));
        data.AsSpan(RecordFormat.StateOffset(data), 8).Fill((byte)'X');

        Assert.Equal("original", Text(storage.Load(oid)));
    }

    [Fact]
    public void ReferencesRoundTrip()
    {
        var storage = NewStorage();
        var a = storage.NewOid();
        var b = storage.NewOid();
        var c = storage.NewOid();
        Commit(storage,
            (a, 0, Make("a", b, c, b)),
            (b, 0, Make("b")),
            (c, 0, Make([], a)));

        storage = Reopen(storage);
        var references = new List<Oid>();
        RecordFormat.References(storage.Load(a)!.Value.Data.Span, references);
        Assert.Equal([b, c, b], references);
        Assert.Equal(0, RecordFormat.ReferenceCount(storage.Load(b)!.Value.Data.Span));
        Assert.Equal(a, RecordFormat.Reference(storage.Load(c)!.Value.Data.Span, 0));
        Assert.Equal(TypeId, RecordFormat.TypeId(storage.Load(c)!.Value.Data.Span));
    }

    [Fact]
    public void LargeRecordsRoundTrip()
    {
        var storage = NewStorage();
        var small = storage.NewOid();
        var big = storage.NewOid();
        var state = new byte[10 << 20];
        new Random(7).NextBytes(state);

        Commit(storage, (small, 0, Make("small")), (big, 0, Make(state, small)), (storage.NewOid(), 0, Make("after")));

        storage = Reopen(storage);
        Assert.Equal(Make(state, small), storage.Load(big)!.Value.Data.ToArray());
        Assert.Equal("small", Text(storage.Load(small)));
    }

    [Fact]
    public void LoadBeforeReturnsTheRevisionEachSnapshotSaw()
    {
        var storage = NewStorage();
        var oid = storage.NewOid();
        var t1 = Commit(storage, (oid, 0, Make("one")));
        var t2 = Commit(storage, (oid, t1, Make("two")), (storage.NewOid(), 0, Make("unrelated")));
        var t3 = Commit(storage, (oid, t2, Make("three")));

        for (var pass = 0; pass < 2; pass++)
        {
            Assert.Null(storage.LoadBefore(oid, t1));
            Assert.Null(storage.LoadBefore(oid, 0));
            Assert.Equal("one", Text(storage.LoadBefore(oid, t2)));
            Assert.Equal(t1, storage.LoadBefore(oid, t2)!.Value.Tid);
            Assert.Equal("two", Text(storage.LoadBefore(oid, t3)));
            Assert.Equal(t2, storage.LoadBefore(oid, t3)!.Value.Tid);
            Assert.Equal("three", Text(storage.LoadBefore(oid, t3 + 1)));
            Assert.Equal("three", Text(storage.LoadBefore(oid, long.MaxValue)));
            Assert.Equal(t3, storage.Load(oid)!.Value.Tid);
            Assert.Null(storage.LoadBefore(new Oid(999), long.MaxValue));
            storage = Reopen(storage);
        }
    }

    // ---- phases ----

    [Fact]
    public void StoreAfterVoteIsRefused()
    {
        var storage = NewStorage();
        using var transaction = storage.Begin();
        transaction.Store(storage.NewOid(), 0, Make("x"));
        transaction.Vote();

        Assert.Throws<StorageTransactionException>(() => transaction.Store(storage.NewOid(), 0, Make("y")));
        Assert.Throws<StorageTransactionException>(() => transaction.CheckCurrent(Oid.Root, 0));
    }

    [Fact]
    public void VotingTwiceIsRefused()
    {
        var storage = NewStorage();
        using var transaction = storage.Begin();
        transaction.Store(storage.NewOid(), 0, Make("x"));
        transaction.Vote();

        Assert.Throws<StorageTransactionException>(transaction.Vote);
    }

    [Fact]
    public void FinishBeforeVoteIsRefused()
    {
        var storage = NewStorage();
        using var transaction = storage.Begin();
        transaction.Store(storage.NewOid(), 0, Make("x"));

        Assert.Throws<StorageTransactionException>(() => transaction.Finish());
        Assert.Equal(0, storage.LastTid);
    }

    [Fact]
    public void EveryCallAfterFinishIsRefused()
    {
        var storage = NewStorage();
        var transaction = storage.Begin();
        transaction.Store(storage.NewOid(), 0, Make("x"));
        transaction.Vote();
        transaction.Finish();

        Assert.Throws<StorageTransactionException>(() => transaction.Store(storage.NewOid(), 0, Make("y")));
        Assert.Throws<StorageTransactionException>(() => transaction.CheckCurrent(Oid.Root, 0));
        Assert.Throws<StorageTransactionException>(transaction.Vote);
        Assert.Throws<StorageTransactionException>(() => transaction.Finish());
        Assert.Throws<StorageTransactionException>(transaction.Abort);
        transaction.Dispose();
    }

    [Fact]
    public void EveryCallAfterAbortIsRefusedButAbortAgain()
    {
        var storage = NewStorage();
        var transaction = storage.Begin();
        transaction.Store(storage.NewOid(), 0, Make("x"));
        transaction.Abort();

        Assert.Throws<StorageTransactionException>(() => transaction.Store(storage.NewOid(), 0, Make("y")));
        Assert.Throws<StorageTransactionException>(() => transaction.CheckCurrent(Oid.Root, 0));
        Assert.Throws<StorageTransactionException>(transaction.Vote);
        Assert.Throws<StorageTransactionException>(() => transaction.Finish());
        transaction.Abort();
        transaction.Dispose();
    }

    [Fact]
    public void StoringAnOidTwiceInOneTransactionIsRefused()
    {
        var storage = NewStorage();
        var oid = storage.NewOid();
        using var transaction = storage.Begin();
        transaction.Store(oid, 0, Make("first"));

        var error = Assert.Throws<StorageTransactionException>(() => transaction.Store(oid, 0, Make("second")));
        Assert.Contains(oid.ToString(), error.Message);
    }

    [Fact]
    public void StoringOidNullOrAnImpossibleRecordIsRefused()
    {
        var storage = NewStorage();
        using var transaction = storage.Begin();
        var oid = storage.NewOid();

        Assert.Throws<StorageTransactionException>(() => transaction.Store(Oid.Null, 0, Make("x")));
        Assert.Throws<StorageTransactionException>(() => transaction.Store(oid, 0, ReadOnlyMemory<byte>.Empty));
        Assert.Throws<StorageTransactionException>(() => transaction.Store(oid, 0, new byte[RecordFormat.MinimumSize - 1]));
        var badCount = Make("x");
        badCount[^1] = 0x7F; // a reference list of 127 bytes
        Assert.Throws<StorageTransactionException>(() => transaction.Store(oid, 0, badCount));
        Assert.Throws<StorageTransactionException>(() => transaction.Store(oid, -1, Make("x")));
        Assert.Throws<StorageTransactionException>(() => transaction.CheckCurrent(Oid.Null, 0));

        // None of the refused calls counted as a store of the oid.
        transaction.Store(oid, 0, Make("fine"));
        transaction.Vote();
        transaction.Finish();
        Assert.Equal("fine", Text(storage.Load(oid)));
    }

    // ---- conflicts ----

    [Fact]
    public void TwoWritersFromTheSameSerialConflict()
    {
        var storage = NewStorage();
        var oid = storage.NewOid();
        var other = storage.NewOid();
        var serial = Commit(storage, (oid, 0, Make("base")));

        using var first = storage.Begin();
        using var second = storage.Begin();
        first.Store(oid, serial, Make("first"));
        second.Store(other, 0, Make("other"));
        second.Store(oid, serial, Make("second"));
        first.Vote();
        var winner = first.Finish();

        var conflict = Assert.Throws<ConflictException>(second.Vote);
        Assert.Equal([oid], conflict.Oids);
        Assert.Contains(oid.ToString(), conflict.Message);
        Assert.Contains("abort and retry", conflict.Message, StringComparison.OrdinalIgnoreCase);
        Assert.Throws<StorageTransactionException>(() => second.Finish());
        second.Abort();

        Assert.Equal("first", Text(storage.Load(oid)));
        Assert.Null(storage.Load(other));
        Assert.Equal(winner, storage.LastTid);
        // The conflict released the commit lock.
        Assert.True(Commit(storage, (oid, winner, Make("retried"))) > winner);
    }

    [Fact]
    public void TwoTransactionsCreatingTheSameOidConflict()
    {
        var storage = NewStorage();
        var oid = storage.NewOid();
        using var first = storage.Begin();
        using var second = storage.Begin();
        first.Store(oid, 0, Make("first"));
        second.Store(oid, 0, Make("second"));
        first.Vote();
        first.Finish();

        Assert.Equal([oid], Assert.Throws<ConflictException>(second.Vote).Oids);
    }

    [Fact]
    public void AStaleOrInventedSerialConflicts()
    {
        var storage = NewStorage();
        var oid = storage.NewOid();
        var t1 = Commit(storage, (oid, 0, Make("one")));
        var t2 = Commit(storage, (oid, t1, Make("two")));

        using var stale = storage.Begin();
        stale.Store(oid, t1, Make("stale"));
        Assert.Equal([oid], Assert.Throws<ConflictException>(stale.Vote).Oids);

        using var invented = storage.Begin();
        invented.Store(storage.NewOid(), t2, Make("does not exist"));
        Assert.Single(Assert.Throws<ConflictException>(invented.Vote).Oids);
    }

    [Fact]
    public void ChangesMadeAsOfASnapshotConflictOnlyWithRevisionsAfterIt()
    {
        var storage = NewStorage();
        var oid = storage.NewOid();
        var other = storage.NewOid();
        // A revision of oid, then one of another object: the snapshot after both is not oid's tid.
        var t1 = Commit(storage, (oid, 0, Make("one")));
        var snapshot = Commit(storage, (other, 0, Make("other")));
        Assert.True(snapshot > t1);

        long t3;
        using (var current = (StorageTransactionBase)storage.Begin())
        {
            current.StoreAsOf(oid, snapshot, Make("two"));
            current.CheckCurrentAsOf(other, snapshot);
            current.Vote();
            t3 = current.Finish();
        }
        Assert.Equal(Make("two"), storage.Load(oid)!.Value.Data.ToArray());

        using var stale = (StorageTransactionBase)storage.Begin();
        stale.StoreAsOf(oid, snapshot, Make("stale"));
        Assert.Equal([oid], Assert.Throws<ConflictException>(stale.Vote).Oids);

        using var staleRead = (StorageTransactionBase)storage.Begin();
        staleRead.CheckCurrentAsOf(oid, snapshot);
        staleRead.Store(storage.NewOid(), 0, Make("depends on the read"));
        Assert.Equal([oid], Assert.Throws<ConflictException>(staleRead.Vote).Oids);

        using var missing = (StorageTransactionBase)storage.Begin();
        var never = storage.NewOid();
        missing.StoreAsOf(never, t3, Make("never stored"));
        Assert.Equal([never], Assert.Throws<ConflictException>(missing.Vote).Oids);
    }

    [Fact]
    public void CheckCurrentConflictsWhenTheReadObjectChanged()
    {
        var storage = NewStorage();
        var read = storage.NewOid();
        var unchanged = storage.NewOid();
        var written = storage.NewOid();
        var t1 = Commit(storage, (read, 0, Make("read")), (unchanged, 0, Make("unchanged")));

        using var transaction = storage.Begin();
        transaction.CheckCurrent(unchanged, t1);
        transaction.CheckCurrent(read, t1);
        transaction.Store(written, 0, Make("depends on read"));
        Commit(storage, (read, t1, Make("changed meanwhile")));

        var conflict = Assert.Throws<ConflictException>(transaction.Vote);
        Assert.Equal([read], conflict.Oids);
        Assert.Null(storage.Load(written));
    }

    [Fact]
    public void CheckCurrentPassesWhenNothingChanged()
    {
        var storage = NewStorage();
        var read = storage.NewOid();
        var written = storage.NewOid();
        var t1 = Commit(storage, (read, 0, Make("read")));

        using var transaction = storage.Begin();
        transaction.CheckCurrent(read, t1);
        transaction.CheckCurrent(storage.NewOid(), 0);
        transaction.Store(written, 0, Make("written"));
        transaction.Vote();
        var t2 = transaction.Finish();

        Assert.Equal(t2, storage.Load(written)!.Value.Tid);
        Assert.Equal(t1, storage.Load(read)!.Value.Tid);
    }

    [Fact]
    public void ATransactionThatOnlyChecksCommitsNothing()
    {
        var storage = NewStorage();
        var oid = storage.NewOid();
        var t1 = Commit(storage, (oid, 0, Make("x")));

        using var transaction = storage.Begin();
        transaction.CheckCurrent(oid, t1);
        transaction.Vote();

        Assert.Equal(t1, transaction.Finish());
        Assert.Equal(t1, storage.LastTid);
        Assert.Single(storage.Iterate());
    }

    // ---- abort ----

    [Fact]
    public void AnAbortedTransactionLeavesNothingVisible()
    {
        var storage = NewStorage();
        var kept = storage.NewOid();
        var t1 = Commit(storage, (kept, 0, Make("kept")));
        var dropped = storage.NewOid();

        var beforeVote = storage.Begin();
        beforeVote.Store(dropped, 0, Make("dropped"));
        beforeVote.Store(kept, t1, Make("dropped change"));
        beforeVote.Abort();
        var afterVote = storage.Begin();
        afterVote.Store(dropped, 0, Make("dropped"));
        afterVote.Vote();
        afterVote.Abort();
        var disposed = storage.Begin();
        disposed.Store(dropped, 0, Make("dropped"));
        disposed.Vote();
        disposed.Dispose();

        for (var pass = 0; pass < 2; pass++)
        {
            Assert.Null(storage.Load(dropped));
            Assert.Equal("kept", Text(storage.Load(kept)));
            Assert.Equal(t1, storage.LastTid);
            Assert.Empty(storage.Poll(t1).ChangedOids);
            Assert.Single(storage.Iterate());
            storage = Reopen(storage);
        }
        // The aborts released the commit lock.
        Assert.True(Commit(storage, (dropped, 0, Make("now"))) > t1);
    }

    // ---- commit lock ----

    [Fact]
    public async Task AVoteWaitsForTheVotedTransactionToEnd()
    {
        var storage = NewStorage();
        var oid = storage.NewOid();
        var first = storage.Begin();
        first.Store(oid, 0, Make("first"));
        first.Vote();
        var second = storage.Begin();
        second.Store(storage.NewOid(), 0, Make("second"));

        var vote = Task.Run(second.Vote);
        await Task.Delay(100);
        Assert.False(vote.IsCompleted);
        var t1 = first.Finish();
        await vote.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.True(second.Finish() > t1);
    }

    // ---- poll and iterate ----

    [Fact]
    public void PollReturnsTheOidsWrittenAfterTheTid()
    {
        var storage = NewStorage();
        var a = storage.NewOid();
        var b = storage.NewOid();
        var c = storage.NewOid();
        var t1 = Commit(storage, (a, 0, Make("a")), (b, 0, Make("b")));
        var t2 = Commit(storage, (b, t1, Make("b2")), (c, 0, Make("c")));

        Assert.Equal(new[] { a, b, c }, storage.Poll(0).ChangedOids.Order());
        Assert.Equal(new[] { b, c }, storage.Poll(t1).ChangedOids.Order());
        var none = storage.Poll(t2);
        Assert.Empty(none.ChangedOids);
        Assert.Equal(t2, none.LastTid);
        Assert.Equal(t2, storage.Poll(t1).LastTid);

        storage = Reopen(storage);
        var t3 = Commit(storage, (a, t1, Make("a2")));
        Assert.Equal(new[] { a }, storage.Poll(t2).ChangedOids.Order());
        // Older than a reopened storage remembers: a superset is allowed, missing a change is not.
        Assert.Superset(new HashSet<Oid> { a, b, c }, storage.Poll(t1).ChangedOids.ToHashSet());
        Assert.Equal(t3, storage.Poll(0).LastTid);
    }

    [Fact]
    public void IterateReturnsEveryRevisionInCommitOrder()
    {
        var storage = NewStorage();
        var a = storage.NewOid();
        var b = storage.NewOid();
        var t1 = Commit(storage, (a, 0, Make("a1")), (b, 0, Make("b1")));
        var t2 = Commit(storage, (b, t1, Make("b2")));
        var t3 = Commit(storage, (a, t1, Make("a2")), (b, t2, Make("b3")));
        (Oid, long, string)[] expected = [(a, t1, "a1"), (b, t1, "b1"), (b, t2, "b2"), (a, t3, "a2"), (b, t3, "b3")];

        Assert.Equal(expected, storage.Iterate().Select(r => (r.Oid, r.Tid, Text(r.Data))));
        storage = Reopen(storage);
        Assert.Equal(expected, storage.Iterate().Select(r => (r.Oid, r.Tid, Text(r.Data))));
    }

    [Fact]
    public void IterateShowsTheCommitsMadeBeforeItWasCalled()
    {
        var storage = NewStorage();
        Commit(storage, (storage.NewOid(), 0, Make("one")));
        var records = storage.Iterate();
        Commit(storage, (storage.NewOid(), 0, Make("two")));

        Assert.Equal(["one"], records.Select(r => Text(r.Data)));
    }

    // ---- threads ----

    [Fact]
    public void ConcurrentCommitsAreAllVisibleWithUniqueTids()
    {
        const int threads = 4;
        const int transactionsPerThread = 50;
        var storage = NewStorage();
        var counter = storage.NewOid();
        Commit(storage, (counter, 0, Make("0")));
        var written = new List<(Oid Oid, long Tid, string Text)>();
        var conflicts = 0;

        Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, thread =>
        {
            for (var i = 0; i < transactionsPerThread; i++)
            {
                var oid = storage.NewOid();
                var text = $"{thread}/{i}";
                while (true)
                {
                    // Every transaction also increments a shared counter: the conflicts must serialize them.
                    var current = storage.Load(counter)!.Value;
                    using var transaction = storage.Begin();
                    transaction.Store(oid, 0, Make(text));
                    transaction.Store(counter, current.Tid, Make((int.Parse(Text(current.Data)) + 1).ToString()));
                    try
                    {
                        transaction.Vote();
                        var tid = transaction.Finish();
                        lock (written) written.Add((oid, tid, text));
                        break;
                    }
                    catch (ConflictException)
                    {
                        Interlocked.Increment(ref conflicts);
                    }
                }
            }
        });

        Assert.Equal(threads * transactionsPerThread, written.Count);
        Assert.Equal(written.Count, written.Select(w => w.Tid).Distinct().Count());
        Assert.Equal((threads * transactionsPerThread).ToString(), Text(storage.Load(counter)));
        storage = Reopen(storage);
        foreach (var (oid, tid, text) in written)
        {
            var loaded = storage.Load(oid)!.Value;
            Assert.Equal(tid, loaded.Tid);
            Assert.Equal(text, Text(loaded.Data));
        }
        Assert.Equal(written.Max(w => w.Tid), storage.LastTid);
        Assert.Equal(1 + 2 * written.Count, storage.Iterate().Count());
    }

    [Fact]
    public async Task ConcurrentLoadsSeeWholeRevisionsWhileCommitsRun()
    {
        var storage = NewStorage();
        var oids = Enumerable.Range(0, 20).Select(_ => storage.NewOid()).ToArray();
        var serial = Commit(storage, [.. oids.Select(o => (o, 0L, Make("0")))]);
        using var stop = new CancellationTokenSource();

        var readers = Enumerable.Range(0, 2).Select(_ => Task.Run(() =>
        {
            var loads = 0;
            var seen = new (long Tid, int Round)[oids.Length];
            while (!stop.IsCancellationRequested || loads == 0)
            {
                for (var i = 0; i < oids.Length; i++)
                {
                    var record = storage.Load(oids[i])!.Value;
                    var round = int.Parse(Text(record.Data));
                    // Revisions only move forward, and one tid always comes with the same bytes.
                    Assert.True(record.Tid >= seen[i].Tid && round >= seen[i].Round);
                    Assert.True(record.Tid != seen[i].Tid || round == seen[i].Round);
                    seen[i] = (record.Tid, round);
                    loads++;
                }
            }
            return loads;
        })).ToArray();
        for (var round = 1; round <= 30; round++)
        {
            using var transaction = storage.Begin();
            foreach (var oid in oids)
                transaction.Store(oid, serial, Make(round.ToString()));
            transaction.Vote();
            serial = transaction.Finish();
        }
        stop.Cancel();

        Assert.All(await Task.WhenAll(readers), loads => Assert.True(loads > 0));
        Assert.All(oids, oid => Assert.Equal("30", Text(storage.Load(oid))));
    }

    // ---- disposal ----

    [Fact]
    public void ADisposedStorageRefusesToWork()
    {
        var storage = NewStorage();
        var transaction = storage.Begin();
        storage.Dispose();

        Assert.Throws<ObjectDisposedException>(() => storage.Load(Oid.FirstUser));
        Assert.Throws<ObjectDisposedException>(() => storage.LoadBefore(Oid.FirstUser, 1));
        Assert.Throws<ObjectDisposedException>(() => storage.NewOid());
        Assert.Throws<ObjectDisposedException>(() => storage.Begin());
        Assert.Throws<ObjectDisposedException>(() => storage.Poll(0));
        Assert.Throws<ObjectDisposedException>(() => storage.Iterate());
        Assert.Throws<ObjectDisposedException>(() => transaction.Store(Oid.FirstUser, 0, Make("x")));
        Assert.Throws<ObjectDisposedException>(transaction.Vote);
        transaction.Dispose();
        storage.Dispose();
    }

    [Fact]
    public async Task DisposingWakesAVoteWaitingForTheCommitLock()
    {
        var storage = NewStorage();
        var first = storage.Begin();
        first.Store(storage.NewOid(), 0, Make("first"));
        first.Vote();
        var second = storage.Begin();
        second.Store(storage.NewOid(), 0, Make("second"));
        var vote = Task.Run(second.Vote);
        await Task.Delay(50);
        Assert.False(vote.IsCompleted);

        storage.Dispose();

        await Assert.ThrowsAsync<ObjectDisposedException>(() => vote.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Throws<ObjectDisposedException>(() => first.Finish());
    }
}
