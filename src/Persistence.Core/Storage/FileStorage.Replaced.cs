using System.Runtime.CompilerServices;
using Microsoft.Win32.SafeHandles;

namespace Persistence.Storage;

// Files that packs by other processes (or other instances in this one) replaced, kept for the
// snapshots of this process's connections. A pack in another process keeps the history its own
// connections read, and cannot know this process's. When this instance switches to the packed file (FileStorage.Switch.cs), a connection of
// the database opened on it may still read a snapshot the new file no longer serves: an object changed
// since has only its newer revisions there, and one that became unreachable is not there at all. So
// the replaced file is kept open (on Linux a file renamed over stays readable through its handle), with
// the index this instance had for it, and a load that the newer files cannot serve reads it there.
//
// The rule. The replaced file held every transaction up to the newest one this instance had seen at
// the switch (the switch reads it to its end first; no one appends to a replaced file), tid T. The new
// file serves every snapshot from T on: its pack started at a tid no later than T (its source was the
// replaced file) and copied the current revisions then and every transaction after whole. So the
// replaced file is needed by snapshots below T, and serves loads "before tid" up to T. When the switch
// cannot tell that the new file was packed from the replaced one (its checkpoint covers transactions
// this instance never saw, as when another process packed twice between two looks of this one, and a
// file in between went unseen), the new file may lack revisions current at T itself, and the replaced
// file is needed by snapshot T too. The database tells the storage, at each transaction boundary and
// close of its connections while a replaced file is kept, the oldest snapshot they hold; a replaced
// file no snapshot needs is closed, its index and its pages dropped. A pack by this instance needs
// none of this: the database keeps its own connections' history in the packed file.
public sealed partial class FileStorage
{
    // The replaced files kept, the most recently replaced first; an array replaced whole under the
    // state lock, read without it (loads look at it only when the current file cannot serve them).
    private ReplacedFile[] _replaced = [];

    // Whether a database on this storage tells it which snapshots its connections hold (see KeepReplacedFiles).
    private volatile bool _keepsReplacedFiles;

    /// <summary>A data file a pack replaced, with what this instance had read of it.</summary>
    /// <param name="File">The open handle of the replaced file.</param>
    /// <param name="Index">Where each object's newest revision was in it (read-only).</param>
    /// <param name="End">Where its committed transactions end.</param>
    /// <param name="NeededBelow">The snapshots it serves: those below this tid (loads before a tid up to it).</param>
    private sealed record ReplacedFile(SafeFileHandle File, FileStorageIndex Index, long End, long NeededBelow);

    /// <summary>
    /// Has this instance keep the data files that packs by other processes replace, for as long as
    /// <see cref="ReleaseReplacedFiles"/> is not told that no snapshot needs them (a database does, for
    /// its connections). Without it a replaced file is closed at the switch: a storage used alone is
    /// not told which snapshots its callers read.
    /// </summary>
    internal void KeepReplacedFiles() => _keepsReplacedFiles = true;

    /// <summary>Whether this instance keeps a replaced data file (read without a lock: a hint).</summary>
    internal bool HoldsReplacedFiles
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => Volatile.Read(ref _replaced).Length != 0;
    }

    /// <summary>How many replaced data files this instance keeps open (for tests).</summary>
    internal int ReplacedFilesKept => Volatile.Read(ref _replaced).Length;

    /// <summary>
    /// Keeps the file a switch replaced, with its index as it was at the end of the file, for snapshots
    /// below <paramref name="neededBelow"/>; called with the state lock held, in the same step as the
    /// switch, so a load that misses in the new file finds it. False if this instance keeps none.
    /// </summary>
    private bool KeepReplaced(SafeFileHandle file, long end, long neededBelow)
    {
        if (!_keepsReplacedFiles || neededBelow <= 0) return false;
        Volatile.Write(ref _replaced, [new ReplacedFile(file, _index.Snapshot(), end, neededBelow), .. _replaced]);
        return true;
    }

    /// <summary>
    /// The revision of <paramref name="oid"/> a reader before <paramref name="beforeTid"/> sees, read in
    /// the replaced files kept for such readers that were replaced before <paramref name="after"/> (every
    /// kept file when it is the current file, or null), the most recently replaced first; null if none
    /// has it. A file that has the object but no revision that old (its pack dropped it) goes on with the
    /// files replaced before it (ReadRevision calls this again), so each file is read at most once.
    /// </summary>
    /// <remarks>Any file that holds a revision before the tid holds the newest one: a pack keeps, of each
    /// object it keeps, every revision from some point on, so which file answers first does not matter.</remarks>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private StoredRecord? LoadReplaced(SafeFileHandle? after, Oid oid, long beforeTid, ScanReader scans)
    {
        var kept = Volatile.Read(ref _replaced);
        var from = 0;
        for (var i = 0; i < kept.Length && after is not null; i++)
        {
            if (ReferenceEquals(kept[i].File, after)) from = i + 1;
        }
        for (var i = from; i < kept.Length; i++)
        {
            var replaced = kept[i];
            if (beforeTid > replaced.NeededBelow) continue;
            var offset = replaced.Index.Find(oid.Value);
            if (offset == 0) continue;
            try
            {
                return ReadRevision(replaced.File, replaced.End, oid, offset, beforeTid, scans);
            }
            catch (ObjectDisposedException) when (!_disposed)
            {
                // Closed meanwhile: no snapshot of the database's connections needed it any more.
            }
        }
        return null;
    }

    /// <summary>
    /// Closes the replaced data files that no snapshot from <paramref name="oldestSnapshot"/> on needs,
    /// and drops their indexes and the pages and windows read from them. The caller (a database) passes
    /// the oldest snapshot its open connections hold, no later than the newest tid it saw before it
    /// looked at them (a connection opened meanwhile takes no older one).
    /// </summary>
    internal void ReleaseReplacedFiles(long oldestSnapshot) => ReleaseReplaced(oldestSnapshot, closeInBackground: true);

    private void ReleaseReplaced(long oldestSnapshot, bool closeInBackground)
    {
        List<ReplacedFile>? released = null;
        lock (_stateLock)
        {
            if (_replaced.Length == 0) return;
            var kept = new List<ReplacedFile>(_replaced.Length);
            foreach (var replaced in _replaced)
            {
                if (replaced.NeededBelow > oldestSnapshot) kept.Add(replaced);
                else (released ??= []).Add(replaced);
            }
            if (released is null) return;
            Volatile.Write(ref _replaced, [.. kept]);
        }
        foreach (var replaced in released) Forget(replaced, closeInBackground);
    }

    /// <summary>Closes every replaced data file kept (the storage is being closed).</summary>
    private void ReleaseAllReplacedFiles() => ReleaseReplaced(long.MaxValue, closeInBackground: false);

    /// <summary>Closes a replaced file and lets go of the pages and the storage's windows read from it.</summary>
    private void Forget(ReplacedFile replaced, bool closeInBackground)
    {
        ForgetPagesOf(replaced.File);
        _singles.Forget(replaced.File);
        _shared.Blocks.Forget(replaced.File);
        if (closeInBackground) CloseReplacedInBackground(replaced.File);
        else replaced.File.Dispose();
    }

    /// <summary>For tests: called on the thread that closes a replaced file, just before it does.</summary>
    internal Action<SafeFileHandle>? ClosingReplacedFile { get; set; }

    /// <summary>
    /// Closes a replaced data file on a thread-pool thread. Where this process holds the last handle on a
    /// file renamed over, closing it frees the file's disk space, which the system does within the call
    /// (2.3 s for a 5 GB file on ext4 here), and the callers are a connection's Commit(), Abort() or first
    /// access to Root after a refresh, or the load or poll that switched to the packed file: none of them
    /// should wait for that. A load still reading the file keeps it open until it is done (the handle
    /// counts its users), and one that starts after the close retries where it belongs (LoadReplaced).
    /// </summary>
    private void CloseReplacedInBackground(SafeFileHandle file) =>
        ThreadPool.UnsafeQueueUserWorkItem(static state =>
        {
            try
            {
                state.Storage.ClosingReplacedFile?.Invoke(state.File);
            }
            finally
            {
                state.File.Dispose();
            }
        }, (Storage: this, File: file), preferLocal: false);
}
