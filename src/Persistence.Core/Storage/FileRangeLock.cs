using System.ComponentModel;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Persistence.Storage;

/// <summary>
/// Advisory locks on single bytes of a file, owned by one open file (a <see cref="FileStream"/>):
/// two opens conflict whether they are in one process or two, and the operating system drops a
/// lock when its owner's file is closed, also when the process is killed.
/// </summary>
/// <remarks>
/// <para>On Linux these are open file description locks (<c>fcntl F_OFD_SETLKW</c>, Linux 3.15 and
/// later). Classic POSIX locks would not do: they belong to the process, so two storages on one file
/// in one process would not exclude each other, and closing any handle of the file in the process
/// would silently drop them all. A waiter sleeps in the kernel and is woken when the lock is free.</para>
/// <para>Elsewhere .NET only offers a non-blocking, exclusive <see cref="FileStream.Lock"/> (Windows);
/// a waiter polls it with growing pauses, and a process-wide semaphore per file and byte makes the
/// storages of one process take turns. Shared locks are exclusive there, and an open without write
/// access (a reader's) takes only its process's turn, as fcntl needs write access for that lock. macOS has no byte-range locks
/// in .NET at all: there only the process-wide semaphores are taken, and writers open the lock file
/// exclusively instead (see <see cref="FileStorageLock"/>), so one process at a time writes.</para>
/// </remarks>
internal sealed class FileRangeLock
{
    private const int F_OFD_GETLK = 36;
    private const int F_OFD_SETLK = 37;
    private const int F_OFD_SETLKW = 38;
    private const short F_RDLCK = 0;
    private const short F_WRLCK = 1;
    private const short F_UNLCK = 2;
    private const int EINTR = 4;
    private const int EAGAIN = 11;
    private const int EACCES = 13;
    private const int EINVAL = 22;

    // Set when the kernel refuses open file description locks (before Linux 3.15): then poll as elsewhere.
    private static volatile bool s_noOfdLocks;

    private static readonly Lock FallbackGate = new();
    private static readonly Dictionary<string, SemaphoreSlim> FallbackTurns = [];

    private readonly FileStream _file;
    // Taken once by the owner: every use of FileStream.SafeFileHandle costs a seek system call.
    private readonly SafeFileHandle _handle;
    private readonly string _path;

    /// <summary>Locks bytes of <paramref name="file"/> (opened from <paramref name="path"/>, a full path), whose handle is <paramref name="handle"/>.</summary>
    public FileRangeLock(FileStream file, SafeFileHandle handle, string path)
    {
        _file = file;
        _handle = handle;
        _path = path;
    }

    /// <summary>Whether <see cref="IsHeldByOthers"/> can tell (open file description locks, on Linux); elsewhere it says true.</summary>
    public static bool CanTellHolders => UseOfdLocks;

    /// <summary>Whether a lock on byte <paramref name="offset"/> is held through another open of the file; null where that cannot be told.</summary>
    public bool? HeldByOthers(long offset)
    {
        if (!UseOfdLocks || _handle.IsClosed) return null;
        var flock = new Flock { Type = F_WRLCK, Whence = 0, Start = offset, Length = 1 };
        if (Native.fcntl(_handle, F_OFD_GETLK, ref flock) != 0) return null;
        return flock.Type != F_UNLCK;
    }

    private static bool UseOfdLocks => OperatingSystem.IsLinux() && !s_noOfdLocks
        && RuntimeInformation.ProcessArchitecture is Architecture.X64 or Architecture.Arm64;

    /// <summary>Waits until byte <paramref name="offset"/> is locked by this file.</summary>
    /// <param name="offset">The byte.</param>
    /// <param name="exclusive">An exclusive (write) lock; false for a shared (read) lock, which needs only read access.</param>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Enter(long offset, bool exclusive)
    {
        if (UseOfdLocks && TryOfdWait(offset, exclusive ? F_WRLCK : F_RDLCK)) return;
        var turn = FallbackTurn(offset);
        turn.Wait();
        try
        {
            for (var attempt = 0; !TryFallbackLock(offset); attempt++)
                Pause(attempt);
        }
        catch
        {
            turn.Release();
            throw;
        }
    }

    /// <summary>Locks byte <paramref name="offset"/> if no one else holds it; false otherwise.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public bool TryEnter(long offset, bool exclusive)
    {
        if (UseOfdLocks && TryOfdLock(offset, exclusive ? F_WRLCK : F_RDLCK) is { } taken) return taken;
        var turn = FallbackTurn(offset);
        if (!turn.Wait(0)) return false;
        if (TryFallbackLock(offset)) return true;
        turn.Release();
        return false;
    }

    /// <summary>
    /// Where locks can be shared by several opens (Linux: open file description locks), locks byte
    /// <paramref name="offset"/> and returns true: shared waiting for it if need be, or exclusively if no
    /// other open holds it (an open that holds it shared turns its lock exclusive). Elsewhere, where a
    /// shared lock would be exclusive, returns false and takes nothing.
    /// </summary>
    public bool TryEnterWhereShared(long offset, bool exclusive)
    {
        if (!UseOfdLocks) return false;
        if (!exclusive) return TryOfdWait(offset, F_RDLCK);
        return TryOfdLock(offset, F_WRLCK) ?? false;
    }

    /// <summary>
    /// Whether another open holds a lock on byte <paramref name="offset"/> (one this open's exclusive
    /// lock would wait for), without taking anything; true where it cannot be told (no open file
    /// description locks).
    /// </summary>
    public bool IsHeldByOthers(long offset) => HeldByOthers(offset) ?? true;

    /// <summary>One try at an open file description lock: whether it was taken, or null when the kernel has none (then it is not asked again).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private bool? TryOfdLock(long offset, short type)
    {
        var flock = new Flock { Type = type, Whence = 0, Start = offset, Length = 1 };
        if (Native.fcntl(_handle, F_OFD_SETLK, ref flock) == 0) return true;
        var error = Marshal.GetLastPInvokeError();
        if (error is EAGAIN or EACCES) return false;
        if (error != EINVAL) throw LockError(error);
        s_noOfdLocks = true;
        return null;
    }

    /// <summary>Releases the lock on byte <paramref name="offset"/> taken by <see cref="Enter"/> or <see cref="TryEnter"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Exit(long offset)
    {
        try
        {
            if (_handle.IsClosed) return;
            if (UseOfdLocks)
            {
                var flock = new Flock { Type = F_UNLCK, Whence = 0, Start = offset, Length = 1 };
                if (Native.fcntl(_handle, F_OFD_SETLK, ref flock) != 0)
                    throw LockError(Marshal.GetLastPInvokeError());
                return;
            }
            try
            {
                if (!OperatingSystem.IsMacOS() && _file.CanWrite) _file.Unlock(offset, 1);
            }
            finally
            {
                FallbackTurn(offset).Release();
            }
        }
        catch (ObjectDisposedException)
        {
            // The storage was disposed meanwhile: closing the file released the lock.
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private bool TryOfdWait(long offset, short type)
    {
        var flock = new Flock { Type = type, Whence = 0, Start = offset, Length = 1 };
        while (true)
        {
            if (Native.fcntl(_handle, F_OFD_SETLKW, ref flock) == 0) return true;
            var error = Marshal.GetLastPInvokeError();
            // The runtime's own signals (e.g. to suspend threads for a collection) interrupt the wait.
            if (error == EINTR) continue;
            if (error == EINVAL)
            {
                s_noOfdLocks = true;
                return false;
            }
            throw LockError(error);
        }
    }

    private bool TryFallbackLock(long offset)
    {
        // FileStream.Lock is exclusive and needs write access (fcntl on Unix): a reader there only takes its turn in this process.
        if (OperatingSystem.IsMacOS() || !_file.CanWrite) return true;
        try
        {
            _file.Lock(offset, 1);
            return true;
        }
        catch (IOException)
        {
            return false;
        }
    }

    private SemaphoreSlim FallbackTurn(long offset)
    {
        var key = _path + "#" + offset;
        lock (FallbackGate)
        {
            if (!FallbackTurns.TryGetValue(key, out var turn))
                FallbackTurns.Add(key, turn = new SemaphoreSlim(1, 1));
            return turn;
        }
    }

    private static void Pause(int attempt)
    {
        // A commit holds the lock for well under a millisecond: spin briefly, then sleep longer and longer.
        if (attempt < 20) Thread.SpinWait(50 << Math.Min(attempt, 6));
        else if (attempt < 40) Thread.Yield();
        else Thread.Sleep(Math.Min(attempt - 39, 10));
    }

    private PersistenceException LockError(int error) => new(
        $"Locking {_path} failed ({new Win32Exception(error).Message}, errno {error}). " +
        "The file system may not support file locks (some network file systems do not); keep the database on a local disk.");

    [StructLayout(LayoutKind.Sequential)]
    private struct Flock
    {
        public short Type;
        public short Whence;
        public long Start;
        public long Length;
        public int Pid;
    }

    private static class Native
    {
        // fcntl is variadic; on x64 and arm64 Linux a pointer in the third argument is passed like a fixed one.
        [DllImport("libc", SetLastError = true)]
        public static extern int fcntl(SafeFileHandle fd, int cmd, ref Flock flock);
    }
}
