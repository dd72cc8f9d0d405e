using Persistence.Tests.Models;

namespace Persistence.Tests.Connections;

public class CacheEvictionTests
{
    [Fact]
    public void Objects_changed_by_others_and_loaded_again_over_and_over_keep_the_loaded_count_right_and_the_cache_within_its_size()
    {
        using var db = TestDatabase.InMemory(cacheSize: 5);
        using var writer = db.OpenConnection();
        var nodes = new PersistentList<Node>();
        for (var i = 0; i < 20; i++) nodes.Add(new Node { Label = "0" });
        writer.Root["nodes"] = nodes;
        writer.Commit();

        using var reader = db.OpenConnection();
        var read = (PersistentList<Node>)reader.Root["nodes"];
        for (var round = 1; round <= 300; round++)
        {
            nodes[round % 20].Label = round.ToString();
            writer.Commit();
            reader.Abort();
            Assert.Equal(round.ToString(), read[round % 20].Label);
            foreach (var node in read) Assert.NotNull(node.Label);
            PersistentObject[] all = [reader.Root, read, .. read];
            var loaded = all.Count(obj => obj.PersistentState != PersistentState.Ghost);
            Assert.Equal(loaded, reader.LoadedCount);
        }
        reader.Abort();
        Assert.InRange(reader.LoadedCount, 0, 5);
    }
}
