namespace Persistence;

/// <summary>
/// A stored record cannot be read into the current version of its class: a field changed its type
/// in a way that is not a safe widening, or the stored class is not registered in this program.
/// </summary>
public sealed class SchemaMismatchException : PersistenceException
{
    /// <summary>Creates the exception.</summary>
    public SchemaMismatchException(string message, string className, string? fieldName = null) : base(message)
    {
        ClassName = className;
        FieldName = fieldName;
    }

    /// <summary>The stored class name.</summary>
    public string ClassName { get; }

    /// <summary>The field that cannot be converted, if the problem is one field.</summary>
    public string? FieldName { get; }
}
