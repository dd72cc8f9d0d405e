using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Persistence.Storage;

/// <summary>
/// Tells whether an open file still has a name: a file deleted, or replaced by another renamed over its
/// path, stays readable and writable through a handle opened before, but what is written to it is gone
/// once the handle closes. SQLite refuses to write a database file in that state for the same reason.
/// </summary>
internal static class FileLinks
{
    private const int AT_EMPTY_PATH = 0x1000;
    private const uint STATX_NLINK = 0x4;
    // struct statx: 256 bytes on every architecture; stx_mask at 0, stx_nlink (u32) at 16.
    private const int StatxSize = 256;
    private const int NlinkOffset = 16;
    private static bool s_noStatx;

    /// <summary>
    /// True when the file open as <paramref name="handle"/> has no name left in any directory (Linux, by
    /// its link count); false while it has one, once the handle is closed, and wherever it cannot be told.
    /// </summary>
    public static unsafe bool IsDeleted(SafeFileHandle handle)
    {
        if (!OperatingSystem.IsLinux() || s_noStatx) return false;
        var buffer = stackalloc byte[StatxSize];
        byte empty = 0;
        try
        {
            if (Native.statx(handle, &empty, AT_EMPTY_PATH, STATX_NLINK, buffer) != 0) return false;
        }
        catch (ObjectDisposedException)
        {
            // Closed by a Dispose racing a commit's look before its lock: the commit finds it disposed.
            return false;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            // A C library without statx (glibc before 2.28): not told.
            s_noStatx = true;
            return false;
        }
        return (*(uint*)buffer & STATX_NLINK) != 0 && *(uint*)(buffer + NlinkOffset) == 0;
    }

    private static unsafe class Native
    {
        [DllImport("libc", SetLastError = true)]
        public static extern int statx(SafeFileHandle dirfd, byte* path, int flags, uint mask, byte* buffer);
    }
}
