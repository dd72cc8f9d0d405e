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

        var kept = db.Pack();
        var a = (Node)reader.Root["a"];
        Assert.Equal(("a0", "leaf"), (a.Label, a.Next?.Label));

        reader.Abort();
        Assert.Equal(("a1", null), (a.Label, a.Next?.Label));
        var packed = db.Pack();
        Assert.True(packed.BytesAfter < kept.BytesAfter, $"{packed.BytesAfter} bytes after the second pack, {kept.BytesAfter} after the first");
        Assert.Equal(kept.LiveObjects - 1, packed.LiveObjects);
        Assert.Empty(FileStorage.Verify(_path).Problems);
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
