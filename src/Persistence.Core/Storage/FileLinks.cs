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
    private const int AT_FDCWD = -100;
    private const uint STATX_NLINK = 0x4;
    private const uint STATX_INO = 0x100;
    // struct statx: 256 bytes on every architecture; stx_mask at 0, stx_nlink (u32) at 16, stx_ino (u64)
    // at 32, stx_dev_major and stx_dev_minor (u32 each, read as one u64) at 136.
    private const int StatxSize = 256;
    private const int NlinkOffset = 16;
    private const int InoOffset = 32;
    private const int DevOffset = 136;
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

    /// <summary>
    /// True when <paramref name="path"/> names the very file open as <paramref name="handle"/> (the same
    /// device and inode; Linux), false when it names another or none, or this cannot be told. A rename
    /// over the file drops its link count before the path stops leading to it, so a file that looks
    /// deleted may still be the one at its path for a moment (a pack's rename in progress).
    /// </summary>
    public static unsafe bool IsAtPath(SafeFileHandle handle, string path)
    {
        if (!OperatingSystem.IsLinux() || s_noStatx) return false;
        var open = stackalloc byte[StatxSize];
        var named = stackalloc byte[StatxSize];
        var name = System.Text.Encoding.UTF8.GetBytes(path + "\0");
        byte empty = 0;
        try
        {
            fixed (byte* pathBytes = name)
            {
                if (Native.statx(handle, &empty, AT_EMPTY_PATH, STATX_INO, open) != 0) return false;
                if (Native.statx(AT_FDCWD, pathBytes, 0, STATX_INO, named) != 0) return false;
            }
        }
        catch (Exception e) when (e is ObjectDisposedException or DllNotFoundException or EntryPointNotFoundException)
        {
            return false;
        }
        return (*(uint*)open & STATX_INO) != 0 && (*(uint*)named & STATX_INO) != 0 &&
            *(ulong*)(open + InoOffset) == *(ulong*)(named + InoOffset) && *(ulong*)(open + DevOffset) == *(ulong*)(named + DevOffset);
    }

    private static unsafe class Native
    {
        [DllImport("libc", SetLastError = true)]
        public static extern int statx(SafeFileHandle dirfd, byte* path, int flags, uint mask, byte* buffer);

        [DllImport("libc", SetLastError = true)]
        public static extern int statx(int dirfd, byte* path, int flags, uint mask, byte* buffer);
    }
}
