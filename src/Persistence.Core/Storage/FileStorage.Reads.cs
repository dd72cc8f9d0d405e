using System.Runtime.CompilerServices;
using Microsoft.Win32.SafeHandles;
using static Persistence.Storage.FileStorageFormat;

namespace Persistence.Storage;

// Loading revisions. What lies before the committed end of a data file never changes (the file is
// only appended to, and a pack writes another file), so the bytes one load read can serve the next:
// a load looks in the last window of the file read first. A load that falls just past that window is
// taken for a scan in file order (the objects one commit stored lie side by side, in the order they
// were reached) and reads a window twice as large, up to MaxReadWindow. A load that falls just before
// it is taken for a walk back along an object's revisions (the revision a snapshot needs, under a
// object others keep changing, as a counter: one revision per transaction since the snapshot) and
// reads a window twice as large that ends where the last one starts. A load of a record near the end
// of the file takes it from the recent tail: the last few kilobytes of transactions this instance
// appended or caught up with, kept as they went by. Any other load reads a small one. The records
// returned are slices of a window, whose bytes are never written after they are read.
//
// The recent tail serves writers that commit side by side. After another process's commit, the objects
// it changed are loaded again (a shared counter in every transaction), and a merge of a conflicting
// change loads both the newest revision and the one the transaction started from: all of them lie in
// the last transactions, and without the tail each was a read call.
public sealed partial class FileStorage
{
    // Most records are small: one read of this many bytes fetches the header and the record together.
    private const int LoadReadSize = 512;

    // The first window of a walk back along revisions: the revisions of a few transactions of a few objects each.
    private const int BackwardReadSize = 4 << 10;

    // The largest window a scan reads at once: a few hundred small records per read call.
    private const int MaxReadWindow = 64 << 10;

    // The recent tail: at most this many of the newest bytes, of which a transaction or catch-up adds at most half.
    private const int RecentTailSize = 32 << 10;

    private ReadWindow? _readWindow;
    private long _loadReadCalls;

    // The newest bytes of the file this instance appended or caught up with (see ExtendRecentTail).
    private ReadWindow? _recentTail;

    /// <summary>How many read calls loads made (for tests of what the windows serve).</summary>
    internal long LoadReadCalls => Interlocked.Read(ref _loadReadCalls);

    /// <summary>Reads a revision from <paramref name="file"/>, whose committed transactions end at <paramref name="end"/> (taken with the offset, see LoadRevision).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private StoredRecord? ReadRevision(SafeFileHandle file, long end, Oid oid, long offset, long beforeTid)
    {
        var newest = true;
        while (offset != 0)
        {
            var window = WindowAt(file, end, offset, DataHeaderReach(offset, end));
            var available = Math.Min(window.Available(offset), MaxDataHeaderSize);
            if (!TryReadDataHeader(window.At(offset, available).Span, offset, out var header))
                throw new CorruptDatabaseException($"The record header in {FilePath} is cut short by the end of the file, or holds a field of more than 64 bits", offset, oid);
            if (header.Oid != oid.Value)
                throw new CorruptDatabaseException(
                    $"The index of {FilePath} points at a record of oid {header.Oid} here", offset, oid);
            if (!header.IsPossibleAt(offset, end))
                throw new CorruptDatabaseException(
                    $"The record header in {FilePath} is impossible (length {header.Length}, tid {header.Tid}, previous revision at {header.Previous})", offset, oid);
            if (newest)
            {
                // The conflict check of a commit that read or writes this object needs this tid.
                RememberTid(file, oid, offset, header.Tid);
                newest = false;
            }
            if (header.Tid >= beforeTid)
            {
                offset = header.Previous;
                continue;
            }
            var size = header.Size + (int)header.Length;
            if (window.Available(offset) < size)
            {
                window = WindowAt(file, end, offset, size);
                if (window.Available(offset) < size)
                    throw new CorruptDatabaseException($"The record in {FilePath} is cut short by the end of the file", offset, oid);
            }
            var record = window.At(offset, size);
            var data = record[header.Size..];
            if (Crc32C.Append(DataChecksumStart(record.Span[..header.Size]), data.Span) != header.Checksum)
                throw new CorruptDatabaseException($"The checksum of the record in {FilePath} does not match its bytes", offset, oid);
            return new StoredRecord(oid, header.Tid, data);
        }
        return null;
    }

    /// <summary>Notes the tid of the revision at <paramref name="offset"/>, unless a pack switched files since it was read.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void RememberTid(SafeFileHandle file, Oid oid, long offset, long tid)
    {
        lock (_stateLock)
        {
            if (ReferenceEquals(file, _file)) _revisionTids.Remember(oid.Value, offset, tid);
        }
    }

    /// <summary>The last window read if it holds <paramref name="needed"/> bytes at <paramref name="offset"/>, else a new one read there.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private ReadWindow WindowAt(SafeFileHandle file, long end, long offset, int needed)
    {
        var last = Volatile.Read(ref _readWindow);
        if (last is not null && ReferenceEquals(last.File, file) && last.Holds(offset, needed)) return last;
        var tail = Volatile.Read(ref _recentTail);
        if (tail is not null && ReferenceEquals(tail.File, file) && tail.Holds(offset, needed)) return tail;
        var size = LoadReadSize;
        var start = offset;
        if (last is not null && ReferenceEquals(last.File, file))
        {
            if (last.IsJustBefore(offset))
            {
                size = Math.Min(2 * last.Bytes.Length, MaxReadWindow);
            }
            else if (last.IsJustAfter(offset))
            {
                // The first window of a walk is often short (the newest revision lies near the end).
                size = Math.Min(Math.Max(2 * last.Bytes.Length, BackwardReadSize), MaxReadWindow);
                start = Math.Max(FileHeaderSize, Math.Min(offset, Math.Max(last.Start, offset + needed) - size));
            }
        }
        // Read no further than the committed end (what lies after it may still be written), except to
        // see a header that claims to reach past it, which the caller then reports as damage.
        var before = (int)(offset - start);
        size = (int)Math.Max(Math.Min(Math.Max(size, before + needed), end - start), before + Math.Min(needed, LoadReadSize));
        var bytes = new byte[size];
        Interlocked.Increment(ref _loadReadCalls);
        var read = ReadAt(file, start, bytes);
        var window = new ReadWindow(file, start, bytes, read);
        if (start + read <= end) Volatile.Write(ref _readWindow, window);
        return window;
    }

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
            buffer = new byte[RecentTailSize];
            keep = tail is null ? 0 : Math.Min(tail.Read, RecentTailSize / 2);
            if (tail is not null) tail.Bytes.AsSpan(tail.Read - keep, keep).CopyTo(buffer);
        }
        bytes.CopyTo(buffer.AsSpan(keep));
        Volatile.Write(ref _recentTail, new ReadWindow(file, offset - keep, buffer, keep + bytes.Length));
    }

    /// <summary>Bytes read from a data file at <see cref="Start"/>; immutable once made.</summary>
    /// <param name="file">The file they were read from.</param>
    /// <param name="start">Their offset in it.</param>
    /// <param name="bytes">The buffer they were read into.</param>
    /// <param name="read">How many bytes the read returned (a window that reaches past the committed end is never kept for later loads).</param>
    private sealed class ReadWindow(SafeFileHandle file, long start, byte[] bytes, int read)
    {
        public SafeFileHandle File { get; } = file;

        public long Start { get; } = start;

        public byte[] Bytes { get; } = bytes;

        /// <summary>How many bytes of <see cref="Bytes"/> hold the file's.</summary>
        public int Read { get; } = read;

        /// <summary>How many bytes the window has at <paramref name="offset"/>.</summary>
        public int Available(long offset) => offset < Start || offset > Start + Read ? 0 : (int)(Start + Read - offset);

        public bool Holds(long offset, int count) => offset >= Start && offset + count <= Start + Read;

        /// <summary>Whether <paramref name="offset"/> lies in the window or at most one window's length past it (a scan going on).</summary>
        public bool IsJustBefore(long offset) => offset >= Start && offset <= Start + Read + Bytes.Length;

        /// <summary>Whether <paramref name="offset"/> lies before the window, at most one window's length or one backward read (a walk back along revisions).</summary>
        public bool IsJustAfter(long offset) => offset < Start && offset >= Start - Math.Max(Bytes.Length, BackwardReadSize);

        public ReadOnlyMemory<byte> At(long offset, int count) => new(Bytes, (int)(offset - Start), count);
    }
}
