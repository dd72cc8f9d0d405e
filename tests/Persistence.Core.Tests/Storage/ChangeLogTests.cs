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

    private static ulong[]? Collect(ChangeLog log, long since)
    {
        var oids = new HashSet<Oid>();
        return log.TryCollect(since, oids) ? [.. oids.Select(o => o.Value).Order()] : null;
    }
}
