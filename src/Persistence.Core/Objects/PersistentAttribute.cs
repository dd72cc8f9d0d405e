namespace Persistence;

/// <summary>
/// Marks a <c>partial</c> class as persistent: the source generator writes the bodies of its
/// <c>partial</c> properties (ghost loading, change tracking), its serializer and its registration.
/// </summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false, AllowMultiple = false)]
public sealed class PersistentAttribute : Attribute
{
}

/// <summary>
/// Marks a struct, record or class as a value stored inline inside the persistent objects that hold
/// it (value semantics: no identity, no oid). Its public settable or init properties and its
/// constructor parameters are stored.
/// </summary>
[AttributeUsage(AttributeTargets.Class | AttributeTargets.Struct, Inherited = false, AllowMultiple = false)]
public sealed class PersistentValueAttribute : Attribute
{
}

/// <summary>
/// Names a former full name of a persistent class, so records stored under that name are read as
/// this class after a rename or a move to another namespace. May be given several times.
/// </summary>
[AttributeUsage(AttributeTargets.Class | AttributeTargets.Struct, Inherited = false, AllowMultiple = true)]
public sealed class PersistentAliasAttribute : Attribute
{
    /// <summary>Creates the alias.</summary>
    /// <param name="formerName">The full name the class had (namespace, dot, name; nested types joined with '+').</param>
    public PersistentAliasAttribute(string formerName) => FormerName = formerName;

    /// <summary>The former full name.</summary>
    public string FormerName { get; }
}

/// <summary>
/// Says that a property or field of a persistent class is deliberately not stored
/// (it is reset when the object is loaded or turned back into a ghost).
/// </summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Field, Inherited = false, AllowMultiple = false)]
public sealed class TransientAttribute : Attribute
{
}
