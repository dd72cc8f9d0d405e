using System.Numerics;
using System.Runtime.CompilerServices;

namespace Persistence.Storage;

/// <summary>
/// The oids written by recent transactions, in commit order, for <see cref="IStorage.Poll"/>. It is
/// bounded: past <c>capacity</c> entries the oldest transactions are forgotten whole, and a poll
/// from before what is kept gets <c>false</c> (the caller then answers with every oid, a safe superset).
/// </summary>
internal sealed class ChangeLog
{
    private readonly int _capacity;
    private Change[] _entries = new Change[256];
    private const int KeptLength = 1 << 16;
    private int _head;
    private int _count;
    private long _coveredAfter;

    /// <summary>Creates a log that knows every change after <paramref name="coveredAfter"/> (none yet).</summary>
    /// <param name="coveredAfter">The last tid before the log starts (the storage's last tid when it opened).</param>
    /// <param name="capacity">How many (tid, oid) entries to keep at most, beyond the newest transaction.</param>
    public ChangeLog(long coveredAfter, int capacity = 1 << 20)
    {
        _coveredAfter = coveredAfter;
        _capacity = capacity;
    }

    /// <summary>
    /// Forgets everything and knows the changes after <paramref name="coveredAfter"/> only, as a new
    /// log would: for a storage that could not tell which oids changed up to there (it switched to a
    /// packed file whose checkpoint was newer than what it had read).
    /// </summary>
    public void Restart(long coveredAfter)
    {
        _head = 0;
        _count = 0;
        _coveredAfter = coveredAfter;
    }

    /// <summary>Records that transaction <paramref name="tid"/> wrote <paramref name="oid"/>; tids must not decrease.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Add(long tid, ulong oid)
    {
        if (_count == _entries.Length) Grow();
        At(_count) = new Change(tid, oid);
        _count++;
    }

    /// <summary>Forgets the oldest transactions while more than the capacity is kept. Call after each transaction.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Trim()
    {
        while (_count > _capacity)
        {
            var tid = _entries[_head].Tid;
            while (_count > 0 && _entries[_head].Tid == tid)
            {
                _head = (_head + 1) & (_entries.Length - 1);
                _count--;
            }
            _coveredAfter = tid;
        }
    }

    /// <summary>
    /// Adds the oids written after <paramref name="sinceTid"/> to <paramref name="into"/>; false
    /// (adding nothing) if changes that old are no longer kept.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public bool TryCollect(long sinceTid, HashSet<Oid> into)
    {
        if (sinceTid < _coveredAfter) return false;
        int lo = 0, hi = _count;
        while (lo < hi)
        {
            var mid = (lo + hi) >>> 1;
            if (At(mid).Tid <= sinceTid) lo = mid + 1;
            else hi = mid;
        }
        // Room for the oids of a few transactions at once (many entries may be one oid changed again and again).
        into.EnsureCapacity(into.Count + Math.Min(_count - lo, 256));
        for (var i = lo; i < _count; i++)
            into.Add(new Oid(At(i).Oid));
        return true;
    }

    /// <summary>How many (tid, oid) entries are kept; may be read without the owner's lock, as a hint.</summary>
    public int Count => Volatile.Read(ref _count);

    /// <summary>How many entries the log has room for before it grows (for tests).</summary>
    internal int Room => _entries.Length;

    /// <summary>
    /// Forgets the transactions up to <paramref name="tid"/>: no one will ask for the changes after a
    /// tid below it. A later ask from before it gets <c>false</c>, as one from before what is kept does.
    /// Gives back most of the memory of a log that had grown for a large transaction.
    /// </summary>
    public void ForgetThrough(long tid)
    {
        if (tid <= _coveredAfter) return;
        while (_count > 0 && _entries[_head].Tid <= tid)
        {
            _head = (_head + 1) & (_entries.Length - 1);
            _count--;
        }
        _coveredAfter = tid;
        // An array of up to 1 MB stays, for the next transactions to fill: shrinking it after each
        // large transaction would only grow it again.
        if (_entries.Length > KeptLength && _count <= _entries.Length / 4)
        {
            var smaller = new Change[Math.Max(KeptLength, (int)BitOperations.RoundUpToPowerOf2((uint)Math.Max(1, 2 * _count)))];
            for (var i = 0; i < _count; i++)
                smaller[i] = At(i);
            _entries = smaller;
            _head = 0;
        }
    }

    // The length is a power of two.
    private ref Change At(int index) => ref _entries[(_head + index) & (_entries.Length - 1)];

    private void Grow()
    {
        var larger = new Change[_entries.Length * 2];
        for (var i = 0; i < _count; i++)
            larger[i] = At(i);
        _entries = larger;
        _head = 0;
    }

    private readonly record struct Change(long Tid, ulong Oid);
}
