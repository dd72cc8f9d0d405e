using Persistence.Storage;
using Persistence.Tests.Models;
using Persistence.Tests.Storage;

namespace Persistence.Tests.Connections;

public sealed class DatabasePackTests : IDisposable
{
    private readonly TempDirectory _directory = new();
    private readonly string _path;

    public DatabasePackTests() => _path = _directory.File("data.persist");

    public void Dispose() => _directory.Dispose();

    // No record cache: it would serve the old revisions from memory, and the pool would hand back a used connection.
    private static readonly DatabaseOptions Uncached = new() { RecordCacheBytes = 0, ConnectionPoolSize = 0 };

    /// <summary>
    /// root["a"] = a0 → leaf; a reader takes its snapshot; another connection then renames a to a1 and
    /// unlinks the leaf.
    /// </summary>
    private static Connection ReaderBeforeAChange(Database db)
    {
        using (var setUp = db.OpenConnection())
        {
            setUp.Root["a"] = new Node { Label = "a0", Next = new Node { Label = "leaf" } };
            setUp.Commit();
        }
        var reader = db.OpenConnection();
        _ = reader.Root.Count;
        using var writer = db.OpenConnection();
        var a = (Node)writer.Root["a"];
        a.Label = "a1";
        a.Next = null;
        writer.Commit();
        return reader;
    }

    [Fact]
    public void APackKeepsWhatTheConnectionsOpenInTheProcessReadAndDropsItOnceTheyMoveOn()
    {
        using var db = Database.Open(_path, Uncached);
        using var reader = ReaderBeforeAChange(db);

        // A connection at the newest state keeps nothing: only the reader is counted.
        using var current = db.OpenConnection();
        _ = current.Root.Count;
        var kept = db.Pack();
        Assert.Equal(1, kept.ConnectionsKeepingHistory);
        var a = (Node)reader.Root["a"];
        Assert.Equal(("a0", "leaf"), (a.Label, a.Next?.Label));

        reader.Abort();
        Assert.Equal(("a1", null), (a.Label, a.Next?.Label));
        var packed = db.Pack();
        Assert.Equal(0, packed.ConnectionsKeepingHistory);
        Assert.True(packed.BytesAfter < kept.BytesAfter, $"{packed.BytesAfter} bytes after the second pack, {kept.BytesAfter} after the first");
        Assert.Equal(kept.LiveObjects - 1, packed.LiveObjects);
        Assert.Empty(FileStorage.Verify(_path).Problems);
    }

    /// <summary>root["items"] holds three nodes; the second is removed from it. Returns its oid.</summary>
    private static Oid RemoveTheSecond(Database db)
    {
        using var writer = db.OpenConnection();
        var items = (PersistentList<Node>)writer.Root["items"];
        var removed = items[1].PersistentOid;
        items.RemoveAt(1);
        writer.Commit();
        return removed;
    }

    private static void StoreThreeItems(Connection connection)
    {
        connection.Root["items"] = new PersistentList<Node> { new() { Label = "one" }, new() { Label = "two" }, new() { Label = "three" } };
        connection.Commit();
    }

    [Fact]
    public void A_pooled_connection_that_held_an_object_a_pack_removed_does_not_give_it_out_by_its_oid()
    {
        using var db = Database.Open(_path);
        Oid removed;
        using (var first = db.OpenConnection())
        {
            StoreThreeItems(first);
            // Loaded, so the pooled connection keeps it in its cache.
            Assert.Equal("two", ((PersistentList<Node>)first.Root["items"])[1].Label);
        }
        removed = RemoveTheSecond(db);
        db.Pack();
        using var again = db.OpenConnection();
        var error = Assert.Throws<KeyNotFoundException>(() => again.Get<Node>(removed));
        Assert.Contains($"No object with {removed} exists", error.Message);
        Assert.Contains("a pack removes the objects that nothing reachable from the root refers to", error.Message);
        // The others are as they were.
        Assert.Equal(["one", "three"], ((PersistentList<Node>)again.Root["items"]).Select(n => n.Label));
    }

    [Fact]
    public void A_change_to_an_object_a_pack_removed_is_a_conflict_then_a_read_conflict_not_damage()
    {
        using var db = Database.Open(_path);
        using var holder = db.OpenConnection();
        StoreThreeItems(holder);
        var held = ((PersistentList<Node>)holder.Root["items"])[1];
        Assert.Equal("two", held.Label);
        var removed = RemoveTheSecond(db);
        // The holder moves past the removal (its snapshot no longer needs the node) and keeps the node it loaded,
        // which nobody changed; the pack then removes it.
        holder.Abort();
        db.Pack();

        held.Label = "changed";
        var conflict = Assert.Throws<ConflictException>(holder.Commit);
        Assert.Contains($"{removed} no longer exist: a pack removed them", conflict.Message);
        holder.Abort();
        var gone = Assert.Throws<ReadConflictException>(() => held.Label);
        Assert.Equal([removed], gone.Oids);
        Assert.Contains("no longer exists in this database", gone.Message);
        Assert.Contains("read the objects again from the root", gone.Message);
        Assert.Throws<KeyNotFoundException>(() => holder.Get<Node>(removed));
        Assert.True(FileStorage.Verify(_path).IsValid);
    }

    [Fact]
    public void APackWhileAConnectionIsBeingOpenedKeepsWhatItsSnapshotReads()
    {
        using var db = Database.Open(_path, Uncached);
        using (var setUp = db.OpenConnection())
        {
            setUp.Root["a"] = new Node { Label = "a0" };
            setUp.Commit();
        }
        // Between the new connection's snapshot and its being handed out: a change and a pack.
        db.FirstSnapshotTaken = () =>
        {
            db.FirstSnapshotTaken = null;
            using var writer = db.OpenConnection();
            ((Node)writer.Root["a"]).Label = "a1";
            writer.Commit();
            db.Pack();
        };

        using var reader = db.OpenConnection();
        Assert.Null(db.FirstSnapshotTaken);
        Assert.Equal("a0", ((Node)reader.Root["a"]).Label);
        reader.Abort();
        Assert.Equal("a1", ((Node)reader.Root["a"]).Label);
    }

    [Fact]
    public void APackOfTheStorageAloneKeepsNoHistoryAndTheReaderIsToldHowToKeepIt()
    {
        using var db = Database.Open(_path, Uncached);
        using var reader = ReaderBeforeAChange(db);

        ((FileStorage)db.Storage).Pack();
        var error = Assert.Throws<ReadConflictException>(() => ((Node)reader.Root["a"]).Label);
        Assert.Contains("keepHistoryAfterTid", error.Message);
        Assert.Contains("Database.Pack", error.Message);
        reader.Abort();
        Assert.Equal("a1", ((Node)reader.Root["a"]).Label);
    }

    [Fact]
    public void AnExplicitTidKeepsTheHistoryAfterItWithNoConnectionOpen()
    {
        using var db = Database.Open(_path, Uncached);
        long before;
        Oid oid;
        using (var reader = ReaderBeforeAChange(db))
        {
            before = reader.Snapshot;
            oid = ((Node)reader.Root["a"]).PersistentOid;
        }

        db.Pack(keepHistoryAfterTid: before);
        Assert.NotNull(db.Storage.LoadBefore(oid, before + 1));
        db.Pack();
        Assert.Null(db.Storage.LoadBefore(oid, before + 1));
    }

    [Fact]
    public void PackIsRefusedWithAReasonWhereThereIsNoFileOrItIsReadOnly()
    {
        using (var memory = Database.Open(new MemoryStorage()))
            Assert.Contains("MemoryStorage", Assert.Throws<NotSupportedException>(() => memory.Pack()).Message);
        using (var db = Database.Open(_path)) { }
        using var readOnly = Database.Open(_path, new DatabaseOptions { ReadOnly = true });
        Assert.Throws<StorageLockedException>(() => readOnly.Pack());
    }
}
