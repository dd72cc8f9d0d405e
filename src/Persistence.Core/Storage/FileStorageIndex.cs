using System.Runtime.CompilerServices;

namespace Persistence.Storage;

/// <summary>
/// Where the newest revision of each object starts in a file storage's data file (the offset of its
/// data record header); older revisions are reached through the records' previous-revision offsets.
/// </summary>
/// <remarks>
/// <para>Oids are handed out densely from 3 upwards and never reused, so the index is cut into pages of
/// <see cref="PageSize"/> oids, each in one of two forms. A page where many oids have a revision is
/// dense: an array of offsets indexed by oid (0 = no revision), 8 bytes an oid, found with one array
/// read, and a checkpoint can be read straight into it (<see cref="FileStorageCheckpoint"/>). A page
/// where few have one (the oids of objects a pack dropped are never handed out again) is a
/// <see cref="FileStorageSparsePage"/>, 10 bytes a live object. So the index costs memory in proportion
/// to the objects that have a revision, not to every oid ever handed out: a long-running program that
/// creates and drops objects keeps a small index after each pack.</para>
/// <para>A page is sparse up to <see cref="SparseMaximum"/> objects and becomes dense when one more is
/// set (at a quarter full, where the dense page costs about three times the sparse one, whose binary
/// search and insertions still stay short); a dense page becomes sparse again when it falls to
/// <see cref="DenseMinimum"/>, half of that, so a page near the threshold does not change form on every
/// set. A page is freed when its last object is cleared. Oids from <see cref="DenseLimit"/> up (never
/// handed out by <see cref="IStorage.NewOid"/> in practice, but possible in an imported database) go to
/// a dictionary.</para>
/// <para><see cref="Snapshot"/> shares the pages, of either form, with a read-only copy in O(pages):
/// the next <see cref="Set"/> on a shared page copies that page first (copy on write), so a checkpoint
/// or a pack can read a consistent index for as long as it needs without holding the storage's lock.</para>
/// <para>An index built from a checkpoint reads its dense pages from the checkpoint file when something
/// first looks in them (<see cref="FileStoragePendingPages"/>), so an open allocates only the pages
/// it uses; a snapshot reads every page still pending first, and never has pending pages itself.</para>
/// <para>Not thread-safe: the storage guards it. A snapshot may be read by any one thread while its
/// source is changed. Two threads may look in the index at once (the commit path reads it without the
/// storage's state lock) while nothing changes it: a pending page is read once, under its own lock.</para>
/// </remarks>
internal sealed class FileStorageIndex
{
    /// <summary>log2 of <see cref="PageSize"/>.</summary>
    public const int PageShift = 13;

    /// <summary>The oids in a page: a dense page is 8,192 offsets, 64 KB, which stays out of the large object heap.</summary>
    public const int PageSize = 1 << PageShift;

    /// <summary>Oids below this live in pages; the page directory (24 bytes a page) is at most 12 MB.</summary>
    public const ulong DenseLimit = 1UL << 32;

    /// <summary>The most objects a sparse page holds: one more makes it dense.</summary>
    public const int SparseMaximum = PageSize / 4;

    /// <summary>A dense page that falls to this many objects becomes sparse.</summary>
    public const int DenseMinimum = SparseMaximum / 2;

    private const int PageMask = PageSize - 1;

    // The dense pages, kept apart from the rest so that Find of an oid in a dense page reads only this.
    private long[]?[] _pages;
    // The same length as _pages: for each page that is not dense, its sparse form if any.
    private PageState[] _states;
    private Dictionary<ulong, long>? _overflow;
    // The dense pages of the checkpoint this index was read from that are still in its file; null when none.
    private FileStoragePendingPages? _pending;
    private long _count;
    private ulong _slotLimit;
    private readonly bool _readOnly;

    /// <summary>What the index knows of a page besides its dense form.</summary>
    private struct PageState
    {
        /// <summary>The page in the sparse form, or null if it is dense or has no objects.</summary>
        public FileStorageSparsePage? Sparse;

        /// <summary>The objects in the page when it is dense; -1 until counted for a page read from a checkpoint.</summary>
        public int DenseCount;

        /// <summary>The page may also belong to a snapshot, so it is copied before it is written.</summary>
        public bool Shared;
    }

    /// <summary>Creates an empty index.</summary>
    public FileStorageIndex()
    {
        _pages = [];
        _states = [];
    }

    private FileStorageIndex(long[]?[] pages, PageState[] states, Dictionary<ulong, long>? overflow, long count, ulong slotLimit, bool readOnly)
    {
        _pages = pages;
        _states = states;
        _overflow = overflow;
        _count = count;
        _slotLimit = slotLimit;
        _readOnly = readOnly;
    }

    /// <summary>The number of objects that have a revision.</summary>
    public long Count => _count;

    /// <summary>One more than the highest oid below <see cref="DenseLimit"/> that was given a revision (0 if none): the oids the pages cover.</summary>
    public ulong SlotLimit => _slotLimit;

    /// <summary>How many pages the directory has room for (some may be empty).</summary>
    public int PageCount => _pages.Length;

    /// <summary>The objects at or above <see cref="DenseLimit"/>, with their offsets.</summary>
    public IEnumerable<KeyValuePair<ulong, long>> Overflow => _overflow ?? [];

    /// <summary>The number of objects at or above <see cref="DenseLimit"/>.</summary>
    public int OverflowCount => _overflow?.Count ?? 0;

    /// <summary>
    /// The bytes the index holds in memory: the page directory, the pages of both forms (with the room
    /// a sparse page has left) and the overflow dictionary, each array's and object's header included.
    /// Dense pages still in the checkpoint file are not counted.
    /// </summary>
    internal long AllocatedBytes
    {
        get
        {
            const int arrayHeader = 24, sparseObject = 40, overflowEntry = 28;
            long bytes = 2 * arrayHeader + (long)_pages.Length * (IntPtr.Size + Unsafe.SizeOf<PageState>());
            for (var p = 0; p < _pages.Length; p++)
            {
                if (_pages[p] is not null) bytes += arrayHeader + PageSize * sizeof(long);
                else if (_states[p].Sparse is { } sparse) bytes += sparseObject + 2 * arrayHeader + sparse.AllocatedBytes;
            }
            return bytes + (long)OverflowCount * overflowEntry;
        }
    }

    /// <summary>Whether dense pages are still to be read from the checkpoint file, which the index then keeps open.</summary>
    public bool HasPendingPages => Volatile.Read(ref _pending) is not null;

    /// <summary>The dense pages still to be read from the checkpoint file (for tests).</summary>
    internal int PendingPageCount
    {
        get
        {
            var pending = Volatile.Read(ref _pending);
            if (pending is null) return 0;
            lock (pending.Gate) return pending.Remaining;
        }
    }

    /// <summary>Every object that has a revision, dense oids in ascending order first.</summary>
    public IEnumerable<ulong> Oids
    {
        get
        {
            for (var p = 0; p < _pages.Length; p++)
            {
                var first = (ulong)p << PageShift;
                if (Dense(p) is { } page)
                {
                    for (var i = 0; i < page.Length; i++)
                    {
                        if (page[i] != 0) yield return first | (uint)i;
                    }
                }
                else if (_states[p].Sparse is { } sparse)
                {
                    // One slot at a time: a span cannot live across a yield.
                    for (var i = 0; i < sparse.Count; i++) yield return first | sparse.Slots[i];
                }
            }
            if (_overflow is not null)
            {
                foreach (var oid in _overflow.Keys) yield return oid;
            }
        }
    }

    /// <summary>
    /// Builds an index from pages read from a checkpoint: for each page either a sparse page, a dense page
    /// still in the checkpoint file (<paramref name="pending"/>, which the index takes over), or neither.
    /// The arrays become the index's own; the caller vouches for <paramref name="count"/> and
    /// <paramref name="slotLimit"/>. A dense page's objects are counted when it is first changed (most never
    /// are, and counting them all would add to every open).
    /// </summary>
    public static FileStorageIndex FromPages(FileStorageSparsePage?[] sparse, FileStoragePendingPages? pending, ulong slotLimit, long count, Dictionary<ulong, long>? overflow)
    {
        var states = new PageState[sparse.Length];
        for (var p = 0; p < states.Length; p++)
        {
            states[p].Sparse = sparse[p];
            states[p].DenseCount = -1;
        }
        return new(new long[]?[sparse.Length], states, overflow is { Count: > 0 } ? overflow : null, count, slotLimit, readOnly: false)
        {
            _pending = pending is { Remaining: > 0 } ? pending : null,
        };
    }

    /// <summary>Dense page <paramref name="p"/>, read from the checkpoint file if it is still there; null if the page is not dense.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private long[]? Dense(int p) => _pages[p] ?? (_pending is null ? null : LoadPending(p));

    /// <summary>
    /// Reads dense page <paramref name="p"/> from the checkpoint file if it is still there; the page as it
    /// is in the directory otherwise (dense, or null).
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private long[]? LoadPending(int p)
    {
        var pending = Volatile.Read(ref _pending);
        if (pending is null) return Volatile.Read(ref _pages[p]);
        lock (pending.Gate)
        {
            if (!pending.Contains(p)) return Volatile.Read(ref _pages[p]);
            var page = pending.Take(p);
            Volatile.Write(ref _pages[p], page);
            if (pending.Remaining == 0) Interlocked.CompareExchange(ref _pending, null, pending);
            return page;
        }
    }

    /// <summary>Reads every dense page still in the checkpoint file.</summary>
    internal void LoadAllPending()
    {
        if (Volatile.Read(ref _pending) is not { } pending) return;
        for (var p = 0; p < pending.PageCount && p < _pages.Length; p++)
        {
            if (_pages[p] is null) LoadPending(p);
        }
    }

    /// <summary>
    /// Closes the checkpoint file that pages still pending would be read from (the storage is closing,
    /// or the index is being replaced); a look in such a page afterwards throws <see cref="ObjectDisposedException"/>.
    /// </summary>
    public void ReleasePending() => Interlocked.Exchange(ref _pending, null)?.Dispose();

    /// <summary>
    /// The page holding oids [i × <see cref="PageSize"/>, (i + 1) × <see cref="PageSize"/>) if it is dense,
    /// with the number of its offsets that are not 0; null if it is sparse or empty.
    /// </summary>
    public long[]? DensePage(int i, out int count)
    {
        var page = i < _pages.Length ? Dense(i) : null;
        count = page is null ? 0 : _states[i].DenseCount >= 0 ? _states[i].DenseCount : CountObjects(page);
        return page;
    }

    /// <summary>The offsets in a dense page that are not 0.</summary>
    public static int CountObjects(long[] page) => page.Length - page.AsSpan().Count(0L);

    /// <summary>The page holding oids [i × <see cref="PageSize"/>, (i + 1) × <see cref="PageSize"/>) if it is sparse; null if it is dense or empty.</summary>
    public FileStorageSparsePage? SparsePage(int i) => i < _states.Length ? _states[i].Sparse : null;

    /// <summary>The offset of the newest revision of <paramref name="oid"/>, or 0 if it has none.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public long Find(ulong oid)
    {
        if (oid >= DenseLimit) return _overflow is not null && _overflow.TryGetValue(oid, out var offset) ? offset : 0;
        var p = (int)(oid >> PageShift);
        var pages = _pages;
        if (p >= pages.Length) return 0;
        var page = pages[p];
        return page is not null ? page[(int)oid & PageMask] : FindSparse(p, (int)oid & PageMask);
    }

    /// <summary>
    /// The lowest oid from <paramref name="oid"/> up to (not including) <paramref name="limit"/> that has
    /// a revision, or <paramref name="limit"/> if none does; only oids below <see cref="DenseLimit"/>.
    /// </summary>
    public ulong NextWithRevision(ulong oid, ulong limit)
    {
        var end = Math.Min(limit, Math.Min(_slotLimit, DenseLimit));
        while (oid < end)
        {
            var p = (int)(oid >> PageShift);
            var slot = (int)oid & PageMask;
            var first = (ulong)p << PageShift;
            var next = Dense(p) is { } page ? page.AsSpan(slot).IndexOfAnyExcept(0L) is var i and >= 0 ? slot + i : -1
                : _states[p].Sparse is { } sparse ? NextSlot(sparse.Slots, slot)
                : -1;
            if (next >= 0) return first + (ulong)next < end ? first + (ulong)next : limit;
            oid = first + PageSize;
        }
        return limit;
    }

    // The first of the ascending slots at or after the given one, or -1.
    private static int NextSlot(ReadOnlySpan<ushort> slots, int slot)
    {
        var i = slots.BinarySearch((ushort)slot);
        if (i < 0) i = ~i;
        return i < slots.Length ? slots[i] : -1;
    }

    // Out of line: Find is inlined into its callers, and only oids outside dense pages come here
    // (and those in dense pages still in the checkpoint file, once each).
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private long FindSparse(int p, int slot) =>
        _states[p].Sparse is { } sparse ? sparse.Find(slot)
        : _pending is not null && LoadPending(p) is { } page ? page[slot]
        : 0;

    /// <summary>Makes <paramref name="offset"/> the newest revision of <paramref name="oid"/> (0: none).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Set(ulong oid, long offset)
    {
        if (_readOnly) throw new InvalidOperationException("An index snapshot is read-only.");
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        if (oid >= DenseLimit)
        {
            SetOverflow(oid, offset);
            return;
        }
        var p = (int)(oid >> PageShift);
        if (p >= _pages.Length)
        {
            if (offset == 0) return;
            GrowDirectory(p + 1);
        }
        var page = Dense(p);
        if (page is null)
        {
            SetSparse(p, (int)oid & PageMask, offset);
        }
        else
        {
            ref var state = ref _states[p];
            if (state.Shared)
            {
                // A snapshot may be reading this page: write to a copy.
                page = (long[])page.Clone();
                _pages[p] = page;
                state.Shared = false;
            }
            if (state.DenseCount < 0) state.DenseCount = CountObjects(page);
            ref var slot = ref page[(int)oid & PageMask];
            if (slot == 0 && offset != 0)
            {
                _count++;
                state.DenseCount++;
            }
            else if (slot != 0 && offset == 0)
            {
                _count--;
                if (--state.DenseCount <= DenseMinimum)
                {
                    slot = 0;
                    MakeSparse(p);
                    return;
                }
            }
            slot = offset;
        }
        if (offset != 0 && oid >= _slotLimit) _slotLimit = oid + 1;
    }

    /// <summary>
    /// A read-only copy of the index as it is now, sharing the pages: O(pages) under the caller's lock,
    /// and this index copies a shared page before it next changes it.
    /// </summary>
    public FileStorageIndex Snapshot()
    {
        // The snapshot may be read by another thread while this index reads its pending pages.
        LoadAllPending();
        for (var p = 0; p < _pages.Length; p++)
        {
            if (_pages[p] is not null || _states[p].Sparse is not null) _states[p].Shared = true;
        }
        var overflow = _overflow is null ? null : new Dictionary<ulong, long>(_overflow);
        return new FileStorageIndex((long[]?[])_pages.Clone(), (PageState[])_states.Clone(), overflow, _count, _slotLimit, readOnly: true);
    }

    /// <summary>Takes over the contents of <paramref name="other"/>, which must not be used afterwards (a pack's or a reopen's new index).</summary>
    public void ReplaceWith(FileStorageIndex other)
    {
        if (_readOnly) throw new InvalidOperationException("An index snapshot is read-only.");
        // Copies of the directory: a snapshot's directory may still be read by its reader.
        _pages = (long[]?[])other._pages.Clone();
        _states = (PageState[])other._states.Clone();
        if (other._readOnly)
        {
            // A snapshot's pages are its source's too.
            for (var p = 0; p < _states.Length; p++) _states[p].Shared = true;
        }
        _overflow = other._overflow is null ? null : new Dictionary<ulong, long>(other._overflow);
        _count = other._count;
        _slotLimit = other._slotLimit;
        ReleasePending();
        Volatile.Write(ref _pending, Interlocked.Exchange(ref other._pending, null));
    }

    /// <summary>Forgets every object.</summary>
    public void Clear()
    {
        if (_readOnly) throw new InvalidOperationException("An index snapshot is read-only.");
        ReleasePending();
        _pages = [];
        _states = [];
        _overflow = null;
        _count = 0;
        _slotLimit = 0;
    }

    /// <summary>The part of <see cref="Set"/> for a page that is not dense (sparse, or without objects).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void SetSparse(int p, int slot, long offset)
    {
        ref var state = ref _states[p];
        var sparse = state.Sparse;
        if (sparse is null)
        {
            if (offset == 0) return;
            state.Sparse = sparse = new FileStorageSparsePage();
            state.Shared = false;
        }
        else if (offset != 0 && sparse.Count >= SparseMaximum && sparse.Find(slot) == 0)
        {
            // Full: the page becomes dense. A new array, so a snapshot sharing the sparse page keeps it.
            var page = sparse.ToDense();
            page[slot] = offset;
            _pages[p] = page;
            state = new PageState { DenseCount = sparse.Count + 1 };
            _count++;
            return;
        }
        else if (state.Shared)
        {
            state.Sparse = sparse = sparse.Clone();
            state.Shared = false;
        }
        _count += sparse.Set(slot, offset);
        // The page's last object is gone: the page goes too.
        if (sparse.Count == 0) state.Sparse = null;
    }

    /// <summary>Turns dense page <paramref name="p"/>, which has fallen to <see cref="DenseMinimum"/> objects, into a sparse page.</summary>
    private void MakeSparse(int p)
    {
        ref var state = ref _states[p];
        // A new page either way, so a snapshot sharing the dense page keeps it.
        state = new PageState { Sparse = state.DenseCount == 0 ? null : FileStorageSparsePage.FromDense(_pages[p]!, state.DenseCount) };
        _pages[p] = null;
    }

    private void SetOverflow(ulong oid, long offset)
    {
        if (offset == 0)
        {
            if (_overflow is not null && _overflow.Remove(oid)) _count--;
            return;
        }
        _overflow ??= [];
        if (_overflow.TryAdd(oid, offset)) _count++;
        else _overflow[oid] = offset;
    }

    private void GrowDirectory(int needed)
    {
        var size = Math.Max(needed, Math.Max(16, _pages.Length * 2));
        size = (int)Math.Min(size, (long)(DenseLimit >> PageShift));
        Array.Resize(ref _pages, size);
        Array.Resize(ref _states, size);
    }
}
