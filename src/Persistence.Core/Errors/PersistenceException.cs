namespace Persistence;

/// <summary>The base of every error this library raises on purpose.</summary>
public class PersistenceException : Exception
{
    /// <summary>Creates the exception with a message that says what happened and what to do.</summary>
    public PersistenceException(string message) : base(message) { }

    /// <summary>Creates the exception with a message and the error that caused it.</summary>
    public PersistenceException(string message, Exception? inner) : base(message, inner) { }
}
