using System.Runtime.CompilerServices;

namespace Persistence.Storage;

/// <summary>
/// A page of a <see cref="FileStorageIndex"/> that holds few objects: the slots (oid modulo
/// <see cref="FileStorageIndex.PageSize"/>) that have a revision, in ascending order, and their offsets.
/// </summary>
/// <remarks>
/// <para>10 bytes an object (a slot and an offset) instead of the dense page's 8 bytes for every oid
/// the page covers, live or not; found by a guess from the slots' spread and a binary search. The
/// arrays grow by doubling and shrink by half once three quarters of them are unused, so a page that
/// lost most of its objects also gives the memory back.</para>
/// <para>Not thread-safe; the index copies a page a snapshot shares before it changes it
/// (<see cref="Clone"/>).</para>
/// </remarks>
internal sealed class FileStorageSparsePage
{
    private const int InitialCapacity = 4;

    private ushort[] _slots;
    private long[] _offsets;
    private int _count;

    /// <summary>Creates an empty page.</summary>
    public FileStorageSparsePage()
    {
        _slots = new ushort[InitialCapacity];
        _offsets = new long[InitialCapacity];
    }

    /// <summary>
    /// A page of the first <paramref name="count"/> entries of the arrays, which become the page's own:
    /// the slots ascending and each offset not 0 (the caller vouches).
    /// </summary>
    public FileStorageSparsePage(ushort[] slots, long[] offsets, int count)
    {
        _slots = slots;
        _offsets = offsets;
        _count = count;
    }

    /// <summary>The number of objects in the page.</summary>
    public int Count => _count;

    /// <summary>The slots that have a revision, ascending.</summary>
    public ReadOnlySpan<ushort> Slots => _slots.AsSpan(0, _count);

    /// <summary>The offsets of <see cref="Slots"/>, in the same order.</summary>
    public ReadOnlySpan<long> Offsets => _offsets.AsSpan(0, _count);

    /// <summary>The bytes the page's arrays hold, their unused room included.</summary>
    public long AllocatedBytes => (long)_slots.Length * sizeof(ushort) + (long)_offsets.Length * sizeof(long);

    /// <summary>The offset in <paramref name="slot"/>, or 0 if it has none.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public long Find(int slot)
    {
        var i = IndexOf(slot);
        return i >= 0 ? _offsets[i] : 0;
    }

    /// <summary>Puts <paramref name="offset"/> in <paramref name="slot"/> (0: removes it).</summary>
    /// <returns>How the count changed: 1, -1 or 0.</returns>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public int Set(int slot, long offset)
    {
        var i = IndexOf(slot);
        if (i >= 0)
        {
            if (offset != 0)
            {
                _offsets[i] = offset;
                return 0;
            }
            RemoveAt(i);
            return -1;
        }
        if (offset == 0) return 0;
        InsertAt(~i, (ushort)slot, offset);
        return 1;
    }

    /// <summary>A copy that can be changed without changing this page.</summary>
    public FileStorageSparsePage Clone() => new((ushort[])_slots.Clone(), (long[])_offsets.Clone(), _count);

    /// <summary>The page as a dense page: an offset for each of its <see cref="FileStorageIndex.PageSize"/> slots.</summary>
    public long[] ToDense()
    {
        var page = new long[FileStorageIndex.PageSize];
        for (var i = 0; i < _count; i++) page[_slots[i]] = _offsets[i];
        return page;
    }

    /// <summary>The <paramref name="count"/> offsets of a dense page that are not 0, as a sparse page.</summary>
    public static FileStorageSparsePage FromDense(long[] page, int count)
    {
        var slots = new ushort[count];
        var offsets = new long[count];
        var n = 0;
        for (var slot = 0; slot < page.Length && n < count; slot++)
        {
            if (page[slot] == 0) continue;
            slots[n] = (ushort)slot;
            offsets[n++] = page[slot];
        }
        return new FileStorageSparsePage(slots, offsets, n);
    }

    /// <summary>Where <paramref name="slot"/> is in the slots, or the complement of where it would go.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int IndexOf(int slot)
    {
        var slots = _slots;
        var high = _count - 1;
        // Oids are handed out in ascending order: a new object's slot, or its look-up before it is
        // stored (for the previous revision), lies past the last one. So do a scan's and a commit's.
        if (high < 0 || slots[high] < slot) return ~(high + 1);
        var low = 0;
        int first = slots[0], span = slots[high] - first;
        if (slot <= first) return slot == first ? 0 : -1;
        // First where the slot would be if the slots were spread evenly: exact in a run of consecutive
        // oids (the page the newest objects are in, a small database), near for a page thinned out at
        // random; then a binary search of the side it leaves.
        var guess = (slot - first) * high / span;
        var found = slots[guess];
        if (found == slot) return guess;
        if (found < slot) low = guess + 1;
        else high = guess - 1;
        while (low <= high)
        {
            var middle = (int)((uint)(low + high) >> 1);
            found = slots[middle];
            if (found == slot) return middle;
            if (found < slot) low = middle + 1;
            else high = middle - 1;
        }
        return ~low;
    }

    private void InsertAt(int i, ushort slot, long offset)
    {
        if (_count == _slots.Length) Resize(Math.Max(InitialCapacity, 2 * _count));
        // Most new objects go at the end (see IndexOf): nothing moves.
        if (i < _count)
        {
            Array.Copy(_slots, i, _slots, i + 1, _count - i);
            Array.Copy(_offsets, i, _offsets, i + 1, _count - i);
        }
        _slots[i] = slot;
        _offsets[i] = offset;
        _count++;
    }

    private void RemoveAt(int i)
    {
        _count--;
        Array.Copy(_slots, i + 1, _slots, i, _count - i);
        Array.Copy(_offsets, i + 1, _offsets, i, _count - i);
        if (_slots.Length > InitialCapacity && _count <= _slots.Length / 4) Resize(_slots.Length / 2);
    }

    private void Resize(int capacity)
    {
        Array.Resize(ref _slots, capacity);
        Array.Resize(ref _offsets, capacity);
    }
}
