using Persistence.Tests.Models;

namespace Persistence.Tests.Connections;

/// <summary>
/// A commit that failed with a conflict leaves a transaction that can only be aborted: its merges may have
/// taken in others' newer state, and its snapshot still conflicts. Used on without Abort() (a shared
/// connection, a retry loop that forgot Abort()), it says so instead of blaming a pack or conflicting again.
/// </summary>
public class FailedCommitTests
{
    /// <summary>
    /// A transaction that inserted into a tree (whose bucket and count merge) and changed a customer (who does
    /// not), while another inserted other keys and changed the customer too: its commit merges the bucket and
    /// the count with the other's (inside the vote, whatever the order), then fails on the customer.
    /// </summary>
    private static (Database Db, Connection Stale, BTree<int, int> Tree) FailedCommit()
    {
        var db = TestDatabase.InMemory();
        using (var setup = db.OpenConnection())
        {
            var tree = new BTree<int, int>();
            for (var i = 0; i < 10; i++) tree[i] = i;
            setup.Root["tree"] = tree;
            setup.Root["customer"] = new Customer { Name = "Ada" };
            setup.Commit();
        }
        var stale = db.OpenConnection();
        var staleTree = (BTree<int, int>)stale.Root["tree"];
        staleTree[-1] = -1;
        ((Customer)stale.Root["customer"]).Orders++;
        using (var other = db.OpenConnection())
        {
            var tree = (BTree<int, int>)other.Root["tree"];
            for (var i = 10; i < 30; i++) tree[i] = i;
            ((Customer)other.Root["customer"]).Orders += 10;
            other.Commit();
        }
        var conflict = Assert.Throws<ConflictException>(stale.Commit);
        Assert.Equal([((Customer)stale.Root["customer"]).PersistentOid], conflict.Oids);
        return (db, stale, staleTree);
    }

    [Fact]
    public void Reading_what_a_failed_commit_merged_is_refused_rather_than_a_mix_of_two_states()
    {
        var (db, stale, tree) = FailedCommit();
        using (db)
        using (stale)
        {
            // Without the refusal: the other transaction's keys, committed after this one's snapshot, mixed with
            // this one's (or, where the other had split the bucket, a ReadConflictException that blamed a pack).
            var read = Record.Exception(() => tree.Sum(pair => (long)pair.Value));
            var refused = Assert.IsType<InvalidOperationException>(read);
            Assert.Contains("Abort()", refused.Message);
            Assert.DoesNotContain("packed", refused.Message);
            Assert.IsType<ConflictException>(refused.InnerException);

            stale.Abort();
            Assert.Equal(Enumerable.Range(0, 30).Sum(i => (long)i), tree.Sum(pair => (long)pair.Value));
            Assert.Equal(30, tree.Count);
        }
    }

    [Fact]
    public void Committing_again_without_abort_is_refused_with_what_to_do()
    {
        var (db, stale, tree) = FailedCommit();
        using (db)
        using (stale)
        {
            var again = Assert.Throws<InvalidOperationException>(stale.Commit);
            Assert.Contains("Abort()", again.Message);
            Assert.IsType<ConflictException>(again.InnerException);

            stale.Abort();
            tree[-1] = -1;
            ((Customer)stale.Root["customer"]).Orders++;
            stale.Commit();
            using var check = db.OpenConnection();
            Assert.Equal(11, ((Customer)check.Root["customer"]).Orders);
            Assert.Equal(31, ((BTree<int, int>)check.Root["tree"]).Count);
        }
    }
}
