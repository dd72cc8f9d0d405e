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

    [Fact]
    public void Eviction_reads_only_loaded_objects_however_many_ghosts_the_identity_map_holds()
    {
        using var db = TestDatabase.InMemory(cacheSize: 10);
        using var writer = db.OpenConnection();
        var nodes = new PersistentList<Node>();
        for (var i = 0; i < 2_000; i++) nodes.Add(new Node { Label = i.ToString() });
        writer.Root["nodes"] = nodes;
        writer.Commit();

        using var reader = db.OpenConnection();
        var read = (PersistentList<Node>)reader.Root["nodes"];
        // Every node loaded once, a hundred a transaction: the identity map keeps the evicted ones as ghosts.
        for (var i = 0; i < 2_000; i++)
        {
            Assert.Equal(i.ToString(), read[i].Label);
            if (i % 100 == 99) reader.Abort();
        }
        reader.Abort();
        Assert.True(reader.KnownCount - reader.LoadedCount > 1_900, $"only {reader.KnownCount - reader.LoadedCount} ghosts");
        var reads = reader.EvictionReads;

        // Fifty transactions that each load one node, so each ends by evicting one object.
        for (var i = 0; i < 50; i++)
        {
            Assert.Equal(i.ToString(), read[i].Label);
            reader.Abort();
            Assert.InRange(reader.LoadedCount, 0, 10);
        }

        // The hand meets at most the 12 loaded objects (the cache, the root, the list) for each
        // eviction (52 reads for the 50); walking the ghosts too, it read 1,717.
        Assert.InRange(reader.EvictionReads - reads, 50, 50 * 12);
    }
}
