using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Persistence.Storage;

namespace Persistence;

/// <summary>
/// Committed records shared by every connection of a database, within a byte budget, so connections
/// that read the same objects read the storage once and keep one copy of the bytes.
/// </summary>
/// <remarks>
/// <para>An entry is one revision of one object and the range of snapshots it is valid for: from its
/// tid up to <c>validThrough</c>. <c>validThrough = long.MaxValue</c> means "current": valid through
/// <see cref="_knownThrough"/>, the newest tid whose changes the cache has applied, and beyond until a
/// later change of the object is applied, which caps the entry at the tid before that change was seen.</para>
/// <para>Eviction is first in, first out: cheap, and what a cache in front of a per-connection object
/// cache needs (hot objects live in the connections).</para>
/// </remarks>
internal sealed class RecordCache(long budgetBytes, long knownThrough)
{
    // What an entry costs beyond its record bytes (its array header, the dictionary slot and the queue
    // slot), counted against the budget so the budget is the memory really used.
    private const int EntryOverhead = 96;

    private readonly Lock _gate = new();
    private readonly Dictionary<ulong, Entry> _entries = [];
    // Oldest first; a place whose tid is no longer the entry's was replaced and is skipped.
    private readonly Queue<(ulong Oid, long Tid)> _order = new();
    private long _bytes;
    private long _knownThrough = knownThrough;

    public long Bytes
    {
        get
        {
            lock (_gate) return _bytes;
        }
    }

    /// <summary>Returns the revision of <paramref name="oid"/> that a reader with snapshot <paramref name="snapshot"/> sees, if cached.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public bool TryGet(Oid oid, long snapshot, out StoredRecord record)
    {
        // Empty while only one connection is open (Database.LoadBefore): then no load takes the lock.
        // Read without it, a count racing a Put can only make a miss, which the storage answers.
        if (Volatile.Read(ref _bytes) == 0)
        {
            record = default;
            return false;
        }
        return TryGetLocked(oid, snapshot, out record);
    }

    // TryGet's lookup, apart from it: a process with one connection open never compiles it.
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private bool TryGetLocked(Oid oid, long snapshot, out StoredRecord record)
    {
        lock (_gate)
        {
            if (_entries.TryGetValue(oid.Value, out var entry) && entry.Tid <= snapshot
                && snapshot <= (entry.ValidThrough == long.MaxValue ? _knownThrough : entry.ValidThrough))
            {
                record = new StoredRecord(oid, entry.Tid, entry.Data);
                return true;
            }
        }
        record = default;
        return false;
    }

    /// <summary>Remembers a revision the storage returned for a reader with snapshot <paramref name="snapshot"/>.</summary>
    public void Put(StoredRecord record, long snapshot)
    {
        if (budgetBytes <= 0 || record.Data.Length + EntryOverhead > budgetBytes / 8) return;
        lock (_gate)
        {
            // The storage said no revision lies in (record.Tid, snapshot]; if the cache has applied every
            // change up to exactly that snapshot, later changes will be applied to the entry too.
            var validThrough = snapshot >= _knownThrough ? long.MaxValue : snapshot;
            ref var entry = ref CollectionsMarshal.GetValueRefOrAddDefault(_entries, record.Oid.Value, out var exists);
            if (exists)
            {
                if (entry.Tid > record.Tid) return;
                if (entry.Tid == record.Tid)
                {
                    entry.ValidThrough = Math.Max(entry.ValidThrough, validThrough);
                    return;
                }
                _bytes -= entry.Data.Length + EntryOverhead;
            }
            entry = new Entry(record.Tid, Own(record.Data), validThrough);
            _order.Enqueue((record.Oid.Value, record.Tid));
            _bytes += entry.Data.Length + EntryOverhead;
            while (_bytes > budgetBytes && _order.TryDequeue(out var oldest))
            {
                if (_entries.TryGetValue(oldest.Oid, out var current) && current.Tid == oldest.Tid)
                {
                    _entries.Remove(oldest.Oid);
                    _bytes -= current.Data.Length + EntryOverhead;
                }
            }
            // Replaced entries leave stale queue slots behind; drop them before they outnumber the live ones.
            if (_order.Count > 2 * _entries.Count + 1024) Compact();
        }
    }

    // A storage may return a slice of a larger buffer (FileStorage reads ahead): keep only the record's
    // own bytes, so the budget counts what the cache really holds.
    private static byte[] Own(ReadOnlyMemory<byte> data) =>
        MemoryMarshal.TryGetArray(data, out var segment) && segment.Offset == 0 && segment.Count == segment.Array!.Length ? segment.Array : data.ToArray();

    private void Compact()
    {
        var live = _order.Where(slot => _entries.TryGetValue(slot.Oid, out var current) && current.Tid == slot.Tid).ToList();
        _order.Clear();
        foreach (var slot in live) _order.Enqueue(slot);
    }

    /// <summary>
    /// The tid from which a poll asks for changes on behalf of the cache: <see cref="KnownThrough"/>, or
    /// <paramref name="wanted"/> if that is later and the cache holds nothing. An empty cache has no
    /// entry to invalidate, so it knows through any tid that exists; it moves on to
    /// <paramref name="wanted"/> under its lock, so an entry put from then on is judged against it
    /// (see <see cref="Put"/>) and the changes after it are applied by the poll that follows.
    /// </summary>
    public long KnownThroughOrEmptyAt(long wanted)
    {
        lock (_gate)
        {
            if (_entries.Count == 0 && wanted > _knownThrough) _knownThrough = wanted;
            return _knownThrough;
        }
    }

    /// <summary>Applies the changes a poll found: every changed object's entry stops being current.</summary>
    /// <param name="changes">Oids changed after some tid no later than the one the cache knows through.</param>
    public void Apply(StorageChanges changes)
    {
        lock (_gate)
        {
            if (changes.LastTid <= _knownThrough && changes.ChangedOids.Count == 0) return;
            foreach (var oid in changes.ChangedArray)
            {
                ref var entry = ref CollectionsMarshal.GetValueRefOrNullRef(_entries, oid.Value);
                if (!Unsafe.IsNullRef(ref entry) && entry.ValidThrough > _knownThrough)
                    entry.ValidThrough = _knownThrough;
            }
            _knownThrough = Math.Max(_knownThrough, changes.LastTid);
        }
    }

    /// <summary>The tid through which changes have been applied.</summary>
    public long KnownThrough
    {
        get
        {
            lock (_gate) return _knownThrough;
        }
    }

    private struct Entry(long tid, byte[] data, long validThrough)
    {
        public readonly long Tid = tid;
        public readonly byte[] Data = data;
        public long ValidThrough = validThrough;
    }
}
