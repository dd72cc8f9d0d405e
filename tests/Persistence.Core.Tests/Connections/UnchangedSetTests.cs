using Persistence.Tests.Models;

namespace Persistence.Tests.Connections;

/// <summary>Setting a property to the value it holds is no change: nothing is stored again.</summary>
public class UnchangedSetTests
{
    [Fact]
    public void Setting_the_value_a_loaded_or_ghost_object_holds_stores_nothing()
    {
        using var db = TestDatabase.InMemory();
        var referrer = new Customer { Name = "Bea" };
        TestDatabase.Store(db, "ada", new Customer { Name = "Ada", Orders = 3, Tier = Tier.Gold, ReferredBy = referrer });
        var stored = db.Storage.LastTid;

        using var connection = db.OpenConnection();
        var ada = (Customer)connection.Root["ada"];
        // A ghost: the set loads it to compare, as a read would.
        Assert.Equal(PersistentState.Ghost, ada.PersistentState);
        ada.Orders = 3;
        Assert.Equal(PersistentState.UpToDate, ada.PersistentState);
        ada.Name = "Ada";
        ada.Tier = Tier.Gold;
        ada.ReferredBy = ada.ReferredBy;
        Assert.Equal(PersistentState.UpToDate, ada.PersistentState);
        connection.Commit();
        Assert.Equal(stored, db.Storage.LastTid);

        // Another value is a change as before.
        ada.Orders = 4;
        Assert.Equal(PersistentState.Changed, ada.PersistentState);
        connection.Commit();
        Assert.True(db.Storage.LastTid > stored);
        using var reader = db.OpenConnection();
        Assert.Equal(4, ((Customer)reader.Root["ada"]).Orders);
    }

    [Fact]
    public void A_set_of_the_same_value_does_not_conflict_with_another_connections_change()
    {
        using var db = TestDatabase.InMemory();
        TestDatabase.Store(db, "ada", new Customer { Name = "Ada", Orders = 3 });

        using var first = db.OpenConnection();
        using var second = db.OpenConnection();
        var mine = (Customer)first.Root["ada"];
        var theirs = (Customer)second.Root["ada"];
        mine.Name = "Ada";
        theirs.Orders = 5;
        second.Commit();
        // Nothing of the first connection's is stored, so the second's change stands and nothing conflicts.
        first.Commit();

        using var reader = db.OpenConnection();
        Assert.Equal(5, ((Customer)reader.Root["ada"]).Orders);
    }

    [Fact]
    public void Values_whose_equality_is_not_sameness_are_stored_whenever_set()
    {
        // 0.0 == -0.0, 1.0m == 1.00m, and DateTime's == ignores the Kind: each is stored again, so the
        // value read back is the one set.
        using var db = TestDatabase.InMemory();
        var at = new DateTime(2026, 11, 29, 12, 0, 0, DateTimeKind.Unspecified);
        TestDatabase.Store(db, "all", new Everything { Double = 0.0, Decimal = 1.0m, DateTime = at, Int32 = 7 });

        using (var connection = db.OpenConnection())
        {
            var all = (Everything)connection.Root["all"];
            all.Double = -0.0;
            Assert.Equal(PersistentState.Changed, all.PersistentState);
            all.Decimal = 1.00m;
            all.DateTime = DateTime.SpecifyKind(at, DateTimeKind.Utc);
            all.Int32 = 7;
            connection.Commit();
        }

        using var reader = db.OpenConnection();
        var read = (Everything)reader.Root["all"];
        Assert.True(double.IsNegative(read.Double));
        Assert.Equal("1.00", read.Decimal.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(DateTimeKind.Utc, read.DateTime.Kind);
        Assert.Equal(7, read.Int32);
    }

    [Fact]
    public void A_changed_object_stays_changed_when_a_property_is_set_back()
    {
        using var db = TestDatabase.InMemory();
        TestDatabase.Store(db, "ada", new Customer { Name = "Ada", Orders = 3 });

        using var connection = db.OpenConnection();
        var ada = (Customer)connection.Root["ada"];
        ada.Orders = 4;
        ada.Orders = 3;
        // It is stored (with the value it had): the set compares with the value held, not the one committed.
        Assert.Equal(PersistentState.Changed, ada.PersistentState);
        var before = db.Storage.LastTid;
        connection.Commit();
        Assert.True(db.Storage.LastTid > before);
        Assert.Equal(3, ada.Orders);
    }
}
