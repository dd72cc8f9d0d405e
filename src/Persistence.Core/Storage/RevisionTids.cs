namespace Persistence.Storage;

/// <summary>
/// Remembers the tids of recently written or checked revisions by their place in the data file, so
/// the conflict check at vote finds an object's current serial without reading its record header:
/// the index gives the offset of the newest revision, and a revision at an offset of one file never
/// changes. A small direct-mapped table (one slot per oid's low bits, overwritten on collision);
/// emptied when the index is replaced (a checkpoint loaded, a packed file switched in). Not
/// thread-safe: the storage uses it under its state lock.
/// </summary>
internal sealed class RevisionTids
{
    private const int Slots = 16384;

    private readonly Entry[] _entries = new Entry[Slots];

    /// <summary>Notes that the revision of <paramref name="oid"/> at <paramref name="offset"/> was written by <paramref name="tid"/>.</summary>
    public void Remember(ulong oid, long offset, long tid) => _entries[(int)(oid & (Slots - 1))] = new Entry(oid, offset, tid);

    /// <summary>The tid of the revision of <paramref name="oid"/> at <paramref name="offset"/>, if it is remembered.</summary>
    public bool TryGet(ulong oid, long offset, out long tid)
    {
        ref readonly var entry = ref _entries[(int)(oid & (Slots - 1))];
        tid = entry.Tid;
        return entry.Oid == oid && entry.Offset == offset && offset != 0;
    }

    /// <summary>Forgets everything (the offsets now speak of another file or another index).</summary>
    public void Clear() => Array.Clear(_entries);

    private readonly record struct Entry(ulong Oid, long Offset, long Tid);
}
