using System.Numerics;
using System.Runtime.CompilerServices;
using Microsoft.Win32.SafeHandles;
using static Persistence.Storage.FileStorageFormat;

namespace Persistence.Storage;

// Loading revisions. What lies before the committed end of a data file never changes (the file is
// only appended to, and a pack writes another file), so the bytes one load read can serve the next:
// a load looks in the last few windows of the file read first. A load near the window the last load
// used (within its length, either way; a page of the page cache only after a run of loads in it, see
// ScanRunOfPage) is taken for a scan over objects stored together (the objects
// one commit stored lie side by side, in the order they were reached, which is not the order a pass
// over them takes: a new person reached through another's Friend follows it) or for a walk back along
// an object's revisions (the revision a snapshot needs, under an object others keep changing, as a
// counter: one revision per transaction since the snapshot), and reads a window twice as large, up to
// MaxReadWindow, aligned to its size: a pass that goes back and forth over a region reads each block of
// it once. Several windows, because a scan is interrupted: a full pass over objects stored together
// meets, every few dozen objects, one that a later transaction changed, whose newest revision lies
// elsewhere, and it goes on near a window that served it before. With one window, each interruption
// started the scan over with small reads (a pass over 100,000 persons after 2,000 updates: 9,748 read
// calls; with several windows about 2,100, most of them for the changed persons, which the page cache
// below brings to 244). A load of a record near the end of the file takes it from the recent tail: the
// last few kilobytes of transactions this instance appended or caught up with, kept as they went by.
// Any other load reads the 4 KB page its record lies in and keeps it in the page cache
// (FileStorageOptions.PageCacheBytes), so random loads across a file that fits in it make about one
// read call per page rather than one per object (10,000 lookups of persons in W5's 7.6 MB file: 2,200
// read calls instead of 10,650), or one per 64 KB block while the whole file fits (168); a record that
// crosses into the next page (block) is read alone. Once the file outgrows the cache, a page is read
// and kept only when a load misses it a second time (see _pageMisses). The records returned are
// slices of a window. The bytes of the storage's own windows are never written after they are read;
// a connection's scans read into the buffers of the blocks they let go of again (see ScanReader), so
// what it loads through them is good until its next load.
//
// The recent tail serves writers that commit side by side. After another process's commit, the objects
// it changed are loaded again (a shared counter in every transaction), and a merge of a conflicting
// change loads both the newest revision and the one the transaction started from: all of them lie in
// the last transactions, and without the tail each was a read call.
public sealed partial class FileStorage
{
    // Most records are small: one read of this many bytes fetches the header and the record together.
    private const int LoadReadSize = 512;

    // The least a walk back along revisions reads: the revisions of a few transactions of a few objects each.
    private const int BackwardReadSize = 4 << 10;

    // The largest window a scan reads at once: a few hundred small records per read call.
    private const int MaxReadWindow = 64 << 10;
    // The largest read kept for the loads after it (see LoadWindow): larger ones are of one large record.
    private const int MaxKeptWindow = 1 << 20;

    // The recent tail: at most this many of the newest bytes, of which a transaction or catch-up adds at most half.
    private const int RecentTailSize = 32 << 10;

    // The last windows read (see WindowAt): blocks that scans read (a few scans at once, each in one
    // block or stepping from one into the next), and the small windows of single loads elsewhere,
    // which do not push the blocks out. At most 6 × 64 KB + 2 × 512 bytes. A connection's loads use
    // scan windows of its own (see ScanReader); these serve every other load.
    private readonly ScanReader _shared = new(6, recycles: false);
    private readonly WindowSet _singles = new(2);

    // A page of the page cache is taken for a scan's window only once this many loads in a row used
    // it: random lookups in a file the cache holds in blocks go from a bucket's block to a person's in
    // the block beside it, and reading that block as a scan's kept a second copy of it outside the
    // cache (W5's 10,000 lookups read 11.3 MB of a 7.6 MB file).
    private const int ScanRunOfPage = 8;

    // A window read a while ago is taken for a scan's once it served this many loads besides the one
    // it was read for. With 2, random lookups (W5) grew windows a few of them had served by chance into
    // 64 KB blocks: 8.4 MB read instead of 5.9 MB for 10,000 lookups, and 10-15% slower.
    private const int ScanLoads = 16;

    // The page cache (FileStorageOptions.PageCacheBytes): pages of PageSize bytes read by single loads,
    // each in the slot its page number maps to (the number modulo the slot count, a power of two),
    // replaced by the next page read that maps there; while the data fits in it, blocks of
    // PageBlockSize, each in the slots of its pages (see PageReadSize). A block stays while any of its
    // slots holds it, so after the file outgrows the cache the blocks and pages held add up to at most
    // twice its size. No lock: a slot is read and written whole, and its window is immutable. Null when off.
    private const int PageShift = 12;
    private const int PageSize = 1 << PageShift;
    private const int PageBlockSize = 16 * PageSize;
    private readonly ReadWindow?[]? _pages;

    // Once the data outgrows the page cache, a page enters it only when a load misses it a second
    // time at its slot: each slot notes the page the last load that missed there wanted (its number
    // over the slot count, plus one; 0 for none), and a load that finds another page noted reads only
    // its record, as without a page cache, and notes its own. Random loads across a file many times
    // the cache's size mostly miss, and a page read for each cost more than none: 10,000 random
    // lookups of persons in a 7.6 MB file through a 1 MB cache, in a warm process, took 52-55 ms
    // reading a page at every miss, 33-35 ms so, 29-33 ms with no cache (18-19 ms with a cache the
    // file fits in). A page that loads keep coming back to enters at the second miss. Written and read
    // without a lock: a lost or torn note only changes which read is made.
    private readonly uint[]? _pageMisses;

    private long _loadReadCalls;
    private long _loadReadBytes;

    // The newest bytes of the file this instance appended or caught up with (see ExtendRecentTail).
    private ReadWindow? _recentTail;

    /// <summary>How many read calls loads made (for tests of what the windows serve).</summary>
    internal long LoadReadCalls => Interlocked.Read(ref _loadReadCalls);

    /// <summary>How many bytes those read calls asked for (for tests of what the windows serve).</summary>
    internal long LoadReadBytes => Interlocked.Read(ref _loadReadBytes);

    /// <summary>The bytes of the read windows the storage keeps for all loads, and <paramref name="scans"/> for its connection's (for tests).</summary>
    internal long KeptWindowBytes(ScanReader scans) => _singles.Bytes + scans.Blocks.Bytes + (Volatile.Read(ref scans.LastUsed)?.Bytes.Length ?? 0);

    /// <summary>Where the newest revision of <paramref name="oid"/> starts, 0 if it has none (for tests of what the windows serve).</summary>
    internal long NewestOffset(Oid oid)
    {
        lock (_stateLock) return _index.Find(oid.Value);
    }

    /// <summary>Reads a revision from <paramref name="file"/>, whose committed transactions end at <paramref name="end"/> (taken with the offset, see LoadRevision).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private StoredRecord? ReadRevision(SafeFileHandle file, long end, Oid oid, long offset, long beforeTid, ScanReader scans)
    {
        var newest = true;
        while (offset != 0)
        {
            var window = WindowAt(file, end, offset, DataHeaderReach(offset, end), scans);
            var available = Math.Min(window.Available(offset), MaxDataHeaderSize);
            if (!TryReadDataHeader(window.At(offset, available).Span, offset, out var header)) throw HeaderCutShort(offset, oid);
            if (header.Oid != oid.Value) throw IndexPointsElsewhere(header, offset, oid);
            if (!header.IsPossibleAt(offset, end)) throw ImpossibleHeader(header, offset, oid);
            if (newest)
            {
                // The conflict check of a commit that read or writes this object needs this tid.
                RememberTid(file, oid, offset, header.Tid);
                newest = false;
            }
            if (header.Tid >= beforeTid)
            {
                // A revision newer than the snapshot is MVCC's, unless no transaction this instance knows
                // of has that tid: then the header is damaged, and no retry would find the revision.
                if (header.Tid > Volatile.Read(ref _lastTid)) throw TidBeyondLastTransaction(header, offset, oid);
                offset = header.Previous;
                continue;
            }
            var size = header.Size + (int)header.Length;
            if (window.Available(offset) < size)
            {
                window = WindowAt(file, end, offset, size, scans);
                if (window.Available(offset) < size)
                    throw new CorruptDatabaseException($"The record in {FilePath} is cut short by the end of the file", offset, oid);
            }
            var record = window.At(offset, size);
            var data = record[header.Size..];
            if (Crc32C.Append(DataChecksumStart(record.Span[..header.Size]), data.Span) != header.Checksum)
                throw new CorruptDatabaseException($"The checksum of the record in {FilePath} does not match its bytes", offset, oid);
            return new StoredRecord(oid, header.Tid, data);
        }
        // No revision that old in this file: a snapshot from before a pack by another process reads the
        // files it replaced, if this instance keeps them (FileStorage.Replaced.cs). Here, on the miss
        // path, rather than in LoadRevision after each load: a check there made every load 8-10% slower.
        return HoldsReplacedFiles ? LoadReplaced(file, oid, beforeTid, scans) : null;
    }

    // The errors of ReadRevision and CurrentSerial, built apart from them (see Connection.Activate).
    private CorruptDatabaseException HeaderCutShort(long offset, Oid oid) =>
        new($"The record header in {FilePath} is cut short by the end of the file, or holds a field of more than 64 bits", offset, oid);

    private CorruptDatabaseException IndexPointsElsewhere(DataHeader header, long offset, Oid oid) =>
        new($"The index of {FilePath} points at a record of oid {header.Oid} here", offset, oid);

    private CorruptDatabaseException TidBeyondLastTransaction(DataHeader header, long offset, Oid oid) =>
        new($"The record header in {FilePath} carries tid {header.Tid}, yet the last transaction in the file has tid {Volatile.Read(ref _lastTid)}: " +
            "the header is damaged (FileStorage.Verify lists the transaction it lies in)", offset, oid);

    private CorruptDatabaseException ImpossibleHeader(DataHeader header, long offset, Oid oid) =>
        new($"The record header in {FilePath} is impossible (length {header.Length}, tid {header.Tid}, previous revision at {header.Previous})", offset, oid);

    /// <summary>Notes the tid of the revision at <paramref name="offset"/>, unless a pack switched files since it was read.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void RememberTid(SafeFileHandle file, Oid oid, long offset, long tid)
    {
        lock (_stateLock)
        {
            if (ReferenceEquals(file, _file)) _revisionTids.Remember(oid.Value, offset, tid);
        }
    }

    /// <summary>
    /// One of the last windows read if it holds <paramref name="needed"/> bytes at
    /// <paramref name="offset"/>, else a new one read there, kept as the most recently used; a scan's
    /// among the windows of <paramref name="scans"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private ReadWindow WindowAt(SafeFileHandle file, long end, long offset, int needed, ScanReader scans)
    {
        if ((scans.Blocks.Find(file, offset, needed) ?? _singles.Find(file, offset, needed)) is { } kept) return scans.Used(kept);
        var tail = Volatile.Read(ref _recentTail);
        if (tail is not null && tail.Holds(file, offset, needed)) return tail;
        // The page cache's slot of the page the bytes start in, if there is a page cache.
        ref var pageSlot = ref _pages is { } pages ? ref SlotOf(pages, offset) : ref Unsafe.NullRef<ReadWindow?>();
        if (!Unsafe.IsNullRef(ref pageSlot) && Volatile.Read(ref pageSlot) is { } page && page.Holds(file, offset, needed)) return scans.Used(page);
        var size = LoadReadSize;
        var start = offset;
        // A scan goes on from the window the last load used, or from a window that served many loads
        // before a load elsewhere interrupted it. A load near a window read a while ago does not start
        // one (random lookups: a person stored near the bucket loaded before it; the changed objects a
        // pass meets): those windows would grow into blocks that serve a load or two and push out the scan's.
        var last = Volatile.Read(ref scans.LastUsed);
        var near = last is not null && last.IsNear(file, offset) && (!last.IsPage || Volatile.Read(ref scans.LastUsedRun) >= ScanRunOfPage)
            ? last
            : scans.Blocks.Near(file, offset, ScanLoads) ?? _singles.Near(file, offset, ScanLoads);
        // The whole of a record whose start a window was read at (the window held only its header) is not a scan.
        var scan = near is not null && offset != near.Start;
        if (near is not null)
        {
            // A walk back starts with a few transactions' worth: the newest revision often lies near the end, in a short window.
            var grown = Math.Max(2 * near.Length, offset < near.Start ? BackwardReadSize : 0);
            size = (int)Math.Min(BitOperations.RoundUpToPowerOf2((uint)grown), MaxReadWindow);
        }
        var crossing = false;
        if (scan)
        {
            // The block of that size the record lies in; a record across the end of its block is read
            // from its start to the end of the next block, so the scan goes on in blocks and the block
            // before is not read again. If the next block was read already (a pass reached a tree's
            // bucket stored there before the record), only the record is read (as a single load reads
            // one, header and record together): reading the block again read 2 MB more of W3's 7.6 MB file.
            var aligned = offset - (offset % size);
            if (offset + needed <= aligned + size) start = Math.Max(FileHeaderSize, aligned);
            else if (IsHeld(file, aligned + size, scans)) (size, crossing) = (Math.Max(needed, LoadReadSize), true);
            else size = (int)(aligned + (2 * size) - offset);
        }
        // Read no further than the committed end (what lies after it may still be written), except to
        // see a header that claims to reach past it, which the caller then reports as damage. A single
        // load whose bytes lie in one page reads the whole of that page that far, kept for the loads
        // after; in one block, if the committed data fits in the page cache (see PageReadSize). The
        // first page starts after the file header.
        var pageBytes = PageReadSize(offset, end);
        var pageStart = Math.Max(offset & ~(pageBytes - 1), FileHeaderSize);
        var pageEnd = (offset | (pageBytes - 1)) + 1;
        var paged = !scan && !Unsafe.IsNullRef(ref pageSlot) && offset + needed <= pageEnd && end > pageStart
            && (FitsPageCache(end) || MissedBefore(offset));
        if (paged)
        {
            start = pageStart;
            size = (int)Math.Max(Math.Min(pageEnd, end) - start, offset + needed - start);
        }
        else
        {
            var before = (int)(offset - start);
            size = (int)Math.Max(Math.Min(Math.Max(size, before + needed), end - start), before + Math.Min(needed, LoadReadSize));
        }
        var block = scan && !crossing;
        // Not cleared: the read fills it, and only what it read is used (ReadWindow.Read).
        var bytes = block ? scans.Buffer(size) : GC.AllocateUninitializedArray<byte>(size);
        Interlocked.Increment(ref _loadReadCalls);
        Interlocked.Add(ref _loadReadBytes, size);
        var read = ReadAt(file, start, bytes.AsSpan(0, size));
        var window = new ReadWindow(file, start, bytes, size, read);
        // Nor is a window of a large record kept (or noted as the last used): it would hold as much
        // memory as the record, decoded once, until other windows replaced it.
        if (start + read > end || size > MaxKeptWindow) return window;
        if (paged) KeepPages(window);
        else if (block) scans.Keep(window);
        else _singles.Keep(window);
        return scans.Used(window);
    }

    /// <summary>Whether a scan's block of <paramref name="scans"/> or a page of the page cache holds the byte at <paramref name="offset"/> of <paramref name="file"/>.</summary>
    private bool IsHeld(SafeFileHandle file, long offset, ScanReader scans) =>
        scans.Blocks.Holds(file, offset) || (_pages is { } pages && Volatile.Read(ref SlotOf(pages, offset)) is { } page && page.Holds(file, offset, 1));

    /// <summary>The page cache's slot of the page <paramref name="offset"/> lies in.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ref ReadWindow? SlotOf(ReadWindow?[] pages, long offset) => ref pages[(int)(offset >> PageShift) & (pages.Length - 1)];

    /// <summary>
    /// How many bytes a page read at <paramref name="offset"/> reads when committed data ends at
    /// <paramref name="end"/>: a page, or a block of <see cref="PageBlockSize"/> while the data fits in
    /// the page cache. Then no two pages of the file share a slot, so every block read stays, and random
    /// loads across the file make one read call per block instead of one per page (W5's 10,000 lookups
    /// in a 7.6 MB file: 2,197 calls of 4 KB, 10-17% slower, or 168 of 64 KB). Past that, a block read
    /// for one record would mostly be bytes pushed out again before a load used them. The last block,
    /// which commits are still filling, is read by pages: as a block, each load of what was appended
    /// since it was read would read it again.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private long PageReadSize(long offset, long end) =>
        FitsPageCache(end) && (offset | (PageBlockSize - 1)) < end ? PageBlockSize : PageSize;

    /// <summary>Whether committed data that ends at <paramref name="end"/> fits in the page cache (false without one).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool FitsPageCache(long end) => _pages is { } pages && end <= (long)pages.Length << PageShift;

    /// <summary>
    /// Whether the last load that missed the page cache at the slot of <paramref name="offset"/>'s page
    /// wanted that page too (see <see cref="_pageMisses"/>); if not, notes that this one did.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private bool MissedBefore(long offset)
    {
        var misses = _pageMisses!;
        var page = offset >> PageShift;
        ref var noted = ref misses[(int)page & (misses.Length - 1)];
        var wanted = (uint)(page >> BitOperations.Log2((uint)misses.Length)) + 1;
        if (Volatile.Read(ref noted) == wanted) return true;
        Volatile.Write(ref noted, wanted);
        return false;
    }

    /// <summary>Keeps <paramref name="window"/>, read by a page read, in the slot of every page it holds bytes of.</summary>
    /// <remarks>Runs once a read call, not once a load, as do <see cref="WindowSet.Keep"/> and
    /// <see cref="WindowSet.Near"/>: not worth compiling optimized on first use, as the load path's methods are.</remarks>
    private void KeepPages(ReadWindow window)
    {
        window.IsPage = true;
        var pages = _pages!;
        var last = (window.Start + window.Read - 1) >> PageShift;
        for (var page = window.Start >> PageShift; page <= last; page++)
            Volatile.Write(ref pages[(int)page & (pages.Length - 1)], window);
    }

    /// <summary>How many pages the page cache holds (for tests).</summary>
    internal int PagesHeld => _pages?.Count(page => page is not null) ?? 0;

    /// <summary>
    /// Lets go of the pages of a file this instance no longer reads (a pack switched files): they could
    /// serve no load, and would hold up to the cache's size until replaced. A load of the old file
    /// racing this may put one of its pages back, which matches no later load and is replaced in turn.
    /// </summary>
    private void ForgetPages()
    {
        if (_pages is { } pages) Array.Clear(pages);
        if (_pageMisses is { } misses) Array.Clear(misses);
    }

    /// <summary>Lets go of the pages read from <paramref name="file"/>, a replaced file no load reads any more.</summary>
    private void ForgetPagesOf(SafeFileHandle file)
    {
        if (_pages is { } pages) WindowSet.Forget(pages, file);
    }

    /// <summary>The slots of a page cache of at most <paramref name="bytes"/> (a power of two pages), or null for none.</summary>
    private static ReadWindow?[]? NewPageTable(long bytes) =>
        bytes < PageSize ? null : new ReadWindow?[1 << BitOperations.Log2((ulong)Math.Min(bytes / PageSize, 1 << 24))];

    /// <summary>
    /// The scan windows of one reader: the storage's own (<see cref="_shared"/>), which serve any
    /// load, or a connection's (<see cref="NewScanReader"/>), whose records it decodes before it loads
    /// the next. A connection's reader uses the buffers of the windows it lets go again for its next
    /// scan reads, so a pass over many objects does not leave a 64 KB buffer of garbage behind every
    /// few hundred of them (W3's pass over 100,000 persons left 7 MB among them, which made the
    /// runtime's collection during the pass compact them, or leave them spread out for the next pass).
    /// </summary>
    internal sealed class ScanReader
    {
        // Scan reads of more than half a block and at most this much go into buffers of this size,
        // used again: a block, or a record that crosses into the next one and that block to its end.
        private const int BufferSize = MaxReadWindow + (16 << 10);

        private readonly bool _recycles;
        private byte[]? _spare;

        /// <summary>The window its last load used.</summary>
        internal ReadWindow? LastUsed;

        /// <summary>How many loads in a row <see cref="LastUsed"/> served (a hint; the storage's own reader counts it without synchronization).</summary>
        internal int LastUsedRun;

        internal ScanReader(int windows, bool recycles)
        {
            Blocks = new WindowSet(windows);
            _recycles = recycles;
        }

        /// <summary>The blocks its scans read.</summary>
        internal WindowSet Blocks { get; }

        /// <summary>Notes <paramref name="window"/> as the one the last load used, and returns it.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        internal ReadWindow Used(ReadWindow window)
        {
            if (ReferenceEquals(Volatile.Read(ref LastUsed), window))
            {
                LastUsedRun++;
            }
            else
            {
                Volatile.Write(ref LastUsed, window);
                LastUsedRun = 1;
            }
            return window;
        }

        /// <summary>A buffer for a scan read of <paramref name="size"/> bytes: the spare one, if it is a reader that recycles and the read fits.</summary>
        internal byte[] Buffer(int size)
        {
            if (!_recycles || size <= MaxReadWindow / 2 || size > BufferSize) return GC.AllocateUninitializedArray<byte>(size);
            var spare = _spare;
            _spare = null;
            return spare ?? GC.AllocateUninitializedArray<byte>(BufferSize);
        }

        /// <summary>Keeps a block a scan read; the buffer of the window it replaces becomes the spare.</summary>
        internal void Keep(ReadWindow window)
        {
            var replaced = Blocks.Keep(window);
            if (_recycles && replaced is not null && replaced.Bytes.Length == BufferSize) _spare = replaced.Bytes;
        }

        /// <summary>Lets go of its windows and buffers (a connection going back to the pool).</summary>
        internal void Clear()
        {
            Blocks.Clear();
            LastUsed = null;
            LastUsedRun = 0;
            _spare = null;
        }
    }

    /// <summary>
    /// Scan windows for a reader that decodes each record it loads through them
    /// (<see cref="LoadBefore(Oid, long, ScanReader)"/>) before it loads the next, and loads from one
    /// thread at a time: a connection.
    /// </summary>
    internal ScanReader NewScanReader() => new(4, recycles: true);

    /// <summary>
    /// Adds <paramref name="bytes"/>, complete transactions at <paramref name="offset"/> that this
    /// instance just appended or caught up with (<see cref="_catchUpLock"/> held, so one thread at a
    /// time), to the recent tail. The tail's buffer is filled from the front: what a published window
    /// covers is never written again, so loads may hold slices of it while it grows. When the bytes do
    /// not follow the tail (another file, or what came between was not kept) it starts over; when the
    /// buffer is full, a new one starts with the newest half. More than half the buffer at once (a
    /// bulk load's commits) is not kept: the tail serves small transactions, and copying large ones
    /// would only cost time.
    /// </summary>
    private void ExtendRecentTail(SafeFileHandle file, long offset, ReadOnlySpan<byte> bytes)
    {
        if (bytes.IsEmpty || bytes.Length > RecentTailSize / 2) return;
        // The tail these bytes follow, if they do.
        var tail = _recentTail is { } last && ReferenceEquals(last.File, file) && last.Start + last.Read == offset ? last : null;
        byte[] buffer;
        int keep;
        if (tail is not null && tail.Read + bytes.Length <= tail.Bytes.Length)
        {
            (buffer, keep) = (tail.Bytes, tail.Read);
        }
        else
        {
            // Not cleared: only what is copied into it is read (ReadWindow.Read).
            buffer = GC.AllocateUninitializedArray<byte>(RecentTailSize);
            keep = tail is null ? 0 : Math.Min(tail.Read, RecentTailSize / 2);
            if (tail is not null) tail.Bytes.AsSpan(tail.Read - keep, keep).CopyTo(buffer);
        }
        bytes.CopyTo(buffer.AsSpan(keep));
        Volatile.Write(ref _recentTail, new ReadWindow(file, offset - keep, buffer, buffer.Length, keep + bytes.Length));
    }

    /// <summary>
    /// A few windows, the most recently used first. Kept without a lock: each slot is read and written
    /// whole, and a race at worst drops a window or keeps one twice.
    /// </summary>
    internal sealed class WindowSet(int count)
    {
        private readonly ReadWindow?[] _windows = new ReadWindow?[count];

        /// <summary>The window that holds <paramref name="needed"/> bytes at <paramref name="offset"/> of <paramref name="file"/>, made the most recently used; null if none does.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public ReadWindow? Find(SafeFileHandle file, long offset, int needed)
        {
            for (var i = 0; i < _windows.Length; i++)
            {
                var window = Volatile.Read(ref _windows[i]);
                if (window is null || !window.Holds(file, offset, needed)) continue;
                window.Loads++;
                if (i > 0) MoveToFront(window, i);
                return window;
            }
            return null;
        }

        /// <summary>Whether a window holds the byte at <paramref name="offset"/> of <paramref name="file"/> (without counting it as a load).</summary>
        public bool Holds(SafeFileHandle file, long offset)
        {
            foreach (var window in _windows)
            {
                if (window is not null && window.Holds(file, offset, 1)) return true;
            }
            return false;
        }

        /// <summary>
        /// The most recently used window of a scan (one that served at least <paramref name="loads"/>
        /// loads) that <paramref name="offset"/> of <paramref name="file"/> is near (see <see cref="ReadWindow.IsNear"/>).
        /// </summary>
        public ReadWindow? Near(SafeFileHandle file, long offset, int loads)
        {
            foreach (var window in _windows)
            {
                if (window is not null && window.Loads >= loads && window.IsNear(file, offset)) return window;
            }
            return null;
        }

        /// <summary>
        /// Keeps <paramref name="window"/> as the most recently used, in place of a window whose bytes
        /// it holds too (one a scan grew out of), else of the least recently used; returns the window
        /// it replaced, if any.
        /// </summary>
        public ReadWindow? Keep(ReadWindow window)
        {
            var from = _windows.Length - 1;
            for (var i = 0; i < _windows.Length; i++)
            {
                var kept = Volatile.Read(ref _windows[i]);
                if (kept is null || window.Holds(kept.File, kept.Start, kept.Read))
                {
                    from = i;
                    break;
                }
            }
            var replaced = Volatile.Read(ref _windows[from]);
            MoveToFront(window, from);
            return replaced;
        }

        /// <summary>Forgets every window.</summary>
        public void Clear() => Array.Clear(_windows);

        /// <summary>Forgets the windows read from <paramref name="file"/> (a replaced file let go of).</summary>
        public void Forget(SafeFileHandle file) => Forget(_windows, file);

        /// <summary>Empties the slots of <paramref name="windows"/> (a set's, or the page cache's) that hold a window read from <paramref name="file"/>.</summary>
        public static void Forget(ReadWindow?[] windows, SafeFileHandle file)
        {
            for (var i = 0; i < windows.Length; i++)
            {
                if (Volatile.Read(ref windows[i]) is { } window && ReferenceEquals(window.File, file))
                    Interlocked.CompareExchange(ref windows[i], null, window);
            }
        }

        /// <summary>The bytes of the windows it keeps.</summary>
        public long Bytes
        {
            get
            {
                long bytes = 0;
                foreach (var window in _windows) bytes += window?.Bytes.Length ?? 0;
                return bytes;
            }
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void MoveToFront(ReadWindow window, int from)
        {
            for (var i = from; i > 0; i--)
                Volatile.Write(ref _windows[i], Volatile.Read(ref _windows[i - 1]));
            Volatile.Write(ref _windows[0], window);
        }
    }

    /// <summary>Bytes read from a data file at <see cref="Start"/>; immutable once made.</summary>
    /// <param name="file">The file they were read from.</param>
    /// <param name="start">Their offset in it.</param>
    /// <param name="bytes">The buffer they were read into.</param>
    /// <param name="length">How many bytes were asked for (the buffer may be larger).</param>
    /// <param name="read">How many bytes the read returned (a window that reaches past the committed end is never kept for later loads).</param>
    internal sealed class ReadWindow(SafeFileHandle file, long start, byte[] bytes, int length, int read)
    {
        // Its members are marked to be inlined: the optimized methods that call them for every load
        // (ReadRevision, WindowAt, WindowSet) are large enough that the runtime would otherwise stop
        // inlining before them, and call unoptimized code instead.
        public SafeFileHandle File { [MethodImpl(MethodImplOptions.AggressiveInlining)] get; } = file;

        public long Start { [MethodImpl(MethodImplOptions.AggressiveInlining)] get; } = start;

        public byte[] Bytes { [MethodImpl(MethodImplOptions.AggressiveInlining)] get; } = bytes;

        /// <summary>How many bytes were asked for: its size, as far as scans go.</summary>
        public int Length { [MethodImpl(MethodImplOptions.AggressiveInlining)] get; } = length;

        /// <summary>How many loads it served after the one it was read for (a hint, counted without synchronization).</summary>
        public int Loads { get; set; }

        /// <summary>Whether it is a page (or block) of the page cache; set before it is published.</summary>
        public bool IsPage { [MethodImpl(MethodImplOptions.AggressiveInlining)] get; set; }

        /// <summary>How many bytes of <see cref="Bytes"/> hold the file's.</summary>
        public int Read { [MethodImpl(MethodImplOptions.AggressiveInlining)] get; } = read;

        /// <summary>How many bytes the window has at <paramref name="offset"/>.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public int Available(long offset) => offset < Start || offset > Start + Read ? 0 : (int)(Start + Read - offset);

        /// <summary>Whether the window holds <paramref name="count"/> bytes at <paramref name="offset"/> of <paramref name="file"/>.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public bool Holds(SafeFileHandle file, long offset, int count) =>
            ReferenceEquals(File, file) && offset >= Start && offset + count <= Start + Read;

        /// <summary>Whether <paramref name="offset"/> of <paramref name="file"/> lies at most one window's length (or one backward read) before or after the window: a scan or a walk back going on.</summary>
        public bool IsNear(SafeFileHandle file, long offset) =>
            ReferenceEquals(File, file) && offset >= Start - Math.Max(Length, BackwardReadSize) && offset <= Start + Read + Length;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public ReadOnlyMemory<byte> At(long offset, int count) => new(Bytes, (int)(offset - Start), count);
    }
}
