namespace Persistence;

/// <summary>
/// What the library knows of a persistent class: its stored name and former names, its fields
/// (names and type codes, the base class's first) and how to make a ghost of it. Generated code
/// creates one per class and registers it in <see cref="PersistentTypes"/>; nothing is found by reflection.
/// </summary>
public sealed class PersistentTypeInfo
{
    private readonly Func<GhostToken, PersistentObject> _createGhost;

    /// <summary>Creates the description of a persistent class.</summary>
    /// <param name="name">The stored name: the full name of the class (nested types joined with '+').</param>
    /// <param name="aliases">Former stored names (<see cref="PersistentAliasAttribute"/>).</param>
    /// <param name="baseType">The persistent base class, if the class derives from one.</param>
    /// <param name="declaredFields">The fields this class declares, in the order its state writes them (after its base's).</param>
    /// <param name="createGhost">Makes an empty instance without running user constructors.</param>
    public PersistentTypeInfo(
        string name,
        IReadOnlyList<string> aliases,
        PersistentTypeInfo? baseType,
        IReadOnlyList<FieldSchema> declaredFields,
        Func<GhostToken, PersistentObject> createGhost)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        Name = name;
        Aliases = aliases;
        Base = baseType;
        DeclaredFields = declaredFields;
        _createGhost = createGhost;
        var fields = new List<FieldSchema>();
        if (baseType is not null) fields.AddRange(baseType.Fields);
        fields.AddRange(declaredFields);
        Fields = fields;
        Signature = FieldSchema.Signature(fields);
    }

    private static int s_created;

    /// <summary>Whether this stands for a stored class the program does not define (see <see cref="MissingClass"/>).</summary>
    internal bool IsMissing => MissingTypeId is not null;

    /// <summary>For a stand-in (see <see cref="MissingClass"/>), the type id its objects are stored under in the database it was made for.</summary>
    internal uint? MissingTypeId { get; init; }

    /// <summary>The stored name of the class.</summary>
    public string Name { get; }

    /// <summary>
    /// Whether this is a persistent collection type of the library's (a closed PersistentList, BTree, …):
    /// each assembly that uses one registers it, and two registrations under one name and layout are one
    /// type. Two of a program's own classes under one name are two classes (see <see cref="PersistentTypes.Register"/>).
    /// </summary>
    internal bool IsCollectionType { get; init; }

    /// <summary>A number of this description's own in the process (0, 1, 2, … in the order they were made), by which a schema catalog finds its binding without hashing.</summary>
    internal int Index { get; } = Interlocked.Increment(ref s_created) - 1;

    /// <summary>Former stored names that records may still carry.</summary>
    public IReadOnlyList<string> Aliases { get; }

    /// <summary>The persistent base class, if any.</summary>
    public PersistentTypeInfo? Base { get; }

    /// <summary>The fields this class declares itself.</summary>
    public IReadOnlyList<FieldSchema> DeclaredFields { get; }

    /// <summary>Every stored field, the base class's first, in the order the state is written.</summary>
    public IReadOnlyList<FieldSchema> Fields { get; }

    /// <summary>One string that is equal for two classes exactly when their stored layouts are equal.</summary>
    public string Signature { get; }

    /// <summary>Makes an empty instance (a ghost) of the class.</summary>
    public PersistentObject CreateGhost() => _createGhost(new GhostToken(true));

    /// <inheritdoc />
    public override string ToString() => Name;
}

/// <summary>One stored field of a persistent class or value: its name and its type code.</summary>
/// <param name="Name">The property name.</param>
/// <param name="TypeCode">The encoding of the field (see docs/FORMAT.md): e.g. <c>i32</c>, <c>str</c>, <c>ref</c>, <c>list&lt;i64&gt;</c>, <c>i32?</c>.</param>
public readonly record struct FieldSchema(string Name, string TypeCode)
{
    /// <summary>The layout signature of a list of fields: <c>name:code,name:code</c>.</summary>
    public static string Signature(IEnumerable<FieldSchema> fields) =>
        string.Join(",", fields.Select(f => f.Name + ":" + f.TypeCode));
}
