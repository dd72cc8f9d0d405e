namespace Persistence;

/// <summary>
/// A connection (or an object it loaded) was used by other code than the one whose transaction was in
/// progress (a thread or request that did not open the connection), or by a thread of the opening code
/// while another thread ran that code side by side (tasks over one connection) or was inside a call.
/// A connection and its objects are used by one thread at a time; a transaction follows the async flow that opened the connection across awaits. Finish the
/// transaction (<c>Commit()</c>/<c>Abort()</c>) before other code takes over, await each use before
/// the next, or open one connection per thread, request or concurrent task.
/// </summary>
public sealed class ConnectionThreadException : PersistenceException
{
    /// <summary>Creates the exception.</summary>
    public ConnectionThreadException(string message) : base(message) { }
}
