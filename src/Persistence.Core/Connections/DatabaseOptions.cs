namespace Persistence;

/// <summary>Settings of a <see cref="Database"/>.</summary>
public sealed class DatabaseOptions
{
    /// <summary>
    /// How many loaded (non-ghost) objects each connection keeps between transactions. At every
    /// commit and abort, objects beyond this number are turned back into ghosts (they reload when
    /// touched), those the transaction that ended did not use first; changed objects are never
    /// dropped. Default 10,000.
    /// </summary>
    public int CacheSize { get; init; } = 10_000;

    /// <summary>
    /// How many bytes of large objects (those whose stored record is 16 KiB or more: documents, pages
    /// of text, big arrays or strings) each connection keeps loaded between transactions, counted by
    /// their records' sizes (<see cref="CacheSize"/> counts the objects, of any size). At
    /// every commit and abort, large objects beyond this are turned back into ghosts, the least recently
    /// used first, whether or not the transaction that ended used them (they reload when touched);
    /// changed objects are never dropped. Default 64 MiB; 0 keeps none.
    /// </summary>
    public long LargeObjectCacheBytes { get; init; } = 64L << 20;

    /// <summary>Which changes by others make a commit fail. Default <see cref="TransactionIsolation.Serializable"/>.</summary>
    public TransactionIsolation Isolation { get; init; } = TransactionIsolation.Serializable;

    /// <summary>
    /// How many bytes of committed records the database keeps in memory for all its connections
    /// (records read once are served to every connection from there). Records are kept while more
    /// than one connection is open: a lone connection keeps the objects it loaded in its own cache.
    /// Default 64 MiB; 0 turns it off.
    /// </summary>
    public long RecordCacheBytes { get; init; } = 64L << 20;

    /// <summary>
    /// When set, a connection's pending changes are committed automatically once this much time has
    /// passed since its transaction began, at its next safe point (a call to <see cref="Connection.Root"/>
    /// or <see cref="Connection.Get(Oid)"/>; not a change to an object, whose new value may come from
    /// what the transaction read), and when the connection is disposed (a conflict then is thrown from
    /// Dispose, and the connection is closed all the same). Never within <see cref="Database.Transact{T}(Func{Connection, T}, int, TransactionIsolation?)"/>'s
    /// unit of work, which commits whole. Off (null) by default: then disposing a connection aborts
    /// what it did not commit.
    /// </summary>
    public TimeSpan? AutocommitInterval { get; init; }

    /// <summary>
    /// How many closed connections the database keeps, with their object caches, for
    /// <see cref="Database.OpenConnection()"/> to reuse. Default 8. The objects of a pooled connection
    /// are its cache: once it is handed out again they load and change in the new work, so code that
    /// keeps objects after disposing their connection should set 0.
    /// </summary>
    public int ConnectionPoolSize { get; init; } = 8;

    /// <summary>
    /// Open the file read-only (for <see cref="Database.Open(string, DatabaseOptions?)"/>): nothing is written to
    /// it, not even the lock file, and every connection refuses changes when they are made (a setter or
    /// a collection's change throws <see cref="InvalidOperationException"/>). The file must exist.
    /// </summary>
    public bool ReadOnly { get; init; }

    /// <summary>
    /// When a commit returns, for a database in a file (<see cref="Database.Open(string, DatabaseOptions?)"/>):
    /// <see cref="Storage.Durability.Durable"/> (the default) once it is on disk,
    /// <see cref="Storage.Durability.Relaxed"/> as soon as it is written, for bulk loads (a crash of the
    /// machine may then lose the most recent commits, never damage the database; see
    /// <see cref="Storage.FileStorageOptions.Durability"/>).
    /// </summary>
    public Storage.Durability Durability { get; init; } = Storage.Durability.Durable;

    /// <summary>
    /// For a database in a file (<see cref="Database.Open(string, DatabaseOptions?)"/>): how many bytes
    /// of the file, in 4 KiB pages, are kept after loads that read them, so that loads of other objects
    /// in those pages make no read call (see <see cref="Storage.FileStorageOptions.PageCacheBytes"/>).
    /// Default 8 MiB; 0 turns it off.
    /// </summary>
    public long PageCacheBytes { get; init; } = Storage.FileStorageOptions.DefaultPageCacheBytes;
}
