using System.Text.Json;
using Persistence.Tests.Models;

namespace Persistence.Tests.Objects;

/// <summary>
/// A persistent object handed to System.Text.Json (as a web endpoint returning one does) serializes as
/// its own properties: the library's members (its connection, whose root reaches every object, its type
/// description, state, serial and oid) are not data of the object.
/// </summary>
public sealed class JsonSerializationTests
{
    [Fact]
    public void A_persistent_object_serializes_as_its_properties_only()
    {
        using var db = TestDatabase.InMemory();
        using (var store = db.OpenConnection())
        {
            store.Root["ada"] = new Customer { Name = "Ada", Orders = 3, Invoices = [new Invoice { Number = 7 }] };
            store.Commit();
        }

        using var connection = db.OpenConnection();
        var ada = (Customer)connection.Root["ada"];
        var json = JsonDocument.Parse(JsonSerializer.Serialize(ada)).RootElement;

        Assert.Equal("Ada", json.GetProperty("Name").GetString());
        Assert.Equal(3, json.GetProperty("Orders").GetInt32());
        Assert.Equal(7, json.GetProperty("Invoices")[0].GetProperty("Number").GetInt32());
        foreach (var member in new[] { "PersistentConnection", "PersistentType", "PersistentState", "PersistentSerial", "PersistentOid" })
            Assert.False(json.TryGetProperty(member, out _), $"{member} was serialized: {json}");
    }
}
