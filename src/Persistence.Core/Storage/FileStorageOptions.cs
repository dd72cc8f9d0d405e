namespace Persistence.Storage;

/// <summary>How <see cref="FileStorage.Open"/> opens a data file.</summary>
public sealed class FileStorageOptions
{
    /// <summary>
    /// Open for reading only: no lock is taken, so this works while another process (or instance)
    /// has the file open for writing; <see cref="IStorage.Poll"/> picks up what it commits. The file
    /// must exist. False by default: the storage takes the file's writer lock and creates the file if missing.
    /// </summary>
    public bool ReadOnly { get; init; }
}
