namespace Persistence;

/// <summary>The storage cannot be opened or written: another process holds it, or it is read-only.</summary>
public sealed class StorageLockedException : PersistenceException
{
    /// <summary>Creates the exception.</summary>
    public StorageLockedException(string message, Exception? inner = null) : base(message, inner) { }
}
