namespace Persistence.Storage;

// Oids unique across processes.
//
// Each instance reserves a block of oids at a time in the lock file's state: under the state lock it
// raises the high-water mark there (the highest oid any process reserved) by the block's size, never
// starting below the highest oid stored in the data file as far as this instance has read it, and then
// hands the block out without asking anyone. Blocks grow (16, 32, ... 4096) so a bulk load rarely
// takes the lock, and an instance that closes gives back the unused end of its block if no one
// reserved after it, so the oids of many short runs stay dense. A run a commit gives back after another
// commit took a run behind it (connections committing side by side) cannot go back into the block; it
// is kept and handed out before the block's next oids, so it does not stay a gap. (Each commit of one
// new object takes a run of 8: six threads committing so left 7 unused oids a commit, and the index,
// sized by the highest oid, and its checkpoint grew eight times as fast as the objects stored.)
//
// An instance goes on with its block while others store objects under higher oids (their own blocks):
// it leaves its block early only for an oid stored inside it that it did not hand out (a record stored
// under an oid of the caller's choosing). Leaving it whenever the file held a higher oid made writers in
// several processes leapfrog each other's blocks, each abandoning the rest of its own: 6,000 objects
// from two processes took oids up to 20 million, and the index, sized by the highest oid, 166 MB.
//
// Why a crash cannot make two objects share an oid: the mark is raised before any oid of the block is
// handed out, so while the lock file lives no two blocks overlap. The state is not flushed to disk,
// so a system crash may bring back an older mark, or a damaged one that starts over at 0; but the
// crash also ended every process that held a block, and what matters after it is only the oids that
// were stored, and those are in the data file, which every reservation also stays above. The one case
// left, a process storing an oid it did not get from NewOid (or a lock file deleted while processes
// run) while another reserves the same oid, ends as a conflict at vote (both transactions create the
// object from serial 0), never as two objects under one oid.
public sealed partial class FileStorage
{
    private const int FirstOidBlock = 16;
    private const int LargestOidBlock = 4096;

    private readonly Lock _oidLock = new();
    private ulong _nextOid;
    // The last oid of the reserved block; no block yet while _nextOid > _blockLast.
    private ulong _blockLast;
    private int _blockSize = FirstOidBlock;
    // Runs given back that could not go back into the block (see GiveBackOids), handed out first. Oids
    // of this instance's blocks, so no other instance hands them out; beyond MaxKeptRuns they stay gaps.
    private readonly Stack<(ulong First, int Count)> _keptRuns = new();
    private const int MaxKeptRuns = 64;

    /// <summary>How many times oids were handed out, one or a run at a time (for tests).</summary>
    internal long OidRuns { get; private set; }

    /// <inheritdoc />
    /// <remarks>Unique across every process that uses the file: oids come from blocks reserved in the lock file.</remarks>
    public Oid NewOid() => new(NewOids(1).First);

    /// <summary>
    /// Up to <paramref name="wanted"/> consecutive new oids from this instance's block (at least one,
    /// fewer where the block ends): the first and how many. A connection's commit takes its new
    /// objects' oids a run at a time (see <c>Connection.NextNewOid</c>) rather than one lock each, and
    /// gives back what it did not use (<see cref="GiveBackOids"/>).
    /// </summary>
    internal (ulong First, int Count) NewOids(int wanted)
    {
        ThrowIfDisposed();
        if (IsReadOnly) throw ReadOnlyError();
        lock (_oidLock)
        {
            OidRuns++;
            // Records may be stored under oids NewOid did not hand out (imported objects): when the
            // highest oid stored lies in the rest of the block, the block goes on past it. One above the
            // block is another instance's, which the block's oids never meet. (One stored in the block
            // below a higher one is met at the vote, a conflict once, as the vote checks every new oid.)
            var highestStored = Volatile.Read(ref _lastOid);
            if (highestStored >= 0 && _nextOid <= (ulong)highestStored && (ulong)highestStored <= _blockLast)
            {
                _nextOid = (ulong)highestStored + 1;
                // Kept runs lie below it, where oids are stored that this instance did not hand out.
                _keptRuns.Clear();
            }
            var count = Math.Max(wanted, 1);
            if (_keptRuns.TryPop(out var kept))
            {
                count = Math.Min(count, kept.Count);
                if (count < kept.Count) _keptRuns.Push((kept.First + (ulong)count, kept.Count - count));
                return (kept.First, count);
            }
            if (_nextOid > _blockLast || _blockLast == 0) ReserveOids();
            var first = _nextOid;
            count = (int)Math.Min((ulong)count, _blockLast - first + 1);
            _nextOid = first + (ulong)count;
            return (first, count);
        }
    }

    /// <summary>
    /// Takes back the last <paramref name="count"/> oids <see cref="NewOids"/> handed out from
    /// <paramref name="first"/> on, unused: into the block if no oid was handed out after them, else kept
    /// to be handed out first, so the oids of many small commits stay dense, side by side too.
    /// </summary>
    internal void GiveBackOids(ulong first, int count)
    {
        lock (_oidLock)
        {
            if (count <= 0) return;
            if (_nextOid == first + (ulong)count) _nextOid = first;
            else if (_keptRuns.Count < MaxKeptRuns) _keptRuns.Push((first, count));
        }
    }

    private void ReserveOids()
    {
        // Read what others stored, so the block starts above it (the reservation also stays above the mark).
        CatchUp(judge: false);
        var highestStored = (ulong)Math.Max(Volatile.Read(ref _lastOid), 0);
        var first = _lockFile!.ReserveOids(highestStored, _blockSize);
        _nextOid = first;
        _blockLast = first + (ulong)_blockSize - 1;
        _blockSize = Math.Min(_blockSize * 2, LargestOidBlock);
    }

    private void ReturnUnusedOids()
    {
        lock (_oidLock)
        {
            if (_blockLast == 0 || _nextOid > _blockLast) return;
            _lockFile!.ReturnOids(_blockLast, _nextOid);
            _blockLast = 0;
        }
    }
}
