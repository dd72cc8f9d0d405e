using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;

namespace Persistence;

/// <summary>
/// A connection's objects by oid (one instance per oid): an open-addressing table of the objects
/// themselves, whose oids are the keys, with a 32-bit key per slot (the oid folded to 32 bits) that
/// tells empty slots and other oids apart, and places entries when the table grows, without reading
/// the objects. It grows by half when it is four fifths full, so a known object costs 15 to 23 bytes
/// here (12 a slot), where a dictionary entry (with its key, hash and link) in a table up to twice too
/// large costs 28 to 56. (Doubling at three quarters full cost 16 to 32: 25 bytes an object at
/// 1,000,000 objects; 20 now.)
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
    // Slots come in groups of eight (see the remarks); the table starts with two.
    private const int MinimumGroups = 2;

    private Slot[] _slots = new Slot[MinimumGroups * 8];
    private uint[] _tags = new uint[MinimumGroups * 8];
    private int _groups = MinimumGroups;
    private int _count;
    // Every oid added so far fits in 32 bits (see TryGetValue).
    private bool _narrow = true;

    /// <summary>How many objects the table holds.</summary>
    public int Count => _count;

    /// <summary>How many slots the table has (see <see cref="At"/>).</summary>
    public int SlotCount => _tags.Length;

    /// <summary>The object in slot <paramref name="slot"/>, or null if the slot is empty (for a walk round the table).</summary>
    public PersistentObject? At(int slot) => _tags[slot] == 0 ? null : _slots[slot].Object;

    /// <summary>Finds the object with <paramref name="oid"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public bool TryGetValue(ulong oid, [NotNullWhen(true)] out PersistentObject? obj)
    {
        var tags = _tags;
        var tag = Tag(oid);
        // While every oid fits in 32 bits the tag is the oid itself (but for oid 0), so a matching tag
        // is the object, which need not be read to compare its oid: a reference to an object loaded
        // long ago (a Friend) costs no trip to wherever that object lies in memory.
        var exact = _narrow && oid is > 0 and <= uint.MaxValue && tag != ZeroTag;
        for (var i = Home(tag); tags[i] != 0; i = Next(i, tags.Length))
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
        if (_count + 1 > _tags.Length / 5 * 4) Grow();
        if (oid > uint.MaxValue) _narrow = false;
        var tag = Tag(oid);
        var i = Home(tag);
        for (; _tags[i] != 0; i = Next(i, _tags.Length))
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
        var length = _tags.Length;
        var tag = Tag(oid);
        var hole = Home(tag);
        while (true)
        {
            if (_tags[hole] == 0) return false;
            if (_tags[hole] == tag && _slots[hole].Object!._oid.Value == oid) break;
            hole = Next(hole, length);
        }
        // Move back every later entry of the run whose home lies at or before the hole (going round the
        // end), so no lookup meets an empty slot before its object.
        for (var i = Next(hole, length); _tags[i] != 0; i = Next(i, length))
        {
            if (Distance(Home(_tags[i]), i, length) >= Distance(hole, i, length))
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

    // The first slot of the tag's group: a Fibonacci hash of the group number, scaled to the number
    // of groups (which need not be a power of two), then the place of the oid within its eight.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int Home(uint tag) => ((int)(((ulong)((tag >> 3) * 0x9E3779B9u) * (uint)_groups) >> 32) * 8) | (int)(tag & 7);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Next(int slot, int length) => slot + 1 == length ? 0 : slot + 1;

    // How many steps forward (going round the end) slot `to` lies from slot `from`.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Distance(int from, int to, int length) => to >= from ? to - from : to + length - from;

    // The tag of the oids that fold to 0 (oid 0 among them).
    private const uint ZeroTag = 0x9E3779B9u;

    // The oid folded to 32 bits; never 0, which marks an empty slot.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint Tag(ulong oid)
    {
        var folded = (uint)oid ^ (uint)(oid >> 32);
        return folded == 0 ? ZeroTag : folded;
    }

    /// <summary>
    /// Removes every object <paramref name="remove"/> says to, handing each to <paramref name="removed"/>,
    /// in one pass where removing them one by one would shift runs. The table keeps its size: the
    /// scaling of hashes to slots keeps their order, so the objects left in one stretch of the table
    /// (those a clock hand had not reached when eviction stopped) would land in one stretch of a
    /// smaller table, too close together for it (a sweep after W1's commits that shrank the table made
    /// one run of 6,948 full slots, and adds then probed 1,100 slots each).
    /// </summary>
    public void RemoveWhere(Func<PersistentObject, bool> remove, Action<PersistentObject> removed)
    {
        var slots = _slots;
        var tags = _tags;
        var kept = 0;
        for (var j = 0; j < slots.Length; j++)
        {
            if (tags[j] == 0) continue;
            if (remove(slots[j].Object!))
            {
                removed(slots[j].Object!);
                tags[j] = 0;
                slots[j].Object = null;
            }
            else
            {
                kept++;
            }
        }
        _slots = new Slot[_groups * 8];
        _tags = new uint[_groups * 8];
        _count = kept;
        Refill(slots, tags);
    }

    // A slot is a struct so that storing an object into the table needs no array covariance check,
    // which reads the object's type from the object itself: growing a table of 1,000,000 objects
    // would otherwise visit every object in memory (a cache miss each, 4-7% of a new process's first
    // pass over 100,000 persons).
    private struct Slot
    {
        public PersistentObject? Object;
    }

    private void Grow()
    {
        var slots = _slots;
        var tags = _tags;
        _groups += _groups / 2;
        _slots = new Slot[_groups * 8];
        _tags = new uint[_groups * 8];
        Refill(slots, tags);
    }

    /// <summary>Places the entries of the old arrays into the new ones (empty, and large enough).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Refill(Slot[] slots, uint[] tags)
    {
        var length = _tags.Length;
        for (var j = 0; j < slots.Length; j++)
        {
            if (tags[j] == 0) continue;
            var i = Home(tags[j]);
            while (_tags[i] != 0) i = Next(i, length);
            _tags[i] = tags[j];
            _slots[i] = slots[j];
        }
    }
}
