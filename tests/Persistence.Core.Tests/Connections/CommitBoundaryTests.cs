using Persistence.Storage;
using Persistence.Tests.Models;

namespace Persistence.Tests.Connections;

/// <summary>
/// What a commit leaves loaded when other writers commit between its own append and the moment it
/// moves to the newest state (as writers of other processes do while it waits for the disk).
/// </summary>
public class CommitBoundaryTests
{
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void What_a_commit_stored_stays_loaded_when_others_commit_other_objects_right_after_it(bool storageKnowsItsChanges)
    {
        using var folder = new TempFolder();
        using var setup = Setup(folder, storageKnowsItsChanges);
        var (storage, mine, theirs) = (setup.Storage, setup.Mine, setup.Theirs);
        using var other = setup.Db.OpenConnection();
        var theirNode = (Node)other.Root["theirs"];
        _ = theirNode.Label;
        storage.AfterFinish = () =>
        {
            theirNode.Label = "theirs 1";
            other.Commit();
        };

        mine.Label = "mine 1";
        _ = theirs.Label;
        setup.Connection.Commit();

        Assert.True(storage.Interleaved);
        // Current: the other writer's commit did not touch it.
        Assert.Equal(PersistentState.UpToDate, mine.PersistentState);
        Assert.Equal("mine 1", mine.Label);
        // Changed by the other writer after this commit: loaded again.
        Assert.Equal(PersistentState.Ghost, theirs.PersistentState);
        Assert.Equal("theirs 1", theirs.Label);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void What_a_commit_stored_is_loaded_again_when_another_writer_changed_it_right_after(bool storageKnowsItsChanges)
    {
        using var folder = new TempFolder();
        using var setup = Setup(folder, storageKnowsItsChanges);
        var (storage, mine) = (setup.Storage, setup.Mine);
        using var other = setup.Db.OpenConnection();
        storage.AfterFinish = () =>
        {
            // Moves to the newest state (the commit that is finishing), then changes the same object.
            other.Abort();
            ((Node)other.Root["mine"]).Label = "changed by the other";
            other.Commit();
        };

        mine.Label = "mine 1";
        setup.Connection.Commit();

        Assert.True(storage.Interleaved);
        Assert.Equal(PersistentState.Ghost, mine.PersistentState);
        Assert.Equal("changed by the other", mine.Label);
    }

    private static Fixture Setup(TempFolder folder, bool storageKnowsItsChanges)
    {
        IStorage inner = storageKnowsItsChanges ? FileStorage.Open(folder.File("boundary.db")) : new MemoryStorage();
        var storage = new InterleavingStorage(inner, storageKnowsItsChanges);
        var db = Database.Open(storage, TestDatabase.Cold());
        var connection = db.OpenConnection();
        connection.Root["mine"] = new Node { Label = "mine 0" };
        connection.Root["theirs"] = new Node { Label = "theirs 0" };
        connection.Commit();
        return new Fixture(storage, db, connection, (Node)connection.Root["mine"], (Node)connection.Root["theirs"]);
    }

    private sealed record Fixture(InterleavingStorage Storage, Database Db, Connection Connection, Node Mine, Node Theirs) : IDisposable
    {
        public void Dispose()
        {
            Connection.Dispose();
            Db.Dispose();
        }
    }

    /// <summary>
    /// Runs <see cref="AfterFinish"/> once, right after the next transaction finished in the storage
    /// and before the committing connection moves on. Passes the storage's own
    /// knowledge of its changes on, or (when told not to) says it has none, so the connection asks
    /// <see cref="IStorage.Poll"/>.
    /// </summary>
    private sealed class InterleavingStorage(IStorage inner, bool forwardKnownChanges) : DelegatingStorage(inner), IKnownChanges
    {
        private readonly IKnownChanges? _known = forwardKnownChanges ? inner as IKnownChanges : null;

        public Action? AfterFinish { get; set; }

        public bool Interleaved { get; private set; }

        public override IStorageTransaction Begin() => new Transaction(base.Begin(), this);

        bool IKnownChanges.TryCollectKnownChanges(long sinceTid, HashSet<Oid> into) =>
            _known is not null && _known.TryCollectKnownChanges(sinceTid, into);

        int IKnownChanges.KnownChangeCount => _known?.KnownChangeCount ?? 0;

        void IKnownChanges.ForgetChangesThrough(long tid) => _known?.ForgetChangesThrough(tid);

        private void Finished()
        {
            if (AfterFinish is not { } action) return;
            AfterFinish = null;
            action();
            Interleaved = true;
        }

        private sealed class Transaction(IStorageTransaction inner, InterleavingStorage storage) : IStorageTransaction
        {
            public void Store(Oid oid, long serial, ReadOnlyMemory<byte> data) => inner.Store(oid, serial, data);

            public void CheckCurrent(Oid oid, long serial) => inner.CheckCurrent(oid, serial);

            public void Vote() => inner.Vote();

            public long Finish()
            {
                var tid = inner.Finish();
                storage.Finished();
                return tid;
            }

            public void Abort() => inner.Abort();

            public void Dispose() => inner.Dispose();
        }
    }
}
