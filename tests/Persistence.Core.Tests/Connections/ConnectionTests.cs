using Persistence.Serialization;
using Persistence.Storage;
using Persistence.Tests.Models;

namespace Persistence.Tests.Connections;

public class ConnectionTests
{
    /// <summary>A database on a file storage in <paramref name="folder"/>, and the storage, for the tests that look at it.</summary>
    private static Database OnFile(TempFolder folder, out FileStorage storage)
    {
        storage = FileStorage.Open(folder.File("data.persist"));
        return Database.Open(storage);
    }

    [Fact]
    public void A_commit_stores_the_records_its_connection_composed_without_checking_them_again_as_it_checks_records_from_outside()
    {
        using var folder = new TempFolder();
        using var db = OnFile(folder, out var storage);
        using var connection = db.OpenConnection();
        // The first commit of a class also saves the schema catalog, in a transaction of its own.
        var first = new Node { Label = "first" };
        connection.Root["first"] = first;
        connection.Commit();
        var checkedBefore = StorageTransactionBase.CheckedRecordsOnThisThread;

        // A new object, a changed one, and the root that references them: every record the connection wrote.
        connection.Root["second"] = new Node { Label = "second", Next = first };
        connection.Commit();
        first.Label = "first, changed";
        connection.Commit();
        Assert.Equal(checkedBefore, StorageTransactionBase.CheckedRecordsOnThisThread);

        // A record stored through the storage's own API is checked, and a malformed one refused.
        using (var transaction = storage.Begin())
        {
            Assert.Throws<StorageTransactionException>(() => transaction.Store(storage.NewOid(), 0, new byte[RecordFormat.MinimumSize - 1]));
            transaction.Store(storage.NewOid(), 0, RecordFormat.Compose(1, 1, "x"u8, []));
        }
        Assert.Equal(checkedBefore + 2, StorageTransactionBase.CheckedRecordsOnThisThread);

        using var reader = db.OpenConnection();
        Assert.Equal("first, changed", ((Node)reader.Root["second"]).Next!.Label);
    }

    [Fact]
    public void Get_of_an_object_of_another_class_names_the_class_it_is()
    {
        using var db = TestDatabase.InMemory();
        Oid oid;
        using (var writer = db.OpenConnection())
        {
            var node = new Node { Label = "a node" };
            writer.Root["node"] = node;
            writer.Commit();
            oid = node.ObjectOid;
        }
        using var reader = db.OpenConnection();
        var error = Assert.Throws<InvalidCastException>(() => reader.Get<Dog>(oid));
        Assert.StartsWith($"{oid} is an object of class 'Persistence.Tests.Models.Node', which is not a 'Persistence.Tests.Models.Dog' nor derived from one.", error.Message);
        Assert.Equal("a node", reader.Get<Node>(oid).Label);
    }

    [Fact]
    public void Get_names_collections_and_nested_classes_as_csharp_writes_them()
    {
        using var db = TestDatabase.InMemory();
        Oid listOid, dictionaryOid;
        using (var writer = db.OpenConnection())
        {
            var list = new PersistentList<Node> { new Node { Label = "in a list" } };
            var dictionary = new PersistentDictionary<string, List<int>> { ["a"] = [1, 2] };
            writer.Root["list"] = list;
            writer.Root["dictionary"] = dictionary;
            writer.Commit();
            (listOid, dictionaryOid) = (list.ObjectOid, dictionary.ObjectOid);
        }
        using var reader = db.OpenConnection();

        var error = Assert.Throws<InvalidCastException>(() => reader.Get<PersistentList<Outer.Inner>>(listOid));
        Assert.StartsWith($"{listOid} is an object of class 'Persistence.PersistentList<Persistence.Tests.Models.Node>', which is not a 'Persistence.PersistentList<Persistence.Tests.Models.Outer.Inner>' nor derived", error.Message);
        error = Assert.Throws<InvalidCastException>(() => reader.Get<PersistentDictionary<string, int?[]>>(dictionaryOid));
        Assert.StartsWith($"{dictionaryOid} is an object of class 'Persistence.PersistentDictionary<string, List<int>>', which is not a 'Persistence.PersistentDictionary<string, int?[]>' nor derived", error.Message);
        Assert.Equal([1, 2], reader.Get<PersistentDictionary<string, List<int>>>(dictionaryOid)["a"]);
    }

    [Fact]
    public void A_connection_that_only_reads_holds_no_record_buffer()
    {
        using var folder = new TempFolder();
        // No pool: the reader is a new connection, not the one that stored the object.
        using var db = Database.Open(FileStorage.Open(folder.File("data.persist")), new DatabaseOptions { ConnectionPoolSize = 0 });
        db.Transact(c => c.Root["small"] = new Everything { Bytes = new byte[10] });
        using var reader = db.OpenConnection();
        Assert.Equal(10, ((Everything)reader.Root["small"]).Bytes!.Length);
        reader.Abort();

        Assert.Equal(0, reader.RecordBufferCapacity);
        ((Everything)reader.Root["small"]).Bytes = new byte[20];
        reader.Commit();
        Assert.True(reader.RecordBufferCapacity > 0);
    }

    [Fact]
    public void A_commit_of_a_large_object_does_not_leave_its_connection_holding_a_buffer_as_large()
    {
        using var folder = new TempFolder();
        using var db = OnFile(folder, out _);
        using var connection = db.OpenConnection();
        connection.Root["small"] = new Everything { Bytes = new byte[1000] };
        connection.Commit();
        var usual = connection.RecordBufferCapacity;

        var large = new byte[16 << 20];
        large[^1] = 42;
        connection.Root["large"] = new Everything { Bytes = large };
        connection.Commit();
        Assert.Equal(usual, connection.RecordBufferCapacity);

        using var reader = db.OpenConnection();
        Assert.Equal(42, ((Everything)reader.Root["large"]).Bytes![^1]);
        Assert.Equal(1000, ((Everything)reader.Root["small"]).Bytes!.Length);
        // Nor does a read of it leave the bytes read in the windows kept for the loads after it.
        Assert.InRange(reader.KeptWindowBytes, 1, 1 << 20);
    }

    [Fact]
    public void Large_objects_are_kept_loaded_between_transactions_up_to_their_byte_budget_the_least_recently_used_going_first()
    {
        using var folder = new TempFolder();
        using var db = Database.Open(folder.File("data.persist"), new DatabaseOptions { LargeObjectCacheBytes = 5 << 20 });
        using var connection = db.OpenConnection();
        var large = new Everything[4];
        for (var i = 0; i < large.Length; i++)
        {
            var bytes = new byte[2 << 20];
            bytes[0] = (byte)(i + 1);
            connection.Root[$"large {i}"] = large[i] = new Everything { Bytes = bytes };
        }
        connection.Root["small"] = new Everything { Bytes = new byte[100] };
        connection.Commit();

        // 8 MiB stored, 5 MiB kept: the two stored last stay (stored in one commit, they were touched in that order).
        Assert.Equal([PersistentState.Ghost, PersistentState.Ghost, PersistentState.UpToDate, PersistentState.UpToDate], large.Select(obj => obj.State));
        Assert.Equal(PersistentState.UpToDate, ((Everything)connection.Root["small"]).State);

        // Reading the first reloads it; at the next boundary the least recently used of the three goes.
        Assert.Equal(1, large[0].Bytes![0]);
        connection.Abort();
        Assert.Equal(PersistentState.UpToDate, large[0].State);
        Assert.Equal(2, large.Count(obj => obj.State == PersistentState.UpToDate));

        // Changed and stored: the two this transaction used stay loaded, the others go.
        large[1].Bytes![1] = 9;
        large[1].MarkChanged();
        large[0].Bytes![1] = 9;
        large[0].MarkChanged();
        connection.Commit();
        Assert.Equal([PersistentState.UpToDate, PersistentState.UpToDate, PersistentState.Ghost, PersistentState.Ghost], large.Select(obj => obj.State));
        using var reader = db.OpenConnection();
        Assert.Equal([9, 9], new[] { ((Everything)reader.Root["large 0"]).Bytes![1], ((Everything)reader.Root["large 1"]).Bytes![1] });
    }

    [Fact]
    public void Documents_of_tens_of_kilobytes_count_against_the_large_object_budget_not_only_the_object_count()
    {
        using var folder = new TempFolder();
        using var db = Database.Open(folder.File("data.persist"), new DatabaseOptions { LargeObjectCacheBytes = 1 << 20 });
        db.Transact(c =>
        {
            var pages = new PersistentList<Everything>();
            for (var i = 0; i < 200; i++) pages.Add(new Everything { String = new string((char)('a' + (i % 26)), 20_000) });
            c.Root["pages"] = pages;
        });
        using var reader = db.OpenConnection();
        var read = ((PersistentList<Everything>)reader.Root["pages"]).ToList();
        Assert.All(read, page => Assert.Equal(20_000, page.String!.Length));
        Assert.All(read, page => Assert.Equal(PersistentState.UpToDate, page.State));
        reader.Abort();

        // 200 records of 20 KB (4 MB) with a budget of 1 MiB: about 50 stay.
        Assert.InRange(read.Count(page => page.State == PersistentState.UpToDate), 40, 52);

        // The ones the last transaction read stay, the least recently used go first.
        Assert.All(read.Take(10), page => Assert.Equal(20_000, page.String!.Length));
        reader.Abort();
        Assert.All(read.Take(10), page => Assert.Equal(PersistentState.UpToDate, page.State));
        Assert.InRange(read.Count(page => page.State == PersistentState.UpToDate), 40, 52);
    }

    [Fact]
    public void A_commits_new_objects_take_their_oids_a_run_at_a_time_and_small_commits_leave_no_gaps()
    {
        using var folder = new TempFolder();
        using var db = OnFile(folder, out var storage);
        using var a = db.OpenConnection();
        using var b = db.OpenConnection();
        a.Root["warm"] = new Node { Label = "schema and root" };
        a.Commit();

        // A thousand new objects in one commit: a few runs of oids, not one hand-out each.
        var runsBefore = storage.OidRuns;
        var chain = new Node { Label = "0" };
        for (var i = 1; i < 1000; i++) chain = new Node { Label = i.ToString(), Next = chain };
        a.Root["chain"] = chain;
        a.Commit();
        Assert.InRange(storage.OidRuns - runsBefore, 1, 10);

        // One new object a commit, from two connections in turn: consecutive oids, what a commit did not use went back.
        var oids = new List<ulong>();
        for (var i = 0; i < 6; i++)
        {
            var connection = i % 2 == 0 ? a : b;
            // To the newest state first: both change the root.
            connection.Abort();
            var node = new Node { Label = $"small {i}" };
            connection.Root[$"small {i}"] = node;
            connection.Commit();
            oids.Add(node.PersistentOid.Value);
        }
        Assert.Equal(Enumerable.Range(0, 6).Select(i => oids[0] + (ulong)i), oids);

        var all = new List<ulong>();
        for (var node = (Node?)a.Root["chain"]; node is not null; node = node.Next) all.Add(node.PersistentOid.Value);
        Assert.Equal(1000, all.Distinct().Count());
        Assert.DoesNotContain(oids, all.Contains);
    }

    [Fact]
    public void Connections_committing_side_by_side_keep_the_oids_of_their_new_objects_dense()
    {
        using var folder = new TempFolder();
        using var db = OnFile(folder, out _);
        const int Threads = 4, Commits = 100;
        // A list for each thread, so that their commits do not conflict (a conflict's new objects leave gaps).
        db.Transact(connection =>
        {
            for (var t = 0; t < Threads; t++) connection.Root[$"thread {t}"] = new PersistentList<Node>();
        });

        // Each thread commits one new object at a time (durably, so commits wait side by side).
        var oids = new System.Collections.Concurrent.ConcurrentBag<ulong>();
        var threads = Enumerable.Range(0, Threads).Select(t => new Thread(() =>
        {
            for (var i = 0; i < Commits; i++)
            {
                // A new object gets its oid at the commit, after the work: it is returned for that alone.
#pragma warning disable PERSIST022
                var node = db.Transact(connection =>
                {
                    var created = new Node { Label = $"{t}/{i}" };
                    ((PersistentList<Node>)connection.Root[$"thread {t}"]).Add(created);
                    return created;
                });
#pragma warning restore PERSIST022
                oids.Add(node.PersistentOid.Value);
            }
        })).ToList();
        threads.ForEach(thread => thread.Start());
        threads.ForEach(thread => thread.Join());

        Assert.Equal(Threads * Commits, oids.Distinct().Count());
        // Each commit takes a run of 8 oids; what it did not use is handed out again, not left as a gap.
        Assert.InRange(oids.Max() - oids.Min(), (ulong)(Threads * Commits) - 1, (ulong)(Threads * Commits) + (Threads * 8));
    }

    [Fact]
    public void A_connection_sees_another_connections_commit_at_its_next_transaction_boundary()
    {
        using var db = TestDatabase.InMemory();
        using var a = db.OpenConnection();
        using var b = db.OpenConnection();
        a.Root["n"] = new Node { Label = "one" };
        a.Commit();
        b.Abort();
        var seen = (Node)b.Root["n"];
        Assert.Equal("one", seen.Label);

        ((Node)a.Root["n"]).Label = "two";
        a.Commit();
        Assert.Equal("one", seen.Label);

        b.Abort();
        Assert.Equal(PersistentState.Ghost, seen.PersistentState);
        Assert.Equal("two", seen.Label);
    }

    [Fact]
    public void Reads_inside_a_transaction_come_from_the_connections_snapshot()
    {
        using var db = TestDatabase.InMemory();
        using var a = db.OpenConnection();
        a.Root["x"] = new Node { Label = "x1" };
        a.Root["y"] = new Node { Label = "y1" };
        a.Commit();

        using var b = db.OpenConnection();
        var x = (Node)b.Root["x"];
        Assert.Equal("x1", x.Label);

        ((Node)a.Root["x"]).Label = "x2";
        ((Node)a.Root["y"]).Label = "y2";
        a.Commit();

        // b has not reached a boundary: y, loaded for the first time now, is as of b's snapshot.
        Assert.Equal("y1", ((Node)b.Root["y"]).Label);
        b.Commit();
        Assert.Equal(("x2", "y2"), (x.Label, ((Node)b.Root["y"]).Label));
    }

    [Fact]
    public void Two_connections_changing_one_object_conflict_and_the_loser_can_abort_and_retry()
    {
        using var db = TestDatabase.InMemory();
        using var a = db.OpenConnection();
        using var b = db.OpenConnection();
        a.Root["c"] = new Customer { Name = "Ada", Orders = 0 };
        a.Commit();
        b.Abort();

        ((Customer)a.Root["c"]).Orders++;
        ((Customer)b.Root["c"]).Orders++;
        a.Commit();
        var conflict = Assert.Throws<ConflictException>(b.Commit);
        Assert.Contains(((Customer)b.Root["c"]).PersistentOid, conflict.Oids);

        b.Abort();
        ((Customer)b.Root["c"]).Orders++;
        b.Commit();
        a.Abort();
        Assert.Equal(2, ((Customer)a.Root["c"]).Orders);
    }

    [Fact]
    public void Storing_an_object_of_one_connection_in_another_is_a_clear_error()
    {
        using var db = TestDatabase.InMemory();
        using var a = db.OpenConnection();
        using var b = db.OpenConnection();
        a.Root["ada"] = new Customer { Name = "Ada" };
        a.Commit();
        b.Abort();

        var adaOfA = (Customer)a.Root["ada"];
        var bob = new Customer { Name = "Bob", ReferredBy = adaOfA };
        b.Root["bob"] = bob;
        var error = Assert.Throws<CrossConnectionReferenceException>(b.Commit);
        Assert.Contains("another connection", error.Message);
        Assert.True(bob.PersistentOid.IsNull);
        b.Abort();
        Assert.False(b.Root.ContainsKey("bob"));
    }

    [Fact]
    public void Storing_an_object_of_another_database_is_a_clear_error()
    {
        using var first = TestDatabase.InMemory();
        using var second = TestDatabase.InMemory();
        using var a = first.OpenConnection();
        using var b = second.OpenConnection();
        a.Root["n"] = new Node { Label = "first" };
        a.Commit();
        b.Root["n"] = new Node { Next = (Node)a.Root["n"] };
        var error = Assert.Throws<CrossConnectionReferenceException>(b.Commit);
        Assert.Contains("another database", error.Message);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(8)]
    public void An_object_returned_from_Transact_says_why_it_cannot_load_or_change(int poolSize)
    {
        // With a pool, the closed connection waits there with its objects; without one, they are let go of.
        using var db = Database.Open(new MemoryStorage(), new DatabaseOptions { ConnectionPoolSize = poolSize });
        db.Transact(c => { c.Root["n"] = new Node { Label = "n", Next = new Node { Label = "m" } }; });
        // Another connection changes "m", so that the connection Transact runs on holds it as a ghost.
        var held = db.OpenConnection();
        using (var other = db.OpenConnection())
        {
            ((Node)other.Root["n"]).Next!.Label = "m2";
            other.Commit();
        }
        held.Dispose();
        // A common slip: handing persistent objects out of the work (its connection closes when it ends).
#pragma warning disable PERSIST022 // The slip the runtime's message is tested with.
        var (loaded, ghost) = db.Transact(c => { var n = (Node)c.Root["n"]; _ = n.Label; return (n, n.Next!); });
#pragma warning restore PERSIST022

        Assert.Equal("n", loaded.Label);
        var load = Assert.Throws<ConnectionClosedException>(() => ghost.Label);
        var change = Assert.Throws<ConnectionClosedException>(() => loaded.Label = "changed");
        foreach (var error in new[] { load, change })
        {
            Assert.Contains("Transact", error.Message);
            Assert.Contains("return ids or values", error.Message);
        }
        // A call on the closed connection itself is told as before.
        var closed = db.OpenConnection();
        closed.Dispose();
        Assert.DoesNotContain("Transact", Assert.Throws<ConnectionClosedException>(closed.Commit).Message);
    }

    [Fact]
    public void Objects_of_a_closed_connection_say_so_when_touched()
    {
        using var db = TestDatabase.InMemory();
        using (var writer = db.OpenConnection())
        {
            writer.Root["n"] = new Node { Label = "n", Next = new Node { Label = "m" } };
            writer.Commit();
        }
        var reader = db.OpenConnection();
        var ghost = ((Node)reader.Root["n"]).Next!;
        reader.Dispose();
        Assert.Throws<ConnectionClosedException>(() => ghost.Label);
        Assert.Throws<ConnectionClosedException>(reader.Commit);
        Assert.Throws<ConnectionClosedException>(() => reader.Root);
    }

    [Fact]
    public void Dispose_aborts_what_was_not_committed()
    {
        using var db = TestDatabase.InMemory();
        using (var writer = db.OpenConnection())
        {
            writer.Root["n"] = new Node { Label = "kept" };
            writer.Commit();
            ((Node)writer.Root["n"]).Label = "dropped";
        }
        using var reader = db.OpenConnection();
        Assert.Equal("kept", ((Node)reader.Root["n"]).Label);
    }

    [Fact]
    public void A_conflict_over_many_objects_names_a_few_and_counts_the_rest()
    {
        using var db = TestDatabase.InMemory();
        using (var setup = db.OpenConnection())
        {
            var nodes = new PersistentList<Node>();
            for (var i = 0; i < 1_000; i++) nodes.Add(new Node { Label = "n" + i });
            setup.Root["nodes"] = nodes;
            setup.Commit();
        }
        using var report = db.OpenConnection();
        var total = ((PersistentList<Node>)report.Root["nodes"]).Sum(node => node.Label!.Length);
        using (var writer = db.OpenConnection())
        {
            foreach (var node in (PersistentList<Node>)writer.Root["nodes"]) node.Label += "'";
            writer.Commit();
        }
        report.Root["summary"] = new Node { Label = total.ToString(System.Globalization.CultureInfo.InvariantCulture) };

        var conflict = Assert.Throws<ConflictException>(report.Commit);
        Assert.Equal(1_000, conflict.Oids.Count);
        Assert.Contains($"{conflict.Oids[0]} (Persistence.Tests.Models.Node)", conflict.Message);
        Assert.Contains("and 990 more", conflict.Message);
        Assert.DoesNotContain(conflict.Oids[999].ToString() + " ", conflict.Message);
        Assert.True(conflict.Message.Length < 2_000, $"{conflict.Message.Length} characters");
    }

    [Fact]
    public void A_damaged_record_is_reported_with_its_oid_and_never_half_loaded()
    {
        var storage = new TamperingStorage(new MemoryStorage());
        using var db = Database.Open(storage, TestDatabase.Cold());
        Oid oid;
        using (var writer = db.OpenConnection())
        {
            var node = new Node { Label = "fine" };
            writer.Root["n"] = node;
            writer.Commit();
            oid = node.PersistentOid;
        }
        var damaged = storage.Load(oid)!.Value.Data.ToArray();
        // Claim a string far longer than the record: its length plus one, 1,000,000, as a varint.
        ((ReadOnlySpan<byte>)[0xC0, 0x84, 0x3D]).CopyTo(damaged.AsSpan(RecordFormat.StateOffset(damaged)));
        storage.Replacements[oid] = damaged;

        using var reader = db.OpenConnection();
        var ghost = (Node)reader.Root["n"];
        var error = Assert.Throws<CorruptDatabaseException>(() => ghost.Label);
        Assert.Equal(oid, error.Oid);
        Assert.Contains(oid.ToString(), error.Message);
        Assert.Equal(PersistentState.Ghost, ghost.PersistentState);
    }

    [Fact]
    public void A_read_only_database_refuses_changes_with_a_clear_error()
    {
        using var folder = new TempFolder();
        var path = folder.File("ro.db");
        using (var db = Database.Open(path, TestDatabase.Cold()))
        using (var writer = db.OpenConnection())
        {
            writer.Root["n"] = new Node { Label = "stored" };
            writer.Commit();
        }
        using var readOnly = Database.Open(path, new DatabaseOptions { ReadOnly = true });
        using var connection = readOnly.OpenConnection();
        var node = (Node)connection.Root["n"];
        Assert.Equal("stored", node.Label);
        // Every connection of a read-only database is read-only: the change is refused when it is made.
        Assert.True(connection.IsReadOnly);
        var error = Assert.Throws<InvalidOperationException>(() => node.Label = "changed");
        Assert.Contains("DatabaseOptions.ReadOnly", error.Message);
        Assert.Equal("stored", node.Label);
        connection.Commit();
        Assert.Throws<InvalidOperationException>(() => connection.Root["new"] = new Node());
        // Its connections are pooled as any database's are (only OpenReadOnlyConnection's are not).
        connection.Dispose();
        using var next = readOnly.OpenConnection();
        Assert.Same(connection, next);
        Assert.Equal("stored", ((Node)next.Root["n"]).Label);
    }

    [Fact]
    public void The_page_cache_size_of_a_database_in_a_file_reaches_its_storage()
    {
        using var folder = new TempFolder();
        var path = folder.File("pages.db");
        Oid[] oids;
        using (var db = Database.Open(path, TestDatabase.Cold()))
        using (var writer = db.OpenConnection())
        {
            var nodes = Enumerable.Range(0, 300).Select(i => new Node { Label = $"node {i}" }).ToList();
            for (var i = 0; i < nodes.Count; i++) writer.Root[$"n{i}"] = nodes[i];
            writer.Commit();
            oids = [.. nodes.Select(node => node.PersistentOid)];
        }
        foreach (var pageCacheBytes in new long[] { 0, 1 << 20 })
        {
            using var db = Database.Open(path, new DatabaseOptions { PageCacheBytes = pageCacheBytes });
            using var connection = db.OpenConnection();
            var random = new Random(3);
            for (var n = 0; n < 200; n++)
            {
                var i = random.Next(oids.Length);
                Assert.Equal($"node {i}", ((Node)connection.Get(oids[i])).Label);
            }
            var storage = (Persistence.Storage.FileStorage)db.Storage;
            if (pageCacheBytes == 0) Assert.Equal(0, storage.PagesHeld);
            else Assert.True(storage.PagesHeld > 0, "loads kept their pages");
        }
    }

    [Fact]
    public void Connections_on_threads_of_their_own_pass_over_a_file_a_writer_changes_and_read_every_object_right()
    {
        using var folder = new TempFolder();
        // Every pass a new connection, and no shared record cache: each pass loads every node from the file.
        using var db = Database.Open(folder.File("passes.db"), new DatabaseOptions { ConnectionPoolSize = 0, RecordCacheBytes = 0 });
        const int count = 6_000;
        // About 850 KB of nodes: each pass reads more blocks than a connection keeps, so it reads into
        // the buffers of blocks it let go of.
        static string Label(int key, int round) => $"{key}:{round}:".PadRight(100, '.');
        var tree = new BTree<int, Node>();
        for (var i = 0; i < count; i++) tree[i] = new Node { Label = Label(i, 0) };
        TestDatabase.Store(db, "nodes", tree);

        var wrong = new System.Collections.Concurrent.ConcurrentQueue<string>();
        var passes = 0;
        var writing = true;
        var writer = new Thread(() => Run(writes: true, () =>
        {
            var random = new Random(5);
            for (var round = 1; round <= 20; round++)
            {
                db.Transact(connection =>
                {
                    var nodes = (BTree<int, Node>)connection.Root["nodes"];
                    for (var n = 0; n < 50; n++)
                    {
                        var key = random.Next(count);
                        nodes[key].Label = Label(key, round);
                    }
                });
            }
        }));
        var readers = Enumerable.Range(0, 3).Select(_ => new Thread(() => Run(writes: false, Passes))).ToList();
        writer.Start();
        readers.ForEach(reader => reader.Start());
        writer.Join();
        readers.ForEach(reader => reader.Join());

        Assert.Empty(wrong);
        Assert.True(passes >= 12, $"{passes} passes");

        // A thread's work; what it throws is a failure of the test (and the writer's end ends the passes).
        void Run(bool writes, Action work)
        {
            try
            {
                work();
            }
            catch (Exception e)
            {
                wrong.Enqueue(e.ToString());
            }
            finally
            {
                if (writes) Volatile.Write(ref writing, false);
            }
        }

        void Passes()
        {
            for (var pass = 0; pass < 4 || Volatile.Read(ref writing); pass++)
            {
                using var connection = db.OpenConnection();
                var seen = 0;
                foreach (var (key, node) in (BTree<int, Node>)connection.Root["nodes"])
                {
                    var label = node.Label!;
                    if (!label.StartsWith($"{key}:", StringComparison.Ordinal) || label.Length != 100) wrong.Enqueue(label);
                    seen++;
                }
                if (seen != count) wrong.Enqueue($"a pass saw {seen} nodes");
                Interlocked.Increment(ref passes);
            }
        }
    }

    [Fact]
    public void A_root_whose_record_names_a_class_the_catalog_does_not_know_is_reported_as_damage()
    {
        using var folder = new TempFolder();
        var path = folder.File("data.persist");
        using (var db = Database.Open(path))
        using (var writer = db.OpenConnection())
        {
            writer.Root["n"] = new Node { Label = "n" };
            writer.Commit();
        }
        // The root's record rewritten to name type id 99 (a file cut inside a packed one reads so: the
        // root's revision is there, the catalog's that numbers its class comes later).
        using (var storage = FileStorage.Open(path))
        {
            var root = storage.Load(Oid.Root)!.Value;
            var references = new List<Oid>();
            RecordFormat.References(root.Data.Span, references);
            Storage.TestRecords.Commit(storage, (Oid.Root, root.Tid, RecordFormat.Compose(99, 0, RecordFormat.State(root.Data.Span), [.. references])));
        }

        using var reopened = Database.Open(path);
        using var reader = reopened.OpenConnection();
        var error = Assert.Throws<CorruptDatabaseException>(() => reader.Root);
        Assert.Equal(Oid.Root, error.Oid);
        Assert.Contains("type id 99", error.Message);
    }
}
