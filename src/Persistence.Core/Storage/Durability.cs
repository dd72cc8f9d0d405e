namespace Persistence.Storage;

/// <summary>When a commit to a <see cref="FileStorage"/> returns, relative to the disk.</summary>
public enum Durability
{
    /// <summary>
    /// A commit returns once its transaction is on disk (fsync): a crash of the program or of the
    /// whole machine loses nothing that was committed. Commits that wait at the same time, in one
    /// process or several, share one flush (group commit).
    /// </summary>
    Durable = 0,

    /// <summary>
    /// A commit returns as soon as its transaction is written to the file, before it is on disk;
    /// the storage flushes when it is closed or when <see cref="FileStorage.Flush"/> is called. For bulk
    /// loads: many small commits run at the speed of writes instead of flushes.
    /// </summary>
    /// <remarks>
    /// The trade-off: a crash of the program still loses nothing (the operating system holds what
    /// was written), but a crash of the machine or a power cut may lose the commits made since the
    /// last flush, a suffix of the most recent ones, never one in the middle, and never leaves a
    /// damaged database: opening keeps the transactions up to the first one the disk did not fully
    /// keep and removes the rest. Commits are still written in order and checked for conflicts as usual.
    /// </remarks>
    Relaxed = 1,
}
