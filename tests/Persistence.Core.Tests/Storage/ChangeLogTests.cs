using Persistence.Storage;

namespace Persistence.Tests.Storage;

public class ChangeLogTests
{
    [Fact]
    public void CollectsTheOidsOfTransactionsAfterTheTidAskedAbout()
    {
        var log = new ChangeLog(coveredAfter: 10);
        log.Add(11, 3);
        log.Add(11, 4);
        log.Add(12, 4);
        log.Add(12, 5);
        log.Trim();

        Assert.Equal([3ul, 4ul, 5ul], Collect(log, 10)!);
        Assert.Equal([4ul, 5ul], Collect(log, 11)!);
        Assert.Empty(Collect(log, 12)!);
        Assert.Null(Collect(log, 9));
    }

    [Fact]
    public void ForgetsWholeTransactionsBeyondItsCapacity()
    {
        var log = new ChangeLog(coveredAfter: 0, capacity: 4);
        for (var tid = 1; tid <= 100; tid++)
        {
            log.Add(tid, (ulong)tid);
            log.Add(tid, 1000);
            log.Trim();
        }

        Assert.Equal([100ul, 1000ul], Collect(log, 99)!);
        Assert.Equal([99ul, 100ul, 1000ul], Collect(log, 98)!);
        Assert.Null(Collect(log, 97));
    }

    [Fact]
    public void ForgetsEvenTheNewestTransactionIfItAloneExceedsTheCapacity()
    {
        var log = new ChangeLog(coveredAfter: 0, capacity: 2);
        log.Add(1, 1);
        log.Trim();
        for (var oid = 10ul; oid < 20; oid++) log.Add(2, oid);
        log.Trim();

        // The whole of transaction 2 is over capacity, so it is forgotten too: asking about it must not
        // pretend nothing changed.
        Assert.Null(Collect(log, 1));
        Assert.Empty(Collect(log, 2)!);
    }

    [Fact]
    public void Forgetting_through_a_tid_keeps_what_came_after_it_and_refuses_asks_from_before()
    {
        var log = new ChangeLog(coveredAfter: 0);
        for (var tid = 1; tid <= 10; tid++)
        {
            log.Add(tid, (ulong)tid);
            log.Add(tid, 1000);
            log.Trim();
        }

        log.ForgetThrough(7);

        Assert.Equal(6, log.Count);
        Assert.Equal([8ul, 9ul, 10ul, 1000ul], Collect(log, 7)!);
        Assert.Equal([10ul, 1000ul], Collect(log, 9)!);
        // What was forgotten is not pretended unchanged: the caller falls back to every oid.
        Assert.Null(Collect(log, 6));
        // Forgetting less than already forgotten changes nothing.
        log.ForgetThrough(3);
        Assert.Equal([8ul, 9ul, 10ul, 1000ul], Collect(log, 7)!);
    }

    [Fact]
    public void A_log_grown_by_a_large_transaction_gives_its_memory_back_once_it_is_forgotten_and_goes_on()
    {
        var log = new ChangeLog(coveredAfter: 0);
        for (var oid = 1ul; oid <= 300_000; oid++) log.Add(1, oid);
        log.Trim();
        for (var tid = 2; tid <= 5; tid++)
        {
            log.Add(tid, (ulong)tid);
            log.Trim();
        }

        Assert.True(log.Room >= 300_004);
        log.ForgetThrough(1);

        Assert.Equal(4, log.Count);
        Assert.Equal(1 << 16, log.Room);
        Assert.Equal([3ul, 4ul, 5ul], Collect(log, 2)!);
        Assert.Null(Collect(log, 0));
        for (var tid = 6; tid <= 2000; tid++)
        {
            log.Add(tid, (ulong)tid);
            log.Trim();
        }
        Assert.Equal([1999ul, 2000ul], Collect(log, 1998)!);
        Assert.Equal(1999, log.Count);
    }

    private static ulong[]? Collect(ChangeLog log, long since)
    {
        var oids = new HashSet<Oid>();
        return log.TryCollect(since, oids) ? [.. oids.Select(o => o.Value).Order()] : null;
    }
}
