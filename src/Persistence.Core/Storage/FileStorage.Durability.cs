using System.Diagnostics;
using System.Runtime.CompilerServices;

namespace Persistence.Storage;

// Group commit: how a committed transaction reaches the disk.
//
// A commit appends its transaction under the commit lock and releases the lock before it waits for
// the disk, so the next commits append meanwhile. Within a process the waiters elect a leader: the
// leader flushes (fsync) and every waiter whose transaction ends at or before the offset that flush
// covered returns without a flush of its own; the others elect the next leader. Across processes the
// leaders take turns through the sync lock of the lock file and record there the offset the last
// flush covered, so a process whose transaction another process's flush already covered skips its own.
// A writer that no other writer shares the database with flushes without the turn (OthersMayFlush).
// On Linux a leader that finds the sync turn taken waits on the flush signal (FlushSignal.cs: ready
// for a short while, yielding the processor, then asleep), which the flusher raises when it is done,
// so every waiter looks at the durable end at once and only those the flush did not cover contend
// for the next one; elsewhere the leaders queue for the sync lock.
// There, too, a flusher first waits briefly for the writers the last flush released to append their
// next commits (FlushSignal.Gather), so that one flush takes in all the writers rather than half.
//
// Why one flush covers others' transactions: fsync writes every byte of the file that was written
// before it started, whoever wrote it. A leader records as covered only the end of the complete
// transactions it knew of before it started (its own, and those it read from the file), so every
// byte it records was written before its flush began.
//
// Visibility before durability: a transaction is visible (to this process's readers at once, to
// others when they catch up) as soon as it is appended, before its flush returns. A reader may
// therefore see a transaction that a system crash in the next milliseconds would lose; its committer
// has not been told it is committed yet, so nothing acknowledged is lost. Anything committed on top of
// it is safe too: that later transaction sits after it in the file, and the flush that makes the later
// one durable makes every byte before it durable (the prefix property of an append-only file), so a
// durable transaction never depends on a lost one. What a reader does outside the database with such
// a read (show it, send it elsewhere) is not covered: it saw a commit that was still in flight.
public sealed partial class FileStorage
{
    // The longest a flusher waits for the writers the last flush released (FlushSignal.Gather), and
    // no longer than this instance's last flush took, so that waiting in vain costs at most half the
    // flushes one after another. 8 processes × 200 transactions each on this project's 2-core machine:
    // 13,400 txn/s (median of 8 runs) with a 150 µs limit, 10,800 without waiting; 80 µs and 250 µs did
    // about as well as 150. Since waiters and the flusher stay ready instead of sleeping (the harness's
    // W7, 6 runs each): 25,700 with 150 µs, 25,400 without waiting, 24,700 with 60 µs, no difference
    // the runs' spread (21–31k) can show.
    private const int GatherLimitMicroseconds = 150;

    private int _lastFlushMicroseconds;

    // How long a writer whose commit another process is flushing stays ready for that flush's end
    // before it sleeps (FlushSignal.Wait). 8 processes × 200 transactions each on this project's
    // 2-core machine (the harness's W7), 9 runs each: 25,100 txn/s (median) with 300 µs, 21,900
    // sleeping at once, 24,300 with 500 µs.
    private const int FlushWaitSpinMicroseconds = 300;

    // How long a look at whether other writers have the database open holds (see OthersMayFlush).
    private const int OthersCheckMilliseconds = 10;
    private long _othersCheckDue;
    private bool _othersOpen;

    private readonly object _syncGate = new();
    // This instance knows the data file is on disk up to here.
    private long _durableEnd;
    // A thread of this instance is flushing (the leader); the others wait on _syncGate.
    private bool _syncing;
    private string? _syncFailure;
    // Whether the lock file knows a durable end (see CompleteCommit).
    private volatile bool _durableEndKnown;
    private long _flushCount;
    // The lock file's count of commits up to which every one is known here (see KnowsEveryCommit);
    // NoKnownCommits (no count is that) before the first catch-up or after one that stopped early.
    private long _knownCommits = NoKnownCommits;
    private const long NoKnownCommits = long.MinValue;
    private long _catchUps;

    /// <summary>How many times this instance read the end of the file for news (for tests).</summary>
    internal long CatchUps => Interlocked.Read(ref _catchUps);

    /// <summary>How many bytes this instance's catch-ups have read from its current data file (for tests).</summary>
    internal long CatchUpBytesRead
    {
        get
        {
            lock (_catchUpLock) return _catchUpScanner?.BytesRead ?? 0;
        }
    }

    /// <summary>How many times this instance flushed the data file to disk (for tests of group commit).</summary>
    internal long FlushCount => Interlocked.Read(ref _flushCount);

    /// <summary>
    /// Puts on disk every transaction this instance has committed or read (and every byte before
    /// them) before it returns. Commits do this themselves unless
    /// <see cref="FileStorageOptions.Durability"/> is <see cref="Durability.Relaxed"/>: call it at the
    /// end of a relaxed bulk load, or wherever its commits must be durable from then on. Does nothing
    /// on a read-only instance.
    /// </summary>
    /// <exception cref="PersistenceException">The flush failed; what was committed since the last
    /// flush may be lost, and this instance commits nothing more (open the file again).</exception>
    public void Flush()
    {
        ThrowIfDisposed();
        if (IsReadOnly) return;
        // The epoch first: a pack that switches files in between makes this an earlier epoch's end, already on disk.
        var epoch = FileEpoch;
        MakeDurable(Volatile.Read(ref _end), epoch);
    }

    /// <summary>
    /// Returns once the data file is on disk at least up to <paramref name="end"/>, an offset in the
    /// file of <paramref name="epoch"/> (see FileStorage.Switch.cs): after a pack replaced that file,
    /// the transaction is in the new file, which was on disk before it replaced the old one.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void MakeDurable(long end, long epoch)
    {
        lock (_syncGate)
        {
            while (true)
            {
                if (epoch != _fileEpoch) return;
                if (_syncFailure is not null) throw SyncFailedError(_syncFailure, null);
                if (_durableEnd >= end) return;
                if (!_syncing) break;
                Monitor.Wait(_syncGate);
            }
            _syncing = true;
        }
        long covered = 0;
        try
        {
            covered = SyncToDisk(end);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or PersistenceException or ObjectDisposedException)
        {
            // After a failed fsync the kernel may have dropped the dirty pages and report success to
            // the next fsync, so no flush of this instance can be trusted any more.
            lock (_syncGate) _syncFailure ??= e.Message;
            lock (_stateLock) _failure ??= $"flushing to disk failed with \"{e.Message}\"";
            throw SyncFailedError(e.Message, e);
        }
        finally
        {
            lock (_syncGate)
            {
                if (covered > _durableEnd) _durableEnd = covered;
                _syncing = false;
                Monitor.PulseAll(_syncGate);
            }
        }
    }

    /// <summary>Flushes the data file (or finds another process's flush covered <paramref name="end"/>) and returns the offset now known durable.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private long SyncToDisk(long end)
    {
        var lockFile = _lockFile!;
        if (lockFile.Signal is not { } signal) return SyncInTurn(lockFile, end);
        // Flush if no one is flushing; else sleep until a flush ends and look again. The wait is short:
        // a flusher that dies before it raises the signal (or one without it) costs its waiters 2 ms.
        // While the signal says a flush is running, the sync turn is not asked for (a system call that
        // would fail), unless this writer already slept on the same count: that flusher may have died.
        int? slept = null;
        while (true)
        {
            // The count first: a flush that ends after this look raises it, so the wait below returns at once.
            var seen = signal.Count;
            if (CoveredByAnotherFlush(lockFile, end, out var covered)) return covered;
            if (seen != slept && signal.IsFlushing(seen))
            {
                slept = seen;
                signal.Wait(seen, 2000, FlushWaitSpinMicroseconds);
                continue;
            }
            slept = seen;
            var turn = OthersMayFlush(lockFile);
            if (!turn || lockFile.TryEnterSync())
            {
                try
                {
                    covered = FlushInTurn(lockFile, end);
                }
                finally
                {
                    if (turn) lockFile.ExitSync();
                }
                signal.Raise();
                return covered;
            }
            signal.Wait(seen, 2000, FlushWaitSpinMicroseconds);
        }
    }

    /// <summary>
    /// Whether other writers have the database open, so this flush takes the sync turn; asked at most
    /// every <see cref="OthersCheckMilliseconds"/> (by the instance's flushing thread alone). The turn
    /// lets the writers of several processes take in each other's commits; a writer alone has no one
    /// to share with and flushes without it, two system calls fewer. One that opens in between may
    /// flush alongside it until the next look, which is as safe as one flush after the other: each
    /// records as on disk only what was written before it began.
    /// </summary>
    private bool OthersMayFlush(FileStorageLock lockFile)
    {
        var now = Stopwatch.GetTimestamp();
        if (now >= _othersCheckDue)
        {
            _othersOpen = lockFile.OthersShareUse();
            _othersCheckDue = now + (OthersCheckMilliseconds * Stopwatch.Frequency / 1000);
        }
        return _othersOpen;
    }

    /// <summary>Waits for the sync turn in line with the other processes (no flush signal), then flushes unless another flush covered <paramref name="end"/> meanwhile.</summary>
    private long SyncInTurn(FileStorageLock lockFile, long end)
    {
        // Another process's flush may have covered this transaction already: then there is no need to
        // queue for the sync turn behind the flushes still running.
        if (CoveredByAnotherFlush(lockFile, end, out var covered)) return covered;
        var waited = !lockFile.TryEnterSync();
        if (waited) lockFile.EnterSync();
        try
        {
            // While this process waited for its turn, another one's flush may have covered this transaction.
            if (waited && CoveredByAnotherFlush(lockFile, end, out covered)) return covered;
            return FlushInTurn(lockFile, end);
        }
        finally
        {
            lockFile.ExitSync();
        }
    }

    /// <summary>With the sync turn held (or alone, see <see cref="OthersMayFlush"/>): flushes the data file and records how far it is on disk.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private long FlushInTurn(FileStorageLock lockFile, long end)
    {
        lockFile.Signal?.Started();
        lockFile.Signal?.Gather(Math.Min(GatherLimitMicroseconds, _lastFlushMicroseconds));
        // Learn of the transactions others appended meanwhile, so this flush is recorded as covering
        // them too and their processes can skip theirs. Only if no one of this process is catching
        // up or appending right now: the flush must not wait for that. A writer alone has nothing to
        // learn, and the lock file's count of commits says so without a read of the file.
        if (_catchUpLock.TryEnter())
        {
            try
            {
                if (!KnowsEveryCommit())
                {
                    CommitStep?.Invoke("catching up before the flush");
                    CatchUpCore(final: false);
                }
            }
            catch (Exception e) when (e is PersistenceException or IOException or UnauthorizedAccessException)
            {
                // Reported by the next Poll or commit, which read the file again (a catch-up keeps the
                // transactions it read whole, up to where it stopped); the flush does not need it, and
                // must not be failed by it: a failed flush stops the instance for good.
            }
            finally
            {
                _catchUpLock.Exit();
            }
        }
        var target = Math.Max(end, Volatile.Read(ref _end));
        var started = Stopwatch.GetTimestamp();
        FileSystemSync.FlushData(_file);
        _lastFlushMicroseconds = (int)Math.Min(int.MaxValue, Stopwatch.GetElapsedTime(started).Ticks / 10);
        lockFile.Signal?.Flushed();
        Interlocked.Increment(ref _flushCount);
        try
        {
            CommitStep?.Invoke("flushed");
            lockFile.RaiseDurableEnd(target);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // The flush succeeded: only the lock file does not say so. Other processes then flush for
            // themselves, and a recovery takes a lower durable end, under which everything is whole.
        }
        return target;
    }

    /// <summary>Whether the lock file says the data file is on disk up to <paramref name="end"/>; <paramref name="durableEnd"/> is how far.</summary>
    private static bool CoveredByAnotherFlush(FileStorageLock lockFile, long end, out long durableEnd)
    {
        var state = lockFile.ReadState();
        durableEnd = state.DurableEnd;
        return state.Valid && state.DurableEnd >= end;
    }

    private PersistenceException SyncFailedError(string cause, Exception? inner) => new(
        $"Flushing {FilePath} to disk failed ({cause}). The transactions committed through this instance since its last successful flush may be lost " +
        "if the system crashes, and it commits nothing more: dispose it and open the file again (opening keeps what is complete in the file).", inner);
}
