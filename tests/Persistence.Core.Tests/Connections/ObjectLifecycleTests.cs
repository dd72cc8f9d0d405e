using Persistence.Tests.Models;

namespace Persistence.Tests.Connections;

public class ObjectLifecycleTests
{
    [Fact]
    public void A_new_object_has_no_oid_until_a_commit_reaches_it_from_the_root()
    {
        using var db = TestDatabase.InMemory();
        using var connection = db.OpenConnection();
        var ada = new Customer { Name = "Ada" };
        Assert.Equal(PersistentState.New, ada.PersistentState);
        Assert.True(ada.PersistentOid.IsNull);

        connection.Root["ada"] = ada;
        Assert.True(ada.PersistentOid.IsNull);
        connection.Commit();

        Assert.False(ada.PersistentOid.IsNull);
        Assert.Equal(PersistentState.UpToDate, ada.PersistentState);
        Assert.Same(connection, ada.PersistentConnection);
        Assert.Equal(db.Storage.LastTid, ada.PersistentSerial);
    }

    [Fact]
    public void An_object_of_a_class_deriving_from_a_persistent_class_without_being_one_is_refused_at_commit()
    {
        using var db = TestDatabase.InMemory();
        TestDatabase.Store(db, "kept", new Customer { Name = "kept" });
        using (var connection = db.OpenConnection())
        {
            connection.Root["guest"] = new UnmarkedCustomer { Name = "guest", Extra = 5 };
            var error = Assert.Throws<InvalidOperationException>(connection.Commit);
            Assert.StartsWith(
                "Persistence.Tests.Models.UnmarkedCustomer derives from the [Persistent] class Persistence.Tests.Models.Customer but is not [Persistent] itself, so it cannot be stored",
                error.Message,
                StringComparison.Ordinal);
            connection.Abort();

            // A generic one is named as C# names it, and told what it can do instead.
            connection.Root["box"] = new UnmarkedBox<int> { Name = "box", Content = 1 };
            var generic = Assert.Throws<InvalidOperationException>(connection.Commit);
            Assert.StartsWith("UnmarkedBox<…> derives from the [Persistent] class Persistence.Tests.Models.Customer", generic.Message, StringComparison.Ordinal);
            Assert.Contains("A generic class cannot be [Persistent]", generic.Message, StringComparison.Ordinal);
            connection.Abort();
        }

        using var reader = db.OpenConnection();
        Assert.Equal("kept", ((Customer)reader.Root["kept"]).Name);
        Assert.False(reader.Root.ContainsKey("guest"));
        // A class that is [Persistent] itself is stored as itself.
        Assert.IsType<Customer>(reader.Root["kept"]);
    }

    [Fact]
    public void An_objects_serial_is_the_revision_its_state_comes_from_as_of_its_connections_snapshot()
    {
        using var db = TestDatabase.InMemory();
        var first = TestDatabase.Store(db, "ada", new Customer { Name = "Ada" });
        using var reader = db.OpenConnection();
        var ada = (Customer)reader.Root["ada"];
        Assert.Equal("Ada", ada.Name);
        Assert.Equal(first, ada.PersistentSerial);

        // Another connection commits a change: within its transaction the reader still sees the
        // revision it loaded, and so does its serial.
        using (var writer = db.OpenConnection())
        {
            ((Customer)writer.Root["ada"]).Name = "Ada L.";
            writer.Commit();
        }
        var second = db.Storage.LastTid;
        Assert.True(second > first);
        Assert.Equal(first, ada.PersistentSerial);

        // A change made now is based on that revision, so committing it conflicts.
        ada.Name = "Ada Lovelace";
        Assert.Equal(first, ada.PersistentSerial);
        Assert.Throws<ConflictException>(reader.Commit);
        reader.Abort();

        // At the boundary the object became a ghost; loaded again, it is at the newest revision.
        Assert.Equal("Ada L.", ada.Name);
        Assert.Equal(second, ada.PersistentSerial);
        ada.Name = "Ada Lovelace";
        reader.Commit();
        Assert.Equal(db.Storage.LastTid, ada.PersistentSerial);
        Assert.True(ada.PersistentSerial > second);
    }

    [Fact]
    public void Objects_reachable_only_through_other_new_objects_are_stored_too()
    {
        using var db = TestDatabase.InMemory();
        using (var connection = db.OpenConnection())
        {
            var c = new Node { Label = "c" };
            var b = new Node { Label = "b", Next = c };
            connection.Root["list"] = new Node { Label = "a", Next = b };
            connection.Commit();
            Assert.False(c.PersistentOid.IsNull);
        }
        using var other = db.OpenConnection();
        var a = (Node)other.Root["list"];
        Assert.Equal("a", a.Label);
        Assert.Equal("b", a.Next!.Label);
        Assert.Equal("c", a.Next.Next!.Label);
        Assert.Null(a.Next.Next.Next);
    }

    [Fact]
    public void Referenced_objects_load_as_ghosts_and_activate_when_touched()
    {
        using var db = TestDatabase.InMemory();
        using (var writer = db.OpenConnection())
        {
            writer.Root["ada"] = new Customer { Name = "Ada", ReferredBy = new Customer { Name = "Grace", Orders = 7 } };
            writer.Commit();
        }
        using var reader = db.OpenConnection();
        var ada = (Customer)reader.Root["ada"];
        Assert.Equal(PersistentState.Ghost, ada.PersistentState);
        var grace = ada.ReferredBy!;
        Assert.Equal(PersistentState.UpToDate, ada.PersistentState);
        Assert.Equal(PersistentState.Ghost, grace.PersistentState);
        Assert.Equal(7, grace.Orders);
        Assert.Equal(PersistentState.UpToDate, grace.PersistentState);

        grace.Orders = 8;
        Assert.Equal(PersistentState.Changed, grace.PersistentState);
        Assert.True(reader.HasChanges);
    }

    [Fact]
    public void Writing_a_ghost_loads_it_first_so_other_fields_keep_their_values()
    {
        using var db = TestDatabase.InMemory();
        using (var writer = db.OpenConnection())
        {
            writer.Root["ada"] = new Customer { Name = "Ada", Orders = 3 };
            writer.Commit();
        }
        using (var changer = db.OpenConnection())
        {
            var ada = (Customer)changer.Root["ada"];
            Assert.Equal(PersistentState.Ghost, ada.PersistentState);
            ada.Orders = 4;
            changer.Commit();
        }
        using var reader = db.OpenConnection();
        var stored = (Customer)reader.Root["ada"];
        Assert.Equal(("Ada", 4), (stored.Name, stored.Orders));
    }

    [Fact]
    public void One_oid_is_one_instance_within_a_connection()
    {
        using var db = TestDatabase.InMemory();
        using (var writer = db.OpenConnection())
        {
            var shared = new Customer { Name = "Shared" };
            writer.Root["a"] = new Customer { Name = "A", ReferredBy = shared };
            writer.Root["b"] = new Customer { Name = "B", ReferredBy = shared };
            writer.Root["shared"] = shared;
            writer.Commit();
        }
        using var reader = db.OpenConnection();
        var a = (Customer)reader.Root["a"];
        var b = (Customer)reader.Root["b"];
        Assert.Same(a.ReferredBy, b.ReferredBy);
        Assert.Same(a.ReferredBy, reader.Root["shared"]);
        Assert.Same(a, reader.Get(a.PersistentOid));
    }

    [Fact]
    public void Abort_restores_committed_values_and_forgets_new_objects()
    {
        using var db = TestDatabase.InMemory();
        using var connection = db.OpenConnection();
        var ada = new Customer { Name = "Ada", Orders = 1 };
        connection.Root["ada"] = ada;
        connection.Commit();

        ada.Orders = 99;
        ada.ReferredBy = new Customer { Name = "Never stored" };
        connection.Root["extra"] = new Node { Label = "never" };
        connection.Abort();

        Assert.Equal(PersistentState.Ghost, ada.PersistentState);
        Assert.Equal(1, ada.Orders);
        Assert.Null(ada.ReferredBy);
        Assert.False(connection.Root.ContainsKey("extra"));
        Assert.False(connection.HasChanges);
    }

    [Fact]
    public void Inheritance_stores_base_and_derived_fields()
    {
        using var db = TestDatabase.InMemory();
        var dog = TestDatabase.RoundTrip(db, new Dog { Name = "Rex", GoodBoy = true });
        Assert.Equal("Rex", dog.Name);
        Assert.True(dog.GoodBoy);
        Assert.IsAssignableFrom<Animal>(dog);
    }

    [Fact]
    public void Nested_persistent_classes_round_trip()
    {
        using var db = TestDatabase.InMemory();
        var inner = TestDatabase.RoundTrip(db, new Outer.Inner { Value = 42 });
        Assert.Equal(42, inner.Value);
        Assert.Equal("Persistence.Tests.Models.Outer+Inner", inner.PersistentType.Name);
    }

    // Stores a list of `count` nodes labelled n0, n1, … under root["items"] and opens a reader.
    private static Connection WithNodes(Database db, int count)
    {
        using (var writer = db.OpenConnection())
        {
            var items = new PersistentList<Node>();
            for (var i = 0; i < count; i++) items.Add(new Node { Label = "n" + i });
            writer.Root["items"] = items;
            writer.Commit();
        }
        return db.OpenConnection();
    }

    [Fact]
    public void The_cache_turns_objects_back_into_ghosts_at_transaction_boundaries_down_to_its_size()
    {
        using var db = TestDatabase.InMemory(cacheSize: 10);
        using var reader = WithNodes(db, 100);
        var list = (PersistentList<Node>)reader.Root["items"];
        foreach (var node in list) Assert.StartsWith("n", node.Label);
        Assert.True(reader.LoadedCount > 100);

        list[99].Label = "changed";
        reader.Commit();

        Assert.True(reader.LoadedCount <= 10, $"{reader.LoadedCount} objects are still loaded");
        var evicted = Enumerable.Range(0, 100).Where(i => list[i].PersistentState == PersistentState.Ghost).ToList();
        Assert.True(evicted.Count >= 90, $"{evicted.Count} nodes were turned into ghosts");
        foreach (var i in evicted) Assert.Equal(i == 99 ? "changed" : "n" + i, list[i].Label);
        Assert.Equal("changed", list[99].Label);
    }

    [Fact]
    public void The_cache_drops_what_the_last_transaction_did_not_use_before_what_it_used()
    {
        using var db = TestDatabase.InMemory(cacheSize: 20);
        using var reader = WithNodes(db, 25);
        var list = (PersistentList<Node>)reader.Root["items"];
        // The first transaction loads nodes 0-14; the second reads 0-4 again and loads 15-24.
        for (var i = 0; i < 15; i++) Assert.Equal("n" + i, list[i].Label);
        reader.Abort();
        Assert.Equal(17, reader.LoadedCount);
        list = (PersistentList<Node>)reader.Root["items"];
        for (var i = 0; i < 5; i++) Assert.Equal("n" + i, list[i].Label);
        for (var i = 15; i < 25; i++) Assert.Equal("n" + i, list[i].Label);
        reader.Abort();

        // 27 were loaded: 7 of the nodes 5-14, which the second transaction did not use, went.
        Assert.Equal(20, reader.LoadedCount);
        foreach (var i in Enumerable.Range(0, 5).Concat(Enumerable.Range(15, 10)))
            Assert.NotEqual(PersistentState.Ghost, list[i].PersistentState);
        Assert.Equal(7, Enumerable.Range(5, 10).Count(i => list[i].PersistentState == PersistentState.Ghost));
    }

    [Fact]
    public void A_changed_object_keeps_its_change_through_a_failed_commit_even_with_no_cache()
    {
        using var db = TestDatabase.InMemory(cacheSize: 0);
        using var connection = db.OpenConnection();
        var node = new Node { Label = "x" };
        connection.Root["n"] = node;
        connection.Commit();

        using (var other = db.OpenConnection())
        {
            ((Node)other.Root["n"]).Label = "theirs";
            other.Commit();
        }
        node.Label = "mine";
        Assert.Throws<ConflictException>(connection.Commit);
        Assert.Equal(PersistentState.Changed, node.PersistentState);
        Assert.Equal("mine", node.Label);

        connection.Abort();
        Assert.Equal("theirs", node.Label);
    }

    [Fact]
    public void Everything_committed_survives_closing_and_reopening_the_file_and_nothing_else_does()
    {
        using var folder = new TempFolder();
        var path = folder.File("shop.db");
        using (var db = Database.Open(path, TestDatabase.Cold()))
        using (var connection = db.OpenConnection())
        {
            var invoices = new PersistentList<Invoice>();
            var ada = new Customer { Name = "Ada", Orders = 2, Invoices = invoices, Home = new Address("Main St", 12345), Tier = Tier.Gold };
            invoices.Add(new Invoice { Number = 1, Total = new Money(12.5m, "EUR"), Customer = ada });
            connection.Root["ada"] = ada;
            connection.Commit();

            ada.Orders = 1000;
            connection.Root["uncommitted"] = new Node();
        }
        using (var db = Database.Open(path, TestDatabase.Cold()))
        using (var connection = db.OpenConnection())
        {
            var ada = (Customer)connection.Root["ada"];
            Assert.Equal(("Ada", 2, Tier.Gold), (ada.Name, ada.Orders, ada.Tier));
            Assert.Equal(new Address("Main St", 12345), ada.Home);
            var invoice = Assert.Single(ada.Invoices!);
            Assert.Equal(new Money(12.5m, "EUR"), invoice.Total);
            Assert.Same(ada, invoice.Customer);
            Assert.False(connection.Root.ContainsKey("uncommitted"));
        }
    }
}
