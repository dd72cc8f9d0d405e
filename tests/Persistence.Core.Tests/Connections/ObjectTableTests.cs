using Persistence.Tests.Models;

namespace Persistence.Tests.Connections;

public class ObjectTableTests
{
    private static Node With(ulong oid) => new() { _oid = new Oid(oid) };

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
    public void Adding_an_oid_twice_or_under_another_oid_is_refused()
    {
        var table = new ObjectTable();
        table.Add(5, With(5));
        Assert.Throws<ArgumentException>(() => table.Add(5, With(5)));
        Assert.Throws<ArgumentException>(() => table.Add(6, With(7)));
        Assert.Equal(1, table.Count);
    }
}
