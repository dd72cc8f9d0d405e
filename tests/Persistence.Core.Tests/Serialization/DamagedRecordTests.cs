using FsCheck;
using FsCheck.Fluent;
using Persistence.Serialization;
using Persistence.Storage;
using Persistence.Tests.Models;

namespace Persistence.Tests.Serialization;

/// <summary>Hostile or damaged record bytes raise a clear error; they never crash, hang, or half-load an object.</summary>
public class DamagedRecordTests
{
    private static (TamperingStorage Storage, Database Db, Oid Oid, byte[] Record) StoreSample()
    {
        var storage = new TamperingStorage(new MemoryStorage());
        var db = Database.Open(storage, TestDatabase.Cold());
        using var writer = db.OpenConnection();
        var sample = new Everything
        {
            String = "sample",
            Ints = [1, 2, 3],
            Strings = ["a", "bb"],
            Map = new() { ["k"] = 1 },
            NullableInts = [1, null],
            Address = new Address("street", 5),
            Money = new Money(1.5m, "EUR"),
            DateTime = new DateTime(2020, 1, 2, 3, 4, 5, DateTimeKind.Utc),
            Nodes = new PersistentDictionary<string, Node> { ["n"] = new Node { Label = "n" } },
        };
        writer.Root["sample"] = sample;
        writer.Commit();
        return (storage, db, sample.PersistentOid, storage.Load(sample.PersistentOid)!.Value.Data.ToArray());
    }

    private static Exception? LoadDamaged(byte[] damaged)
    {
        var (storage, db, oid, _) = StoreSample();
        using (db)
        {
            storage.Replacements[oid] = damaged;
            using var reader = db.OpenConnection();
            try
            {
                var loaded = reader.Get<Everything>(oid);
                _ = loaded.String;
                return null;
            }
            catch (Exception e)
            {
                return e;
            }
        }
    }

    private static bool IsClearError(Exception? error) =>
        error is null or CorruptDatabaseException or SchemaMismatchException;

    [Fact]
    public void Truncating_a_record_anywhere_is_reported_as_corruption()
    {
        var record = StoreSample().Record;
        for (var length = 0; length < record.Length; length++)
        {
            var error = LoadDamaged(record[..length]);
            Assert.True(error is CorruptDatabaseException or SchemaMismatchException, $"length {length}: {error}");
        }
    }

    [Fact]
    public void Random_byte_changes_never_raise_anything_but_a_clear_error() =>
        Prop.ForAll<int, byte, int>((position, value, count) =>
        {
            var record = StoreSample().Record;
            var damaged = (byte[])record.Clone();
            // The header's type id is left alone: changed to another valid class's id, it is a different
            // (valid) record, which only the storage's checksum can tell from the original.
            var header = RecordFormat.StateOffset(record);
            var span = damaged.Length - header;
            for (var i = 0; i <= Math.Abs(count % 4); i++)
                damaged[header + (int)((uint)(position + 7919 * i) % (uint)span)] ^= (byte)(value | 1);
            var error = LoadDamaged(damaged);
            return IsClearError(error).Label(error?.ToString() ?? "");
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(300));

    [Fact]
    public void A_collection_stored_with_a_null_count_is_damage_not_an_empty_collection()
    {
        var storage = new TamperingStorage(new MemoryStorage());
        using var db = Database.Open(storage, TestDatabase.Cold());
        PersistentObject[] collections =
        [
            new PersistentList<int> { 1, 2 },
            new PersistentSet<string> { "a", "b" },
            new PersistentDictionary<string, int> { ["a"] = 1 },
        ];
        using (var writer = db.OpenConnection())
        {
            for (var i = 0; i < collections.Length; i++) writer.Root["c" + i] = collections[i];
            writer.Commit();
        }
        foreach (var collection in collections)
        {
            // The same record with a state of one byte: the count's "null".
            var oid = collection.PersistentOid;
            var original = storage.Load(oid)!.Value.Data.Span;
            RecordFormat.State(original, out var typeId, out var version);
            storage.Replacements[oid] = RecordFormat.Compose(typeId, version, [0], []);
        }
        using var reader = db.OpenConnection();
        var counts = new Func<int>[]
        {
            () => ((PersistentList<int>)reader.Root["c0"]).Count,
            () => ((PersistentSet<string>)reader.Root["c1"]).Count,
            () => ((PersistentDictionary<string, int>)reader.Root["c2"]).Count,
        };
        foreach (var count in counts)
        {
            var error = Assert.Throws<CorruptDatabaseException>(() => count());
            Assert.Contains("no count", error.Message);
        }
    }
}
