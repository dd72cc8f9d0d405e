using System.Globalization;
using Persistence.Storage;
using Persistence.Tests.Models;

namespace Persistence.Tests.Storage;

public sealed class DatabaseInspectorTests
{
    [Fact]
    public void Describe_decodes_every_field_from_the_catalog_alone()
    {
        using var folder = new TempFolder();
        var path = folder.File("everything.db");
        var guid = Guid.NewGuid();
        var when = new DateTime(2026, 11, 29, 13, 45, 10, 123, DateTimeKind.Utc);
        var offset = new DateTimeOffset(2026, 1, 2, 3, 4, 5, TimeSpan.FromHours(2));
        Oid oid, nodesOid;
        using (var db = Database.Open(path))
        using (var c = db.OpenConnection())
        {
            var e = new Everything
            {
                Bool = true, Byte = 200, SByte = -5, Int16 = -300, UInt16 = 60000, Int32 = -42, UInt32 = 4000000000,
                Int64 = long.MinValue, UInt64 = ulong.MaxValue, Char = 'x', Single = 1.5f, Double = 0.1, Decimal = 12.345m,
                String = "say \"hi\"\nnow", DateTime = when, DateTimeOffset = offset, DateOnly = new DateOnly(2026, 2, 28),
                TimeOnly = new TimeOnly(7, 8, 9), TimeSpan = TimeSpan.FromMinutes(90), Guid = guid, Tier = Tier.Gold,
                Permissions = Permissions.Admin | Permissions.Read, NullableInt = null, NullableDateTime = null,
                Bytes = [0xAB, 0x01], Ints = [1, 2, 3], Strings = ["a", null!], Map = new() { ["k"] = 5 },
                NullableInts = [7, null], Address = new Address("Main", 12345), MaybeAddress = null, Money = new Money(9.5m, "EUR"),
                Nodes = new PersistentDictionary<string, Node>(),
            };
            c.Root["e"] = e;
            c.Commit();
            oid = e.PersistentOid;
            nodesOid = e.Nodes.PersistentOid;
        }

        using var inspector = DatabaseInspector.Open(path);
        var stored = inspector.Describe(oid);
        Assert.NotNull(stored);
        Assert.Null(stored.Problem);
        Assert.Equal("Persistence.Tests.Models.Everything", stored.ClassName);
        var values = stored.Fields.ToDictionary(f => f.Name, f => f.Value);
        var invariant = CultureInfo.InvariantCulture;
        Assert.Equal("true", values["Bool"]);
        Assert.Equal("200", values["Byte"]);
        Assert.Equal("-5", values["SByte"]);
        Assert.Equal("-300", values["Int16"]);
        Assert.Equal("60000", values["UInt16"]);
        Assert.Equal("-42", values["Int32"]);
        Assert.Equal("4000000000", values["UInt32"]);
        Assert.Equal(long.MinValue.ToString(invariant), values["Int64"]);
        Assert.Equal(ulong.MaxValue.ToString(invariant), values["UInt64"]);
        Assert.Equal("'x'", values["Char"]);
        Assert.Equal("1.5", values["Single"]);
        Assert.Equal("0.1", values["Double"]);
        Assert.Equal("12.345", values["Decimal"]);
        Assert.Equal("\"say \\\"hi\\\"\\nnow\"", values["String"]);
        Assert.Equal(when.ToString("o", invariant), values["DateTime"]);
        Assert.Equal(offset.ToString("o", invariant), values["DateTimeOffset"]);
        Assert.Equal("2026-02-28", values["DateOnly"]);
        Assert.Equal("07:08:09", values["TimeOnly"]);
        Assert.Equal("01:30:00", values["TimeSpan"]);
        Assert.Equal(guid.ToString("D"), values["Guid"]);
        Assert.Equal(((byte)Tier.Gold).ToString(invariant), values["Tier"]);
        Assert.Equal(((long)(Permissions.Admin | Permissions.Read)).ToString(invariant), values["Permissions"]);
        Assert.Equal("null", values["NullableInt"]);
        Assert.Equal("null", values["NullableDateTime"]);
        Assert.Equal("2 bytes AB01", values["Bytes"]);
        Assert.Equal("[1, 2, 3]", values["Ints"]);
        Assert.Equal("[\"a\", null]", values["Strings"]);
        Assert.Equal("{\"k\": 5}", values["Map"]);
        Assert.Equal("[7, null]", values["NullableInts"]);
        Assert.Equal("{Street: \"Main\", Zip: 12345}", values["Address"]);
        Assert.Equal("null", values["MaybeAddress"]);
        Assert.Equal("{Amount: 9.5, Currency: \"EUR\"}", values["Money"]);
        Assert.StartsWith($"-> {nodesOid.Value} (Persistence.PersistentDictionary<", values["Nodes"]);
        Assert.Equal([nodesOid], stored.References);
        // Every stored field is shown, in the catalog's order, with its type code.
        var schema = inspector.Classes.Single(k => k.Name == stored.ClassName).Versions[stored.SchemaVersion];
        Assert.Equal(schema.Select(f => (f.Name, f.TypeCode)), stored.Fields.Select(f => (f.Name, f.TypeCode)));
    }

    [Fact]
    public void Long_strings_and_collections_are_cut_saying_how_much_is_left()
    {
        using var folder = new TempFolder();
        var path = folder.File("long.db");
        Oid oid;
        using (var db = Database.Open(path))
        using (var c = db.OpenConnection())
        {
            var e = new Everything { String = new string('s', 500), Ints = [.. Enumerable.Range(0, 100)], Strings = ["after"] };
            c.Root["e"] = e;
            c.Commit();
            oid = e.PersistentOid;
        }

        using var inspector = DatabaseInspector.Open(path);
        var values = inspector.Describe(oid)!.Fields.ToDictionary(f => f.Name, f => f.Value);
        Assert.Equal($"\"{new string('s', 120)}\"... (380 more characters)", values["String"]);
        Assert.Equal($"[{string.Join(", ", Enumerable.Range(0, 16))}, ... (84 more)]", values["Ints"]);
        // The fields after a cut collection are still read from the right bytes.
        Assert.Equal("[\"after\"]", values["Strings"]);
    }

    [Fact]
    public void Usage_counts_what_is_reachable_as_a_pack_keeps_it()
    {
        using var folder = new TempFolder();
        var path = folder.File("usage.db");
        using (var db = Database.Open(path))
        {
            using (var c = db.OpenConnection())
            {
                var tree = new BTree<int, Customer>();
                c.Root["customers"] = tree;
                for (var i = 0; i < 2000; i++) tree[i] = new Customer { Name = "c" + i, Home = new Address("s", i) };
                c.Commit();
                // 500 customers become garbage; the file still holds them.
                for (var i = 0; i < 500; i++) tree.Remove(i);
                c.Commit();
            }

            using (var inspector = new DatabaseInspector(db.Storage))
            {
                var usage = inspector.MeasureUsage();
                Assert.Equal(1500, usage.Classes.Single(k => k.ClassName == "Persistence.Tests.Models.Customer").Objects);
                Assert.True(usage.StoredObjects >= usage.ReachableObjects + 500, $"{usage.StoredObjects} stored, {usage.ReachableObjects} reachable");
                Assert.Equal(usage.ReachableObjects, usage.Classes.Sum(k => k.Objects));
                Assert.Equal(usage.ReachableBytes, usage.Classes.Sum(k => k.Bytes));
                Assert.Empty(usage.MissingReferences);
                var customers = inspector.ObjectsOf("Persistence.Tests.Models.Customer").ToList();
                Assert.Equal(1500, customers.Count);
                Assert.Equal(Enumerable.Range(500, 1500).Select(i => $"\"c{i}\"").Order(), customers.Select(c => c.Fields.Single(f => f.Name == "Name").Value).Order());
                Assert.Empty(inspector.ObjectsOf("No.Such.Class"));
                Assert.Throws<ArgumentException>(() => inspector.ObjectsOf(""));

                var packed = db.Pack();
                Assert.Equal(packed.LiveObjects, usage.ReachableObjects);
                Assert.Equal(packed.BytesAfter, usage.PackedBytes);
            }

            using (var after = new DatabaseInspector(db.Storage))
            {
                var usage = after.MeasureUsage();
                Assert.Equal(usage.StoredObjects, usage.ReachableObjects);
                Assert.Equal(1500, usage.Classes.Single(k => k.ClassName == "Persistence.Tests.Models.Customer").Objects);
            }
        }
    }

    [Fact]
    public void History_lists_revisions_newest_first_and_describes_an_old_one()
    {
        using var folder = new TempFolder();
        var path = folder.File("history.db");
        var tids = new List<long>();
        Oid oid;
        using (var db = Database.Open(path))
        using (var c = db.OpenConnection())
        {
            var node = new Node { Label = "v0" };
            c.Root["n"] = node;
            c.Commit();
            oid = node.PersistentOid;
            tids.Add(db.Storage.LastTid);
            for (var i = 1; i <= 3; i++)
            {
                node.Label = "v" + i;
                c.Commit();
                tids.Add(db.Storage.LastTid);
            }
        }

        using (var inspector = DatabaseInspector.Open(path))
        {
            var history = inspector.History(oid);
            Assert.Equal(Enumerable.Reverse(tids), history.Select(r => r.Tid));
            Assert.All(history, r => Assert.Equal("Persistence.Tests.Models.Node", r.ClassName));
            Assert.Equal(2, inspector.History(oid, most: 2).Count);
            for (var i = 0; i < tids.Count; i++)
                Assert.Equal($"\"v{i}\"", inspector.Describe(oid, tids[i])!.Fields.Single(f => f.Name == "Label").Value);
            Assert.Null(inspector.Describe(oid, tids[0] - 1));
            Assert.Null(inspector.Describe(new Oid(999_999)));
        }

        using (var db = Database.Open(path)) db.Pack();
        using (var inspector = DatabaseInspector.Open(path))
            Assert.Equal([tids[^1]], inspector.History(oid).Select(r => r.Tid));
    }

    [Fact]
    public void The_snapshot_is_fixed_when_the_inspector_opens()
    {
        using var folder = new TempFolder();
        var path = folder.File("snapshot.db");
        using var db = Database.Open(path);
        var node = new Node { Label = "before" };
        TestDatabase.Store(db, "n", node);
        using var inspector = DatabaseInspector.Open(path);
        using (var c = db.OpenConnection())
        {
            ((Node)c.Root["n"]!).Label = "after";
            c.Commit();
        }
        Assert.Equal("\"before\"", inspector.Describe(node.PersistentOid)!.Fields.Single(f => f.Name == "Label").Value);
    }

    [Fact]
    public void A_reference_to_an_object_the_storage_lacks_is_reported_with_its_referrer()
    {
        var memory = new MemoryStorage();
        using var db = Database.Open(memory, TestDatabase.Cold());
        var next = new Node { Label = "gone" };
        var first = new Node { Label = "first", Next = next };
        TestDatabase.Store(db, "n", first);
        var (from, to) = (first.PersistentOid, next.PersistentOid);
        using var inspector = new DatabaseInspector(new HidingStorage(memory, to));
        var usage = inspector.MeasureUsage();
        Assert.Equal([(from, to)], usage.MissingReferences);
        Assert.Null(usage.FileBytes);
    }

    [Fact]
    public void Open_refuses_a_missing_file_and_a_file_that_is_not_a_database()
    {
        using var folder = new TempFolder();
        Assert.Throws<FileNotFoundException>(() => DatabaseInspector.Open(folder.File("none.db")));
        var text = folder.File("notes.txt");
        File.WriteAllText(text, "these are notes, not a database; long enough to be looked at as a header");
        Assert.ThrowsAny<PersistenceException>(() => DatabaseInspector.Open(text));
        Assert.Equal("these are notes, not a database; long enough to be looked at as a header", File.ReadAllText(text));
    }

    private sealed class HidingStorage(IStorage inner, Oid hidden) : DelegatingStorage(inner)
    {
        public override StoredRecord? Load(Oid oid) => oid == hidden ? null : base.Load(oid);
        public override StoredRecord? LoadBefore(Oid oid, long tid) => oid == hidden ? null : base.LoadBefore(oid, tid);
    }
}
