using Persistence.Storage;
using Persistence.Tests.Models;
using Persistence.Tests.Storage;

namespace Persistence.Tests.Connections;

/// <summary>
/// An object the database should hold and does not (the root, or the target of a reference) is damage,
/// reported as <see cref="CorruptDatabaseException"/> naming the oids: never a KeyNotFoundException, a
/// request to open the file for writing, or a new empty root over the objects the old one held.
/// </summary>
public sealed class MissingObjectTests : IDisposable
{
    private readonly TempDirectory _directory = new();
    private readonly string _path;

    public MissingObjectTests() => _path = _directory.File("data.persist");

    public void Dispose() => _directory.Dispose();

    [Fact]
    public void A_reference_to_an_object_the_file_does_not_hold_is_damage_naming_both_objects()
    {
        Oid referrer, missing;
        long recordOffset;
        using (var db = Database.Open(_path))
        using (var writer = db.OpenConnection())
        {
            var first = new Node { Label = "first", Next = new Node { Label = "second" } };
            writer.Root["first"] = first;
            writer.Commit();
            (referrer, missing) = (first.PersistentOid, first.Next.PersistentOid);
            recordOffset = ((FileStorage)db.Storage).NewestOffset(missing);
        }
        // The record of the second node is given an oid no object has (the same varint length), every
        // checksum made to hold again: the file no longer holds the second node.
        var bytes = File.ReadAllBytes(_path);
        var at = (int)recordOffset + 4;
        Assert.Equal(missing.Value, bytes[at]);
        bytes[at] = 0x7F;
        TestRecords.MakeChecksumsHold(bytes, recordOffset);
        File.WriteAllBytes(_path, bytes);

        using var reopened = Database.Open(_path, new DatabaseOptions { ReadOnly = true });
        using var reader = reopened.OpenConnection();
        var node = (Node)reader.Root["first"];
        var error = Assert.Throws<CorruptDatabaseException>(() => node.Next!.Label);
        Assert.Equal(missing, error.Oid);
        Assert.Contains($"{missing} is referenced by {referrer}", error.Message);

        // Verify finds it too: every transaction is whole, but a reference dangles.
        var report = FileStorage.Verify(_path);
        var problem = Assert.Single(report.Problems);
        Assert.Equal(((FileStorage)reopened.Storage).NewestOffset(referrer), problem.Offset);
        Assert.Contains($"refers to oid {missing.Value}, of which the file holds no revision", problem.Description);
    }

    [Fact]
    public void Verify_finds_no_dangling_reference_in_a_sound_file_with_history_and_a_pack()
    {
        using (var db = Database.Open(_path))
        using (var writer = db.OpenConnection())
        {
            var first = new Node { Label = "first", Next = new Node { Label = "second" } };
            writer.Root["first"] = first;
            writer.Root["list"] = new PersistentList<Node> { first, new Node { Label = "third" } };
            writer.Commit();
            first.Next = new Node { Label = "replaced" };
            ((PersistentList<Node>)writer.Root["list"]).RemoveAt(1);
            writer.Commit();
            Assert.True(FileStorage.Verify(_path).IsValid);
            db.Pack();
        }
        var report = FileStorage.Verify(_path);
        Assert.True(report.IsValid, string.Join("; ", report.Problems.Select(p => p.Description)));
    }

    [Fact]
    public void Verify_reads_the_references_of_every_record_of_a_transaction_with_records_larger_than_its_buffers()
    {
        using (var db = Database.Open(_path))
        using (var writer = db.OpenConnection())
        {
            // One transaction: small records that refer to others, between records of 100 KB to 1 MB.
            var list = new PersistentList<PersistentObject>();
            for (var i = 0; i < 6; i++)
            {
                list.Add(new Node { Label = "before " + i, Next = new Node { Label = "target " + i } });
                list.Add(new Everything { Bytes = new byte[(100 << 10) * (i + 1) + i] });
            }
            writer.Root["list"] = list;
            writer.Commit();
        }
        var report = FileStorage.Verify(_path);
        Assert.True(report.IsValid, string.Join("; ", report.Problems.Select(p => p.Description)));
        Assert.True(report.RecordCount >= 19, $"{report.RecordCount} records");
    }

    [Fact]
    public void A_file_that_holds_objects_but_no_root_is_damage_and_gets_no_new_root()
    {
        // Objects and no root object (oid 1): the root's record was damaged or lost.
        Oid held;
        using (var storage = FileStorage.Open(_path))
        {
            held = storage.NewOid();
            TestRecords.Commit(storage, (held, 0, TestRecords.Make("an object the root held")));
        }
        var before = File.ReadAllBytes(_path);

        foreach (var readOnly in new[] { true, false })
        {
            var error = Assert.Throws<CorruptDatabaseException>(() => Database.Open(_path, new DatabaseOptions { ReadOnly = readOnly }));
            Assert.Equal(Oid.Root, error.Oid);
            Assert.Contains($"no root object (oid 1), though it holds objects ({held} among them)", error.Message);
        }
        Assert.Equal(before, File.ReadAllBytes(_path));
    }

    [Fact]
    public void A_root_missing_from_a_connections_snapshot_is_damage_not_a_missing_key()
    {
        var storage = new TamperingStorage(new MemoryStorage());
        using var db = Database.Open(storage);
        storage.Hidden.Add(Oid.Root);
        using var connection = db.OpenConnection();

        var error = Assert.Throws<CorruptDatabaseException>(() => connection.Root);
        Assert.Equal(Oid.Root, error.Oid);
        Assert.Contains("no root object", error.Message);
        // Any other oid the database does not hold is the caller's to ask for: KeyNotFoundException.
        Assert.Throws<KeyNotFoundException>(() => connection.Get(new Oid(1_000_000)));
    }
}
