namespace Persistence;

/// <summary>A storage was called in the wrong phase of its two-phase commit (or twice for one oid).</summary>
public sealed class StorageTransactionException : PersistenceException
{
    /// <summary>Creates the exception.</summary>
    public StorageTransactionException(string message) : base(message) { }
}
