using Persistence.Tests.Models;

namespace Persistence.Tests.Collections;

/// <summary>
/// The structure of BTree and BTreeSet: splits, removals, enumeration over ghost buckets, key orders.
/// This class alone uses BTree&lt;long, int&gt;, BTree&lt;string, int&gt; and BTreeSet&lt;int&gt;, with
/// tiny buckets and nodes so that few entries build several levels.
/// </summary>
public sealed class BTreeTests
{
    private const int Bucket = 4;
    private const int NodeSize = 4;

    static BTreeTests()
    {
        BTreeTypes<long, int>.SetCapacities(Bucket, NodeSize);
        BTreeTypes<string, int>.SetCapacities(Bucket, NodeSize);
        BTreeTypes<int, BTreeNoValue>.SetCapacities(Bucket, NodeSize);
    }

    private static List<KeyValuePair<long, int>> Entries(IEnumerable<long> keys) => [.. keys.Select(k => new KeyValuePair<long, int>(k, (int)(k * 10)))];

    [Fact]
    public void Nullable_keys_are_in_their_values_order()
    {
        using var db = TestDatabase.InMemory();
        using (var connection = db.OpenConnection())
        {
            var tree = new BTree<int?, string>();
            foreach (var key in new int?[] { 3, -1, 2, int.MinValue }) tree[key] = $"v{key}";
            Assert.Throws<ArgumentNullException>(() => tree[null] = "none");
            connection.Root["tree"] = tree;
            connection.Commit();
        }
        using var reader = db.OpenConnection();
        var loaded = (BTree<int?, string>)reader.Root["tree"];
        Assert.Equal([int.MinValue, -1, 2, 3], loaded.Keys);
        Assert.Equal("v2", loaded[2]);
        Assert.Equal([-1, 2], loaded.Range(-1, 2).Select(entry => entry.Key));
    }

    [Fact]
    public void A_null_key_is_refused_as_a_dictionary_refuses_it()
    {
        var tree = new BTree<string, int> { ["a"] = 1 };
        string key = null!;

        Assert.Throws<ArgumentNullException>(() => tree.Add(key, 2));
        Assert.Throws<ArgumentNullException>(() => tree[key] = 2);
        Assert.Throws<ArgumentNullException>(() => tree[key]);
        Assert.Throws<ArgumentNullException>(() => tree.TryAdd(key, 2));
        Assert.Throws<ArgumentNullException>(() => tree.GetOrAdd(key, () => 2));
        Assert.Throws<ArgumentNullException>(() => tree.ContainsKey(key));
        Assert.Throws<ArgumentNullException>(() => tree.TryGetValue(key, out _));
        Assert.Throws<ArgumentNullException>(() => tree.Remove(key));
        Assert.Equal([new KeyValuePair<string, int>("a", 1)], tree);
    }

    [Fact]
    public void Ascending_inserts_fill_buckets_completely_and_build_several_levels()
    {
        var tree = new BTree<long, int>();
        for (var k = 1L; k <= 200; k++) tree.Add(k, (int)(k * 10));

        var (depth, buckets) = tree.Core.Verify();
        Assert.Equal(200 / Bucket, buckets);
        Assert.True(depth >= 4, $"depth {depth}");
        Assert.Equal(200, tree.Count);
        Assert.Equal(Entries(Enumerable.Range(1, 200).Select(i => (long)i)), tree.ToList());
    }

    [Fact]
    public void A_change_to_the_tree_stops_an_enumeration_at_its_next_step_inside_a_bucket_or_between_buckets()
    {
        var tree = new BTree<long, int>();
        for (var k = 1L; k <= 40; k++) tree.Add(k, (int)(k * 10));
        // Two entries into the first bucket (the next step stays in it), and at its last entry (the next step leaves it).
        foreach (var steps in new[] { 2, Bucket })
        {
            using var entries = tree.GetEnumerator();
            for (var i = 0; i < steps; i++) Assert.True(entries.MoveNext());
            Assert.Equal(steps, entries.Current.Key);
            tree[1000 + steps] = 0;
            var error = Assert.Throws<InvalidOperationException>(() => entries.MoveNext());
            Assert.Contains("changed during its enumeration", error.Message);
        }

        // Unchanged, every step of a forward enumeration and of a bounded one yields the next key.
        Assert.Equal([.. Enumerable.Range(1, 40).Select(i => (long)i), 1002, 1000 + Bucket], tree.Select(e => e.Key));
        Assert.Equal([.. Enumerable.Range(7, 20).Select(i => (long)i)], tree.Range(7, 26).Select(e => e.Key));
    }

    [Fact]
    public void An_enumeration_continued_after_its_buckets_were_let_go_throws_instead_of_showing_stale_entries()
    {
        // Let go of by another connection's commit (seen at this one's abort), and by eviction (no cache).
        foreach (var cacheSize in new[] { 10_000, 0 })
        {
            using var db = TestDatabase.InMemory(cacheSize);
            db.Transact(c =>
            {
                var tree = new BTree<long, int>();
                for (var k = 1L; k <= 40; k++) tree.Add(k, (int)(k * 10));
                c.Root["tree"] = tree;
            });
            using var reader = db.OpenConnection();
            using var writer = db.OpenConnection();
            var tree = (BTree<long, int>)reader.Root["tree"];
            // Two entries into the first bucket (the next step stays in it), and at its last entry (the next step leaves it).
            foreach (var steps in new[] { 2, Bucket })
            {
                using var entries = tree.GetEnumerator();
                for (var i = 0; i < steps; i++) Assert.True(entries.MoveNext());
                if (cacheSize > 0)
                {
                    var written = (BTree<long, int>)writer.Root["tree"];
                    for (var k = 1L; k <= 40; k++) written[k] = -steps;
                    writer.Commit();
                }
                reader.Abort();
                var error = Assert.Throws<InvalidOperationException>(() => entries.MoveNext());
                Assert.Contains("reloaded while it was being enumerated", error.Message);
            }

            // A new enumeration reads the tree as it is now.
            Assert.Equal(cacheSize > 0 ? Enumerable.Repeat(-Bucket, 40) : Enumerable.Range(1, 40).Select(k => k * 10), tree.Select(e => e.Value));
        }
    }

    [Fact]
    public void Descending_and_shuffled_inserts_keep_order_and_ranges()
    {
        var descending = new BTree<long, int>();
        for (var k = 300L; k >= 1; k--) descending[k] = (int)(k * 10);
        descending.Core.Verify();
        Assert.Equal(Entries(Enumerable.Range(1, 300).Select(i => (long)i)), descending.ToList());

        var shuffled = new BTree<long, int>();
        foreach (var k in Enumerable.Range(1, 300).OrderBy(i => (i * 7919) % 301)) shuffled[k] = k * 10;
        shuffled.Core.Verify();
        Assert.Equal(descending.ToList(), shuffled.ToList());
        Assert.Equal(1, shuffled.MinKey);
        Assert.Equal(300, shuffled.MaxKey);
    }

    [Fact]
    public void Inserting_at_each_position_of_a_full_bucket_splits_it_correctly()
    {
        for (var position = 0; position <= Bucket; position++)
        {
            var tree = new BTree<long, int>();
            for (var i = 0; i < Bucket; i++) tree.Add(10 * (i + 1), i);
            Assert.Equal(1, tree.Core.Verify().Buckets);

            var key = (10L * position) + 5;
            tree.Add(key, -1);

            Assert.Equal(2, tree.Core.Verify().Buckets);
            var expected = Enumerable.Range(1, Bucket).Select(i => 10L * i).Append(key).Order().ToList();
            Assert.Equal(expected, tree.Select(e => e.Key).ToList());
            Assert.Equal(-1, tree[key]);
        }
    }

    [Fact]
    public void Inserting_at_each_position_of_a_full_node_splits_it_correctly()
    {
        // Ascending inserts leave every bucket full; then one more key into each bucket in turn splits
        // it and adds a child to a full node.
        for (var bucket = 0; bucket < NodeSize; bucket++)
        {
            var tree = new BTree<long, int>();
            for (var k = 1L; k <= Bucket * NodeSize; k++) tree.Add(k * 10, 0);
            var before = tree.Core.Verify();
            Assert.Equal((2, NodeSize), before);

            tree.Add((bucket * Bucket * 10) + 15, 1);

            var after = tree.Core.Verify();
            Assert.Equal(NodeSize + 1, after.Buckets);
            Assert.Equal(3, after.Depth);
            Assert.Equal(Bucket * NodeSize + 1, tree.Count);
            Assert.Equal(1, tree[(bucket * Bucket * 10) + 15]);
        }
    }

    [Fact]
    public void Removing_every_key_in_any_order_empties_the_tree_level_by_level()
    {
        foreach (var order in new Func<int, int>[] { k => k, k => -k, k => (k * 37) % 101 })
        {
            var tree = new BTree<long, int>();
            var keys = Enumerable.Range(1, 100).ToList();
            foreach (var k in keys) tree.Add(k, k);
            var left = new SortedSet<long>(keys.Select(k => (long)k));
            foreach (var k in keys.OrderBy(order))
            {
                Assert.True(tree.Remove(k, out var value));
                Assert.Equal(k, value);
                left.Remove(k);
                tree.Core.Verify();
                Assert.Equal(left.ToList(), tree.Select(e => e.Key).ToList());
            }
            Assert.Equal((1, 1), tree.Core.Verify());
            Assert.Empty(tree);
            Assert.Equal(0L, tree.LongCount);
            Assert.False(tree.Remove(1));
            Assert.Throws<InvalidOperationException>(() => tree.MinKey);
            Assert.False(tree.TryGetLast(out _));
            tree.Add(5, 5);
            Assert.Equal(5, tree.MaxKey);
        }
    }

    [Fact]
    public void TryRemoveFirst_and_TryRemoveLast_take_the_edge_entries_out_level_by_level_until_the_tree_is_empty()
    {
        using var db = TestDatabase.InMemory();
        db.Transact(c =>
        {
            var tree = new BTree<long, int>();
            for (var k = 1L; k <= 100; k++) tree.Add(k, (int)(k * 10));
            c.Root["queue"] = tree;
        });
        var left = new LinkedList<long>(Enumerable.Range(1, 100).Select(k => (long)k));
        using (var connection = db.OpenConnection())
        {
            var tree = (BTree<long, int>)connection.Root["queue"];
            for (var i = 0; i < 60; i++)
            {
                var last = i % 3 == 2;
                Assert.True(last ? tree.TryRemoveLast(out var entry) : tree.TryRemoveFirst(out entry));
                var expected = last ? left.Last!.Value : left.First!.Value;
                Assert.Equal(new KeyValuePair<long, int>(expected, (int)(expected * 10)), entry);
                if (last) left.RemoveLast();
                else left.RemoveFirst();
                tree.Core.Verify();
                Assert.Equal(left.ToList(), tree.Keys.ToList());
            }
            connection.Commit();
        }
        using (var connection = db.OpenConnection())
        {
            var tree = (BTree<long, int>)connection.Root["queue"];
            Assert.Equal(left.ToList(), tree.Keys.ToList());
            Assert.Equal(40L, tree.LongCount);
            while (tree.TryRemoveFirst(out var entry))
            {
                Assert.Equal(left.First!.Value, entry.Key);
                left.RemoveFirst();
            }
            Assert.Empty(left);
            Assert.Equal((1, 1), tree.Core.Verify());
            Assert.Empty(tree);
            Assert.False(tree.TryRemoveFirst(out var none));
            Assert.Equal(default, none);
            Assert.False(tree.TryRemoveLast(out _));
        }
    }

    [Fact]
    public void Jobs_claimed_with_TryRemoveFirst_in_Transact_are_each_taken_once_in_key_order()
    {
        using var db = TestDatabase.InMemory();
        db.Transact(c =>
        {
            var queue = new BTree<long, int>();
            for (var k = 1L; k <= 40; k++) queue.Add(k, (int)k);
            c.Root["queue"] = queue;
        });
        var claimed = new System.Collections.Concurrent.ConcurrentQueue<long>();
        var workers = Enumerable.Range(0, 4).Select(_ => new Thread(() =>
        {
            while (true)
            {
                var job = db.Transact(c => ((BTree<long, int>)c.Root["queue"]).TryRemoveFirst(out var entry) ? entry.Key : 0, maxAttempts: 1000);
                if (job == 0) return;
                claimed.Enqueue(job);
            }
        })).ToList();
        workers.ForEach(worker => worker.Start());
        workers.ForEach(worker => worker.Join());

        Assert.Equal(Enumerable.Range(1, 40).Select(k => (long)k), claimed.Order());
        using var connection = db.OpenConnection();
        Assert.Empty((BTree<long, int>)connection.Root["queue"]);
    }

    [Fact]
    public void Removing_a_bucket_at_each_position_of_its_node_keeps_the_rest()
    {
        for (var victim = 0; victim < NodeSize; victim++)
        {
            var tree = new BTree<long, int>();
            for (var k = 1L; k <= Bucket * NodeSize; k++) tree.Add(k, 0);
            Assert.Equal(NodeSize, tree.Core.Verify().Buckets);
            for (var k = 1L; k <= Bucket; k++) tree.Remove((victim * Bucket) + k);
            Assert.Equal(NodeSize - 1, tree.Core.Verify().Buckets);
            var expected = Enumerable.Range(1, Bucket * NodeSize).Select(k => (long)k).Where(k => (k - 1) / Bucket != victim).ToList();
            Assert.Equal(expected, tree.Select(e => e.Key).ToList());
            // The removed range is still reachable for new keys.
            tree.Add((victim * Bucket) + 2, 7);
            Assert.Equal(7, tree[(victim * Bucket) + 2]);
            tree.Core.Verify();
        }
    }

    [Fact]
    public void Ranges_forward_and_reverse_respect_their_bounds()
    {
        var tree = new BTree<long, int>();
        for (var k = 0L; k < 100; k += 2) tree.Add(k, (int)k);

        Assert.Equal([10L, 12, 14, 16, 18, 20], tree.Range(10, 20).Select(e => e.Key));
        Assert.Equal([12L, 14, 16, 18], tree.Range(11, 19).Select(e => e.Key));
        Assert.Equal([20L, 18, 16, 14, 12, 10], tree.Range(10, 20).Reverse().Select(e => e.Key));
        Assert.Equal([18L, 16, 14, 12], tree.Range(11, 19).Reverse().Select(e => e.Key));
        Assert.Empty(tree.Range(20, 10));
        Assert.Empty(tree.Range(21, 21));
        Assert.Equal([94L, 96, 98], tree.RangeFrom(93).Select(e => e.Key));
        Assert.Equal([0L, 2, 4], tree.RangeTo(4).Select(e => e.Key));
        Assert.Equal([4L, 2, 0], tree.RangeTo(5).Reverse().Select(e => e.Key));
        Assert.Equal(Enumerable.Range(0, 50).Select(i => 98L - (2 * i)), tree.Reverse().Select(e => e.Key));
        Assert.Empty(tree.RangeFrom(99));
    }

    [Fact]
    public void A_bucket_whose_values_all_became_objects_gives_its_array_of_references_to_the_next_bucket_loaded()
    {
        using var db = TestDatabase.InMemory();
        var nodes = new BTree<int, Node>();
        for (var i = 0; i < 1_000; i++) nodes[i] = new Node { Label = $"node {i}" };
        TestDatabase.Store(db, "nodes", nodes);

        using var connection = db.OpenConnection();
        var tree = (BTree<int, Node>)connection.Root["nodes"];
        var first = tree.BucketOf(0);
        var last = tree.BucketOf(999);
        Assert.NotSame(first, last);
        var references = first.Pending;
        Assert.NotNull(references);
        // Half the first bucket's values made objects: it keeps its array.
        for (var i = 0; i < first._count / 2; i++) Assert.Equal($"node {first._keys[i]}", first.ValueAt(i).Label);
        Assert.Same(references, first.Pending);
        // All of them: the array goes back, and the next bucket loaded (the last) reads its references into it.
        for (var i = first._count / 2; i < first._count; i++) Assert.Equal($"node {first._keys[i]}", first.ValueAt(i).Label);
        Assert.Null(first.Pending);
        Assert.NotNull(last.Pending);
        var middle = tree.BucketOf(500);
        Assert.Same(references, middle.Pending);
        for (var i = 0; i < middle._count; i++) Assert.Equal($"node {middle._keys[i]}", middle.ValueAt(i).Label);
    }

    [Fact]
    public void Changing_a_bucket_loaded_from_storage_leaves_its_other_values_references_and_writes_them_back()
    {
        using var db = TestDatabase.InMemory();
        var nodes = new BTree<int, Node>();
        var expected = new SortedDictionary<int, string>();
        for (var i = 0; i < 2_000; i += 2)
        {
            nodes[i] = new Node { Label = $"node {i}" };
            expected[i] = $"node {i}";
        }
        TestDatabase.Store(db, "nodes", nodes);

        using (var connection = db.OpenConnection())
        {
            var tree = (BTree<int, Node>)connection.Root["nodes"];
            var bucket = tree.BucketOf(0);
            var entries = bucket._count;
            var known = connection.KnownCount;
            tree.Add(1, new Node { Label = "node 1" });
            expected[1] = "node 1";
            tree[4] = new Node { Label = "new 4" };
            expected[4] = "new 4";
            Assert.True(tree.Remove(6));
            expected.Remove(6);
            // Enough inserts into its range to split it: the waiting references move with their entries.
            for (var k = 3; k < 2 * entries; k += 2)
            {
                tree.Add(k, new Node { Label = $"node {k}" });
                expected[k] = $"node {k}";
            }
            Assert.True(tree.Core.Verify().Buckets > 1_000 / entries);
            Assert.NotNull(bucket.Pending);
            // The removed value became an object to be returned; the other stored values did not.
            Assert.True(connection.KnownCount <= known + 1, $"{connection.KnownCount - known} objects made by {entries} changes");
            connection.Commit();
        }

        using var reader = db.OpenConnection();
        var stored = (BTree<int, Node>)reader.Root["nodes"];
        stored.Core.Verify();
        Assert.Equal(expected.ToList(), stored.Select(e => KeyValuePair.Create(e.Key, e.Value.Label!)).ToList());
    }

    [Fact]
    public void Enumeration_over_ghost_buckets_after_reopening_loads_only_what_it_reaches()
    {
        using var folder = new TempFolder();
        var path = folder.File("tree.db");
        using (var db = Database.Open(path))
        {
            db.Transact(c =>
            {
                var tree = new BTree<long, int>();
                for (var k = 1L; k <= 400; k++) tree.Add(k, (int)(k * 10));
                c.Root["tree"] = tree;
            });
        }

        using (var db = Database.Open(path))
        using (var connection = db.OpenConnection())
        {
            var tree = (BTree<long, int>)connection.Root["tree"];
            Assert.Equal(200, tree[20]);
            // The tree object, the nodes on one path and one bucket: not the 100 buckets.
            Assert.True(connection.LoadedCount < 12, $"{connection.LoadedCount} objects loaded for one lookup");
            Assert.Equal(Entries([5, 6, 7, 8, 9]), tree.Range(5, 9).ToList());
            Assert.True(connection.LoadedCount < 16, $"{connection.LoadedCount} objects loaded for a short range");
            Assert.Equal(Entries(Enumerable.Range(1, 400).Reverse().Select(i => (long)i)), tree.Reverse().ToList());
            Assert.Equal(400, tree.Count);
        }

        using (var db = Database.Open(path))
        using (var connection = db.OpenConnection())
        {
            var tree = (BTree<long, int>)connection.Root["tree"];
            Assert.Equal(Entries(Enumerable.Range(1, 400).Select(i => (long)i)), tree.ToList());
            Assert.Equal(Entries([398, 399, 400]), tree.RangeFrom(398).ToList());
            Assert.Equal(new KeyValuePair<long, int>(1, 10), tree.First());
            Assert.True(tree.TryGetLast(out var last));
            Assert.Equal(400, last.Key);
            tree.Core.Verify();
        }
    }

    [Fact]
    public void MarkChanged_stores_the_loaded_buckets_so_values_changed_in_place_are_kept()
    {
        using var folder = new TempFolder();
        var path = folder.File("tree.db");
        using (var db = Database.Open(path))
        {
            db.Transact(c =>
            {
                var tree = new BTree<int, List<int>>();
                for (var k = 1; k <= 2000; k++) tree.Add(k, [k]);
                c.Root["lists"] = tree;
            });
        }
        using (var db = Database.Open(path))
        {
            using (var connection = db.OpenConnection())
            {
                var tree = (BTree<int, List<int>>)connection.Root["lists"];
                // In place, in two buckets far apart: the tree cannot see it.
                tree[7].Add(70);
                tree[1999].Add(19990);
                var loaded = connection.LoadedCount;
                tree.MarkChanged();
                // Nothing more was loaded to mark the buckets.
                Assert.Equal(loaded, connection.LoadedCount);
                connection.Commit();
            }
        }
        using (var db = Database.Open(path))
        using (var connection = db.OpenConnection())
        {
            var tree = (BTree<int, List<int>>)connection.Root["lists"];
            Assert.Equal([7, 70], tree[7]);
            Assert.Equal([1999, 19990], tree[1999]);
            Assert.Equal([1000], tree[1000]);
            Assert.Equal(2000, tree.Count);
        }
    }

    [Fact]
    public void Changes_reach_a_cold_connection_and_aborts_undo_them()
    {
        using var db = TestDatabase.InMemory();
        db.Transact(c =>
        {
            var tree = new BTree<long, int>();
            for (var k = 1L; k <= 50; k++) tree.Add(k, 0);
            c.Root["tree"] = tree;
        });
        using (var connection = db.OpenConnection())
        {
            var tree = (BTree<long, int>)connection.Root["tree"];
            for (var k = 1L; k <= 25; k++) tree.Remove(k);
            for (var k = 100L; k <= 120; k++) tree.Add(k, 1);
            connection.Abort();
            Assert.Equal(50, tree.Count);
            Assert.True(tree.ContainsKey(1));
            Assert.False(tree.ContainsKey(100));
            tree.Core.Verify();

            for (var k = 1L; k <= 25; k++) tree.Remove(k);
            tree[7] = 1;
            connection.Commit();
        }
        using (var connection = db.OpenConnection())
        {
            var tree = (BTree<long, int>)connection.Root["tree"];
            Assert.Equal(26, tree.Count);
            Assert.Equal([7L, .. Enumerable.Range(26, 25).Select(i => (long)i)], tree.Keys);
            tree.Core.Verify();
        }
    }

    [Fact]
    public void Dictionary_contract_errors_are_clear()
    {
        var tree = new BTree<long, int> { { 1, 1 } };
        Assert.Throws<ArgumentException>(() => tree.Add(1, 2));
        Assert.False(tree.TryAdd(1, 2));
        Assert.Equal(1, tree[1]);
        Assert.Throws<KeyNotFoundException>(() => tree[2]);
        Assert.Equal(3, tree.GetOrAdd(2, () => 3));
        Assert.Equal(3, tree.GetOrAdd(2, () => 4));
        // The key-taking forms, as ConcurrentDictionary has them: the factory gets the key (and the argument).
        Assert.Equal(70, tree.GetOrAdd(7, key => (int)key * 10));
        Assert.Equal(70, tree.GetOrAdd(7, key => -1));
        Assert.Equal(85, tree.GetOrAdd(8, static (key, offset) => (int)key * 10 + offset, 5));
        Assert.Throws<NotSupportedException>(() => tree.Keys.Add(5));
        Assert.Contains(3, tree.Values);
        Assert.Throws<InvalidOperationException>(() =>
        {
            foreach (var entry in tree) tree[entry.Key + 10] = 0;
        });
    }

    [Fact]
    public void A_custom_order_is_stored_by_name_and_required_on_load()
    {
        const string name = "test-reverse-ordinal";
        var reverse = Comparer<string>.Create((a, b) => string.CompareOrdinal(b, a));
        BTreeComparers.Register(name, reverse);
        Assert.Throws<ArgumentException>(() => BTreeComparers.Register(name, StringComparer.Ordinal));

        using var folder = new TempFolder();
        var path = folder.File("order.db");
        using (var db = Database.Open(path))
        {
            db.Transact(c =>
            {
                var tree = new BTree<string, int>(name);
                foreach (var word in new[] { "b", "a", "d", "c", "e", "f" }) tree.Add(word, word[0]);
                c.Root["reverse"] = tree;
                var folded = new BTree<string, int>(BTreeComparers.OrdinalIgnoreCase) { { "Apple", 1 } };
                c.Root["folded"] = folded;
            });
        }

        using (var db = Database.Open(path))
        using (var connection = db.OpenConnection())
        {
            var tree = (BTree<string, int>)connection.Root["reverse"];
            Assert.Equal(name, tree.ComparerName);
            Assert.Equal(["f", "e", "d", "c", "b", "a"], tree.Keys);
            Assert.Equal(["e", "d", "c"], tree.Range("e", "c").Select(e => e.Key));
            var folded = (BTree<string, int>)connection.Root["folded"];
            Assert.Equal(1, folded["APPLE"]);
        }

        BTreeComparers.Unregister(name);
        try
        {
            using var db = Database.Open(path);
            using var connection = db.OpenConnection();
            var tree = (BTree<string, int>)connection.Root["reverse"];
            var error = Assert.Throws<SchemaMismatchException>(() => tree.Count);
            Assert.Contains($"BTreeComparers.Register<string>(\"{name}\"", error.Message);
        }
        finally
        {
            BTreeComparers.Register(name, reverse);
        }
        Assert.Throws<SchemaMismatchException>(() => new BTree<string, int>("no-such-order"));
    }

    [Fact]
    public void A_tree_of_a_key_that_cannot_be_stored_says_why_it_is_not_registered()
    {
        // The generator registers no tree of a tuple key (PERSIST021 reports the new at build time):
        // the message said only that the generator may not have run.
#pragma warning disable PERSIST021
        var error = Assert.Throws<InvalidOperationException>(() => new BTree<(int, long), string>());
#pragma warning restore PERSIST021
        Assert.Contains("BTree<(…, …), string> is not registered", error.Message);
        Assert.Contains("a tuple", error.Message);
        Assert.Contains("PERSIST021", error.Message);
        // Type arguments are named as C# code writes them, not as the runtime does (ValueTuple`2, IEnumerable`1, Object).
#pragma warning disable PERSIST021
        Assert.Contains("PersistentList<object> is not registered", Assert.Throws<InvalidOperationException>(() => new PersistentList<object>().PersistentType).Message);
        Assert.Contains("PersistentSet<IEnumerable<…>> is not registered", Assert.Throws<InvalidOperationException>(() => new PersistentSet<IEnumerable<int>>().PersistentType).Message);
#pragma warning restore PERSIST021
    }

    [Fact]
    public void A_set_behaves_as_a_sorted_set_and_survives_reopening()
    {
        using var folder = new TempFolder();
        var path = folder.File("set.db");
        var expected = new SortedSet<int>();
        using (var db = Database.Open(path))
        {
            db.Transact(c =>
            {
                var set = new BTreeSet<int>();
                for (var i = 0; i < 200; i++)
                {
                    var value = (i * 7919) % 251;
                    Assert.Equal(expected.Add(value), set.Add(value));
                }
                c.Root["set"] = set;
            });
        }
        using (var db = Database.Open(path))
        using (var connection = db.OpenConnection())
        {
            var set = (BTreeSet<int>)connection.Root["set"];
            Assert.Equal(expected.ToList(), set.ToList());
            Assert.Equal(expected.Count, set.Count);
            Assert.Equal(expected.Min, set.Min);
            Assert.Equal(expected.Max, set.Max);
            Assert.Equal(expected.GetViewBetween(10, 40).Reverse().ToList(), set.Range(10, 40).Reverse().ToList());
            Assert.True(set.IsSupersetOf([expected.Min, expected.Max]));
            Assert.True(set.SetEquals(expected.Reverse()));
            Assert.False(set.IsProperSubsetOf(expected));
            Assert.True(set.Overlaps([-5, expected.Max]));

            set.SymmetricExceptWith([expected.Min, -1]);
            expected.SymmetricExceptWith([expected.Min, -1]);
            set.IntersectWith(Enumerable.Range(-1, 100));
            expected.IntersectWith(Enumerable.Range(-1, 100));
            set.ExceptWith([3, 4, 5]);
            expected.ExceptWith([3, 4, 5]);
            Assert.Equal(expected.ToList(), set.ToList());
            set.Core.Verify();
            connection.Commit();
        }
        using (var db = Database.Open(path))
        using (var connection = db.OpenConnection())
        {
            var set = (BTreeSet<int>)connection.Root["set"];
            Assert.Equal(expected.ToList(), set.ToList());
            Assert.True(set.IsSubsetOf(expected));
        }
    }

    [Fact]
    public void A_set_gives_up_its_smallest_and_largest_elements_one_at_a_time_and_two_takers_of_the_same_conflict()
    {
        using var db = TestDatabase.InMemory();
        db.Transact(c =>
        {
            var set = new BTreeSet<int>();
            for (var i = 1; i <= 300; i++) set.Add(i);
            c.Root["set"] = set;
        });
        var left = new SortedSet<int>(Enumerable.Range(1, 300));
        using (var connection = db.OpenConnection())
        {
            var set = (BTreeSet<int>)connection.Root["set"];
            for (var i = 0; i < 200; i++)
            {
                var last = i % 2 == 1;
                Assert.True(last ? set.TryRemoveLast(out var item) : set.TryRemoveFirst(out item));
                Assert.Equal(last ? left.Max : left.Min, item);
                left.Remove(item);
            }
            set.Core.Verify();
            connection.Commit();
        }

        using var first = db.OpenConnection();
        using var second = db.OpenConnection();
        var mine = (BTreeSet<int>)first.Root["set"];
        var theirs = (BTreeSet<int>)second.Root["set"];
        Assert.Equal(left.ToList(), mine.ToList());
        Assert.True(mine.TryRemoveFirst(out var taken));
        Assert.True(theirs.TryRemoveFirst(out var same));
        Assert.Equal(left.Min, taken);
        Assert.Equal(taken, same);
        first.Commit();
        Assert.Throws<ConflictException>(second.Commit);
        second.Abort();
        Assert.True(theirs.TryRemoveFirst(out var next));
        Assert.Equal(left.Min + 1, next);
        second.Commit();

        using var reader = db.OpenConnection();
        var final = (BTreeSet<int>)reader.Root["set"];
        Assert.Equal(left.Skip(2).ToList(), final.ToList());
        Assert.False(new BTreeSet<int>().TryRemoveLast(out _));
    }

    [Fact]
    public void Values_that_are_persistent_objects_load_lazily()
    {
        using var db = TestDatabase.InMemory();
        db.Transact(c =>
        {
            var customers = new BTree<int, Customer>();
            for (var i = 0; i < 50; i++) customers.Add(i, new Customer { Name = "c" + i });
            c.Root["customers"] = customers;
        });
        using var connection = db.OpenConnection();
        var tree = (BTree<int, Customer>)connection.Root["customers"];
        var customer = tree[42];
        Assert.Equal(PersistentState.Ghost, customer.PersistentState);
        Assert.Equal("c42", customer.Name);
        Assert.Equal(50, tree.Count);
    }
    [Fact]
    public void A_lookup_makes_an_object_for_the_value_it_returns_and_not_for_the_rest_of_its_bucket()
    {
        using var db = TestDatabase.InMemory();
        db.Transact(c => c.Root["customers"] = Customers(50));
        using var connection = db.OpenConnection();
        var tree = (BTree<int, Customer>)connection.Root["customers"];
        var known = connection.KnownCount;
        var customer = tree[42];
        // The bucket and the one customer (the 50 share one bucket).
        Assert.True(connection.KnownCount - known <= 3, $"{connection.KnownCount - known} objects made for one lookup");
        Assert.Same(customer, tree[42]);
        Assert.Equal("c42", customer.Name);
        var all = tree.ToList();
        Assert.Equal(Enumerable.Range(0, 50), all.Select(entry => entry.Key));
        Assert.Equal(all.Select(entry => "c" + entry.Key), all.Select(entry => entry.Value.Name));
        Assert.Same(customer, all[42].Value);
    }

    [Fact]
    public void Changing_a_bucket_whose_values_are_not_made_yet_keeps_every_value_and_null()
    {
        using var db = TestDatabase.InMemory();
        db.Transact(c =>
        {
            var customers = Customers(50);
            customers[7] = null!;
            c.Root["customers"] = customers;
        });
        using (var connection = db.OpenConnection())
        {
            var tree = (BTree<int, Customer>)connection.Root["customers"];
            Assert.Equal("c20", tree[20].Name);
            Assert.Null(tree[7]);
            tree.Remove(3);
            tree.Add(100, new Customer { Name = "c100" });
            tree[30] = tree[31];
            connection.Commit();
        }
        using (var connection = db.OpenConnection())
        {
            var tree = (BTree<int, Customer>)connection.Root["customers"];
            Assert.Same(tree[31], tree[30]);
            Assert.Null(tree[7]);
            Assert.False(tree.ContainsKey(3));
            var expected = Enumerable.Range(0, 50).Where(k => k != 3).Append(100)
                .Select(k => (k, k == 7 ? null : "c" + (k == 30 ? 31 : k)));
            Assert.Equal(expected, tree.Select(entry => (entry.Key, entry.Value?.Name)));
        }
    }

    [Fact]
    public void Two_transactions_adding_to_a_bucket_whose_values_are_not_made_yet_merge()
    {
        using var db = TestDatabase.InMemory();
        db.Transact(c => c.Root["customers"] = Customers(50));
        using var first = db.OpenConnection();
        using var second = db.OpenConnection();
        var mine = (BTree<int, Customer>)first.Root["customers"];
        var theirs = (BTree<int, Customer>)second.Root["customers"];
        Assert.Equal("c1", mine[1].Name);
        Assert.Equal("c2", theirs[2].Name);
        theirs.Add(200, new Customer { Name = "c200" });
        second.Commit();
        mine.Add(100, new Customer { Name = "c100" });
        first.Commit();
        using var check = db.OpenConnection();
        var tree = (BTree<int, Customer>)check.Root["customers"];
        Assert.Equal(Enumerable.Range(0, 50).Append(100).Append(200).Select(k => (k, "c" + k)), tree.Select(entry => (entry.Key, entry.Value.Name)));
    }

    private static BTree<int, Customer> Customers(int count)
    {
        var customers = new BTree<int, Customer>();
        for (var i = 0; i < count; i++) customers.Add(i, new Customer { Name = "c" + i });
        return customers;
    }
}
