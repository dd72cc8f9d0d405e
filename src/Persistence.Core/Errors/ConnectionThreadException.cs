namespace Persistence;

/// <summary>
/// A connection (or an object it loaded) was used from a second thread while a transaction of the
/// first thread was in progress. A connection and its objects belong to one thread at a time: finish
/// the transaction (<c>Commit()</c>/<c>Abort()</c>) before another thread takes over, or open one
/// connection per thread.
/// </summary>
public sealed class ConnectionThreadException : PersistenceException
{
    /// <summary>Creates the exception.</summary>
    public ConnectionThreadException(string message) : base(message) { }
}
