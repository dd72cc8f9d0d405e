namespace Persistence;

/// <summary>
/// A connection's loaded objects, oldest activation first, for cache eviction: a ring of references
/// kept by the connection, so objects carry no links of their own (8 bytes a loaded object here
/// instead of 16 in every object, ghosts included).
/// </summary>
/// <remarks>
/// An object that turns back into a ghost stays queued until eviction or <see cref="Compact"/> meets
/// it and skips it; an object loaded again after that is queued again, and its older place may evict
/// it a little early. Neither changes what any object holds, only when it is reloaded.
/// </remarks>
internal sealed class ActivationQueue
{
    private PersistentObject[] _ring = new PersistentObject[16];
    private int _head;
    private int _count;

    /// <summary>How many places the queue holds (loaded objects, and ghosts not skipped yet).</summary>
    public int Count => _count;

    /// <summary>The object at a place, counted from the oldest.</summary>
    public PersistentObject this[int position] =>
        (uint)position < (uint)_count ? _ring[(_head + position) & (_ring.Length - 1)] : throw new ArgumentOutOfRangeException(nameof(position));

    /// <summary>Queues an object as the newest activation.</summary>
    public void Enqueue(PersistentObject obj)
    {
        if (_count == _ring.Length) Resize(_ring.Length * 2);
        _ring[(_head + _count) & (_ring.Length - 1)] = obj;
        _count++;
    }

    /// <summary>Takes the oldest place.</summary>
    public bool TryDequeue(out PersistentObject obj)
    {
        if (_count == 0)
        {
            obj = null!;
            return false;
        }
        obj = _ring[_head];
        _ring[_head] = null!;
        _head = (_head + 1) & (_ring.Length - 1);
        _count--;
        return true;
    }

    /// <summary>
    /// Drops the places of objects that are no longer loaded in <paramref name="owner"/> and the older
    /// places of objects queued twice, keeping the order; then fits the ring to what is left.
    /// </summary>
    public void Compact(Connection owner)
    {
        var seen = new HashSet<PersistentObject>(ReferenceEqualityComparer.Instance);
        var kept = new List<PersistentObject>(_count);
        for (var i = _count - 1; i >= 0; i--)
        {
            var obj = _ring[(_head + i) & (_ring.Length - 1)];
            if (obj._connection == owner && obj.State is PersistentState.UpToDate or PersistentState.Changed && seen.Add(obj)) kept.Add(obj);
        }
        kept.Reverse();
        var capacity = 16;
        while (capacity < kept.Count) capacity *= 2;
        _ring = new PersistentObject[capacity];
        kept.CopyTo(_ring);
        _head = 0;
        _count = kept.Count;
    }

    private void Resize(int capacity)
    {
        // Two block copies, not a loop of stores: a store into an object array checks the object's
        // type, which means reading every queued object from wherever it lies in memory.
        var ring = new PersistentObject[capacity];
        var first = Math.Min(_count, _ring.Length - _head);
        Array.Copy(_ring, _head, ring, 0, first);
        Array.Copy(_ring, 0, ring, first, _count - first);
        _ring = ring;
        _head = 0;
    }
}
