namespace Persistence;

/// <summary>The base of every error this library raises on purpose.</summary>
public class PersistenceException : Exception
{
    /// <summary>Creates the exception with a message that says what happened and what to do.</summary>
    public PersistenceException(string message) : base(message) { }

    /// <summary>Creates the exception with a message and the error that caused it.</summary>
    public PersistenceException(string message, Exception? inner) : base(message, inner) { }

    /// <summary>
    /// The message of <paramref name="cause"/> as a sentence, for a message that goes on after it: the
    /// system's own often ends with the path it names (<c>No space left on device : '/data/shop.db'</c>),
    /// with no full stop before what follows.
    /// </summary>
    internal static string Sentence(Exception cause)
    {
        var message = cause.Message.TrimEnd();
        return message.Length == 0 || message[^1] is '.' or '!' or '?' ? message : message + ".";
    }
}
