using Xunit.Abstractions;

namespace Persistence.Tests.Collections;

/// <summary>
/// Concurrent transactions on one BTree: what merges, what conflicts, and that a conflict never
/// leaves a broken tree. This class alone uses BTree&lt;int, int&gt;, with buckets of 8 entries and
/// nodes of 4 children.
/// </summary>
public sealed class BTreeConflictTests(ITestOutputHelper output)
{
    private const int Bucket = 8;
    // Keys from here on, inserted first, fill two buckets of their own, so the buckets under test are
    // never the root and the keys under test (all positive, inserted in order) start a bucket.
    private const int Ballast = -100_000;
    private const int BallastBuckets = 2;

    static BTreeConflictTests() => BTreeTypes<int, int>.SetCapacities(Bucket, 8);

    /// <summary>
    /// A database holding a tree with the ballast keys and then the given keys (value = key), inserted
    /// in order; and two connections to it.
    /// </summary>
    private static (Database Db, Connection A, Connection B) Setup(IEnumerable<int> keys, TransactionIsolation isolation = TransactionIsolation.Serializable)
    {
        var db = TestDatabase.InMemory(isolation: isolation);
        db.Transact(c =>
        {
            var tree = new BTree<int, int>();
            for (var i = 0; i < BallastBuckets * Bucket; i++) tree.Add(Ballast + i, 0);
            foreach (var key in keys) tree.Add(key, key);
            c.Root["tree"] = tree;
        });
        return (db, db.OpenConnection(), db.OpenConnection());
    }

    private static BTree<int, int> Tree(Connection connection) => (BTree<int, int>)connection.Root["tree"];

    private static BTree<int, int> Fresh(Database db) => Tree(db.OpenConnection());

    /// <summary>The entries but the ballast.</summary>
    private static List<KeyValuePair<int, int>> Mine(BTree<int, int> tree) => [.. tree.RangeFrom(0)];

    private static List<int> Keys(BTree<int, int> tree) => [.. Mine(tree).Select(e => e.Key)];

    private static int Buckets(BTree<int, int> tree) => tree.Core.Verify().Buckets - BallastBuckets;

    [Fact]
    public void Different_keys_inserted_into_one_bucket_by_two_transactions_both_commit()
    {
        var (db, a, b) = Setup([10, 20, 30, 40]);
        Tree(a).Add(15, 15);
        Tree(a)[20] = 200;
        Tree(b).Add(35, 35);
        Tree(b).Remove(40);
        a.Commit();
        b.Commit();

        var tree = Fresh(db);
        Assert.Equal([new(10, 10), new(15, 15), new(20, 200), new(30, 30), new(35, 35)], Mine(tree));
        Assert.Equal(5 + (BallastBuckets * Bucket), tree.Count);
        Assert.Equal(1, Buckets(tree));
        db.Dispose();
    }

    [Fact]
    public void The_same_key_written_by_two_transactions_conflicts()
    {
        foreach (var (first, second) in new (Action<BTree<int, int>>, Action<BTree<int, int>>)[]
        {
            (t => t.Add(15, 1), t => t.Add(15, 2)),
            (t => t[20] = 1, t => t[20] = 2),
            (t => t.Remove(20), t => t[20] = 2),
        })
        {
            var (db, a, b) = Setup([10, 20, 30]);
            first(Tree(a));
            second(Tree(b));
            a.Commit();
            Assert.Throws<ConflictException>(b.Commit);
            b.Abort();
            var tree = Fresh(db);
            tree.Core.Verify();
            Assert.Equal(tree.ToList(), Tree(b).ToList());
            db.Dispose();
        }
    }

    [Fact]
    public void Two_transactions_taking_the_same_edge_entry_conflict_and_the_retry_takes_the_next()
    {
        var (db, a, b) = Setup([10, 20, 30]);
        Assert.True(Tree(a).TryRemoveLast(out var taken));
        Assert.True(Tree(b).TryRemoveLast(out var same));
        Assert.Equal(new KeyValuePair<int, int>(30, 30), taken);
        Assert.Equal(taken, same);
        a.Commit();
        Assert.Throws<ConflictException>(b.Commit);
        b.Abort();
        Assert.True(Tree(b).TryRemoveLast(out var next));
        Assert.Equal(new KeyValuePair<int, int>(20, 20), next);
        b.Commit();

        var tree = Fresh(db);
        tree.Core.Verify();
        Assert.Equal([10], Keys(tree));
        Assert.Equal(1 + (BallastBuckets * Bucket), tree.Count);
        db.Dispose();
    }

    [Fact]
    public void A_split_racing_a_change_to_the_half_it_moved_conflicts_and_the_tree_stays_whole()
    {
        // A full bucket 10..80: inserting 45 splits it in halves; the other transaction's 75 was in the moved half.
        var keys = Enumerable.Range(1, Bucket).Select(i => i * 10).ToList();
        var (db, a, b) = Setup(keys);
        Tree(a).Add(45, 45);
        Tree(b).Add(75, 75);
        a.Commit();
        Assert.Throws<ConflictException>(b.Commit);
        b.Abort();
        var tree = Fresh(db);
        Assert.Equal(2, Buckets(tree));
        Assert.Equal(keys.Append(45).Order(), Keys(tree));

        // Retried on the new structure, it commits.
        Tree(b).Add(75, 75);
        b.Commit();
        Assert.Equal(keys.Append(45).Append(75).Order(), Keys(Fresh(db)));
        db.Dispose();
    }

    [Fact]
    public void A_split_racing_a_change_to_the_half_it_left_in_place_merges()
    {
        var keys = Enumerable.Range(1, Bucket).Select(i => i * 10).ToList();
        var (db, a, b) = Setup(keys);
        Tree(a).Add(45, 45);
        // B removes first, so it does not split the full bucket itself.
        Tree(b).Remove(20);
        Tree(b).Add(15, 15);
        a.Commit();
        b.Commit();
        var tree = Fresh(db);
        tree.Core.Verify();
        Assert.Equal(keys.Append(45).Append(15).Where(k => k != 20).Order(), Keys(tree));
        Assert.Equal(2, Buckets(tree));
        db.Dispose();
    }

    [Fact]
    public void Appends_past_a_full_bucket_start_a_new_one_without_failing_writers_below_it()
    {
        // Increasing ids: one writer's append starts a new bucket at 90; another writer's key below 90 merges
        // into the full bucket, one above it conflicts. (B and C remove a key first so that they do not
        // split the full bucket themselves: two transactions that split one bucket always conflict.)
        var keys = Enumerable.Range(1, Bucket).Select(i => i * 10).ToList();
        var (db, a, b) = Setup(keys);
        var c = db.OpenConnection();
        Tree(a).Add(90, 90);
        Tree(b).Remove(10);
        Tree(b).Add(85, 85);
        Tree(c).Remove(20);
        Tree(c).Add(95, 95);
        a.Commit();
        b.Commit();
        Assert.Throws<ConflictException>(c.Commit);
        var tree = Fresh(db);
        Assert.Equal(2, Buckets(tree));
        Assert.Equal(keys.Append(85).Append(90).Where(k => k != 10).Order(), Keys(tree));
        db.Dispose();
    }

    [Fact]
    public void Splits_of_different_buckets_under_one_node_merge_in_the_node()
    {
        // Four full buckets: 1..8, 9..16, 17..24, 25..32 (ascending inserts leave them full).
        var (db, a, b) = Setup(Enumerable.Range(1, 4 * Bucket).Select(i => i * 10));
        Assert.Equal(4, Buckets(Fresh(db)));
        Tree(a).Add(15, 15);
        Tree(b).Add(255, 255);
        a.Commit();
        b.Commit();
        var tree = Fresh(db);
        Assert.Equal(6, Buckets(tree));
        Assert.Equal(4 * Bucket + 2, Mine(tree).Count);
        Assert.True(tree.ContainsKey(15) && tree.ContainsKey(255));
        db.Dispose();
    }

    [Fact]
    public void Emptying_a_bucket_racing_an_insert_into_it_conflicts()
    {
        // Buckets 1..8 and 9..16 (values ×10); one transaction empties the second, the other inserts into it.
        var (db, a, b) = Setup(Enumerable.Range(1, 2 * Bucket).Select(i => i * 10));
        for (var i = Bucket + 1; i <= 2 * Bucket; i++) Tree(a).Remove(i * 10);
        Tree(b).Add(125, 125);
        a.Commit();
        Assert.Throws<ConflictException>(b.Commit);
        b.Abort();
        var tree = Fresh(db);
        Assert.Equal(1, Buckets(tree));
        Assert.Equal(Bucket, Mine(tree).Count);
        db.Dispose();
    }

    [Fact]
    public void A_merge_that_would_empty_a_bucket_conflicts()
    {
        // A bucket holding 90 and 100 after an append split; each transaction removes one of them.
        var (db, a, b) = Setup(Enumerable.Range(1, Bucket + 2).Select(i => i * 10));
        Assert.Equal(2, Buckets(Fresh(db)));
        Tree(a).Remove(90);
        Tree(b).Remove(100);
        a.Commit();
        Assert.Throws<ConflictException>(b.Commit);
        b.Abort();
        Tree(b).Remove(100);
        b.Commit();
        var tree = Fresh(db);
        Assert.Equal(1, Buckets(tree));
        Assert.Equal(Bucket, Mine(tree).Count);
        db.Dispose();
    }

    [Fact]
    public void Reading_a_key_another_transaction_changed_conflicts_under_serializable_isolation()
    {
        var (db, a, b) = Setup([10, 20, 30]);
        Assert.False(Tree(a).ContainsKey(15));
        // B's insert lands in the bucket A read to decide, which A's commit writes too: the keys differ,
        // but A acted on 15 being absent, so the merge refuses.
        AddsFortyWhileTheOtherAddsFifteenFirstAndConflicts(db, a, b);

        var c = db.OpenConnection();
        var d = db.OpenConnection();
        Assert.True(Tree(c).TryGetValue(10, out _));
        c.Root["flag"] = new PersistentCounter();
        Tree(d).Remove(10);
        d.Commit();
        Assert.Throws<ConflictException>(c.Commit);
        db.Dispose();
    }

    /// <summary>
    /// A reads something of the tree, releases what it loaded (<see cref="Connection.ReleaseUnchanged"/>)
    /// and adds 40; B adds 15 and commits first. Whatever A read stays read: its commit conflicts.
    /// </summary>
    [Theory]
    // The bucket A looked 15 up in turns back into a ghost and reloads; what A read of it stays noted.
    [InlineData("absent key")]
    // The bucket goes; the tree's length counter stays loaded, and with it the note that A read its exact value.
    [InlineData("count")]
    public void What_a_transaction_read_before_a_release_still_conflicts_with_another_transactions_insert(string read)
    {
        var (db, a, b) = Setup([10, 20, 30]);
        if (read == "count") Assert.Equal(BallastBuckets * Bucket + 3, Tree(a).Count);
        else Assert.False(Tree(a).ContainsKey(15));
        Assert.Equal(10, Tree(a)[10]);
        Assert.True(a.ReleaseUnchanged() > 0);
        AddsFortyWhileTheOtherAddsFifteenFirstAndConflicts(db, a, b);
        db.Dispose();
    }

    /// <summary><paramref name="a"/> adds 40, <paramref name="b"/> adds 15 and commits first; <paramref name="a"/>'s commit conflicts, and the tree holds B's key alone.</summary>
    private static void AddsFortyWhileTheOtherAddsFifteenFirstAndConflicts(Database db, Connection a, Connection b)
    {
        Tree(a).Add(40, 40);
        Tree(b).Add(15, 15);
        b.Commit();
        Assert.Throws<ConflictException>(a.Commit);
        a.Abort();
        Assert.Equal([10, 15, 20, 30], Keys(Fresh(db)));
    }

    [Theory]
    [InlineData(TransactionIsolation.Serializable)]
    [InlineData(TransactionIsolation.Snapshot)]
    public void Two_transactions_that_each_read_the_key_the_other_writes_in_one_bucket_commit_one_after_the_other_only(TransactionIsolation isolation)
    {
        // The rule the two keep: at most one of 15 and 35, so each adds its key only while the other's is absent.
        static void AddUnlessOther(Connection connection, int mine, int other)
        {
            var tree = Tree(connection);
            if (!tree.ContainsKey(other)) tree.Add(mine, mine);
        }

        var (db, a, b) = Setup([10, 20, 30], isolation);
        AddUnlessOther(a, 15, 35);
        AddUnlessOther(b, 35, 15);
        a.Commit();
        if (isolation == TransactionIsolation.Snapshot)
        {
            // Write skew, which snapshot isolation allows (see TransactionIsolation.Snapshot).
            b.Commit();
            Assert.Equal([10, 15, 20, 30, 35], Keys(Fresh(db)));
            db.Dispose();
            return;
        }
        Assert.Throws<ConflictException>(b.Commit);
        b.Abort();
        // Run again (as Transact would), B sees A's key and adds nothing.
        AddUnlessOther(b, 35, 15);
        b.Commit();
        Assert.Equal([10, 15, 20, 30], Keys(Fresh(db)));
        db.Dispose();
    }

    [Fact]
    public void Lookups_of_the_keys_a_transaction_then_writes_still_merge_under_serializable_isolation()
    {
        var (db, a, b) = Setup([10, 20, 30]);
        Assert.Equal(16, Tree(a).GetOrAdd(15, () => 16));
        Tree(a)[15] = Tree(a)[15] + 1;
        Tree(a)[10] = Tree(a)[10] + 1;
        Tree(b)[20] = Tree(b)[20] + 1;
        Tree(b).Add(35, 35);
        // Each merges into the other's commit, whichever comes second.
        b.Commit();
        a.Commit();
        Assert.Equal([new(10, 11), new(15, 17), new(20, 21), new(30, 30), new(35, 35)], Mine(Fresh(db)));
        db.Dispose();
    }

    [Fact]
    public void Lookups_of_more_keys_than_a_bucket_notes_count_as_a_read_of_all_of_it()
    {
        // Eight looked-up keys are noted one by one; the ninth makes it a read of the whole bucket.
        foreach (var lookups in new[] { 8, 9 })
        {
            var (db, a, b) = Setup([10, 20, 30]);
            for (var key = 11; key < 11 + lookups; key++) Assert.False(Tree(a).ContainsKey(key));
            Tree(a).Add(40, 40);
            Tree(b)[30] = 31;
            b.Commit();
            if (lookups == 8)
            {
                a.Commit();
                Assert.Equal([10, 20, 30, 40], Keys(Fresh(db)));
            }
            else
            {
                Assert.Throws<ConflictException>(a.Commit);
            }
            db.Dispose();
        }
    }

    [Theory]
    [InlineData(TransactionIsolation.Serializable)]
    [InlineData(TransactionIsolation.Snapshot)]
    public void A_change_of_a_bucket_a_concurrent_Clear_let_go_of_conflicts_and_is_not_lost(TransactionIsolation isolation)
    {
        foreach (var (change, after) in new (Action<BTree<int, int>>, int[])[]
        {
            (t => t.Add(100, 100), [100]),
            (t => t[10] = 11, [10]),
            (t => t.Remove(20), []),
        })
        {
            var (db, a, b) = Setup([10, 20, 30], isolation);
            Tree(a).Clear();
            change(Tree(b));
            a.Commit();
            // Snapshot isolation checks written objects only, and b wrote a bucket the Clear no longer reaches.
            Assert.Throws<ConflictException>(b.Commit);
            b.Abort();
            change(Tree(b));
            b.Commit();
            Assert.Equal(after, Keys(Fresh(db)));
            db.Dispose();
        }
    }

    [Fact]
    public void An_enumeration_continued_after_a_commit_that_merged_its_bucket_throws_instead_of_skipping_or_repeating_entries()
    {
        var (db, a, b) = Setup([10, 20, 30, 40], TransactionIsolation.Snapshot);
        Tree(a)[20] = 200;
        using var entries = Tree(a).RangeFrom(0).GetEnumerator();
        Assert.True(entries.MoveNext());
        Assert.Equal(10, entries.Current.Key);
        Tree(b).Add(35, 35);
        b.Commit();
        a.Commit();
        var error = Assert.Throws<InvalidOperationException>(() => entries.MoveNext());
        Assert.Contains("reloaded while it was being enumerated", error.Message);
        Assert.Equal([10, 20, 30, 35, 40], Keys(Tree(a)));
        db.Dispose();
    }

    [Fact]
    public void A_failed_TryAdd_or_Remove_is_a_read_that_a_concurrent_change_of_its_key_conflicts_with()
    {
        foreach (var (read, change) in new (Func<BTree<int, int>, bool>, Action<BTree<int, int>>)[]
        {
            (t => t.TryAdd(20, 0), t => t.Remove(20)),
            (t => t.Remove(25), t => t.Add(25, 25)),
        })
        {
            var (db, a, b) = Setup([10, 20, 30]);
            Assert.False(read(Tree(a)));
            Tree(a).Add(40, 40);
            change(Tree(b));
            b.Commit();
            Assert.Throws<ConflictException>(a.Commit);
            db.Dispose();
        }
    }

    [Fact]
    public void A_range_read_conflicts_with_an_insert_into_it_when_the_transaction_writes_its_bucket()
    {
        var (db, a, b) = Setup([10, 20, 30]);
        // A stores the sum of a range under a key of the same bucket; B inserts into the range.
        var sum = Tree(a).Range(10, 30).Sum(entry => entry.Value);
        Tree(a).Add(40, sum);
        Tree(b).Add(25, 25);
        b.Commit();
        Assert.Throws<ConflictException>(a.Commit);
        a.Abort();

        // Run again, the sum counts B's key.
        Tree(a).Add(40, Tree(a).Range(10, 30).Sum(entry => entry.Value));
        a.Commit();
        Assert.Equal(85, Fresh(db)[40]);
        db.Dispose();
    }

    [Fact]
    public void A_transaction_that_read_the_count_conflicts_with_a_concurrent_insert_and_one_that_did_not_merges()
    {
        var (db, a, b) = Setup([10, 20, 30]);
        var mine = 3 + (BallastBuckets * Bucket);
        // A numbers its entry by the count; B's insert would make that number wrong.
        Assert.Equal(mine, Tree(a).Count);
        Tree(a).Add(40, Tree(a).Count);
        Tree(b).Add(15, 15);
        b.Commit();
        Assert.Throws<ConflictException>(a.Commit);
        a.Abort();

        // Without reading the count, inserts merge and the length counter adds both.
        Tree(a).Add(40, 40);
        Tree(b).Add(35, 35);
        b.Commit();
        a.Commit();
        Assert.Equal(mine + 3, Fresh(db).Count);
        db.Dispose();
    }

    [Theory]
    [InlineData(TransactionIsolation.Serializable)]
    [InlineData(TransactionIsolation.Snapshot)]
    public async Task Threads_inserting_distinct_keys_end_with_every_key_and_the_right_count(TransactionIsolation isolation)
    {
        var (db, a, b) = Setup([], isolation);
        a.Dispose();
        b.Dispose();
        const int threads = 4;
        const int perThread = 600;
        var attempts = 0;
        var tasks = Enumerable.Range(0, threads).Select(t => Task.Run(() =>
        {
            var random = new Random(t);
            var keys = Enumerable.Range(0, perThread).Select(i => (i * threads) + t).OrderBy(_ => random.Next()).ToList();
            foreach (var batch in keys.Chunk(20))
            {
                db.Transact(c =>
                {
                    Interlocked.Increment(ref attempts);
                    var tree = Tree(c);
                    foreach (var key in batch) tree.Add(key, -key);
                }, maxAttempts: 100);
            }
        })).ToList();
        await Task.WhenAll(tasks);

        var tree = Fresh(db);
        var transactions = threads * perThread / 20;
        output.WriteLine($"{isolation}: {transactions} transactions, {attempts - transactions} retried after a conflict; depth and buckets {tree.Core.Verify()}");
        Assert.Equal((threads * perThread) + (BallastBuckets * Bucket), tree.Count);
        Assert.Equal(Enumerable.Range(0, threads * perThread), Keys(tree));
        Assert.All(Mine(tree), entry => Assert.Equal(-entry.Key, entry.Value));
        db.Dispose();
    }
}
