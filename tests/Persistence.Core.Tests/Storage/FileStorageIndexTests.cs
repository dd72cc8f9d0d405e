using Persistence.Storage;

namespace Persistence.Tests.Storage;

public sealed class FileStorageIndexTests
{
    [Fact]
    public void AnEmptyIndexFindsNothing()
    {
        var index = new FileStorageIndex();

        Assert.Equal(0, index.Count);
        Assert.Equal(0UL, index.SlotLimit);
        Assert.Empty(index.Oids);
        Assert.Equal(0, index.Find(0));
        Assert.Equal(0, index.Find(3));
        Assert.Equal(0, index.Find(ulong.MaxValue));
    }

    [Fact]
    public void SetReplacesAndCountsEachObjectOnce()
    {
        var index = new FileStorageIndex();
        index.Set(3, 100);
        index.Set(4, 200);
        index.Set(3, 300);

        Assert.Equal(2, index.Count);
        Assert.Equal(300, index.Find(3));
        Assert.Equal(200, index.Find(4));
        Assert.Equal(5UL, index.SlotLimit);

        index.Set(4, 0);
        Assert.Equal(1, index.Count);
        Assert.Equal(0, index.Find(4));
        Assert.Equal([3UL], index.Oids);
    }

    [Fact]
    public void TheIndexGrowsPageByPageForDenseOids()
    {
        var index = new FileStorageIndex();
        const int n = 5 * FileStorageIndex.PageSize + 17;
        for (var oid = 1UL; oid <= n; oid++) index.Set(oid, (long)oid * 10);

        Assert.Equal(n, index.Count);
        Assert.Equal((ulong)n + 1, index.SlotLimit);
        for (var oid = 1UL; oid <= n; oid++) Assert.Equal((long)oid * 10, index.Find(oid));
        Assert.Equal(0, index.Find(n + 1));
        Assert.Equal(Enumerable.Range(1, n).Select(i => (ulong)i), index.Oids);
    }

    [Fact]
    public void SparseAndHugeOidsCostAPageOrAnEntryEach()
    {
        var index = new FileStorageIndex();
        ulong[] oids = [5, 1_000_000_000, FileStorageIndex.DenseLimit - 1, FileStorageIndex.DenseLimit, 1UL << 40, ulong.MaxValue];
        foreach (var oid in oids) index.Set(oid, (long)(oid % 1000) + 64);

        Assert.Equal(oids.Length, index.Count);
        foreach (var oid in oids) Assert.Equal((long)(oid % 1000) + 64, index.Find(oid));
        Assert.Equal(0, index.Find(6));
        Assert.Equal(0, index.Find((1UL << 40) + 1));
        Assert.Equal(3, index.OverflowCount);
        Assert.Equal(FileStorageIndex.DenseLimit, index.SlotLimit);
        // Only the three pages that hold an oid exist.
        Assert.Equal(3, Enumerable.Range(0, index.PageCount).Count(p => index.Page(p) is not null));
        Assert.Equal(oids.Order(), index.Oids.Order());
    }

    [Fact]
    public void ASnapshotKeepsItsValuesWhileTheIndexChanges()
    {
        var index = new FileStorageIndex();
        for (var oid = 1UL; oid < 3 * FileStorageIndex.PageSize; oid++) index.Set(oid, 1);
        index.Set(1UL << 40, 1);
        var snapshot = index.Snapshot();

        for (var oid = 1UL; oid < 3 * FileStorageIndex.PageSize; oid += 7) index.Set(oid, 2);
        index.Set(10 * FileStorageIndex.PageSize, 2);
        index.Set(1UL << 40, 2);
        index.Set(2, 0);

        Assert.Equal(3 * FileStorageIndex.PageSize, snapshot.Count);
        for (var oid = 1UL; oid < 3 * FileStorageIndex.PageSize; oid++) Assert.Equal(1, snapshot.Find(oid));
        Assert.Equal(0, snapshot.Find(10 * FileStorageIndex.PageSize));
        Assert.Equal(1, snapshot.Find(1UL << 40));
        Assert.Equal(2, index.Find(1));
        Assert.Equal(0, index.Find(2));
        Assert.Equal(2, index.Find(10 * FileStorageIndex.PageSize));
        Assert.Equal(2, index.Find(1UL << 40));
        Assert.Throws<InvalidOperationException>(() => snapshot.Set(1, 5));
    }

    [Fact]
    public void ReplaceWithTakesOverAnotherIndex()
    {
        var index = new FileStorageIndex();
        index.Set(3, 1);
        var other = new FileStorageIndex();
        other.Set(4, 2);
        other.Set(1UL << 33, 3);

        index.ReplaceWith(other);

        Assert.Equal(0, index.Find(3));
        Assert.Equal(2, index.Find(4));
        Assert.Equal(3, index.Find(1UL << 33));
        Assert.Equal(2, index.Count);
        index.Set(4, 9);
        Assert.Equal(9, index.Find(4));
    }
}
