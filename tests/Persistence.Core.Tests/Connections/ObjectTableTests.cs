using Persistence.Tests.Models;

namespace Persistence.Tests.Connections;

public class ObjectTableTests
{
    private static Node With(ulong oid) => new() { _oid = new Oid(oid) };

    // The longest run of full slots (what an unsuccessful lookup may have to walk), twice round the
    // table so a run that goes round the end is counted whole.
    private static int LongestRun(ObjectTable table)
    {
        int longest = 0, run = 0;
        for (var k = 0; k < 2 * table.SlotCount; k++)
        {
            run = table.At(k % table.SlotCount) is null ? 0 : run + 1;
            longest = Math.Max(longest, Math.Min(run, table.SlotCount));
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
            var oid = random.Next(10) == 0 ? (ulong)random.NextInt64(1, long.MaxValue) : (ulong)random.Next(1, 5_000);
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
    public void While_every_oid_fits_in_32_bits_a_matching_tag_finds_the_object_and_wider_oids_stay_apart()
    {
        var table = new ObjectTable();
        var objects = new Dictionary<ulong, PersistentObject>();
        // 0 and 0x9E3779B9 share a tag, and each of the narrow oids shares one with a wide oid below.
        foreach (var oid in new ulong[] { 0, 0x9E3779B9, 4, 5, 1_000, uint.MaxValue })
        {
            objects[oid] = With(oid);
            table.Add(oid, objects[oid]);
        }
        foreach (var (oid, obj) in objects)
        {
            Assert.True(table.TryGetValue(oid, out var found));
            Assert.Same(obj, found);
        }
        // Folded to 32 bits: 4, 0 (the tag of 0), 0x9E3779B9 and uint.MaxValue.
        ulong[] wide = [(1UL << 32) | 5, (1UL << 32) | 1, 0x9E3779B9UL << 32, 0xFFFFFFFFUL << 32];
        foreach (var oid in wide) Assert.False(table.TryGetValue(oid, out _), $"{oid:x} found");

        // Once a wide oid is in the table, it and the narrow oid with its tag are each found as themselves.
        var first = With(wide[0]);
        table.Add(wide[0], first);
        Assert.True(table.TryGetValue(wide[0], out var foundWide));
        Assert.Same(first, foundWide);
        Assert.True(table.TryGetValue(4, out var foundNarrow));
        Assert.Same(objects[4], foundNarrow);
        foreach (var oid in wide[1..]) Assert.False(table.TryGetValue(oid, out _), $"{oid:x} found");
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
        for (ulong oid = 1; oid <= 40_000; oid++) table.Add(oid, With(oid));
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
        // Rebuilt into a table a quarter as large, they made one run of 10,000 slots.
        Assert.InRange(LongestRun(table), 0, 200);
        foreach (var obj in kept)
        {
            Assert.True(table.TryGetValue(obj._oid.Value, out var found));
            Assert.Same(obj, found);
        }
    }
}
