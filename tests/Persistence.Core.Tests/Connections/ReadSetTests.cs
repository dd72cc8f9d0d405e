using Persistence.Tests.Models;

namespace Persistence.Tests.Connections;

public class ReadSetTests
{
    private static Database TwoNodes() => TestDatabase.WithTwoNodes(TestDatabase.InMemory());

    /// <summary>Loads a and b in the reader's first transaction and ends it: both stay loaded.</summary>
    internal static (Node A, Node B) LoadedBefore(Connection reader)
    {
        var a = (Node)reader.Root["a"];
        var b = (Node)reader.Root["b"];
        Assert.Equal("a0", a.Label);
        Assert.Equal("b0", b.Label);
        reader.Abort();
        Assert.Equal(PersistentState.UpToDate, a.PersistentState);
        return (a, b);
    }

    [Fact]
    public void An_object_loaded_in_an_earlier_transaction_and_read_again_counts_as_read()
    {
        using var db = TwoNodes();
        using var reader = db.OpenConnection();
        using var writer = db.OpenConnection();
        var (a, b) = LoadedBefore(reader);

        b.Label = "derived from " + a.Label; // reads a (loaded before this transaction), writes b
        ((Node)writer.Root["a"]).Label = "a1";
        writer.Commit();

        var conflict = Assert.Throws<ConflictException>(reader.Commit);
        Assert.Equal([a.PersistentOid], conflict.Oids);
    }

    [Fact]
    public void A_conflict_over_objects_the_transaction_only_read_says_so_and_what_to_do_instead()
    {
        using var db = TwoNodes();
        using var reader = db.OpenConnection();
        using var writer = db.OpenConnection();
        ReadAThenWriteB(reader, writer);
        var readOnly = Assert.Throws<ConflictException>(reader.Commit);
        Assert.Contains("only read them", readOnly.Message);
        Assert.Contains("TransactionIsolation.Snapshot", readOnly.Message);
        reader.Abort();

        // A conflict over an object the transaction wrote says nothing of reads.
        ((Node)reader.Root["a"]).Label = "mine";
        ((Node)writer.Root["a"]).Label = "theirs";
        writer.Commit();
        var written = Assert.Throws<ConflictException>(reader.Commit);
        Assert.DoesNotContain("only read", written.Message);
    }

    [Fact]
    public void A_connection_opened_with_snapshot_isolation_checks_only_its_writes_and_the_pool_hands_it_out_again_as_asked()
    {
        using var db = TestDatabase.WithTwoNodes(Database.Open(new Persistence.Storage.MemoryStorage(), new DatabaseOptions { ConnectionPoolSize = 2 }));
        using var writer = db.OpenConnection();
        Connection report;
        using (report = db.OpenConnection(TransactionIsolation.Snapshot))
        {
            Assert.Equal(TransactionIsolation.Snapshot, report.Isolation);
            ReadAThenWriteB(report, writer);
            report.Commit();
            Assert.Equal("derived from a0", ((Node)report.Root["b"]).Label);
        }

        // The same connection, from the pool, with the database's isolation: the same work conflicts.
        using var next = db.OpenConnection();
        Assert.Same(report, next);
        Assert.Equal(TransactionIsolation.Serializable, next.Isolation);
        ReadAThenWriteB(next, writer);
        Assert.Throws<ConflictException>(next.Commit);
        Assert.Throws<ArgumentOutOfRangeException>(() => db.OpenConnection((TransactionIsolation)7));
    }

    /// <summary><paramref name="reader"/> reads a to write b; <paramref name="writer"/> then changes a and commits.</summary>
    private static void ReadAThenWriteB(Connection reader, Connection writer)
    {
        var a = (Node)reader.Root["a"];
        ((Node)reader.Root["b"]).Label = "derived from " + a.Label;
        ((Node)writer.Root["a"]).Label = a.Label + "!";
        writer.Commit();
    }

    [Fact]
    public void Objects_loaded_in_an_earlier_transaction_and_not_read_again_do_not_conflict()
    {
        using var db = TwoNodes();
        using var reader = db.OpenConnection();
        using var writer = db.OpenConnection();
        var (_, b) = LoadedBefore(reader);

        b.Label = "b1"; // reads nothing but b
        ((Node)writer.Root["a"]).Label = "a1";
        writer.Commit();

        reader.Commit();
        Assert.Equal("b1", b.Label);
    }

    [Fact]
    public void Loads_in_oid_order_take_one_run_and_every_load_and_read_is_counted_until_the_set_is_cleared()
    {
        var set = new ReadSet();
        foreach (var oid in new ulong[] { 10, 11, 12, 13, 7, 8, 20, 20 }) set.AddLoaded(oid);
        set.Add(new Node());

        Assert.Equal([new OidRun(10, 4), new OidRun(7, 2), new OidRun(20, 1), new OidRun(20, 1)], set.Loaded);
        Assert.Single(set.Noted);
        Assert.Equal(9, set.Count);

        set.Clear();
        Assert.Empty(set.Loaded);
        Assert.Empty(set.Noted);
        Assert.Equal(0, set.Count);
    }
}
