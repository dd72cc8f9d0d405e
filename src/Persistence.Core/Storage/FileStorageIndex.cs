using System.Runtime.CompilerServices;

namespace Persistence.Storage;

/// <summary>
/// Where the newest revision of each object starts in a file storage's data file (the offset of its
/// data record header); older revisions are reached through the records' previous-revision offsets.
/// </summary>
/// <remarks>
/// <para>Oids are handed out densely from 3 upwards, so the index is an array of offsets indexed by
/// oid (0 = no revision), cut into pages of <see cref="PageSize"/> entries: 8 bytes an object instead
/// of a dictionary's 30 or so, no rehashing as it grows (a new page, and now and then a larger page
/// directory), and a checkpoint can be read straight into the pages
/// (<see cref="FileStorageCheckpoint"/>). A page is allocated when the first oid in it is set, so a
/// sparse oid costs one page, and oids from <see cref="DenseLimit"/> up (never handed out by
/// <see cref="IStorage.NewOid"/> in practice, but possible in an imported database) go to a dictionary.</para>
/// <para><see cref="Snapshot"/> shares the pages with a read-only copy in O(pages): the next
/// <see cref="Set"/> on a shared page copies that page first (copy on write), so a checkpoint or a pack
/// can read a consistent index for as long as it needs without holding the storage's lock.</para>
/// <para>Not thread-safe: the storage guards it. A snapshot may be read by any one thread while its
/// source is changed.</para>
/// </remarks>
internal sealed class FileStorageIndex
{
    /// <summary>log2 of <see cref="PageSize"/>.</summary>
    public const int PageShift = 13;

    /// <summary>The entries in a page: 8,192 offsets, 64 KB, which stays out of the large object heap.</summary>
    public const int PageSize = 1 << PageShift;

    /// <summary>Oids below this live in pages; the page directory is at most 4 MB.</summary>
    public const ulong DenseLimit = 1UL << 32;

    private const int PageMask = PageSize - 1;

    private long[]?[] _pages;
    // _shared[i]: page i may also belong to a snapshot, so it is copied before it is written.
    private bool[] _shared;
    private Dictionary<ulong, long>? _overflow;
    private long _count;
    private ulong _slotLimit;
    private readonly bool _readOnly;

    /// <summary>Creates an empty index.</summary>
    public FileStorageIndex()
    {
        _pages = [];
        _shared = [];
    }

    private FileStorageIndex(long[]?[] pages, bool[] shared, Dictionary<ulong, long>? overflow, long count, ulong slotLimit, bool readOnly)
    {
        _pages = pages;
        _shared = shared;
        _overflow = overflow;
        _count = count;
        _slotLimit = slotLimit;
        _readOnly = readOnly;
    }

    /// <summary>The number of objects that have a revision.</summary>
    public long Count => _count;

    /// <summary>One more than the highest oid below <see cref="DenseLimit"/> that has a revision (0 if none): the length of the offset array.</summary>
    public ulong SlotLimit => _slotLimit;

    /// <summary>How many pages the directory has room for (some may be null).</summary>
    public int PageCount => _pages.Length;

    /// <summary>The objects at or above <see cref="DenseLimit"/>, with their offsets.</summary>
    public IEnumerable<KeyValuePair<ulong, long>> Overflow => _overflow ?? [];

    /// <summary>The number of objects at or above <see cref="DenseLimit"/>.</summary>
    public int OverflowCount => _overflow?.Count ?? 0;

    /// <summary>Every object that has a revision, dense oids in ascending order first.</summary>
    public IEnumerable<ulong> Oids
    {
        get
        {
            for (var p = 0; p < _pages.Length; p++)
            {
                var page = _pages[p];
                if (page is null) continue;
                for (var i = 0; i < page.Length; i++)
                {
                    if (page[i] != 0) yield return ((ulong)p << PageShift) | (uint)i;
                }
            }
            if (_overflow is not null)
            {
                foreach (var oid in _overflow.Keys) yield return oid;
            }
        }
    }

    /// <summary>
    /// Builds an index from pages read from a checkpoint. <paramref name="pages"/> becomes the index's
    /// own; the caller vouches for <paramref name="count"/> and <paramref name="slotLimit"/>.
    /// </summary>
    public static FileStorageIndex FromPages(long[]?[] pages, ulong slotLimit, long count, Dictionary<ulong, long>? overflow) =>
        new(pages, new bool[pages.Length], overflow is { Count: > 0 } ? overflow : null, count, slotLimit, readOnly: false);

    /// <summary>The page holding oids [i × <see cref="PageSize"/>, (i + 1) × <see cref="PageSize"/>), or null if none of them has a revision.</summary>
    public long[]? Page(int i) => i < _pages.Length ? _pages[i] : null;

    /// <summary>The offset of the newest revision of <paramref name="oid"/>, or 0 if it has none.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public long Find(ulong oid)
    {
        if (oid >= DenseLimit) return _overflow is not null && _overflow.TryGetValue(oid, out var offset) ? offset : 0;
        var p = (int)(oid >> PageShift);
        var pages = _pages;
        if (p >= pages.Length) return 0;
        var page = pages[p];
        return page is null ? 0 : page[(int)oid & PageMask];
    }

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
        var page = _pages[p];
        if (page is null)
        {
            if (offset == 0) return;
            _pages[p] = page = new long[PageSize];
        }
        else if (_shared[p])
        {
            // A snapshot may be reading this page: write to a copy.
            page = (long[])page.Clone();
            _pages[p] = page;
            _shared[p] = false;
        }
        ref var slot = ref page[(int)oid & PageMask];
        if (slot == 0 && offset != 0) _count++;
        else if (slot != 0 && offset == 0) _count--;
        slot = offset;
        if (offset != 0 && oid >= _slotLimit) _slotLimit = oid + 1;
    }

    /// <summary>
    /// A read-only copy of the index as it is now, sharing the pages: O(pages) under the caller's lock,
    /// and this index copies a shared page before it next changes it.
    /// </summary>
    public FileStorageIndex Snapshot()
    {
        for (var p = 0; p < _pages.Length; p++)
        {
            if (_pages[p] is not null) _shared[p] = true;
        }
        var overflow = _overflow is null ? null : new Dictionary<ulong, long>(_overflow);
        return new FileStorageIndex((long[]?[])_pages.Clone(), new bool[_pages.Length], overflow, _count, _slotLimit, readOnly: true);
    }

    /// <summary>Takes over the contents of <paramref name="other"/>, which must not be used afterwards (a pack's or a reopen's new index).</summary>
    public void ReplaceWith(FileStorageIndex other)
    {
        if (_readOnly) throw new InvalidOperationException("An index snapshot is read-only.");
        // A copy of the directory: a snapshot's directory may still be read by its reader.
        _pages = (long[]?[])other._pages.Clone();
        _shared = other._readOnly ? Filled(other._pages.Length) : (bool[])other._shared.Clone();
        _overflow = other._overflow is null ? null : new Dictionary<ulong, long>(other._overflow);
        _count = other._count;
        _slotLimit = other._slotLimit;
    }

    /// <summary>Forgets every object.</summary>
    public void Clear()
    {
        if (_readOnly) throw new InvalidOperationException("An index snapshot is read-only.");
        _pages = [];
        _shared = [];
        _overflow = null;
        _count = 0;
        _slotLimit = 0;
    }

    private static bool[] Filled(int length)
    {
        var flags = new bool[length];
        Array.Fill(flags, true);
        return flags;
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
        Array.Resize(ref _shared, size);
    }
}
