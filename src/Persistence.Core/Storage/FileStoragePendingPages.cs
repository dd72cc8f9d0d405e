using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Persistence.Storage;

/// <summary>
/// The dense pages of an index checkpoint that an index has not read yet: where each page's offsets lie
/// in the checkpoint file, which stays open (the inode, whatever renames another writer's checkpoint
/// makes over its name) until the last of them is read or the index lets them go.
/// </summary>
/// <remarks>
/// <para>Opening reads the whole checkpoint once to check it (its checksum, its pages' forms, a sample
/// of its entries against the data file) through one reused buffer, but a dense page (64 KB) becomes
/// an array only when something first looks in it. On a machine where fresh memory is dear (every page
/// of it faulted in and zeroed), allocating all of them made up most of an open: 100,000 objects' 13
/// pages were 4 of the 6 ms a second open in a process took.</para>
/// <para>The file is the one the checkpoint was checked in: a new checkpoint is written to a temporary
/// file and renamed over the name, never written in place. The index reads a page under
/// <see cref="Gate"/>, so two threads that look in the same page (the commit path reads the index
/// without the storage's state lock) read it once.</para>
/// </remarks>
internal sealed class FileStoragePendingPages : IDisposable
{
    private readonly SafeFileHandle _file;
    private readonly string _path;
    // For each page of the checkpoint: where its offsets start in the file, 0 if it is not pending.
    private readonly long[] _at;
    private readonly int _lastPageEntries;
    private int _remaining;
    private bool _closed;

    /// <summary>
    /// Pages of the checkpoint at <paramref name="path"/>, open as <paramref name="file"/> (which this
    /// takes over); <paramref name="at"/> says where each page's offsets start (0 for a page that is not
    /// pending), and all but the last page have <see cref="FileStorageIndex.PageSize"/> of them.
    /// </summary>
    public FileStoragePendingPages(SafeFileHandle file, string path, long[] at, int lastPageEntries)
    {
        _file = file;
        _path = path;
        _at = at;
        _lastPageEntries = lastPageEntries;
        foreach (var position in at)
        {
            if (position != 0) _remaining++;
        }
    }

    /// <summary>Taken while a page is read and published, and by <see cref="Dispose"/>.</summary>
    public object Gate => _at;

    /// <summary>How many pages are still to be read.</summary>
    public int Remaining => _remaining;

    /// <summary>The number of pages the checkpoint has (pending or not).</summary>
    public int PageCount => _at.Length;

    /// <summary>Whether page <paramref name="p"/> is still to be read; under <see cref="Gate"/>.</summary>
    public bool Contains(int p) => (uint)p < (uint)_at.Length && _at[p] != 0;

    /// <summary>
    /// Reads page <paramref name="p"/> into a new dense page and marks it read; under <see cref="Gate"/>,
    /// for a page <see cref="Contains"/> says is pending.
    /// </summary>
    /// <exception cref="ObjectDisposedException">The storage was closed.</exception>
    /// <exception cref="PersistenceException">The checkpoint could not be read.</exception>
    public long[] Take(int p)
    {
        if (_closed) throw new ObjectDisposedException(nameof(FileStorage), $"The storage was disposed, which closed its index checkpoint {_path}.");
        var page = new long[FileStorageIndex.PageSize];
        var bytes = MemoryMarshal.AsBytes(page.AsSpan(0, p == _at.Length - 1 ? _lastPageEntries : FileStorageIndex.PageSize));
        try
        {
            if (FileStorage.ReadAt(_file, _at[p], bytes) < bytes.Length) throw new EndOfStreamException("the checkpoint is shorter than when it was opened");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new PersistenceException(
                $"Could not read the index checkpoint {_path}, which this storage was opened with: {PersistenceException.Sentence(e)} " +
                "Nothing in the database is affected. Dispose the storage and open it again (opening checks the checkpoint, and scans the data file instead where it does not hold).", e);
        }
        if (!BitConverter.IsLittleEndian) BinaryPrimitives.ReverseEndianness(page, page);
        _at[p] = 0;
        if (--_remaining == 0) _file.Dispose();
        return page;
    }

    /// <summary>Closes the checkpoint file; a page not read by then can no longer be (<see cref="Take"/> throws).</summary>
    public void Dispose()
    {
        lock (Gate)
        {
            if (_closed) return;
            _closed = true;
            _file.Dispose();
        }
    }
}
