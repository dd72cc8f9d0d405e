using System.Diagnostics.CodeAnalysis;
using System.Numerics;
using System.Runtime.CompilerServices;

namespace Persistence;

/// <summary>
/// A connection's objects by oid (one instance per oid), in pages of 64 consecutive oids. A page holds
/// a bit mask of the oids present and their objects, packed in oid order in an array no longer than it
/// needs to be (the object of an oid is at the count of lower bits set in the mask); the pages are found
/// by their number in a small open-addressing table.
/// </summary>
/// <remarks>
/// Oids are handed out in order, so the objects a connection knows are mostly runs of neighbouring
/// oids (the persons of a bucket, all the objects one commit stored): a full page costs 8.4 bytes an
/// object and its entry in the page table a fraction of one, where a hash table of objects costs 15 to
/// 23 (an object reference and a 32-bit key a slot, four fifths full at most). A page holding a single
/// oid costs about 80 bytes, which is what a connection reading scattered objects pays. No lookup reads
/// an object: the page number and the mask say which oids are present.
/// <para>A second mask marks the objects the connection counts as loaded, once it asks for that
/// (<see cref="MarkLoaded"/>), so that eviction walks past the ghosts without reading them.</para>
/// </remarks>
internal sealed class ObjectTable
{
    private const int PageShift = 6;
    private const int PageOids = 1 << PageShift;
    private const int MinimumPages = 8;

    private Page[] _pages = new Page[MinimumPages];
    // Page arrays made and not yet used, by length (2, 4, ... 64; see NewSlots).
    private readonly Slot[]?[]?[] _batches = new Slot[]?[]?[PageShift];
    private readonly int[] _batchUsed = new int[PageShift];
    private int _pagesUsed;
    private int _count;

    /// <summary>How many objects the table holds.</summary>
    public int Count => _count;

    /// <summary>How many slots the table has (see <see cref="At"/>): 64 for each entry of the page table.</summary>
    public int SlotCount => _pages.Length * PageOids;

    /// <summary>
    /// The object in slot <paramref name="slot"/>, or null if there is none (for a walk round the
    /// table): slot 64 × e + b is the object of the page in entry e whose oid ends in b.
    /// </summary>
    public PersistentObject? At(int slot)
    {
        ref var page = ref _pages[slot >> PageShift];
        var bit = 1UL << (slot & (PageOids - 1));
        return (page.Mask & bit) == 0 ? null : page.Objects![BitOperations.PopCount(page.Mask & (bit - 1))].Object;
    }

    /// <summary>
    /// The first slot at or after <paramref name="slot"/> that holds an object, or <see cref="SlotCount"/>
    /// if none does up to the end: a walk round the table passes over empty entries and the empty
    /// slots of pages in one step each (a page with one object costs the walk one step, not 64).
    /// </summary>
    public int NextOccupied(int slot) => NextMarked(slot, loaded: false);

    /// <summary>
    /// The first slot at or after <paramref name="slot"/> whose object is marked loaded (see
    /// <see cref="MarkLoaded"/>), or <see cref="SlotCount"/> if none is up to the end: an eviction
    /// hand's walk that reads no ghost.
    /// </summary>
    public int NextLoaded(int slot) => NextMarked(slot, loaded: true);

    private int NextMarked(int slot, bool loaded)
    {
        var pages = _pages;
        var first = slot >> PageShift;
        for (var entry = first; entry < pages.Length; entry++)
        {
            var mask = loaded ? pages[entry].Loaded : pages[entry].Mask;
            if (entry == first) mask &= ~0UL << (slot & (PageOids - 1));
            if (mask != 0) return (entry << PageShift) | BitOperations.TrailingZeroCount(mask);
        }
        return pages.Length << PageShift;
    }

    /// <summary>Marks the object of <paramref name="oid"/>, which the table holds, as loaded (or not), for <see cref="NextLoaded"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void MarkLoaded(ulong oid, bool loaded)
    {
        var entry = EntryOf(KeyOf(oid));
        if (entry < 0) return;
        ref var page = ref _pages[entry];
        var bit = 1UL << (int)(oid & (PageOids - 1));
        if (loaded) page.Loaded |= bit & page.Mask;
        else page.Loaded &= ~bit;
    }

    /// <summary>Marks the object in slot <paramref name="slot"/> (see <see cref="At"/>) as not loaded.</summary>
    public void UnmarkLoadedAt(int slot) => _pages[slot >> PageShift].Loaded &= ~(1UL << (slot & (PageOids - 1)));

    /// <summary>Marks every object <paramref name="isLoaded"/> says is loaded, and no other (one walk over the table).</summary>
    public void MarkAllLoaded(Func<PersistentObject, bool> isLoaded)
    {
        foreach (ref var page in _pages.AsSpan())
        {
            if (page.Key == 0) continue;
            var loaded = 0UL;
            var bits = page.Mask;
            for (var k = 0; bits != 0; k++, bits &= bits - 1)
            {
                if (isLoaded(page.Objects![k].Object!)) loaded |= bits & (0 - bits);
            }
            page.Loaded = loaded;
        }
    }

    /// <summary>Finds the object with <paramref name="oid"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public bool TryGetValue(ulong oid, [NotNullWhen(true)] out PersistentObject? obj)
    {
        var entry = EntryOf(KeyOf(oid));
        if (entry >= 0)
        {
            ref var page = ref _pages[entry];
            var bit = 1UL << (int)(oid & (PageOids - 1));
            if ((page.Mask & bit) != 0)
            {
                obj = page.Objects![BitOperations.PopCount(page.Mask & (bit - 1))].Object!;
                return true;
            }
        }
        obj = null;
        return false;
    }

    /// <summary>The entry of the page table that holds the page with <paramref name="key"/>, or -1 if none does.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int EntryOf(ulong key)
    {
        var pages = _pages;
        for (var i = Home(key, pages.Length); pages[i].Key != 0; i = Next(i, pages.Length))
        {
            if (pages[i].Key == key) return i;
        }
        return -1;
    }

    /// <summary>Adds an object under its oid, which the table must not hold yet.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Add(ulong oid, PersistentObject obj)
    {
        if (obj.ObjectOid.Value != oid) throw NotItsOid();
        var key = KeyOf(oid);
        var i = Home(key, _pages.Length);
        while (_pages[i].Key != 0 && _pages[i].Key != key) i = Next(i, _pages.Length);
        if (_pages[i].Key == 0) i = NewPage(key, i);
        ref var page = ref _pages[i];
        var bit = 1UL << (int)(oid & (PageOids - 1));
        if ((page.Mask & bit) != 0) throw AlreadyHeld(obj);
        var count = BitOperations.PopCount(page.Mask);
        var at = BitOperations.PopCount(page.Mask & (bit - 1));
        var objects = page.Objects;
        if (objects is null || objects.Length == count) page.Objects = objects = Grown(objects, count, at, oid);
        else if (at < count) Array.Copy(objects, at, objects, at + 1, count - at);
        objects[at].Object = obj;
        page.Mask |= bit;
        _count++;
    }

    // Add's paths that run once a page or once an array (at most once in 64 objects), apart from it:
    // compiled as any method is, not optimized on first use as Add is.

    /// <summary>
    /// Takes the empty entry <paramref name="i"/> for a new page with <paramref name="key"/>, or, if
    /// the table must make room first (which moves the entries), the one it then finds; returns its index.
    /// </summary>
    private int NewPage(ulong key, int i)
    {
        if (_pagesUsed + 1 > _pages.Length / 4 * 3)
        {
            Resize(_pages.Length * 2);
            i = Home(key, _pages.Length);
            while (_pages[i].Key != 0) i = Next(i, _pages.Length);
        }
        _pages[i].Key = key;
        _pagesUsed++;
        return i;
    }

    /// <summary>
    /// The array a page's <paramref name="count"/> objects move to when <paramref name="objects"/> is
    /// full (or none yet), with a gap at <paramref name="at"/> for the object of <paramref name="oid"/>.
    /// Grown by doubling up to a whole page. A page begun at its first oid is taken for one being filled
    /// in oid order (the objects a commit gives oids to, a pass over them), and made whole at once,
    /// rather than through 5 arrays.
    /// </summary>
    private Slot[] Grown(Slot[]? objects, int count, int at, ulong oid)
    {
        var grown = NewSlots(objects is null && (oid & (PageOids - 1)) == 0 ? PageOids : count < 2 ? 2 : 2 * count);
        if (objects is not null)
        {
            Array.Copy(objects, 0, grown, 0, at);
            Array.Copy(objects, at, grown, at + 1, count - at);
        }
        return grown;
    }

    // Built apart from Add, which is compiled optimized on first use.
    private static ArgumentException AlreadyHeld(PersistentObject obj) =>
        new($"The connection already holds an object with {obj.ObjectOid}.", "oid");

    private static ArgumentException NotItsOid() => new("An object is kept under its own oid.", "oid");

    /// <summary>Removes the object with <paramref name="oid"/>; false if there is none.</summary>
    public bool Remove(ulong oid)
    {
        var i = EntryOf(KeyOf(oid));
        if (i < 0) return false;
        ref var page = ref _pages[i];
        var bit = 1UL << (int)(oid & (PageOids - 1));
        if ((page.Mask & bit) == 0) return false;
        var count = BitOperations.PopCount(page.Mask);
        var at = BitOperations.PopCount(page.Mask & (bit - 1));
        page.Mask &= ~bit;
        page.Loaded &= ~bit;
        _count--;
        if (page.Mask == 0)
        {
            RemoveEntry(i);
            return true;
        }
        var objects = page.Objects!;
        if (count - 1 <= objects.Length / 4)
        {
            // Mostly empty: keep the rest in an array half as long, so pages emptied by removals give their memory back.
            var shrunk = new Slot[objects.Length / 2];
            Array.Copy(objects, 0, shrunk, 0, at);
            Array.Copy(objects, at + 1, shrunk, at, count - at - 1);
            page.Objects = shrunk;
        }
        else
        {
            Array.Copy(objects, at + 1, objects, at, count - at - 1);
            objects[count - 1].Object = null;
        }
        return true;
    }

    /// <summary>
    /// Removes every object <paramref name="remove"/> says to, handing each to <paramref name="removed"/>,
    /// in one pass. The page table keeps its size: the scaling of hashes to entries keeps their order,
    /// so the pages left in one stretch of the table (those a clock hand had not reached when eviction
    /// stopped) would land in one stretch of a smaller table, too close together for it.
    /// </summary>
    public void RemoveWhere(Func<PersistentObject, bool> remove, Action<PersistentObject> removed)
    {
        var pages = _pages;
        _pages = new Page[pages.Length];
        _pagesUsed = 0;
        _count = 0;
        foreach (var page in pages)
        {
            if (page.Key == 0) continue;
            var objects = page.Objects!;
            var count = BitOperations.PopCount(page.Mask);
            var kept = 0UL;
            var keptCount = 0;
            // The k-th object belongs to the k-th lowest bit set in the mask.
            var bits = page.Mask;
            for (var k = 0; k < count; k++, bits &= bits - 1)
            {
                var obj = objects[k].Object!;
                if (remove(obj))
                {
                    removed(obj);
                    objects[k].Object = null;
                }
                else
                {
                    kept |= bits & (0 - bits);
                    keptCount++;
                }
            }
            if (keptCount == 0) continue;
            var packed = new Slot[keptCount];
            for (int k = 0, to = 0; k < count; k++)
            {
                if (objects[k].Object is { } obj) packed[to++].Object = obj;
            }
            Place(page.Key, kept, page.Loaded & kept, packed);
            _count += keptCount;
        }
    }

    /// <summary>
    /// A new array of at least <paramref name="length"/> slots (rounded up to a power of two, at most 64), one of a batch made
    /// together. Arrays made one by one as objects are loaded would lie between the objects (a page
    /// array after every few dozen persons and their strings), and a later pass over those objects
    /// would stream through them: W4's second pass over 100,000 persons took 3.2 ms so, 2.6 with the
    /// arrays made in batches. A batch is a sixteenth of the pages in use (at least 4, at most 256), so
    /// the arrays made and not yet used cost at most a sixteenth of what the pages cost.
    /// </summary>
    private Slot[] NewSlots(int length)
    {
        // Arrays packed by RemoveWhere have any length, so a page that outgrows one asks for any length too.
        length = Math.Min(PageOids, (int)BitOperations.RoundUpToPowerOf2((uint)length));
        var size = BitOperations.Log2((uint)length) - 1;
        ref var batch = ref _batches[size];
        ref var used = ref _batchUsed[size];
        if (batch is null || used == batch.Length)
        {
            batch = new Slot[]?[Math.Clamp(_pagesUsed / 16, 4, 256)];
            for (var k = 0; k < batch.Length; k++) batch[k] = new Slot[length];
            used = 0;
        }
        var slots = batch[used]!;
        batch[used++] = null;
        return slots;
    }

    /// <summary>The page number of an oid, plus one, so that 0 marks an empty entry.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong KeyOf(ulong oid) => (oid >> PageShift) + 1;

    // A Fibonacci hash of the key, scaled to the length of the table (which need not be a power of
    // two): neighbouring pages land far apart, so runs of pages do not make long runs of entries.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Home(ulong key, int length) => (int)(((key * 0x9E3779B97F4A7C15UL) >> 32) * (uint)length >> 32);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Next(int entry, int length) => entry + 1 == length ? 0 : entry + 1;

    // How many steps forward (going round the end) entry `to` lies from entry `from`.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Distance(int from, int to, int length) => to >= from ? to - from : to + length - from;

    /// <summary>Empties entry <paramref name="hole"/>, moving back every later entry of its run whose home lies at or before the hole (going round the end), so no lookup meets an empty entry before its page.</summary>
    private void RemoveEntry(int hole)
    {
        var length = _pages.Length;
        for (var i = Next(hole, length); _pages[i].Key != 0; i = Next(i, length))
        {
            if (Distance(Home(_pages[i].Key, length), i, length) >= Distance(hole, i, length))
            {
                _pages[hole] = _pages[i];
                hole = i;
            }
        }
        _pages[hole] = default;
        _pagesUsed--;
    }

    /// <summary>Puts a page into a table that does not hold it, with room for it.</summary>
    private void Place(ulong key, ulong mask, ulong loaded, Slot[] objects)
    {
        var i = Home(key, _pages.Length);
        while (_pages[i].Key != 0) i = Next(i, _pages.Length);
        _pages[i] = new Page { Key = key, Mask = mask, Loaded = loaded, Objects = objects };
        _pagesUsed++;
    }

    private void Resize(int length)
    {
        var pages = _pages;
        _pages = new Page[length];
        _pagesUsed = 0;
        foreach (var page in pages)
        {
            if (page.Key != 0) Place(page.Key, page.Mask, page.Loaded, page.Objects!);
        }
    }

    private struct Page
    {
        // The page number plus one; 0 for an empty entry.
        public ulong Key;
        // Bit b is set when the page holds the object of oid 64 × (Key - 1) + b.
        public ulong Mask;
        // Bit b is set when that object is marked loaded (see MarkLoaded); only ever within Mask.
        public ulong Loaded;
        // The objects, in oid order; at least as many slots as bits set in the mask.
        public Slot[]? Objects;
    }

    // A slot is a struct so that storing an object into a page needs no array covariance check, which
    // reads the object's type from the object itself (a cache miss each when pages are copied).
    private struct Slot
    {
        public PersistentObject? Object;
    }
}
