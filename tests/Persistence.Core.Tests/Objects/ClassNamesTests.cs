using Persistence.Tests.Models;

namespace Persistence.Tests.Objects;

public sealed class ClassNamesTests
{
    [Theory]
    [InlineData("Shop.Invoice", "Shop.Invoice")]
    [InlineData("Shop.Outer+Inner", "Shop.Outer.Inner")]
    [InlineData("Persistence.PersistentDictionary<str,list<i32>>", "Persistence.PersistentDictionary<string, List<int>>")]
    [InlineData("Persistence.BTree<i64,Shop.Outer+Inner>", "Persistence.BTree<long, Shop.Outer.Inner>")]
    [InlineData("Persistence.PersistentList<{Street:str,Zip:i32?}>", "Persistence.PersistentList<{Street: string, Zip: int?}>")]
    [InlineData("Persistence.PersistentSet<array<dto>>", "Persistence.PersistentSet<DateTimeOffset[]>")]
    [InlineData("Persistence.PersistentDictionary<guid,dict<str,bytes>>", "Persistence.PersistentDictionary<Guid, Dictionary<string, byte[]>>")]
    [InlineData("Persistence.PersistentList<i32", "Persistence.PersistentList<i32")]
    [InlineData("Persistence.PersistentList<>", "Persistence.PersistentList<>")]
    public void Stored_names_read_as_csharp_writes_them(string stored, string expected) =>
        Assert.Equal(expected, ClassNames.OfStored(stored));

    [Fact]
    public void Runtime_names_read_as_csharp_writes_them()
    {
        Assert.Equal("Persistence.Tests.Models.Outer.Inner", ClassNames.Of<Outer.Inner>());
        Assert.Equal("Persistence.PersistentDictionary<string, List<int?>>", ClassNames.Of<PersistentDictionary<string, List<int?>>>());
        Assert.Equal("Persistence.BTree<long, Persistence.Tests.Models.Node[]>", ClassNames.Of<BTree<long, Node[]>>());
        Assert.Equal("Dictionary<Guid, byte[,]>", ClassNames.Of<Dictionary<Guid, byte[,]>>());
    }
}
