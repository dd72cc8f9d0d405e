namespace Persistence;

/// <summary>A connection (or an object that belongs to it) was used after it was closed.</summary>
public sealed class ConnectionClosedException : PersistenceException
{
    /// <summary>Creates the exception.</summary>
    public ConnectionClosedException(string message) : base(message) { }
}
