using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;

namespace Persistence;

/// <summary>
/// A connection's objects by oid (one instance per oid): an open-addressing table of the objects
/// themselves, whose oids are the keys, with a 32-bit key per slot (the oid folded to 32 bits) that
/// tells empty slots and other oids apart, and places entries when the table grows, without reading
/// the objects. At most three quarters full, so a known object costs 16 to 32 bytes here, where a
/// dictionary entry (with its key, hash and link) in a table up to twice too large costs 28 to 56.
/// </summary>
/// <remarks>
/// Oids are dense, and dense keys in consecutive slots would make long runs for linear probing, so the
/// slot is taken from a Fibonacci hash of the key's group of eight (the oid without its low three
/// bits): groups land far apart and evenly, while the eight oids of a group take eight neighbouring
/// slots, so objects loaded in oid order (a bucket's persons) touch a cache line of the table per eight
/// rather than one each (a new process's full pass over 1,000,000 persons: 7% faster). A removal
/// shifts the entries after it back.
/// </remarks>
internal sealed class ObjectTable
{
    private const int MinimumBits = 4;

    private Slot[] _slots = new Slot[1 << MinimumBits];
    private uint[] _tags = new uint[1 << MinimumBits];
    private int _shift = 32 - MinimumBits;
    private int _count;
    // Every oid added so far fits in 32 bits (see TryGetValue).
    private bool _narrow = true;

    /// <summary>How many objects the table holds.</summary>
    public int Count => _count;

    /// <summary>Finds the object with <paramref name="oid"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public bool TryGetValue(ulong oid, [NotNullWhen(true)] out PersistentObject? obj)
    {
        var tags = _tags;
        var mask = tags.Length - 1;
        var tag = Tag(oid);
        // While every oid fits in 32 bits the tag is the oid itself (but for oid 0), so a matching tag
        // is the object, which need not be read to compare its oid: a reference to an object loaded
        // long ago (a Friend) costs no trip to wherever that object lies in memory.
        var exact = _narrow && oid is > 0 and <= uint.MaxValue && tag != ZeroTag;
        for (var i = Home(tag); tags[i] != 0; i = (i + 1) & mask)
        {
            if (tags[i] == tag && (exact || _slots[i].Object!._oid.Value == oid))
            {
                obj = _slots[i].Object!;
                return true;
            }
        }
        obj = null;
        return false;
    }

    /// <summary>Adds an object under its oid, which the table must not hold yet.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Add(ulong oid, PersistentObject obj)
    {
        if (obj._oid.Value != oid) throw new ArgumentException("An object is kept under its own oid.", nameof(oid));
        if (_count + 1 > _tags.Length / 4 * 3) Grow();
        if (oid > uint.MaxValue) _narrow = false;
        var mask = _tags.Length - 1;
        var tag = Tag(oid);
        var i = Home(tag);
        for (; _tags[i] != 0; i = (i + 1) & mask)
        {
            if (_tags[i] == tag && _slots[i].Object!._oid.Value == oid)
                throw new ArgumentException($"The connection already holds an object with {obj._oid}.", nameof(oid));
        }
        _tags[i] = tag;
        _slots[i].Object = obj;
        _count++;
    }

    /// <summary>Removes the object with <paramref name="oid"/>; false if there is none.</summary>
    public bool Remove(ulong oid)
    {
        var mask = _tags.Length - 1;
        var tag = Tag(oid);
        var hole = Home(tag);
        while (true)
        {
            if (_tags[hole] == 0) return false;
            if (_tags[hole] == tag && _slots[hole].Object!._oid.Value == oid) break;
            hole = (hole + 1) & mask;
        }
        // Move back every later entry of the run whose home lies at or before the hole (going round the
        // end), so no lookup meets an empty slot before its object.
        for (var i = (hole + 1) & mask; _tags[i] != 0; i = (i + 1) & mask)
        {
            if (((i - Home(_tags[i])) & mask) >= ((i - hole) & mask))
            {
                _tags[hole] = _tags[i];
                _slots[hole] = _slots[i];
                hole = i;
            }
        }
        _tags[hole] = 0;
        _slots[hole].Object = null;
        _count--;
        return true;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int Home(uint tag) => (int)((((tag >> 3) * 0x9E3779B9u) >> _shift) & ~7u) | (int)(tag & 7);

    // The tag of the oids that fold to 0 (oid 0 among them).
    private const uint ZeroTag = 0x9E3779B9u;

    // The oid folded to 32 bits; never 0, which marks an empty slot.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint Tag(ulong oid)
    {
        var folded = (uint)oid ^ (uint)(oid >> 32);
        return folded == 0 ? ZeroTag : folded;
    }

    // A slot is a struct so that storing an object into the table needs no array covariance check,
    // which reads the object's type from the object itself: growing a table of 1,000,000 objects
    // would otherwise visit every object in memory (a cache miss each, 4-7% of a new process's first
    // pass over 100,000 persons).
    private struct Slot
    {
        public PersistentObject? Object;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Grow()
    {
        var slots = _slots;
        var tags = _tags;
        _slots = new Slot[slots.Length * 2];
        _tags = new uint[tags.Length * 2];
        _shift--;
        var mask = _tags.Length - 1;
        for (var j = 0; j < slots.Length; j++)
        {
            if (tags[j] == 0) continue;
            var i = Home(tags[j]);
            while (_tags[i] != 0) i = (i + 1) & mask;
            _tags[i] = tags[j];
            _slots[i] = slots[j];
        }
    }
}
