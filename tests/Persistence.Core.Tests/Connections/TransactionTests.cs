using System.Collections.Concurrent;
using Persistence.Storage;
using Persistence.Tests.Models;

namespace Persistence.Tests.Connections;

public class TransactionTests
{
    private static (Database Db, Node A, Node B) TwoNodes(TransactionIsolation isolation = TransactionIsolation.Serializable)
    {
        var db = TestDatabase.InMemory(isolation: isolation);
        using var setup = db.OpenConnection();
        setup.Root["a"] = new Node { Label = "a0" };
        setup.Root["b"] = new Node { Label = "b0" };
        setup.Commit();
        return (db, (Node)setup.Root["a"], (Node)setup.Root["b"]);
    }

    [Fact]
    public void The_durus_example_shows_a_consistent_pair_without_a_read_conflict()
    {
        // Client A reads a; client B changes a and b and commits; client A then reads b.
        var (db, _, _) = TwoNodes();
        using (db)
        {
            using var clientA = db.OpenConnection();
            using var clientB = db.OpenConnection();
            var a = ((Node)clientA.Root["a"]).Label;
            ((Node)clientB.Root["a"]).Label = "a1";
            ((Node)clientB.Root["b"]).Label = "b1";
            clientB.Commit();

            var b = ((Node)clientA.Root["b"]).Label;
            Assert.Equal(("a0", "b0"), (a, b));
            clientA.Commit(); // read-only: never conflicts
            Assert.Equal(("a1", "b1"), (((Node)clientA.Root["a"]).Label, ((Node)clientA.Root["b"]).Label));
        }
    }

    [Fact]
    public void Serializable_a_commit_fails_when_an_object_it_only_read_was_changed_after_its_snapshot()
    {
        var (db, _, _) = TwoNodes();
        using (db)
        {
            using var reader = db.OpenConnection();
            using var writer = db.OpenConnection();
            var a = (Node)reader.Root["a"];
            var b = (Node)reader.Root["b"];
            b.Label = "derived from " + a.Label; // reads a, writes b

            ((Node)writer.Root["a"]).Label = "a1";
            writer.Commit();

            var conflict = Assert.Throws<ConflictException>(reader.Commit);
            Assert.Equal([a.PersistentOid], conflict.Oids);
            Assert.Contains(nameof(Node), conflict.Message);
            Assert.Contains(a.PersistentOid.ToString(), conflict.Message);

            reader.Abort();
            b.Label = "derived from " + a.Label;
            reader.Commit();
            Assert.Equal("derived from a1", b.Label);
        }
    }

    [Fact]
    public void Snapshot_isolation_checks_only_written_objects_and_so_allows_write_skew()
    {
        var (db, _, _) = TwoNodes(TransactionIsolation.Snapshot);
        using (db)
        {
            using var first = db.OpenConnection();
            using var second = db.OpenConnection();
            ((Node)first.Root["b"]).Label = "from " + ((Node)first.Root["a"]).Label;
            ((Node)second.Root["a"]).Label = "from " + ((Node)second.Root["b"]).Label;
            first.Commit();
            second.Commit();
            using var check = db.OpenConnection();
            Assert.Equal(("from b0", "from a0"), (((Node)check.Root["a"]).Label, ((Node)check.Root["b"]).Label));
        }
    }

    [Fact]
    public void Serializable_refuses_the_same_write_skew()
    {
        var (db, _, _) = TwoNodes();
        using (db)
        {
            using var first = db.OpenConnection();
            using var second = db.OpenConnection();
            ((Node)first.Root["b"]).Label = "from " + ((Node)first.Root["a"]).Label;
            ((Node)second.Root["a"]).Label = "from " + ((Node)second.Root["b"]).Label;
            first.Commit();
            Assert.Throws<ConflictException>(second.Commit);
        }
    }

    [Fact]
    public void A_read_only_transaction_never_conflicts()
    {
        var (db, _, _) = TwoNodes();
        using (db)
        {
            using var reader = db.OpenConnection();
            using var writer = db.OpenConnection();
            _ = ((Node)reader.Root["a"]).Label;
            ((Node)writer.Root["a"]).Label = "a1";
            writer.Commit();
            reader.Commit();
            Assert.Equal("a1", ((Node)reader.Root["a"]).Label);
        }
    }

    [Fact]
    public void Transact_retries_conflicts_and_returns_the_result_of_the_attempt_that_committed()
    {
        var (db, _, _) = TwoNodes();
        using (db)
        {
            var attempts = 0;
            var result = db.Transact(connection =>
            {
                attempts++;
                var a = (Node)connection.Root["a"];
                a.Label += "+";
                if (attempts < 3)
                {
                    // Someone else commits a change to the same object before this attempt commits.
                    using var other = db.OpenConnection();
                    ((Node)other.Root["a"]).Label += "!";
                    other.Commit();
                }
                return a.Label + "@" + attempts;
            });
            Assert.Equal(3, attempts);
            Assert.Equal("a0!!+@3", result);
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_retry_starts_from_what_others_committed_during_its_back_off(bool async)
    {
        var (db, _, _) = TwoNodes();
        using (db)
        {
            var attempts = 0;
            // Another writer commits a change to the same object while the retry waits.
            db.AfterBackoff = () =>
            {
                using var other = db.OpenConnection();
                ((Node)other.Root["a"]).Label += "?";
                other.Commit();
            };
            string Work(Connection connection)
            {
                attempts++;
                var a = (Node)connection.Root["a"];
                a.Label += "+";
                if (attempts == 1)
                {
                    using var other = db.OpenConnection();
                    ((Node)other.Root["a"]).Label += "!";
                    other.Commit();
                }
                return a.Label;
            }
            var label = async ? await db.TransactAsync(Work) : db.Transact(Work);

            // The second attempt read the change made during the back-off, so it committed.
            Assert.Equal((2, "a0!?+"), (attempts, label));
        }
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(false, true)]
    [InlineData(true, false)]
    [InlineData(true, true)]
    public async Task A_Transact_inside_the_work_of_another_joins_it_and_commits_once_with_it(bool outerAsync, bool innerAsync)
    {
        var (db, _, _) = TwoNodes();
        using (db)
        {
            var before = db.StateNumber;
            var (outerAttempts, innerRuns) = (0, 0);
            // A helper that makes its own unit of work, called from inside another one.
            async Task<string> AppendB(Connection outer)
            {
                string Inner(Connection connection)
                {
                    innerRuns++;
                    Assert.Same(outer, connection);
                    ((Node)connection.Root["b"]).Label += "+";
                    return ((Node)connection.Root["b"]).Label!;
                }
                return innerAsync ? await db.TransactAsync(Inner) : db.Transact(Inner);
            }
            string Outer(Connection connection)
            {
                outerAttempts++;
                ((Node)connection.Root["a"]).Label += "+";
                var b = AppendB(connection).GetAwaiter().GetResult();
                if (outerAttempts == 1)
                {
                    // Another writer changes a: the outer work, the inner one with it, runs again.
                    using var other = db.OpenConnection();
                    ((Node)other.Root["a"]).Label += "!";
                    other.Commit();
                }
                return b;
            }
            var result = outerAsync ? await db.TransactAsync(Outer) : db.Transact(Outer);

            Assert.Equal((2, 2, "b0+"), (outerAttempts, innerRuns, result));
            // One commit of the other writer and one of the unit of work, both changes in it.
            Assert.Equal(before + 2, db.StateNumber);
            using var reader = db.OpenConnection();
            Assert.Equal(("a0!+", "b0+"), (((Node)reader.Root["a"]).Label, ((Node)reader.Root["b"]).Label));
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Joined_work_that_throws_keeps_the_outer_unit_of_work_from_committing_even_if_the_outer_work_goes_on(bool async)
    {
        var (db, _, _) = TwoNodes();
        using (db)
        {
            var before = db.StateNumber;
            bool Outer(Connection connection)
            {
                ((Node)connection.Root["a"]).Label = "outer";
                try
                {
                    db.Transact((Action<Connection>)(inner =>
                    {
                        ((Node)inner.Root["b"]).Label = "half done";
                        throw new FormatException("bad input");
                    }));
                }
                catch (FormatException)
                {
                    // Goes on as if the inner unit of work had been undone.
                }
                return true;
            }
            var error = async
                ? await Assert.ThrowsAsync<InvalidOperationException>(() => db.TransactAsync(Outer))
                : Assert.Throws<InvalidOperationException>(() => db.Transact(Outer));
            Assert.IsType<FormatException>(error.InnerException);
            Assert.Contains("inside this one's work, which joined it, failed (FormatException: bad input)", error.Message);
            Assert.Contains("nothing is committed", error.Message);
            Assert.Equal(before, db.StateNumber);
            using var reader = db.OpenConnection();
            Assert.Equal(("a0", "b0"), (((Node)reader.Root["a"]).Label, ((Node)reader.Root["b"]).Label));
        }
    }

    [Fact]
    public void A_conflict_that_joined_work_raised_and_the_outer_work_swallowed_still_retries_the_outer_work()
    {
        var (db, _, _) = TwoNodes();
        using (db)
        {
            var attempts = 0;
            db.Transact(connection =>
            {
                attempts++;
                ((Node)connection.Root["a"]).Label += "+";
                try
                {
                    db.Transact(inner =>
                    {
                        if (attempts == 1) throw new ConflictException("a conflict the inner work met", []);
                    });
                }
                catch (ConflictException)
                {
                }
            });
            Assert.Equal(2, attempts);
            using var reader = db.OpenConnection();
            Assert.Equal("a0+", ((Node)reader.Root["a"]).Label);
        }
    }

    [Fact]
    public async Task A_Transact_after_another_has_ended_or_on_another_database_is_a_unit_of_work_of_its_own()
    {
        var (db, _, _) = TwoNodes();
        using var other = Database.Open(new MemoryStorage());
        using (db)
        {
            Task? later = null;
            db.Transact(connection =>
            {
                ((Node)connection.Root["a"]).Label = "outer";
                // Another database's unit of work inside this one commits by itself.
                other.Transact(inner => inner.Root["x"] = new Node { Label = "other" });
                // A task the work leaves running sees the unit of work, which has ended when it runs.
                later = Task.Run(async () =>
                {
                    await Task.Delay(50);
                    db.Transact(inner => ((Node)inner.Root["b"]).Label = "later");
                });
            });
            await later!;
            using var reader = db.OpenConnection();
            Assert.Equal(("outer", "later"), (((Node)reader.Root["a"]).Label, ((Node)reader.Root["b"]).Label));
            using var otherReader = other.OpenConnection();
            Assert.Equal("other", ((Node)otherReader.Root["x"]).Label);
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Work_that_leaves_a_change_pending_in_a_connection_opened_before_it_is_not_committed(bool async)
    {
        // The change went to the other connection, Transact committed its own (unchanged) one and
        // returned, and the change waited for a commit of the other connection that never came.
        var (db, _, _) = TwoNodes();
        using (db)
        {
            using var outside = db.OpenConnection();
            var a = (Node)outside.Root["a"];
            void Work(Connection connection)
            {
                // A connection the work opens for itself is its own business.
                using (var own = db.OpenConnection())
                {
                    ((Node)own.Root["b"]).Label = "b1";
                    own.Commit();
                }
                _ = connection.Root.Count;
                a.Label = "a1";
            }

            var error = async
                ? await Assert.ThrowsAsync<InvalidOperationException>(() => db.TransactAsync(async connection => { await Task.Yield(); Work(connection); }))
                : Assert.Throws<InvalidOperationException>(() => db.Transact(Work));
            Assert.Contains("opened before", error.Message);
            Assert.Contains("Get(", error.Message);
            // The change waits in its own connection, which the test drops.
            Assert.Equal(PersistentState.Changed, a.PersistentState);
            outside.Abort();
            using var reader = db.OpenConnection();
            Assert.Equal(("a0", "b1"), (((Node)reader.Root["a"]).Label, ((Node)reader.Root["b"]).Label));
        }
    }

    [Fact]
    public void Transact_aborts_and_propagates_other_exceptions()
    {
        var (db, _, _) = TwoNodes();
        using (db)
        {
            var attempts = 0;
            // Cast: a lambda that only throws would bind to the overload that refuses async work.
            Assert.Throws<InvalidOperationException>(() => db.Transact((Action<Connection>)(connection =>
            {
                attempts++;
                ((Node)connection.Root["a"]).Label = "never";
                throw new InvalidOperationException("boom");
            })));
            Assert.Equal(1, attempts);
            using var check = db.OpenConnection();
            Assert.Equal("a0", ((Node)check.Root["a"]).Label);
        }
    }

    [Fact]
    public void A_conflict_says_to_wait_before_Abort_as_a_retry_after_a_wait_reads_the_state_of_the_Abort()
    {
        var (db, _, _) = TwoNodes();
        using (db)
        {
            using var mine = db.OpenConnection();
            using var theirs = db.OpenConnection();
            ((Node)mine.Root["a"]).Label = "mine";
            ((Node)theirs.Root["a"]).Label = "theirs 1";
            theirs.Commit();
            var first = Assert.Throws<ConflictException>(mine.Commit);
            Assert.Contains("wait before Abort() instead", first.Message);
            Assert.Contains("Database.Transact does this for you", first.Message);

            // A hand-written retry that waits after Abort(): others commit meanwhile, and the redone work
            // still reads the state of the Abort, so it conflicts again.
            mine.Abort();
            ((Node)theirs.Root["a"]).Label = "theirs 2";
            theirs.Commit();
            Assert.Equal("theirs 1", ((Node)mine.Root["a"]).Label);
            ((Node)mine.Root["a"]).Label = "mine";
            Assert.Throws<ConflictException>(mine.Commit);

            // Waited before Abort(): the work reads the newest state and commits.
            mine.Abort();
            Assert.Equal("theirs 2", ((Node)mine.Root["a"]).Label);
            ((Node)mine.Root["a"]).Label = "mine";
            mine.Commit();
        }
    }

    [Fact]
    public void Transact_gives_up_after_the_last_attempt()
    {
        var (db, _, _) = TwoNodes();
        using (db)
        {
            var attempts = 0;
            var error = Assert.Throws<ConflictException>(() => db.Transact(connection =>
            {
                attempts++;
                ((Node)connection.Root["a"]).Label = "mine";
                using var other = db.OpenConnection();
                ((Node)other.Root["a"]).Label = "theirs " + attempts;
                other.Commit();
            }, maxAttempts: 3));
            Assert.Equal(3, attempts);
            Assert.StartsWith("Database.Transact gave up after 3 attempt(s)", error.Message);
            Assert.DoesNotContain("Database.Transact does this for you", error.Message);
            Assert.NotEmpty(error.Oids);
        }
    }

    [Fact]
    public async Task TransactAsync_names_itself_when_it_gives_up()
    {
        var (db, _, _) = TwoNodes();
        using (db)
        {
            var attempts = 0;
            var error = await Assert.ThrowsAsync<ConflictException>(() => db.TransactAsync(async connection =>
            {
                attempts++;
                ((Node)connection.Root["a"]).Label = "mine";
                await Task.Yield();
                using var other = db.OpenConnection();
                ((Node)other.Root["a"]).Label = "theirs " + attempts;
                other.Commit();
            }, maxAttempts: 2));
            Assert.Equal(2, attempts);
            Assert.StartsWith("Database.TransactAsync gave up after 2 attempt(s)", error.Message);
        }
    }

    [Fact]
    public async Task Transact_and_TransactAsync_take_the_isolation_their_commit_checks()
    {
        var (db, _, _) = TwoNodes();
        using (db)
        {
            var attempts = 0;
            // Reads a, which another transaction then changes, and writes b: a report that ends in a write.
            int Report(Connection c)
            {
                attempts++;
                _ = ((Node)c.Root["a"]).Label;
                using (var other = db.OpenConnection())
                {
                    ((Node)other.Root["a"]).Label = "theirs " + attempts;
                    other.Commit();
                }
                ((Node)c.Root["b"]).Label = "summary " + attempts;
                return attempts;
            }
            Assert.Throws<ConflictException>(() => db.Transact(Report, maxAttempts: 2));
            attempts = 0;
            Assert.Equal(1, db.Transact(Report, isolation: TransactionIsolation.Snapshot));
            attempts = 0;
            Assert.Equal(1, await db.TransactAsync(Report, isolation: TransactionIsolation.Snapshot));
            using (var check = db.OpenConnection()) Assert.Equal("summary 1", ((Node)check.Root["b"]).Label);
            // An inner Transact joins the outer unit, which commits under the database's isolation.
            var error = Assert.Throws<InvalidOperationException>(() => db.Transact(c => db.Transact(inner => inner.Root.Count, isolation: TransactionIsolation.Snapshot)));
            Assert.Contains("joins", error.Message);
            Assert.Equal(2, db.Transact(c => db.Transact(inner => inner.Root.Count, isolation: TransactionIsolation.Serializable)));
        }
    }

    [Fact]
    public async Task An_object_a_unit_of_work_returned_does_not_show_the_next_units_changes()
    {
        // Pooled connections (the tests' databases have none): a pooled one's cache is the next unit's.
        using (var db = TestDatabase.WithTwoNodes(Database.Open(new MemoryStorage(), new DatabaseOptions { ConnectionPoolSize = 4 })))
        {
#pragma warning disable PERSIST022 // The slip whose consequence is tested.
            var node = db.Transact(c => { var n = (Node)c.Root["a"]; _ = n.Label; return n; });
            var (first, _) = await db.TransactAsync(c => { var n = (Node)c.Root["b"]; _ = n.Label; return (n, 1); });
#pragma warning restore PERSIST022
            string? seen = null, seenAsync = null;
            // The next units change the same objects and fail before committing.
            Assert.Throws<InvalidOperationException>(() => db.Transact((Action<Connection>)(c =>
            {
                ((Node)c.Root["a"]).Label = "uncommitted";
                seen = node.Label;
                throw new InvalidOperationException("refused");
            })));
            await Assert.ThrowsAsync<InvalidOperationException>(() => db.TransactAsync((Func<Connection, int>)(c =>
            {
                ((Node)c.Root["b"]).Label = "uncommitted";
                seenAsync = first.Label;
                throw new InvalidOperationException("refused");
            })));
            Assert.Equal(("a0", "b0"), (seen, seenAsync));
            Assert.Equal(("a0", "b0"), (node.Label, first.Label));
            // A unit that returns a value leaves its connection to the pool.
            var pooled = db.Transact(c => c.Root.Count);
            Assert.Equal(2, pooled);
            Assert.Equal(1, db.PooledCount);
        }
    }

    [Fact]
    public async Task TransactAsync_cancelled_while_the_work_runs_commits_nothing_and_one_cancelled_before_runs_no_work()
    {
        var (db, _, _) = TwoNodes();
        using (db)
        {
            using var cancel = new CancellationTokenSource();
            var attempts = 0;
            // The client went away while the work ran; the work did not look at the token itself.
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => db.TransactAsync(async connection =>
            {
                attempts++;
                ((Node)connection.Root["a"]).Label = "booked";
                await Task.Yield();
                cancel.Cancel();
            }, cancellationToken: cancel.Token));
            Assert.Equal(1, attempts);
            using (var check = db.OpenConnection()) Assert.Equal("a0", ((Node)check.Root["a"]).Label);

            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => db.TransactAsync(connection =>
            {
                attempts++;
                return 0;
            }, cancellationToken: cancel.Token));
            Assert.Equal(1, attempts);
            // The connection went back to the pool with nothing pending: the next unit commits as usual.
            await db.TransactAsync(connection => ((Node)connection.Root["a"]).Label = "next");
            using var after = db.OpenConnection();
            Assert.Equal("next", ((Node)after.Root["a"]).Label);
        }
    }

    [Fact]
    public async Task A_conflict_after_the_work_closed_its_connection_is_what_Transact_and_TransactAsync_raise()
    {
        // The connection is gone (the work disposed it, as disposing the Database would): nothing to
        // abort or retry on, and the work's conflict is what the caller learns, not the closed connection.
        var (db, _, _) = TwoNodes();
        using (db)
        {
            var conflict = new ConflictException("the work's conflict", []);
            var attempts = 0;
            var error = Assert.Throws<ConflictException>(() => db.Transact((Action<Connection>)(connection =>
            {
                attempts++;
                connection.Dispose();
                throw conflict;
            })));
            var asyncError = await Assert.ThrowsAsync<ConflictException>(() => db.TransactAsync(async connection =>
            {
                attempts++;
                await Task.Yield();
                connection.Dispose();
                throw conflict;
            }));

            Assert.Same(conflict, error);
            Assert.Same(conflict, asyncError);
            Assert.Equal(2, attempts);
        }
    }

    [Fact]
    public async Task TransactAsync_retries_without_blocking()
    {
        var (db, _, _) = TwoNodes();
        using (db)
        {
            var attempts = 0;
            var label = await db.TransactAsync(connection =>
            {
                attempts++;
                var a = (Node)connection.Root["a"];
                if (attempts == 1)
                {
                    using var other = db.OpenConnection();
                    ((Node)other.Root["a"]).Label = "changed";
                    other.Commit();
                }
                a.Label += " then async";
                return a.Label;
            });
            Assert.Equal((2, "changed then async"), (attempts, label));
        }
    }

    [Fact]
    public void Concurrent_counter_increments_from_threads_never_conflict_and_none_is_lost()
    {
        using var db = TestDatabase.InMemory();
        using (var setup = db.OpenConnection())
        {
            setup.Root["counter"] = new PersistentCounter();
            setup.Commit();
        }
        var conflicts = 0;
        var threads = Enumerable.Range(0, 8).Select(_ => new Thread(() =>
        {
            using var connection = db.OpenConnection();
            for (var i = 0; i < 200; i++)
            {
                try
                {
                    ((PersistentCounter)connection.Root["counter"]).Increment();
                    connection.Commit();
                }
                catch (ConflictException)
                {
                    Interlocked.Increment(ref conflicts);
                    connection.Abort();
                }
            }
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());
        using var check = db.OpenConnection();
        Assert.Equal((1600L, 0), (((PersistentCounter)check.Root["counter"]).Value, conflicts));
    }

    [Fact]
    public void Bank_transfers_from_many_threads_keep_the_total_and_apply_each_transfer_once()
    {
        using var db = TestDatabase.InMemory();
        const int accounts = 5;
        using (var setup = db.OpenConnection())
        {
            for (var i = 0; i < accounts; i++) setup.Root["account" + i] = new Account { Name = "#" + i, Balance = 1000 };
            setup.Commit();
        }
        var moved = new ConcurrentQueue<(int From, int To, int Amount)>();
        var until = DateTime.UtcNow.AddSeconds(1.5);
        var threads = Enumerable.Range(0, 4).Select(seed => new Thread(() =>
        {
            var random = new Random(seed);
            while (DateTime.UtcNow < until)
            {
                var from = random.Next(accounts);
                var to = (from + 1 + random.Next(accounts - 1)) % accounts;
                var amount = random.Next(1, 50);
                db.Transact(connection =>
                {
                    ((Account)connection.Root["account" + from]).Balance -= amount;
                    ((Account)connection.Root["account" + to]).Balance += amount;
                }, maxAttempts: 1000);
                moved.Enqueue((from, to, amount));
            }
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());

        var expected = Enumerable.Repeat(1000L, accounts).ToArray();
        foreach (var (from, to, amount) in moved)
        {
            expected[from] -= amount;
            expected[to] += amount;
        }
        using var check = db.OpenConnection();
        var balances = Enumerable.Range(0, accounts).Select(i => ((Account)check.Root["account" + i]).Balance).ToArray();
        Assert.True(moved.Count > 20, $"only {moved.Count} transfers ran");
        Assert.Equal(expected, balances);
        Assert.Equal(accounts * 1000L, balances.Sum());
    }

    [Fact]
    public void OpenConnection_reuses_a_closed_connection_with_its_warm_cache()
    {
        using var db = Database.Open(new MemoryStorage(), new DatabaseOptions { ConnectionPoolSize = 2 });
        Node first;
        using (var connection = db.OpenConnection())
        {
            connection.Root["n"] = new Node { Label = "warm" };
            connection.Commit();
            first = (Node)connection.Root["n"];
        }
        using var again = db.OpenConnection();
        var node = (Node)again.Root["n"];
        Assert.Same(first, node);
        Assert.Equal(PersistentState.UpToDate, node.PersistentState);
        Assert.False(again.IsClosed);
    }

    [Fact]
    public void Connections_open_side_by_side_share_committed_records_through_the_database_cache()
    {
        var counting = new CountingStorage(new MemoryStorage());
        using var db = Database.Open(counting, TestDatabase.Cold());
        AddNodes(db, 50);
        using var first = db.OpenConnection();
        using var second = db.OpenConnection();
        Assert.Equal(50, ((PersistentList<Node>)first.Root["list"]).Count(n => n.Label!.StartsWith('n')));
        var loadsAfterFirst = counting.Loads;
        Assert.Equal(50, ((PersistentList<Node>)second.Root["list"]).Count(n => n.Label!.StartsWith('n')));
        Assert.Equal(loadsAfterFirst, counting.Loads);
    }

    [Fact]
    public void A_lone_connection_keeps_its_objects_itself_and_leaves_the_database_cache_empty()
    {
        var counting = new CountingStorage(new MemoryStorage());
        using var db = Database.Open(counting, TestDatabase.Cold());
        AddNodes(db, 50);
        using (var lone = db.OpenConnection())
            Assert.Equal(50, ((PersistentList<Node>)lone.Root["list"]).Count(n => n.Label!.StartsWith('n')));
        Assert.Equal(0, db.RecordCacheBytes);
        // Opened after the lone one closed, a connection reads from the storage again, and once a second
        // one is open beside it, what it reads is kept for the other.
        using var first = db.OpenConnection();
        var loadsBefore = counting.Loads;
        using var second = db.OpenConnection();
        Assert.Equal(50, ((PersistentList<Node>)first.Root["list"]).Count(n => n.Label!.StartsWith('n')));
        Assert.True(counting.Loads >= loadsBefore + 51, $"{counting.Loads - loadsBefore} loads");
        Assert.True(db.RecordCacheBytes > 0);
    }

    private static void AddNodes(Database db, int count)
    {
        using var setup = db.OpenConnection();
        var list = new PersistentList<Node>();
        for (var i = 0; i < count; i++) list.Add(new Node { Label = "n" + i });
        setup.Root["list"] = list;
        setup.Commit();
    }

    [Fact]
    public void A_revision_the_snapshot_needs_that_is_gone_raises_a_read_conflict()
    {
        var storage = new HistoryLosingStorage(new MemoryStorage());
        // No record cache: it would still hold the old revision and serve it (which is right, but not what this test is about).
        using var db = Database.Open(storage, new DatabaseOptions { ConnectionPoolSize = 0, RecordCacheBytes = 0 });
        using (var setup = db.OpenConnection())
        {
            setup.Root["a"] = new Node { Label = "a0" };
            setup.Commit();
        }
        using var reader = db.OpenConnection();
        var root = reader.Root;
        using (var writer = db.OpenConnection())
        {
            ((Node)writer.Root["a"]).Label = "a1";
            writer.Commit();
        }
        storage.ForgetHistory = true;
        var error = Assert.Throws<ReadConflictException>(() => ((Node)root["a"]).Label);
        Assert.Contains("Abort()", error.Message);
        reader.Abort();
        Assert.Equal("a1", ((Node)reader.Root["a"]).Label);
    }

    [Fact]
    public void Autocommit_commits_pending_changes_after_the_interval_at_the_next_safe_point()
    {
        using var db = Database.Open(new MemoryStorage(), new DatabaseOptions { AutocommitInterval = TimeSpan.FromMilliseconds(50), ConnectionPoolSize = 0 });
        using var connection = db.OpenConnection();
        connection.Root["n"] = new Node { Label = "first" };
        var before = db.StateNumber;
        Thread.Sleep(80);
        connection.Root["m"] = new Node { Label = "second" }; // a safe point: the first change commits now
        Assert.True(db.StateNumber > before);
        using (var other = db.OpenConnection()) Assert.True(other.Root.ContainsKey("n"));
        connection.Dispose(); // with autocommit, dispose commits the rest
        using var check = db.OpenConnection();
        Assert.Equal("second", ((Node)check.Root["m"]).Label);
    }

    private static Database AutocommittingAccounts(TransactionIsolation isolation)
    {
        var db = Database.Open(new MemoryStorage(), new DatabaseOptions { Isolation = isolation, AutocommitInterval = TimeSpan.Zero, ConnectionPoolSize = 0 });
        using var setup = db.OpenConnection();
        setup.Root["x"] = new Account { Name = "x", Balance = 100 };
        setup.Root["y"] = new Account { Name = "y", Balance = 100 };
        setup.Root["n"] = new Node { Label = "n" };
        setup.Commit();
        return db;
    }

    private static long BalanceOf(Database db, string key)
    {
        using var connection = db.OpenConnection();
        return ((Account)connection.Root[key]).Balance;
    }

    [Fact]
    public void Autocommit_never_splits_the_unit_of_work_of_Transact()
    {
        using var db = AutocommittingAccounts(TransactionIsolation.Serializable);
        using var other = db.OpenConnection();
        var attempts = 0;
        db.Transact(connection =>
        {
            attempts++;
            ((Account)connection.Root["x"]).Balance -= 10;
            // An access to Root, a safe point: with the interval passed, autocommit would commit the debit here.
            ((Account)connection.Root["y"]).Balance += 10;
            if (attempts > 1) return;
            other.Abort();
            ((Account)other.Root["y"]).Balance += 1;
            other.Commit();
        });
        Assert.Equal(2, attempts);
        Assert.Equal(90, BalanceOf(db, "x"));
        Assert.Equal(111, BalanceOf(db, "y"));
    }

    [Fact]
    public void A_change_to_an_object_is_not_an_autocommit_safe_point()
    {
        // A setter's new value comes from what the transaction read: committing before the write would
        // write it in the next transaction, over what another committed meanwhile, unchecked.
        using var db = AutocommittingAccounts(TransactionIsolation.Snapshot);
        using var connection = db.OpenConnection();
        using var other = db.OpenConnection();
        var x = (Account)connection.Root["x"];
        ((Node)connection.Root["n"]).Label = "pending";
        var read = x.Balance;
        ((Account)other.Root["x"]).Balance += 50;
        other.Commit();

        x.Balance = read + 10;
        Assert.Throws<ConflictException>(connection.Commit);
        connection.Abort();
        Assert.Equal(150, BalanceOf(db, "x"));
    }

    [Fact]
    public void Get_is_an_autocommit_safe_point()
    {
        using var db = AutocommittingAccounts(TransactionIsolation.Serializable);
        using var connection = db.OpenConnection();
        var node = (Node)connection.Root["n"];
        node.Label = "changed";
        var before = db.StateNumber;
        Assert.Same(node, connection.Get(node.PersistentOid));
        Assert.True(db.StateNumber > before);
        Assert.False(connection.HasChanges);
    }

    [Fact]
    public void A_conflict_of_the_commit_at_dispose_is_thrown_and_the_connection_is_closed_all_the_same()
    {
        using var db = AutocommittingAccounts(TransactionIsolation.Serializable);
        var connection = db.OpenConnection();
        ((Account)connection.Root["x"]).Balance = 1;
        using (var other = db.OpenConnection())
        {
            ((Account)other.Root["x"]).Balance = 2;
            other.Commit();
        }
        Assert.Throws<ConflictException>(connection.Dispose);
        Assert.True(connection.IsClosed);
        connection.Dispose();
        Assert.Equal(2, BalanceOf(db, "x"));
    }

    [Fact]
    public void Aborting_from_inside_a_commit_is_refused_and_the_commit_stores_nothing_wrong() =>
        // Merged within the vote: its conflict resolution calls Abort(), which is refused, and the commit fails with that error.
        AbortFromAConflictResolutionIsRefused(new MemoryStorage());

    /// <summary>
    /// With a cell of 42 changed to 43 here while another connection commits 44, the commit's merge calls
    /// the cell's resolution, which aborts: the commit fails with that refusal and 44 stays.
    /// </summary>
    private static void AbortFromAConflictResolutionIsRefused(IStorage storage)
    {
        using var db = Database.Open(storage, new DatabaseOptions { ConnectionPoolSize = 0 });
        using (var setup = db.OpenConnection())
        {
            setup.Root["cell"] = new AbortingCell { Value = 42 };
            setup.Commit();
        }
        using var connection = db.OpenConnection();
        using var other = db.OpenConnection();
        ((AbortingCell)connection.Root["cell"]).Value = 43;
        ((AbortingCell)other.Root["cell"]).Value = 44;
        other.Commit();
        var refused = Assert.Throws<InvalidOperationException>(connection.Commit);
        Assert.Contains("while it was committing", refused.Message);
        connection.Abort();
        Assert.Equal(44, ((AbortingCell)connection.Root["cell"]).Value);
    }

    /// <summary>A storage whose transactions are not the library's own: conflicts reach the connection's merge after the vote.</summary>
    private sealed class ForeignTransactions(IStorage inner) : DelegatingStorage(inner)
    {
        public override IStorageTransaction Begin() => new Wrapped(base.Begin());

        private sealed class Wrapped(IStorageTransaction inner) : IStorageTransaction
        {
            public void Store(Oid oid, long serial, ReadOnlyMemory<byte> data) => inner.Store(oid, serial, data);

            public void CheckCurrent(Oid oid, long serial) => inner.CheckCurrent(oid, serial);

            public void Vote() => inner.Vote();

            public long Finish() => inner.Finish();

            public void Abort() => inner.Abort();

            public void Dispose() => inner.Dispose();
        }
    }

    [Fact]
    public void An_exception_of_a_conflict_resolution_reaches_the_committer() =>
        // Merged after the vote: the resolution's refused Abort() is that error, not a conflict it was taken for.
        AbortFromAConflictResolutionIsRefused(new ForeignTransactions(new MemoryStorage()));

    [Fact]
    public void Without_autocommit_dispose_aborts_and_the_state_number_rises_by_one_per_commit()
    {
        using var db = TestDatabase.InMemory();
        var start = db.StateNumber;
        using (var connection = db.OpenConnection())
        {
            connection.Root["n"] = new Node();
            connection.Commit();
            Assert.Equal(start + 2, db.StateNumber); // the class's catalog entry, then the commit
            ((Node)connection.Root["n"]).Label = "x";
            connection.Commit();
            Assert.Equal(start + 3, db.StateNumber);
            ((Node)connection.Root["n"]).Label = "dropped";
        }
        Assert.Equal(start + 3, db.StateNumber);
    }

    [Fact]
    public async Task WaitForState_inside_Transact_work_says_to_wait_between_transactions()
    {
        using var db = TestDatabase.InMemory();
        // Inside the work the snapshot does not move, so a "look, wait, look again" loop would spin on one state.
        var blocking = Assert.Throws<InvalidOperationException>(() => db.Transact(c => db.WaitForState(c.Snapshot + 1, TimeSpan.FromSeconds(5))));
        Assert.Contains("Snapshot", blocking.Message);
        var awaiting = await Assert.ThrowsAsync<InvalidOperationException>(() => db.TransactAsync(async c => await db.WaitForStateAsync(c.Snapshot + 1, TimeSpan.FromSeconds(5))));
        Assert.Contains("WaitForStateAsync", awaiting.Message);
        // Between transactions it waits as before.
        var seen = db.Transact(c => c.Snapshot);
        Assert.True(db.WaitForState(seen, TimeSpan.Zero));
        Assert.False(await db.WaitForStateAsync(seen + 1, TimeSpan.FromMilliseconds(20)));
    }

    [Fact]
    public async Task WaitForState_wakes_when_another_connection_commits()
    {
        using var db = TestDatabase.InMemory();
        var target = db.StateNumber + 3;
        var waiting = db.WaitForStateAsync(target, TimeSpan.FromSeconds(10));
        var blocking = Task.Run(() => db.WaitForState(target, TimeSpan.FromSeconds(10)));
        Assert.False(db.WaitForState(target, TimeSpan.FromMilliseconds(30)));
        using (var connection = db.OpenConnection())
        {
            for (var i = 0; i < 3; i++)
            {
                connection.Root["k" + i] = new PersistentCounter(i);
                connection.Commit();
            }
        }
        Assert.True(await waiting);
        Assert.True(await blocking);
    }

    [Fact]
    public void A_read_only_connection_refuses_changes()
    {
        var (db, _, _) = TwoNodes();
        using (db)
        {
            using var connection = db.OpenReadOnlyConnection();
            var a = (Node)connection.Root["a"];
            var error = Assert.Throws<InvalidOperationException>(() => a.Label = "no");
            Assert.Contains("read-only", error.Message);
            Assert.Equal("a0", a.Label);
        }
    }

    [Fact]
    public void An_auto_refreshing_read_only_connection_sees_new_commits_at_its_next_root_access()
    {
        var (db, _, _) = TwoNodes();
        using (db)
        {
            using var reader = db.OpenReadOnlyConnection(autoRefresh: true);
            var a = (Node)reader.Root["a"];
            Assert.Equal("a0", a.Label);
            db.Transact(c => ((Node)c.Root["a"]).Label = "a1");
            Assert.Equal("a0", a.Label); // same read: same snapshot
            Thread.Sleep(150);
            Assert.Equal("a1", ((Node)reader.Root["a"]).Label);
        }
    }

    /// <summary>Counts loads that reach the storage.</summary>
    private sealed class CountingStorage(IStorage inner) : DelegatingStorage(inner)
    {
        public int Loads;

        public override StoredRecord? Load(Oid oid)
        {
            Interlocked.Increment(ref Loads);
            return base.Load(oid);
        }

        public override StoredRecord? LoadBefore(Oid oid, long tid)
        {
            Interlocked.Increment(ref Loads);
            return base.LoadBefore(oid, tid);
        }
    }

    /// <summary>Acts as a storage whose older revisions were packed away.</summary>
    private sealed class HistoryLosingStorage(IStorage inner) : DelegatingStorage(inner)
    {
        public bool ForgetHistory;

        public override StoredRecord? LoadBefore(Oid oid, long tid)
        {
            var record = base.LoadBefore(oid, tid);
            return ForgetHistory && record is { } r && base.Load(oid) is { } newest && newest.Tid != r.Tid ? null : record;
        }
    }
}

/// <summary>A class whose conflict resolution wrongly aborts its connection, in the middle of the commit.</summary>
[Persistent]
public partial class AbortingCell
{
    public partial long Value { get; set; }

    protected internal override bool ResolveConflict(PersistentObject? oldState, PersistentObject committedState)
    {
        PersistentConnection!.Abort();
        return true;
    }
}
