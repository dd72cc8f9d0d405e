using System.Runtime.CompilerServices;

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
    // Slots in chunks small enough to stay off the large object heap, made when first used: a big
    // array at open can set off a full collection in a process that holds many objects.
    private const int ChunkBits = 10;
    private const int ChunkSize = 1 << ChunkBits;

    private readonly Entry[]?[] _chunks = new Entry[]?[Slots / ChunkSize];

    /// <summary>Notes that the revision of <paramref name="oid"/> at <paramref name="offset"/> was written by <paramref name="tid"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Remember(ulong oid, long offset, long tid)
    {
        var slot = (int)(oid & (Slots - 1));
        var chunk = _chunks[slot >> ChunkBits] ??= new Entry[ChunkSize];
        chunk[slot & (ChunkSize - 1)] = new Entry(oid, offset, tid);
    }

    /// <summary>The tid of the revision of <paramref name="oid"/> at <paramref name="offset"/>, if it is remembered.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public bool TryGet(ulong oid, long offset, out long tid)
    {
        var slot = (int)(oid & (Slots - 1));
        tid = 0;
        if (_chunks[slot >> ChunkBits] is not { } chunk) return false;
        ref readonly var entry = ref chunk[slot & (ChunkSize - 1)];
        tid = entry.Tid;
        return entry.Oid == oid && entry.Offset == offset && offset != 0;
    }

    /// <summary>Forgets everything (the offsets now speak of another file or another index).</summary>
    public void Clear() => Array.Clear(_chunks);

    private readonly record struct Entry(ulong Oid, long Offset, long Tid);
}
