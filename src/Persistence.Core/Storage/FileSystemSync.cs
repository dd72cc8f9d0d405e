using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Win32.SafeHandles;

namespace Persistence.Storage;

/// <summary>
/// Makes a rename durable: after <c>rename(2)</c> the new name is on disk only once the directory is
/// flushed too. .NET cannot open a directory, so on Unix this opens it through libc and flushes the
/// descriptor with <see cref="RandomAccess.FlushToDisk"/>.
/// </summary>
internal static class FileSystemSync
{
    private const int O_RDONLY = 0;

    /// <summary>
    /// Flushes the directory that holds <paramref name="path"/> to disk, where the platform allows it;
    /// best effort (Windows commits renames in its file system journal; elsewhere a failure is ignored).
    /// </summary>
    /// <returns>Whether the directory was flushed.</returns>
    public static bool FlushDirectoryOf(string path)
    {
        if (!(OperatingSystem.IsLinux() || OperatingSystem.IsMacOS() || OperatingSystem.IsFreeBSD())) return false;
        try
        {
            var directory = Path.GetDirectoryName(Path.GetFullPath(path)) ?? "/";
            var bytes = new byte[Encoding.UTF8.GetByteCount(directory) + 1];
            Encoding.UTF8.GetBytes(directory, bytes);
            var fd = Native.open(bytes, O_RDONLY);
            if (fd < 0) return false;
            using var handle = new SafeFileHandle(fd, ownsHandle: true);
            RandomAccess.FlushToDisk(handle);
            return true;
        }
        catch (Exception e) when (e is IOException or DllNotFoundException or EntryPointNotFoundException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>
    /// Puts the file's written bytes on disk, with what is needed to read them back (its size, where
    /// its blocks are), but not its modification time: <c>fdatasync(2)</c> on Linux, which spares the
    /// disk a write of the file's inode per commit (SQLite's WAL commits flush the same way).
    /// Elsewhere <see cref="RandomAccess.FlushToDisk"/>.
    /// </summary>
    /// <exception cref="IOException">The flush failed.</exception>
    public static void FlushData(SafeFileHandle handle)
    {
        if (!OperatingSystem.IsLinux() || s_noFdatasync)
        {
            RandomAccess.FlushToDisk(handle);
            return;
        }
        while (true)
        {
            int result;
            try
            {
                result = Native.fdatasync(handle);
            }
            catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
            {
                s_noFdatasync = true;
                RandomAccess.FlushToDisk(handle);
                return;
            }
            if (result == 0) return;
            var error = Marshal.GetLastPInvokeError();
            if (error == EINTR) continue;
            if (error == EINVAL)
            {
                // A file that cannot be flushed this way: as .NET does.
                RandomAccess.FlushToDisk(handle);
                return;
            }
            throw new IOException($"fdatasync failed: {Marshal.GetPInvokeErrorMessage(error)} (errno {error}).", error);
        }
    }

    /// <summary>
    /// Asks the operating system to start writing <paramref name="count"/> bytes at
    /// <paramref name="offset"/> of the file to disk now, without waiting (Linux:
    /// <c>sync_file_range</c> with SYNC_FILE_RANGE_WRITE). Only a hint that makes a later flush
    /// shorter: it guarantees nothing, does nothing elsewhere, and a failure is ignored.
    /// </summary>
    public static void StartWriteBack(SafeFileHandle handle, long offset, long count)
    {
        if (!OperatingSystem.IsLinux() || s_noSyncFileRange || count <= 0) return;
        try
        {
            _ = Native.sync_file_range(handle, offset, count, SyncFileRangeWrite);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            s_noSyncFileRange = true;
        }
        catch (ObjectDisposedException)
        {
            // The file was closed meanwhile (a pack switched this storage to the new file, or it was
            // disposed): the bytes no longer need writing soon. The caller's commit is on disk already,
            // and must not be reported failed for a hint.
        }
    }

    private const int EINTR = 4;
    private const int EINVAL = 22;
    private const uint SyncFileRangeWrite = 2;
    private static bool s_noFdatasync;
    private static bool s_noSyncFileRange;

    private static class Native
    {
        [DllImport("libc", SetLastError = true)]
        public static extern int fdatasync(SafeFileHandle fd);

        [DllImport("libc", SetLastError = true)]
        public static extern int sync_file_range(SafeFileHandle fd, long offset, long count, uint flags);

        // open is variadic (a mode follows O_CREAT); without O_CREAT the two fixed arguments are all it reads.
        [DllImport("libc", SetLastError = true)]
        public static extern int open(byte[] path, int flags);
    }
}
