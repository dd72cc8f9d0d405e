using System.Diagnostics;
using System.IO.MemoryMappedFiles;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Persistence.Storage;

/// <summary>
/// Wakes every process waiting for a flush of the data file at once when one ends: a flush count
/// in the lock file (bytes 64–67, docs/FORMAT.md "Lock file"), mapped into each writer's memory, which
/// waiters watch for a short while and then sleep on with a Linux futex, and which the flusher raises
/// (and wakes the sleepers) after every flush.
/// </summary>
/// <remarks>
/// <para>Without it the processes that wait for a flush queue for the sync lock, and each must take
/// it in turn to learn that the flush before covered it: with eight writers on two cores those
/// hand-overs, not the disk, set the pace.</para>
/// <para>A wake-up only says "look again": the durable end in the lock file's state stays the one
/// truth, and a waiter sleeps at most a few milliseconds, so a flusher that dies before it wakes
/// anyone delays the others by that much and loses nothing. Elsewhere than on Linux (or if the
/// mapping fails) there is no signal, and waiters queue for the sync lock as before.</para>
/// <para>The mapping also serves the state at the start of the lock file to its open
/// (<see cref="TryRead"/>), which a commit reads two or three times, and takes the state each flush
/// writes (<see cref="TryWrite"/>), without a system call.</para>
/// </remarks>
internal sealed class FlushSignal : IDisposable
{
    /// <summary>Where the flush count lies in the lock file: after the 64-byte state.</summary>
    public const int Offset = 64;

    /// <summary>How many bytes at the start of the lock file a writer maps.</summary>
    public const int MappedLength = 128;
    private const int FutexWait = 0;
    private const int FutexWake = 1;

    // The words after the flush count (in ints from it): how many durable commits were appended (a
    // count that wraps), how many of them the last flush took in, that count when the last flush
    // started and when it ended (see Gather), a word left zero (word 5), the flush count the running
    // flush will raise it to (see Started), how many waiters sleep on the flush count (see Raise), how
    // many commits writers appended, durable or not (see Committed), and whether a writer without the
    // mapping has the lock file open.
    private const int AppendsWord = 1;
    private const int LastGroupWord = 2;
    private const int StartAppendsWord = 3;
    private const int EndAppendsWord = 4;
    private const int FlushingWord = 6;
    private const int SleepersWord = 7;
    private const int CommitsWord = 8;
    private const int UnmappedWriterWord = 9;
    // Two ints (a u64, 8-byte aligned at offset 104): the durable end raised without the state lock
    // (see TryRaiseDurableHint).
    private const int DurableHintWord = 10;

    // The durable hint: the durable end in the low 48 bits, a tag of the data file it speaks of in the high 16 (never 0).
    private const int HintTagShift = 48;

    /// <summary>The largest durable end the hint can hold (256 TB); a larger one is raised in the state itself.</summary>
    public const long LargestHintedEnd = (1L << HintTagShift) - 1;

    /// <summary>Where the word lies that a writer without the mapping sets (see <see cref="MarkUnmappedWriter"/>).</summary>
    public const int UnmappedWriterOffset = Offset + (UnmappedWriterWord * sizeof(int));

    /// <summary>Where the durable hint lies in the lock file (for a reader without the mapping).</summary>
    public const int DurableHintOffset = Offset + (DurableHintWord * sizeof(int));

    private readonly MemoryMappedFile _file;
    private readonly MemoryMappedViewAccessor _view;
    private readonly SafeMemoryMappedViewHandle _mapping;
    private readonly nint _address;
    private readonly nint _syscall;
    private int _wakeCalls;

    private FlushSignal(MemoryMappedFile file, MemoryMappedViewAccessor view, nint syscall)
    {
        _file = file;
        _view = view;
        _mapping = view.SafeMemoryMappedViewHandle;
        _syscall = syscall;
        _address = _mapping.DangerousGetHandle() + (nint)view.PointerOffset + Offset;
    }

    /// <summary>The flush count in the mapped lock file; only touched between <see cref="Use"/> and <see cref="Done"/>.</summary>
    private ref int Word => ref Unsafe.AddByteOffset(ref Unsafe.NullRef<int>(), _address);

    /// <summary>The first <paramref name="length"/> bytes of the lock file (the state, before the flush count); between Use and Done.</summary>
    private Span<byte> MappedState(int length)
    {
        if (length > Offset) throw new ArgumentOutOfRangeException(nameof(length), "Only the state before the flush count is read or written through the mapping.");
        return MemoryMarshal.CreateSpan(ref Unsafe.AddByteOffset(ref Unsafe.NullRef<byte>(), _address - Offset), length);
    }

    /// <summary>The word <paramref name="index"/> ints after the flush count.</summary>
    private ref int At(int index) => ref Unsafe.Add(ref Word, index);

    /// <summary>Maps the flush count of the lock file open as <paramref name="lockFile"/>; null where futexes are not available.</summary>
    public static FlushSignal? TryCreate(SafeFileHandle lockFile)
    {
        if (!OperatingSystem.IsLinux()) return null;
        nint syscall = RuntimeInformation.ProcessArchitecture switch
        {
            Architecture.X64 => 202,
            Architecture.Arm64 => 98,
            _ => 0,
        };
        if (syscall == 0) return null;
        MemoryMappedFile? file = null;
        try
        {
            // Grows the lock file to the mapped length if it is shorter (the state is 64 bytes).
            var length = Math.Max(MappedLength, RandomAccess.GetLength(lockFile));
            file = MemoryMappedFile.CreateFromFile(lockFile, null, length, MemoryMappedFileAccess.ReadWrite, HandleInheritability.None, leaveOpen: true);
            var view = file.CreateViewAccessor(0, MappedLength, MemoryMappedFileAccess.ReadWrite);
            return new FlushSignal(file, view, syscall);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException)
        {
            file?.Dispose();
            return null;
        }
    }

    /// <summary>How many wake-up calls this open made (for tests).</summary>
    internal int WakeCalls => Volatile.Read(ref _wakeCalls);

    /// <summary>How many waiters the lock file says sleep on the flush count (for tests).</summary>
    internal int Sleepers => TryReadWord(SleepersWord, out var sleepers) ? sleepers : 0;

    /// <summary>The flush count now: read it before looking at the durable end, then pass it to <see cref="Wait"/>.</summary>
    public int Count => TryReadWord(0, out var count) ? count : 0;

    /// <summary>
    /// Waits until the flush count is no longer <paramref name="seen"/>, for at most
    /// <paramref name="timeoutMicroseconds"/> asleep; for the first <paramref name="spinMicroseconds"/>
    /// it stays ready instead, giving up the processor to whoever else is ready and looking at the
    /// count between turns.
    /// </summary>
    /// <remarks>
    /// A writer that stays ready goes on the moment the count moves: no wake-up call from the flusher
    /// and no trip through the scheduler's wake-up, which on a VM also costs an interrupt between
    /// processors. A flush that outlasts the spin (a slow disk) costs its waiters that much processor
    /// time handed to others, then they sleep as before.
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Wait(int seen, int timeoutMicroseconds, int spinMicroseconds = 0)
    {
        if (!Use()) return;
        try
        {
            if (spinMicroseconds > 0 && MovedWhileYielding(seen, spinMicroseconds)) return;
            // Counted before the sleep looks at the count, so a flusher that raises the count after
            // that look sees the sleeper and wakes it (see Raise).
            Interlocked.Increment(ref At(SleepersWord));
            try
            {
                // Any result will do: woken, the count already moved on, timed out or interrupted; the caller looks again.
                Sleep(seen, timeoutMicroseconds * 1000L);
            }
            finally
            {
                Interlocked.Decrement(ref At(SleepersWord));
            }
        }
        finally
        {
            Done();
        }
    }

    /// <summary>Whether the flush count moved on from <paramref name="seen"/> within <paramref name="microseconds"/>, yielding the processor between looks; between Use and Done.</summary>
    private bool MovedWhileYielding(int seen, int microseconds)
    {
        var deadline = DeadlineAfter(microseconds);
        while (Volatile.Read(ref Word) == seen)
        {
            if (Stopwatch.GetTimestamp() >= deadline) return false;
            Thread.Yield();
        }
        return true;
    }

    /// <summary>The timestamp <paramref name="microseconds"/> from now, for the waits that stay ready.</summary>
    private static long DeadlineAfter(int microseconds) => Stopwatch.GetTimestamp() + (microseconds * Stopwatch.Frequency / 1_000_000);

    /// <summary>
    /// Whether a flush is running that will raise the flush count from <paramref name="seen"/>: then a
    /// writer whose commit it does not cover sleeps on the count without asking for the sync turn,
    /// which it would not get. A hint: a flusher that dies leaves it set, so a writer that already
    /// slept on <paramref name="seen"/> once asks for the turn anyway.
    /// </summary>
    public bool IsFlushing(int seen) => TryReadWord(FlushingWord, out var flushing) && flushing == unchecked(seen + 1);

    /// <summary>With the sync turn held, before a flush: notes that one is running (see <see cref="IsFlushing"/>).</summary>
    public void Started() => CopyWord(0, FlushingWord, 1);

    /// <summary>
    /// Copies the start of the lock file (the state) from the mapping, which shows every write of every
    /// process as the file does, without a system call; false once the signal is disposed.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public bool TryRead(Span<byte> into)
    {
        if (!Use()) return false;
        try
        {
            MappedState(into.Length).CopyTo(into);
            return true;
        }
        finally
        {
            Done();
        }
    }

    /// <summary>
    /// Writes the state at the start of the lock file through the mapping, which every read of the file
    /// sees as it would a write, without a system call (the caller holds the state lock); false once
    /// the signal is disposed.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public bool TryWrite(ReadOnlySpan<byte> state)
    {
        if (!Use()) return false;
        try
        {
            state.CopyTo(MappedState(state.Length));
            return true;
        }
        finally
        {
            Done();
        }
    }

    /// <summary>
    /// Raises the flush count and wakes every waiter. Called by a flusher after it recorded the new
    /// durable end and gave up the sync turn, so a waiter that found the turn taken either sees the
    /// count move on or is woken; the count is raised atomically, as two flushers may raise it at once.
    /// With no one asleep (a writer alone) there is no one to wake and no system call: a waiter counts
    /// itself before its sleep reads the count, and the flusher reads the sleepers after it raised the
    /// count (both atomic, so both in order), so either the flusher sees the sleeper or the sleep sees
    /// the new count and returns at once. A sleeper that died leaves its count behind, which costs
    /// only wake-ups no one needed.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Raise()
    {
        if (!Use()) return;
        try
        {
            Interlocked.Increment(ref Word);
            if (Volatile.Read(ref At(SleepersWord)) != 0) WakeAll();
        }
        finally
        {
            Done();
        }
    }

    /// <summary>Counts a durable commit appended (called before its writer waits for the disk; see <see cref="Gather"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Appended()
    {
        if (!Use()) return;
        try
        {
            Interlocked.Increment(ref At(AppendsWord));
        }
        finally
        {
            Done();
        }
    }

    /// <summary>
    /// With the sync turn held, before a flush: waits at most <paramref name="maxMicroseconds"/> for the
    /// writers the last flush released to append their next transactions (as many as that flush took
    /// in), so that this flush takes them in too, then notes where this flush starts.
    /// </summary>
    /// <remarks>
    /// <para>Without it, writers settle into two groups that take turns: the one whose flush just ended
    /// prepares its next transactions while the other's flush runs, and each flush takes in half of
    /// them. Waiting for the released group to come back makes one flush take in all. A writer alone
    /// never waits (the last flush took in one transaction, its own); when fewer writers come back than
    /// the last flush took in, the wait ends at the limit and the next one expects fewer.</para>
    /// <para>The flusher stays ready while it waits, giving up the processor to the writers it waits
    /// for and looking at the count between turns, rather than sleeping until the last append wakes it:
    /// the wait is short (a limit of 150 µs), and the writers it waits for are the ones that need the
    /// processor. 8 processes × 200 transactions each on this project's 2-core machine (the harness's
    /// W7), 9 runs each: 26,300 txn/s (median) against 22,200 asleep, woken by the last append.</para>
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Gather(int maxMicroseconds)
    {
        if (!Use()) return;
        try
        {
            var lastGroup = Volatile.Read(ref At(LastGroupWord));
            var released = Volatile.Read(ref At(EndAppendsWord));
            // A writer alone (the last flush took in its own commit) finds the group complete at once and does not look at the clock.
            if (maxMicroseconds > 0 && Volatile.Read(ref At(AppendsWord)) - released < lastGroup)
            {
                var deadline = DeadlineAfter(maxMicroseconds);
                do Thread.Yield();
                while (Volatile.Read(ref At(AppendsWord)) - released < lastGroup && Stopwatch.GetTimestamp() < deadline);
            }
            var now = Volatile.Read(ref At(AppendsWord));
            Volatile.Write(ref At(LastGroupWord), Math.Max(1, now - Volatile.Read(ref At(StartAppendsWord))));
            Volatile.Write(ref At(StartAppendsWord), now);
        }
        finally
        {
            Done();
        }
    }

    /// <summary>
    /// The durable end of the data file tagged <paramref name="tag"/> that writers raised in the lock
    /// file without the state lock (see <see cref="TryRaiseDurableHint"/>); -1 if none is there for that
    /// file, or once the signal is disposed.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public long DurableHint(ushort tag)
    {
        if (!Use()) return -1;
        try
        {
            return HintedEnd(Volatile.Read(ref HintWord), tag);
        }
        finally
        {
            Done();
        }
    }

    /// <summary>The durable end a hint word holds for the data file tagged <paramref name="tag"/>; -1 if it holds none for that file.</summary>
    public static long HintedEnd(long hint, ushort tag) =>
        hint != 0 && (ushort)((ulong)hint >> HintTagShift) == tag ? hint & LargestHintedEnd : -1;

    /// <summary>
    /// Raises the durable end of the data file tagged <paramref name="tag"/> in the lock file to
    /// <paramref name="end"/> (at most <see cref="LargestHintedEnd"/>), with one atomic exchange instead
    /// of the state lock; a hint for another file is replaced. False once the signal is disposed.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public bool TryRaiseDurableHint(ushort tag, long end)
    {
        if (!Use()) return false;
        try
        {
            var raised = ((long)tag << HintTagShift) | end;
            ref var word = ref HintWord;
            var current = Volatile.Read(ref word);
            // A hint of another file, or none, reads as -1 and is replaced.
            while (HintedEnd(current, tag) < end)
            {
                var seen = Interlocked.CompareExchange(ref word, raised, current);
                if (seen == current) break;
                current = seen;
            }
            return true;
        }
        finally
        {
            Done();
        }
    }

    /// <summary>Clears the durable hint (the caller holds the state lock and has just written the state, which holds what the hint held).</summary>
    public void ClearDurableHint()
    {
        if (!Use()) return;
        try
        {
            Volatile.Write(ref HintWord, 0);
        }
        finally
        {
            Done();
        }
    }

    private ref long HintWord => ref Unsafe.As<int, long>(ref At(DurableHintWord));

    /// <summary>
    /// Counts a commit appended, durable or not (called by its writer after the append, before the
    /// commit returns), and returns the count it raised it to; null once the signal is disposed.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public int? Committed()
    {
        if (!Use()) return null;
        try
        {
            return Interlocked.Increment(ref At(CommitsWord));
        }
        finally
        {
            Done();
        }
    }

    /// <summary>
    /// How many commits writers have counted (see <see cref="Committed"/>), a count that wraps; false
    /// when it cannot be trusted to count them all (a writer without the mapping opened the lock file,
    /// see <see cref="MarkUnmappedWriter"/>) or once the signal is disposed.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public bool TryReadCommits(out int commits)
    {
        commits = 0;
        if (!Use()) return false;
        try
        {
            commits = Volatile.Read(ref At(CommitsWord));
            return Volatile.Read(ref At(UnmappedWriterWord)) == 0;
        }
        finally
        {
            Done();
        }
    }

    /// <summary>
    /// Marks the lock file as open by a writer that has no mapping of it (so does not count its
    /// commits): from then on no one trusts the count to tell whether anything was committed.
    /// </summary>
    public static void MarkUnmappedWriter(SafeFileHandle lockFile)
    {
        try
        {
            RandomAccess.Write(lockFile, BitConverter.GetBytes(1), UnmappedWriterOffset);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException)
        {
            // Then the count cannot tell anyone anything wrong either: a lock file that cannot be
            // written here cannot be mapped for writing elsewhere.
        }
    }

    /// <summary>With the sync turn held, after a flush: notes how many commits had been appended when it ended.</summary>
    public void Flushed() => CopyWord(AppendsWord, EndAppendsWord, 0);

    /// <summary>Word <paramref name="index"/> (see <see cref="At"/>) now; false once the signal is disposed.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private bool TryReadWord(int index, out int value)
    {
        value = 0;
        if (!Use()) return false;
        try
        {
            value = Volatile.Read(ref At(index));
            return true;
        }
        finally
        {
            Done();
        }
    }

    /// <summary>Sets word <paramref name="to"/> to word <paramref name="from"/> plus <paramref name="add"/>; nothing once the signal is disposed.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void CopyWord(int from, int to, int add)
    {
        if (!Use()) return;
        try
        {
            Volatile.Write(ref At(to), unchecked(Volatile.Read(ref At(from)) + add));
        }
        finally
        {
            Done();
        }
    }

    /// <summary>
    /// Keeps the mapping alive while it is used, whatever thread disposes the storage meanwhile; false
    /// once it is disposed (then the signal does nothing: the caller's next look at the lock file fails).
    /// </summary>
    private bool Use()
    {
        var added = false;
        try
        {
            _mapping.DangerousAddRef(ref added);
        }
        catch (ObjectDisposedException)
        {
            return false;
        }
        return added;
    }

    private void Done() => _mapping.DangerousRelease();

    /// <summary>Sleeps while the flush count is <paramref name="seen"/>, at most <paramref name="nanoseconds"/>; between Use and Done.</summary>
    private void Sleep(int seen, long nanoseconds)
    {
        var timeout = new Timespec { Seconds = nanoseconds / 1_000_000_000, Nanoseconds = nanoseconds % 1_000_000_000 };
        _ = Futex(_syscall, _address, FutexWait, seen, ref timeout, 0, 0);
    }

    /// <summary>Wakes every sleeper on the flush count; between Use and Done.</summary>
    private void WakeAll()
    {
        Interlocked.Increment(ref _wakeCalls);
        var none = default(Timespec);
        _ = Futex(_syscall, _address, FutexWake, int.MaxValue, ref none, 0, 0);
    }

    public void Dispose()
    {
        // The view's handle goes first: an accessor whose handle is closed unmaps without writing the
        // page back (msync), which the state never needs (FORMAT.md: written in place, never flushed),
        // and which cost a quarter of a millisecond a close. A thread between Use and Done keeps the
        // mapping until its Done.
        _mapping.Dispose();
        _view.Dispose();
        _file.Dispose();
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct Timespec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    // syscall(2) is variadic; on x64 and arm64 Linux integer and pointer arguments are passed like fixed ones.
    [DllImport("libc", EntryPoint = "syscall", SetLastError = true)]
    private static extern nint Futex(nint number, nint address, int operation, int value, ref Timespec timeout, nint address2, int value3);
}
