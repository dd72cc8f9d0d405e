namespace Persistence;

/// <summary>
/// An object that belongs to one connection (or database) was stored into an object of another.
/// Load the object through the connection that stores it, or copy its values into a new object.
/// </summary>
public sealed class CrossConnectionReferenceException : PersistenceException
{
    /// <summary>Creates the exception.</summary>
    public CrossConnectionReferenceException(string message) : base(message) { }
}
