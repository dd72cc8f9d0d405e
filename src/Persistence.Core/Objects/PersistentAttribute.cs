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
/// Names a former name, so records stored under it are read after a rename. On a persistent class: a
/// full name it had, before a rename or a move to another namespace. On a stored property of a persistent
/// class: a name the property had, whose stored values it reads in the objects stored before the rename
/// (unless the class has a property of that name again). May be given several times.
/// </summary>
[AttributeUsage(AttributeTargets.Class | AttributeTargets.Struct | AttributeTargets.Property, Inherited = false, AllowMultiple = true)]
public sealed class PersistentAliasAttribute : Attribute
{
    /// <summary>Creates the alias.</summary>
    /// <param name="formerName">
    /// For a class, the full name it had (namespace, dot, name; nested types joined with '+'); for a
    /// property, the name it had.
    /// </param>
    public PersistentAliasAttribute(string formerName) => FormerName = formerName;

    /// <summary>The former name.</summary>
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

/// <summary>
/// The value a persistent property reads as in records stored before the property was added to the
/// class, instead of its type's default (<c>0</c>, <c>false</c>, <c>null</c>; <c>""</c> for a <c>string</c>
/// that nullable annotations say is never null). Such a record is not rewritten to read it: the object
/// stores the value when it is next changed and committed.
/// </summary>
/// <remarks>
/// On a <c>[Persistent]</c> class's property it is also the value a new object starts with (the generated
/// backing field is initialized with it), until its constructor or the program sets another; a new
/// <c>[PersistentValue]</c> gets what its constructor gives. The value is a constant (a string, bool, char, number or enum value) that the property's type
/// holds exactly, such as <c>5</c> for a <c>long</c> or <c>double</c> property and <c>1.5</c> for a
/// <c>float</c>; the source generator reads it at compile time, and the analyzers report (PERSIST019)
/// a value that does not convert, or the attribute on a property that is not stored.
/// </remarks>
/// <example>
/// <code>
/// [Persistent]
/// public partial class Customer
/// {
///     public partial string Name { get; set; }
///
///     // Added later: objects stored before read "unknown" and Tier.Silver, not "" and Tier.Basic.
///     [PersistentDefault("unknown")]
///     public partial string Country { get; set; }
///
///     [PersistentDefault(Tier.Silver)]
///     public partial Tier Tier { get; set; }
///
///     public Customer(string name, string country)
///     {
///         Name = name;
///         Country = country;      // the constructor's value replaces "unknown"
///                                 // Tier is not set: a new customer starts at Tier.Silver
///     }
/// }
/// </code>
/// </example>
[AttributeUsage(AttributeTargets.Property, Inherited = false, AllowMultiple = false)]
public sealed class PersistentDefaultAttribute : Attribute
{
    /// <summary>Gives the value the property reads as in records stored before it existed.</summary>
    /// <param name="value">A constant the property's type holds, or null for a property that takes null.</param>
    public PersistentDefaultAttribute(object? value) => Value = value;

    /// <summary>The value the property reads as in records stored before it existed.</summary>
    public object? Value { get; }
}
