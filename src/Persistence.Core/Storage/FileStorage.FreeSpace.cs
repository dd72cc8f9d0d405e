using Microsoft.Win32.SafeHandles;

namespace Persistence.Storage;

// Free space: zeros reserved after the last transaction.
//
// An fsync after an append that makes the file longer also has to put the file's new size (and its
// new blocks) on disk: a metadata write besides the data, or a journal commit on a journaling file
// system (on the machine the benchmarks run on, ext4 without a journal, 110–170 µs against 80–120 µs
// for an fsync of bytes written over blocks the file already has). So a writer that has made a few
// durable commits of up to a few hundred kilobytes keeps some zero bytes reserved after the end of
// the data, room for a few more like them, and its next commits are written over them. The zeros are
// written under the commit lock, where no one else appends, and only beyond the last transaction,
// once the commit that found the room short is on disk, and the disk starts writing them at once, so
// they are there before the next commit's flush rather than inside it (ReserveNoted); a
// reader takes zeros where a transaction header would start for the end of the data
// (FileStorageFormat, docs/FORMAT.md "Free space"). The space is reserved in blocks that start small
// (a database with a few commits stays small) and double up to a limit, and the last writer to close
// cuts what is left off. Only the last: the others go on
// committing over the zeros, and cutting them under their feet made their next commits appends again
// (8 processes committing at once, 200 transactions each: once the first processes had closed, the
// others' last transactions took several times longer, with the close checkpoints, now also left to
// the last writer). Where the storage cannot tell whether it is the last writer (not Linux), a writer
// that reserved space cuts it when no one is committing then.
public sealed partial class FileStorage
{
    // Commits up to this size are written over reserved zeros. Size is not what makes the fsync after
    // an append slow, the new file size is: on the benchmarks' machine an fdatasync after an 86 KB
    // append took about 200 µs, after 86 KB written over zeros already on disk about 105, and a writer
    // that reserves 1 MB as it goes (the zeros reach the disk with the next commit's fsync) spent 15%
    // less in fsync than one that appends (W1's commits of 1,000 persons: fdatasync 450 -> 340 µs,
    // commit time 14% less). Larger commits would write as many zeros as data, for little: their cost
    // is the bytes themselves.
    private const int SmallTransaction = 256 << 10;
    private const int FirstReservation = 64 << 10;
    private const int LargestReservation = 1 << 20;
    // Reserve again when less than this is left after a commit, or less than two more commits like it.
    private const int ReserveBelow = 16 << 10;
    // A reservation holds at least this many more commits like the one that asked for it.
    private const int CommitsReserved = 4;
    // Reserve only for a writer that commits small transactions often: not for a few commits.
    private const int SmallCommitsBeforeReserving = 16;

    private static readonly byte[] Zeros = new byte[FirstReservation];

    // Set at close: other writers (in this process or others) have the database open, so this one
    // leaves the free space and the close checkpoint to the last of them (known on Linux only).
    private bool _othersStillOpen;

    // The data file's length as this instance last looked (its free space ends there; 0 when not known).
    // Only a hint: a stale value delays a reservation until the next catch-up looks again, and a
    // catch-up scans up to it first and asks for the length only if the news does not end in free space.
    private long _fileLength;
    private int _nextReservation = FirstReservation;
    private bool _reservedFreeSpace;
    private int _smallCommits;
    // The length of the commit that noted free space is to be reserved, until it is (0: none noted).
    private long _reservationFor;
    // Whatever lies after the end of the data is known to be zeros (checked once, see ScanTail).
    private volatile bool _freeSpaceChecked;

    /// <summary>How far this instance knew the data file to be on disk when it last reserved free space (-1 before it did; for tests).</summary>
    internal long DurableEndAtReservation { get; private set; } = -1;

    /// <summary>Where the transactions this instance knows of end (the free space, if any, starts there).</summary>
    internal long DataEnd => Volatile.Read(ref _end);

    /// <summary>
    /// After a transaction of <paramref name="transactionLength"/> bytes ending at <paramref name="end"/>
    /// was appended (commit lock held): notes that free space is to be reserved, if less than two more
    /// like it would fit. The zeros are written once the transaction is on disk (<see cref="ReserveNoted"/>).
    /// </summary>
    private void NoteFreeSpace(long end, long transactionLength)
    {
        if (end > _fileLength) _fileLength = end;
        // A relaxed commit does not wait for an fsync, so zeros written ahead of it would save it nothing.
        if (transactionLength > SmallTransaction || _nextReservation == 0 || _durability == Durability.Relaxed) return;
        if (_smallCommits < SmallCommitsBeforeReserving)
        {
            _smallCommits++;
            return;
        }
        if (_fileLength - end >= RoomWanted(transactionLength)) return;
        Volatile.Write(ref _reservationFor, transactionLength);
    }

    /// <summary>Below this much room after the data, free space is reserved for commits of <paramref name="transactionLength"/> bytes.</summary>
    private static long RoomWanted(long transactionLength) => Math.Max(ReserveBelow, 2 * transactionLength);

    /// <summary>
    /// After a commit is on disk: reserves the free space its append noted (<see cref="NoteFreeSpace"/>),
    /// under the commit lock, and asks the disk to start writing the zeros. Written before the commit's
    /// own flush, they went to disk within it (W1's commits of 1,000 persons: 0.6–2.8 ms for the flush
    /// that took them, against 0.15–0.2), and the room was only needed by the next commits; written
    /// after it, they go to disk while the program makes its next transaction. Only if no one else is
    /// committing: then the note stays for the next commit. Best effort: a failure leaves zeros or
    /// nothing, and reserving stops.
    /// </summary>
    private void ReserveNoted()
    {
        var transactionLength = Volatile.Read(ref _reservationFor);
        if (transactionLength == 0 || !TryEnterFreeCommitLock()) return;
        var file = _file;
        long from = 0, target = 0;
        try
        {
            lock (_stateLock)
            {
                if (_disposed || _failure is not null) return;
                _notWriting.Reset();
            }
            try
            {
                (file, from, target) = ReserveInTurn(transactionLength);
            }
            finally
            {
                _notWriting.Set();
            }
        }
        finally
        {
            LeaveCommitLock();
        }
        FileSystemSync.StartWriteBack(file, from, target - from);
    }

    /// <summary>
    /// Takes both commit locks (this process's turn, then the turn among processes) only if both are
    /// free at once, for work that only makes sense when no one is committing; false if they are not.
    /// <see cref="LeaveCommitLock"/> lets go of them.
    /// </summary>
    private bool TryEnterFreeCommitLock()
    {
        if (!_commitLock.Wait(0)) return false;
        var entered = false;
        try
        {
            entered = _lockFile!.TryEnterCommit();
            return entered;
        }
        finally
        {
            if (!entered) _commitLock.Release();
        }
    }

    /// <summary>With the commit locks held: writes the zeros; returns the file and the range written (empty if none).</summary>
    private (SafeFileHandle File, long From, long Target) ReserveInTurn(long transactionLength)
    {
        lock (_catchUpLock)
        {
            try
            {
                // Only after what the others appended meanwhile, and never after a tail that is not
                // complete (the next commit deals with it) or in a file a pack replaced.
                if (!_lockFile!.ReadState().Valid || CatchUpCore(final: true) is not (TailState.None or TailState.Free)) return (_file, 0, 0);
                var end = Volatile.Read(ref _end);
                // Another writer may have reserved since this one last looked.
                _fileLength = Math.Max(end, RandomAccess.GetLength(_file));
                Volatile.Write(ref _reservationFor, 0);
                if (_fileLength - end >= RoomWanted(transactionLength)) return (_file, 0, 0);
                var from = _fileLength;
                var target = end + Math.Min(LargestReservation, Math.Max(_nextReservation, CommitsReserved * transactionLength));
                for (var position = from; position < target; position += Zeros.Length)
                    RandomAccess.Write(_file, Zeros.AsSpan(0, (int)Math.Min(Zeros.Length, target - position)), position);
                _fileLength = target;
                lock (_syncGate) DurableEndAtReservation = _durableEnd;
                _reservedFreeSpace = true;
                _nextReservation = Math.Min(2 * _nextReservation, LargestReservation);
                return (_file, from, target);
            }
            catch (IOException)
            {
                // A full disk, say: the commits are written; the next one reports the disk's state itself.
                _nextReservation = 0;
                Volatile.Write(ref _reservationFor, 0);
                return (_file, 0, 0);
            }
            catch (PersistenceException)
            {
                // What the catch-up found is the next commit's to report.
                return (_file, 0, 0);
            }
        }
    }

    /// <summary>
    /// At close: cuts off the free space after the data if this is the last writer to close (where
    /// that cannot be told: the space this instance reserved, unless someone is committing).
    /// </summary>
    private void TrimFreeSpace()
    {
        if (_lockFile!.SharesUse)
        {
            // Any writer may have reserved it; the last one cuts it.
            if (_othersStillOpen || RandomAccess.GetLength(_file) <= Volatile.Read(ref _end)) return;
        }
        else if (!_reservedFreeSpace)
        {
            return;
        }
        if (!TryEnterFreeCommitLock()) return;
        try
        {
            lock (_catchUpLock)
            {
                if (CatchUpCore(final: true) == TailState.Free)
                    RandomAccess.SetLength(_file, Volatile.Read(ref _end));
            }
        }
        catch (Exception e) when (e is IOException or PersistenceException)
        {
            // The zeros stay: harmless, and the next writer's close may cut them.
        }
        finally
        {
            LeaveCommitLock();
        }
    }
}
