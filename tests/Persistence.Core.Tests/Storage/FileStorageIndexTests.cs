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
        // Only the three pages that hold an oid exist, each a sparse page of one object.
        Assert.Equal(3, Enumerable.Range(0, index.PageCount).Count(p => index.SparsePage(p) is { Count: 1 }));
        Assert.All(Enumerable.Range(0, index.PageCount), p => Assert.Null(index.DensePage(p, out _)));
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

    [Fact]
    public void APageIsSparseUntilItHoldsManyObjectsAndDenseUntilItLosesHalfOfThoseAndFreedWhenEmpty()
    {
        var index = new FileStorageIndex();
        const ulong page = 2UL << FileStorageIndex.PageShift;
        for (var i = 0UL; i < FileStorageIndex.SparseMaximum; i++) index.Set(page + 2 * i, 64 + (long)i);
        Assert.Equal(FileStorageIndex.SparseMaximum, index.SparsePage(2)!.Count);

        index.Set(page + 1, 5);
        Assert.Null(index.SparsePage(2));
        Assert.NotNull(index.DensePage(2, out var count));
        Assert.Equal(FileStorageIndex.SparseMaximum + 1, count);

        // Back down to the threshold it went dense at: still dense (no flip on every set) ...
        index.Set(page + 1, 0);
        Assert.NotNull(index.DensePage(2, out _));
        // ... until it has lost half of it.
        for (var i = 0UL; i < FileStorageIndex.SparseMaximum - FileStorageIndex.DenseMinimum; i++) index.Set(page + 2 * i, 0);
        Assert.Null(index.DensePage(2, out _));
        Assert.Equal(FileStorageIndex.DenseMinimum, index.SparsePage(2)!.Count);
        Assert.Equal(FileStorageIndex.DenseMinimum, index.Count);
        Assert.Equal(64 + FileStorageIndex.SparseMaximum - 1, index.Find(page + 2 * (FileStorageIndex.SparseMaximum - 1)));

        var withOne = 0L;
        foreach (var oid in index.Oids.ToList())
        {
            if (index.Count == 1) withOne = index.AllocatedBytes;
            index.Set(oid, 0);
        }
        Assert.Null(index.SparsePage(2));
        Assert.Equal(0, index.Count);
        Assert.True(index.AllocatedBytes < withOne, $"{index.AllocatedBytes} bytes without objects, {withOne} with one");
    }

    [Fact]
    public void SetsAndClearsAgreeWithADictionaryAndSnapshotsKeepWhatTheySaw()
    {
        // Four pages filled and emptied at random, each going through every form many times, plus an oid
        // of the overflow dictionary; snapshots taken in between must not change as the index does.
        var random = new Random(20261129);
        var index = new FileStorageIndex();
        var model = new Dictionary<ulong, long>();
        var snapshots = new List<(FileStorageIndex Snapshot, Dictionary<ulong, long> Model)>();
        var seen = new HashSet<(int Page, string Form)>();
        const int pages = 4;
        var huge = FileStorageIndex.DenseLimit + 5;

        for (var round = 0; round < 60; round++)
        {
            var p = random.Next(pages);
            var first = (ulong)p << FileStorageIndex.PageShift;
            // A target population for the page: empty, few, around either threshold, or full.
            int[] targets = [0, 3, FileStorageIndex.DenseMinimum - 2, FileStorageIndex.DenseMinimum + 2, FileStorageIndex.SparseMaximum + 3, FileStorageIndex.PageSize];
            var target = targets[random.Next(targets.Length)];
            var inPage = model.Keys.Where(o => o >> FileStorageIndex.PageShift == (ulong)p).ToList();
            while (inPage.Count != target)
            {
                if (inPage.Count < target)
                {
                    var oid = first + (ulong)random.Next(FileStorageIndex.PageSize);
                    if (model.ContainsKey(oid)) continue;
                    Set(oid, random.NextInt64(64, long.MaxValue));
                    inPage.Add(oid);
                }
                else
                {
                    var at = random.Next(inPage.Count);
                    Set(inPage[at], 0);
                    inPage[at] = inPage[^1];
                    inPage.RemoveAt(inPage.Count - 1);
                }
                // Now and then, a new revision of an object that has one.
                if (inPage.Count > 0 && random.Next(8) == 0) Set(inPage[random.Next(inPage.Count)], random.NextInt64(64, long.MaxValue));
            }
            if (random.Next(3) == 0) Set(huge, model.ContainsKey(huge) ? 0 : random.NextInt64(64, long.MaxValue));
            for (var q = 0; q < pages; q++) seen.Add((q, FormOf(index, q)));
            if (round % 4 == 0) snapshots.Add((index.Snapshot(), new Dictionary<ulong, long>(model)));
            if (round % 10 == 0) AgreesWith(index, model, pages);
        }
        AgreesWith(index, model, pages);
        foreach (var (snapshot, expected) in snapshots) AgreesWith(snapshot, expected, pages);
        for (var q = 0; q < pages; q++)
            Assert.Equal(["dense", "empty", "sparse"], seen.Where(s => s.Page == q).Select(s => s.Form).Order());

        void Set(ulong oid, long offset)
        {
            index.Set(oid, offset);
            if (offset == 0) model.Remove(oid);
            else model[oid] = offset;
        }
    }

    /// <summary>Which form page <paramref name="p"/> has: dense, sparse or empty (and then nothing is allocated for it).</summary>
    private static string FormOf(FileStorageIndex index, int p)
    {
        var dense = index.DensePage(p, out var count);
        var sparse = index.SparsePage(p);
        Assert.False(dense is not null && sparse is not null);
        if (dense is not null)
        {
            Assert.True(count > FileStorageIndex.DenseMinimum, $"a dense page of {count} objects");
            Assert.Equal(count, dense.Count(o => o != 0));
            return "dense";
        }
        if (sparse is null) return "empty";
        Assert.InRange(sparse.Count, 1, FileStorageIndex.SparseMaximum);
        return "sparse";
    }

    /// <summary>Checks the index against the model: every oid of the first pages, the count, the oids in order, the page forms.</summary>
    private static void AgreesWith(FileStorageIndex index, Dictionary<ulong, long> model, int pages)
    {
        Assert.Equal(model.Count, index.Count);
        for (var oid = 0UL; oid < (ulong)pages << FileStorageIndex.PageShift; oid++)
            Assert.Equal(model.GetValueOrDefault(oid), index.Find(oid));
        Assert.Equal(model.GetValueOrDefault(FileStorageIndex.DenseLimit + 5), index.Find(FileStorageIndex.DenseLimit + 5));
        var dense = model.Keys.Where(o => o < FileStorageIndex.DenseLimit).Order();
        Assert.Equal(dense.Concat(model.Keys.Where(o => o >= FileStorageIndex.DenseLimit)), index.Oids);
        // The next object from points spread over the pages, within limits that cross pages or not.
        for (var from = 0UL; from < (ulong)pages << FileStorageIndex.PageShift; from += 997)
        {
            foreach (var limit in new[] { from + 3, from + 3_000, from + 20_000 })
                Assert.Equal(dense.Where(o => o >= from && o < limit).DefaultIfEmpty(limit).Min(), index.NextWithRevision(from, limit));
        }
        for (var p = 0; p < pages; p++) FormOf(index, p);
    }

    [Fact]
    public void AfterMostObjectsAreGoneTheIndexCostsAFractionOfItsDenseSize()
    {
        // 300,000 objects, 90% of them dropped at random: what a pack leaves of a long-running program's index.
        var random = new Random(7);
        var index = new FileStorageIndex();
        const int objects = 300_000;
        for (var oid = 3UL; oid < objects + 3; oid++) index.Set(oid, 64 + (long)oid);
        // The dense size: 8 bytes for every oid of every page used.
        var denseBytes = (long)((index.SlotLimit + FileStorageIndex.PageSize - 1) >> FileStorageIndex.PageShift) * FileStorageIndex.PageSize * sizeof(long);
        Assert.True(index.AllocatedBytes >= denseBytes);

        for (var oid = 3UL; oid < objects + 3; oid++)
        {
            if (random.Next(10) != 0) index.Set(oid, 0);
        }

        var live = index.Count;
        Assert.InRange(live, objects / 12, objects / 8);
        Assert.True(index.AllocatedBytes < denseBytes / 4, $"{index.AllocatedBytes:N0} bytes for {live:N0} objects; dense pages would be {denseBytes:N0}");
        // In proportion to the live objects: the 10 bytes of a sparse entry with the arrays' room to grow.
        Assert.True(index.AllocatedBytes < 24 * live, $"{index.AllocatedBytes:N0} bytes for {live:N0} objects");
    }
}
