namespace Persistence;

/// <summary>
/// Stored bytes are damaged or are not what this library wrote. Nothing is repaired silently:
/// restore from a backup, or copy out what can still be read.
/// </summary>
public sealed class CorruptDatabaseException : PersistenceException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">What is wrong.</param>
    /// <param name="offset">The file offset of the damaged transaction or record, or -1 where there is no file.</param>
    /// <param name="oid">The object whose record is damaged, or <see cref="Oid.Null"/> if unknown.</param>
    /// <param name="inner">The error that revealed the damage, if any.</param>
    public CorruptDatabaseException(string message, long offset = -1, Oid oid = default, Exception? inner = null)
        : base(Describe(message, offset, oid), inner)
    {
        Offset = offset;
        Oid = oid;
    }

    /// <summary>The file offset of the damage, or -1.</summary>
    public long Offset { get; }

    /// <summary>The object whose record is damaged, or <see cref="Oid.Null"/>.</summary>
    public Oid Oid { get; }

    private static string Describe(string message, long offset, Oid oid)
    {
        var where = (offset >= 0, oid.IsNull) switch
        {
            (true, false) => $" ({oid}, file offset {offset})",
            (true, true) => $" (file offset {offset})",
            (false, false) => $" ({oid})",
            _ => "",
        };
        return message + where + ". The database is damaged: restore it from a backup.";
    }
}
