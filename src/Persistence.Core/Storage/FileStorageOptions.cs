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
}
