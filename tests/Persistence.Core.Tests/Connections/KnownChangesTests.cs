using Persistence.Storage;
using Persistence.Tests.Models;

namespace Persistence.Tests.Connections;

/// <summary>
/// The changes a file storage keeps for its database's polls: only those a connection (open or
/// pooled) or the record cache may still ask for, so a bulk load does not grow the log without end,
/// and a connection that stayed behind still learns exactly what changed, not "everything".
/// </summary>
public class KnownChangesTests : IDisposable
{
    private const int Batches = 8;
    private const int BatchSize = 1_000;

    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public void A_lone_writer_bulk_loading_keeps_no_more_than_a_few_transactions_of_changes()
    {
        using var storage = Open();
        using var db = Database.Open(storage, new DatabaseOptions());
        using var connection = db.OpenConnection();
        var known = (IKnownChanges)storage;
        var most = 0;
        AddBatches(connection, tree: null, () => most = Math.Max(most, known.KnownChangeCount));

        // 8,000 objects (and their buckets) were committed; the log is told to forget once it holds more
        // than 4,096 pairs, and the writer always polls from its newest commit.
        Assert.InRange(most, 1, 4_096 + BatchSize + 100);
        Assert.True(storage.LastTid > Batches);
    }

    [Fact]
    public void An_open_connection_left_behind_still_learns_exactly_which_objects_changed()
    {
        using var storage = Open();
        using var db = Database.Open(storage, new DatabaseOptions());
        var (_, changed) = StoreTwo(db);
        using var behind = db.OpenConnection();
        var keptHere = (Node)behind.Root["kept"];
        var changedHere = (Node)behind.Root["changed"];
        Assert.Equal("kept", keptHere.Label);
        Assert.Equal("changed 0", changedHere.Label);

        using (var writer = db.OpenConnection()) WriteMany(writer, changed);
        // Every change after the snapshot of the connection left behind is kept for it.
        Assert.True(((IKnownChanges)storage).KnownChangeCount > Batches * BatchSize);

        behind.Abort();
        AssertLearnedExactly(keptHere, changedHere);
        // Once it moved on, what no one can ask for any more is forgotten at the next poll.
        behind.Abort();
        Assert.Equal(0, ((IKnownChanges)storage).KnownChangeCount);
    }

    [Fact]
    public void A_pooled_connection_left_behind_still_learns_exactly_which_objects_changed_when_reopened()
    {
        using var storage = Open();
        using var db = Database.Open(storage, new DatabaseOptions());
        StoreTwo(db);
        var behind = db.OpenConnection();
        var keptHere = (Node)behind.Root["kept"];
        var changedHere = (Node)behind.Root["changed"];
        Assert.Equal("kept", keptHere.Label);
        using var writer = db.OpenConnection();
        behind.Dispose();

        WriteMany(writer, "changed");

        using var reopened = db.OpenConnection();
        Assert.Same(behind, reopened);
        AssertLearnedExactly(keptHere, changedHere);
    }

    [Fact]
    public void A_commit_right_after_the_snapshot_asks_only_for_what_came_after_it_and_still_sees_that()
    {
        var polls = new PollRecorder(new MemoryStorage());
        // No record cache: a cache that holds records asks from what it knows (see RecordCacheTests).
        using var db = Database.Open(polls, new DatabaseOptions { ConnectionPoolSize = 0, RecordCacheBytes = 0 });
        using var connection = db.OpenConnection();
        var node = new Node { Label = "0" };
        var mine = new Node { Label = "mine 0" };
        connection.Root["node"] = node;
        connection.Root["mine"] = mine;
        // The first commit of a class also commits the schema catalog, a transaction of its own.
        connection.Commit();

        node.Label = "1";
        connection.Commit();
        Assert.Equal(db.Storage.LastTid, polls.Asked[^1]);
        var before = db.Storage.LastTid;

        // Another writer commits between this connection's snapshot and its next commit: then the
        // commit asks from its snapshot, and learns of the other's change.
        using (var other = db.OpenConnection())
        {
            ((Node)other.Root["node"]).Label = "changed by the other";
            other.Commit();
        }
        mine.Label = "mine 1";
        connection.Commit();
        Assert.Equal(before, polls.Asked[^1]);
        Assert.Equal(PersistentState.Ghost, node.PersistentState);
        Assert.Equal("changed by the other", node.Label);

        node.Label = "2";
        connection.Commit();
        Assert.Equal(db.Storage.LastTid, polls.Asked[^1]);
        Assert.Equal(PersistentState.UpToDate, node.PersistentState);
        Assert.Equal("2", node.Label);
    }

    private FileStorage Open() => FileStorage.Open(_folder.File("known.db"), new FileStorageOptions { Durability = Durability.Relaxed });

    private static (string Kept, string Changed) StoreTwo(Database db)
    {
        using var writer = db.OpenConnection();
        writer.Root["kept"] = new Node { Label = "kept" };
        writer.Root["changed"] = new Node { Label = "changed 0" };
        writer.Root["tree"] = new BTree<int, Node>();
        writer.Commit();
        return ("kept", "changed");
    }

    /// <summary>Another connection commits the batches, changing the node stored as <paramref name="changed"/> in the middle.</summary>
    private static void WriteMany(Connection writer, string changed)
    {
        var tree = (BTree<int, Node>)writer.Root["tree"];
        AddBatches(writer, tree, () => { }, changeAt: Batches / 2, change: () => ((Node)writer.Root[changed]).Label = "changed 1");
    }

    private static void AddBatches(Connection connection, BTree<int, Node>? tree, Action afterCommit, int changeAt = -1, Action? change = null)
    {
        if (tree is null)
        {
            tree = new BTree<int, Node>();
            connection.Root["tree"] = tree;
        }
        for (var batch = 0; batch < Batches; batch++)
        {
            for (var i = 0; i < BatchSize; i++) tree.Add((batch * BatchSize) + i, new Node { Label = $"n{batch}.{i}" });
            if (batch == changeAt) change!();
            connection.Commit();
            afterCommit();
        }
    }

    private static void AssertLearnedExactly(Node kept, Node changed)
    {
        // Unchanged since the connection loaded it: still loaded. Had the storage forgotten the changes
        // after the connection's snapshot, the poll would have named every object, and this one too.
        Assert.Equal(PersistentState.UpToDate, kept.PersistentState);
        Assert.Equal(PersistentState.Ghost, changed.PersistentState);
        Assert.Equal("changed 1", changed.Label);
    }

    /// <summary>Remembers the tid each poll asks from.</summary>
    private sealed class PollRecorder(IStorage inner) : DelegatingStorage(inner)
    {
        public List<long> Asked { get; } = [];

        public override StorageChanges Poll(long sinceTid)
        {
            Asked.Add(sinceTid);
            return base.Poll(sinceTid);
        }
    }
}
