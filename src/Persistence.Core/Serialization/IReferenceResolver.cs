namespace Persistence.Serialization;

/// <summary>
/// Turns persistent references into stored identities and back while records are written and read.
/// A connection is the resolver for the records of its objects.
/// </summary>
public interface IReferenceResolver
{
    /// <summary>
    /// Returns the stored identity of <paramref name="target"/>: its oid (assigned now if the object is
    /// new, which also schedules it to be stored in the same commit) and its database type id.
    /// Throws <see cref="CrossConnectionReferenceException"/> if it belongs to another connection.
    /// </summary>
    ObjectReference Resolve(PersistentObject target);

    /// <summary>Returns the object for a stored reference: the instance already known, or a new ghost.</summary>
    PersistentObject Materialize(ObjectReference reference);
}

/// <summary>A stored reference: the oid of the target and the database type id of its class.</summary>
/// <param name="Oid">The target object.</param>
/// <param name="TypeId">The target's class, as numbered in the database's schema catalog.</param>
public readonly record struct ObjectReference(Oid Oid, uint TypeId);
