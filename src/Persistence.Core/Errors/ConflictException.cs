namespace Persistence;

/// <summary>
/// A commit was refused because another transaction committed a change to an object this
/// transaction read or wrote after this transaction's snapshot. Call <c>Abort()</c> and retry the work.
/// </summary>
public class ConflictException : PersistenceException
{
    /// <summary>Creates the exception for the given objects.</summary>
    public ConflictException(string message, IReadOnlyList<Oid> oids) : base(message) => Oids = oids;

    /// <summary>The objects whose newer committed revisions caused the conflict.</summary>
    public IReadOnlyList<Oid> Oids { get; }
}
