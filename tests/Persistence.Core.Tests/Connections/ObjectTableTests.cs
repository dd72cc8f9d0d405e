using Persistence.Tests.Models;

namespace Persistence.Tests.Connections;

public class ObjectTableTests
{
    private static Node With(ulong oid) => new() { ObjectOid = new Oid(oid) };

    // The longest run of page-table entries in use (what an unsuccessful lookup may have to walk),
    // twice round the table so a run that goes round the end is counted whole. Entry e holds slots
    // 64 e to 64 e + 63, and is in use when one of them holds an object.
    private static int LongestRun(ObjectTable table)
    {
        var entries = table.SlotCount / 64;
        int longest = 0, run = 0;
        for (var k = 0; k < 2 * entries; k++)
        {
            var entry = k % entries;
            run = table.NextOccupied(64 * entry) < 64 * (entry + 1) ? run + 1 : 0;
            longest = Math.Max(longest, Math.Min(run, entries));
        }
        return longest;
    }

    [Fact]
    public void The_table_finds_adds_and_removes_objects_by_oid_as_a_dictionary_does()
    {
        var table = new ObjectTable();
        var expected = new Dictionary<ulong, PersistentObject>();
        var random = new Random(7);
        for (var step = 0; step < 200_000; step++)
        {
            // Dense oids with runs of removals, as connections see them, and now and then a far one.
            var oid = random.Next(10) == 0 ? (ulong)random.NextInt64(1, (long)PersistentObject.LargestOid) : (ulong)random.Next(1, 5_000);
            switch (random.Next(3))
            {
                case 0 when !expected.ContainsKey(oid):
                    var obj = With(oid);
                    table.Add(oid, obj);
                    expected.Add(oid, obj);
                    break;
                case 1:
                    Assert.Equal(expected.Remove(oid), table.Remove(oid));
                    break;
                default:
                    Assert.Equal(expected.TryGetValue(oid, out var want), table.TryGetValue(oid, out var found));
                    Assert.Same(want, found);
                    break;
            }
            Assert.Equal(expected.Count, table.Count);
        }
        foreach (var (oid, obj) in expected)
        {
            Assert.True(table.TryGetValue(oid, out var found));
            Assert.Same(obj, found);
        }
    }

    [Fact]
    public void Oids_of_one_page_and_of_pages_far_apart_are_each_found_as_themselves()
    {
        var table = new ObjectTable();
        var objects = new Dictionary<ulong, PersistentObject>();
        // The ends of a page of 64 oids, oids added out of order within a page, oid 0, the largest oid,
        // and oids whose page numbers differ only in their high bits.
        const ulong largest = PersistentObject.LargestOid;
        ulong[] oids = [0, 63, 64, 127, 100, 70, 65, largest, largest - 63, 1UL << 46, (1UL << 46) + 1, 5];
        foreach (var oid in oids)
        {
            objects[oid] = With(oid);
            table.Add(oid, objects[oid]);
        }
        foreach (var (oid, obj) in objects)
        {
            Assert.True(table.TryGetValue(oid, out var found));
            Assert.Same(obj, found);
        }
        foreach (var oid in new ulong[] { 1, 62, 66, 128, largest - 1, largest - 64, 1UL << 45, (1UL << 46) + 2, ulong.MaxValue })
            Assert.False(table.TryGetValue(oid, out _), $"{oid:x} found");

        // Walking every slot meets each object once, and stepping from occupied slot to occupied slot meets the same ones.
        var met = new List<PersistentObject>();
        for (var slot = 0; slot < table.SlotCount; slot++)
        {
            if (table.At(slot) is { } obj) met.Add(obj);
        }
        Assert.Equal(objects.Count, met.Count);
        Assert.Equal(objects.Count, met.Distinct(ReferenceEqualityComparer.Instance).Count());
        var stepped = new List<PersistentObject>();
        for (var slot = table.NextOccupied(0); slot < table.SlotCount; slot = table.NextOccupied(slot + 1)) stepped.Add(table.At(slot)!);
        Assert.Equal(met, stepped);
        Assert.Equal(table.SlotCount, table.NextOccupied(table.SlotCount - 1 + (table.At(table.SlotCount - 1) is null ? 0 : 1)));

        // Removing from the middle of a page keeps its other objects where lookups find them.
        Assert.True(table.Remove(70));
        Assert.False(table.Remove(70));
        Assert.False(table.TryGetValue(70, out _));
        foreach (var oid in new ulong[] { 64, 65, 100, 127 })
        {
            Assert.True(table.TryGetValue(oid, out var found));
            Assert.Same(objects[oid], found);
        }
    }

    // The oids a walk of the loaded marks meets, from slot 0 to the end.
    private static HashSet<ulong> MarkedLoaded(ObjectTable table)
    {
        var oids = new HashSet<ulong>();
        for (var slot = table.NextLoaded(0); slot < table.SlotCount; slot = table.NextLoaded(slot + 1))
            Assert.True(oids.Add(table.At(slot)!.ObjectOid.Value), "a walk met an object twice");
        return oids;
    }

    [Fact]
    public void The_loaded_marks_follow_their_objects_through_additions_removals_sweeps_and_growth()
    {
        var table = new ObjectTable();
        var objects = new Dictionary<ulong, PersistentObject>();
        var loaded = new HashSet<ulong>();
        var random = new Random(11);
        for (var step = 0; step < 60_000; step++)
        {
            var oid = (ulong)random.Next(1, 3_000);
            switch (random.Next(6))
            {
                case 0 when !objects.ContainsKey(oid):
                    // A new object is not loaded until it is marked, whatever its oid held before.
                    objects.Add(oid, With(oid));
                    table.Add(oid, objects[oid]);
                    break;
                case 1:
                    Assert.Equal(objects.Remove(oid), table.Remove(oid));
                    loaded.Remove(oid);
                    break;
                case 2 when objects.ContainsKey(oid):
                    table.MarkLoaded(oid, loaded: true);
                    loaded.Add(oid);
                    break;
                case 3:
                    // Marking an oid the table does not hold marks nothing.
                    table.MarkLoaded(oid, loaded: false);
                    loaded.Remove(oid);
                    break;
                case 4 when random.Next(200) == 0:
                    var sweep = random.Next(2, 5);
                    table.RemoveWhere(obj => obj.ObjectOid.Value % (ulong)sweep == 0, obj =>
                    {
                        objects.Remove(obj.ObjectOid.Value);
                        loaded.Remove(obj.ObjectOid.Value);
                    });
                    break;
                case 5 when random.Next(50) == 0:
                    // The hand unmarks the first loaded object it meets after a random slot.
                    var slot = table.NextLoaded(random.Next(table.SlotCount));
                    if (slot < table.SlotCount)
                    {
                        loaded.Remove(table.At(slot)!.ObjectOid.Value);
                        table.UnmarkLoadedAt(slot);
                    }
                    break;
            }
        }
        Assert.True(loaded.Count > 100, "too few objects were left marked for the check to mean much");
        Assert.Equal(loaded.OrderBy(o => o), MarkedLoaded(table).OrderBy(o => o));

        // Marking all at once from a predicate sets exactly those marks.
        table.MarkAllLoaded(obj => obj.ObjectOid.Value % 3 == 1);
        Assert.Equal(objects.Keys.Where(o => o % 3 == 1).OrderBy(o => o), MarkedLoaded(table).OrderBy(o => o));
    }

    [Fact]
    public void Dense_oids_cost_the_table_little_more_than_a_reference_each()
    {
        var objects = new PersistentObject[256_000];
        for (var k = 0; k < objects.Length; k++) objects[k] = With((ulong)k + 1_000);
        var table = new ObjectTable();
        var before = GC.GetAllocatedBytesForCurrentThread();
        foreach (var obj in objects) table.Add(obj.ObjectOid.Value, obj);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        // A full page keeps 8.4 bytes an object; pages filled in oid order from their first oid are made
        // whole at once, so little more is allocated on the way (the page table as it grows). A hash
        // table of 12-byte slots grown by half at four fifths full allocates about 60 bytes an object.
        Assert.InRange(allocated / (double)objects.Length, 8, 12);
        Assert.Equal(objects.Length, table.Count);
        foreach (var obj in objects)
        {
            Assert.True(table.TryGetValue(obj.ObjectOid.Value, out var found));
            Assert.Same(obj, found);
        }
    }

    [Fact]
    public void Pages_left_with_any_count_by_a_sweep_grow_again_as_objects_are_added()
    {
        var table = new ObjectTable();
        var objects = new Dictionary<ulong, PersistentObject>();
        for (ulong oid = 64; oid < 64 * 5; oid++) objects[oid] = With(oid);
        foreach (var (oid, obj) in objects) table.Add(oid, obj);
        // Keep 3, 5, 33 and 63 objects of the four pages: arrays of those lengths.
        int[] keep = [3, 5, 33, 63];
        var kept = new HashSet<PersistentObject>(ReferenceEqualityComparer.Instance);
        for (var page = 0; page < 4; page++)
        {
            // 37 is prime to 64: k × 37 mod 64 visits distinct oids of the page, spread over it.
            for (var k = 0; k < keep[page]; k++) kept.Add(objects[(ulong)(64 * (page + 1) + (k * 37 % 64))]);
        }
        var removed = new List<PersistentObject>();
        table.RemoveWhere(obj => !kept.Contains(obj), removed.Add);
        Assert.Equal(kept.Count, table.Count);
        Assert.Equal(objects.Count - kept.Count, removed.Count);

        // Every oid of the four pages again, in an order that inserts between the kept ones.
        foreach (var obj in removed.OrderByDescending(o => o.ObjectOid.Value)) table.Add(obj.ObjectOid.Value, obj);
        Assert.Equal(objects.Count, table.Count);
        foreach (var (oid, obj) in objects)
        {
            Assert.True(table.TryGetValue(oid, out var found));
            Assert.Same(obj, found);
        }
    }

    [Fact]
    public void Adding_an_oid_twice_or_under_another_oid_is_refused()
    {
        var table = new ObjectTable();
        table.Add(5, With(5));
        Assert.Throws<ArgumentException>(() => table.Add(5, With(5)));
        Assert.Throws<ArgumentException>(() => table.Add(6, With(7)));
        Assert.Equal(1, table.Count);
    }

    [Fact]
    public void A_table_grown_through_many_sizes_finds_every_object_and_loses_none_to_removals()
    {
        var table = new ObjectTable();
        var objects = new PersistentObject[200_001];
        for (var oid = 1; oid < objects.Length; oid++)
        {
            objects[oid] = With((ulong)oid);
            table.Add((ulong)oid, objects[oid]);
        }
        for (var oid = 1; oid < objects.Length; oid += 3) Assert.True(table.Remove((ulong)oid));
        for (var oid = 1; oid < objects.Length; oid++)
        {
            var kept = (oid - 1) % 3 != 0;
            Assert.Equal(kept, table.TryGetValue((ulong)oid, out var found));
            if (kept) Assert.Same(objects[oid], found);
        }
        Assert.Equal(200_000 - 66_667, table.Count);
        Assert.False(table.TryGetValue(200_001, out _));
    }

    [Fact]
    public void Objects_kept_from_one_stretch_of_the_table_stay_spread_when_the_rest_is_removed()
    {
        var table = new ObjectTable();
        for (ulong oid = 1; oid <= 640_000; oid++) table.Add(oid, With(oid));
        var slots = table.SlotCount;
        // Keep what lies in the first quarter of the slots, as a clock hand that stopped there would.
        var kept = new HashSet<PersistentObject>(ReferenceEqualityComparer.Instance);
        for (var slot = 0; slot < table.SlotCount / 4; slot++)
        {
            if (table.At(slot) is { } obj) kept.Add(obj);
        }
        table.RemoveWhere(obj => !kept.Contains(obj), _ => { });

        Assert.Equal(kept.Count, table.Count);
        Assert.Equal(slots, table.SlotCount);
        // Rebuilt into a table a quarter as large, they would make one run of 2,500 pages.
        Assert.InRange(LongestRun(table), 0, 200);
        foreach (var obj in kept)
        {
            Assert.True(table.TryGetValue(obj.ObjectOid.Value, out var found));
            Assert.Same(obj, found);
        }
    }
}
