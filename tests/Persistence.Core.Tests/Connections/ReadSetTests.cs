using Persistence.Tests.Models;

namespace Persistence.Tests.Connections;

public class ReadSetTests
{
    private static Database TwoNodes()
    {
        var db = TestDatabase.InMemory();
        using var setup = db.OpenConnection();
        setup.Root["a"] = new Node { Label = "a0" };
        setup.Root["b"] = new Node { Label = "b0" };
        setup.Commit();
        return db;
    }

    // Loads a and b in the reader's first transaction and ends it: both stay loaded.
    private static (Node A, Node B) LoadedBefore(Connection reader)
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
}
