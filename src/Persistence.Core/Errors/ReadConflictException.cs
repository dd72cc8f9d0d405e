namespace Persistence;

/// <summary>
/// The revision of an object that this connection's snapshot needs is no longer stored (a pack
/// removed that history), or a commit links an object that a pack removed. Call <c>Abort()</c>, which
/// moves the connection to the newest state, and retry.
/// </summary>
public sealed class ReadConflictException : ConflictException
{
    /// <summary>Creates the exception for the object that could not be read.</summary>
    public ReadConflictException(string message, Oid oid) : base(message, [oid]) { }
}
