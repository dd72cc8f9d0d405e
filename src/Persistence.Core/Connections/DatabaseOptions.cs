namespace Persistence;

/// <summary>Settings of a <see cref="Database"/>.</summary>
public sealed class DatabaseOptions
{
    /// <summary>
    /// How many loaded (non-ghost) objects each connection keeps between transactions. At every
    /// commit and abort, the objects loaded longest ago beyond this number are turned back into
    /// ghosts (they reload when touched); changed objects are never dropped. Default 10,000.
    /// </summary>
    public int CacheSize { get; init; } = 10_000;

    /// <summary>Open the file read-only (for <see cref="Database.Open(string, DatabaseOptions?)"/>): commits are refused.</summary>
    public bool ReadOnly { get; init; }
}
