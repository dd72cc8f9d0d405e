namespace Persistence.Storage;

/// <summary>How <see cref="FileStorage.Open"/> opens a data file.</summary>
public sealed class FileStorageOptions
{
    /// <summary>
    /// Open for reading only: nothing is written (not even the lock file), so this works while other
    /// processes write the file, and on a file or directory this user may not write;
    /// <see cref="IStorage.Poll"/> picks up what the writers commit. The file must exist. False by
    /// default: the storage may commit (alongside any number of other writers) and creates the file if missing.
    /// </summary>
    public bool ReadOnly { get; init; }

    /// <summary>
    /// When a commit returns: <see cref="Durability.Durable"/> (the default) once the transaction is
    /// on disk, <see cref="Durability.Relaxed"/> as soon as it is written to the file, for bulk loads.
    /// Ignored when <see cref="ReadOnly"/>.
    /// </summary>
    public Durability Durability { get; init; } = Durability.Durable;

    /// <summary>
    /// Whether a writer that makes many small commits keeps some zero bytes reserved after the last
    /// transaction and writes the next commits over them (true, the default). A durable commit that
    /// makes the file longer also puts its new size on disk, a metadata (or journal) write besides the
    /// data; with the reservation, small durable commits are up to a third faster. The
    /// committed transactions are never rewritten either way, and a writer cuts what is left of its
    /// reservation off when it closes. <see cref="FileStorage.Backup"/> copies a database in use either
    /// way. Set false to keep the file growing strictly at its end, byte for byte, for tools that copy
    /// the file while writers commit: <c>cp</c>, <c>rsync</c>, or <c>rsync --append</c>, which copies
    /// only what lies beyond the length of an earlier copy. With the reservation, a transaction written
    /// over reserved zeros while such a copy passes it can come out half zeros in the copy, with
    /// complete transactions after it, which opening the copy takes for damage. Ignored when
    /// <see cref="ReadOnly"/>.
    /// </summary>
    public bool ReserveFreeSpace { get; init; } = true;

    /// <summary>The default of <see cref="PageCacheBytes"/>: 8 MiB.</summary>
    public const long DefaultPageCacheBytes = 8L << 20;

    /// <summary>
    /// How many bytes of the data file, in 4 KiB pages, the storage keeps after loads that read them,
    /// so that loads of other objects in the same pages make no read call: random lookups across a
    /// file that fits make about one read call per page instead of one per object (per 64 KiB block of
    /// pages while the whole file fits). Pages that a page read later maps to the same place replace
    /// them; the cache fills only as loads read (after the file outgrows it, blocks read before may
    /// keep up to as many bytes again until their pages are replaced). Once the file outgrows it, a
    /// page is read and kept only when a load misses it a second time, so random loads across a much
    /// larger file read little more than their records. Scans over objects stored
    /// together read larger windows and do not go through it. Default
    /// <see cref="DefaultPageCacheBytes"/> (8 MiB); rounded down to a power of two pages; 0 turns it off.
    /// </summary>
    public long PageCacheBytes { get; init; } = DefaultPageCacheBytes;
}
