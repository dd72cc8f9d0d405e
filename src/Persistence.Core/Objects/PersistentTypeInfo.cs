using Persistence.Serialization;

namespace Persistence;

/// <summary>
/// What the library knows of a persistent class: its stored name and former names, its fields
/// (names and type codes, the base class's first) and how to make a ghost of it. Generated code
/// creates one per class and registers it in <see cref="PersistentTypes"/>; nothing is found by reflection.
/// </summary>
public sealed class PersistentTypeInfo
{
    private readonly Func<GhostToken, PersistentObject>? _createGhost;

    /// <summary>Creates the description of a persistent class.</summary>
    /// <param name="name">The stored name: the full name of the class (nested types joined with '+').</param>
    /// <param name="aliases">Former stored names (<see cref="PersistentAliasAttribute"/>).</param>
    /// <param name="baseType">The persistent base class, if the class derives from one.</param>
    /// <param name="declaredFields">The fields this class declares, in the order its state writes them (after its base's).</param>
    /// <param name="createGhost">
    /// Makes an empty instance without running user constructors; null for an abstract class, whose
    /// objects stored by a program in which it was concrete load as stand-ins that say so (see <see cref="IsAbstract"/>).
    /// </param>
    public PersistentTypeInfo(
        string name,
        IReadOnlyList<string> aliases,
        PersistentTypeInfo? baseType,
        IReadOnlyList<FieldSchema> declaredFields,
        Func<GhostToken, PersistentObject>? createGhost)
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

    /// <summary>For a stand-in (<see cref="IsMissing"/>), why its objects cannot load: the message they fail with.</summary>
    internal string? MissingReason { get; init; }

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

    /// <summary>
    /// Whether the class is abstract (made without a ghost factory): no object is of it, but a database may
    /// hold objects a program stored while it was concrete; they load as stand-ins whose own load raises
    /// <see cref="SchemaMismatchException"/>, so what refers to them still loads.
    /// </summary>
    public bool IsAbstract => _createGhost is null;

    /// <summary>Makes an empty instance (a ghost) of the class.</summary>
    /// <exception cref="InvalidOperationException">The class is abstract.</exception>
    public PersistentObject CreateGhost() => _createGhost is { } create
        ? create(new GhostToken(true))
        : throw new InvalidOperationException($"{Name} is abstract: no object of it can be made.");

    /// <inheritdoc />
    public override string ToString() => Name;
}

/// <summary>
/// One stored field of a persistent class or value: its name and its type code, and for a field of a
/// class its default, if not its type's (the value it reads as in a record stored before the class had
/// it), and its former names (the field it reads in a record stored before it was renamed).
/// </summary>
/// <param name="Name">The property name.</param>
/// <param name="TypeCode">The encoding of the field (see docs/FORMAT.md): e.g. <c>i32</c>, <c>str</c>, <c>ref</c>, <c>list&lt;i64&gt;</c>, <c>i32?</c>.</param>
/// <remarks>Two fields are equal when their names and type codes are: the default and the former names are no part of the stored layout.</remarks>
public readonly record struct FieldSchema(string Name, string TypeCode)
{
    /// <summary>
    /// The value a record stored before the class had this field reads as, encoded as the field's type
    /// code writes it; null for the type's default (zero, false, null). Written in place of the missing
    /// field when such a record is converted to the current layout: reading a record of the current
    /// layout never looks at it.
    /// </summary>
    internal byte[]? EncodedDefault { get; private init; }

    /// <summary>
    /// This field, reading as <paramref name="value"/> in records stored before the class had it (a property
    /// added to the class later) rather than as its type's default. Generated code gives it for a non-nullable
    /// <c>string</c> (<c>""</c>) and for a <see cref="PersistentDefaultAttribute"/>; objects created by the
    /// program are not affected.
    /// </summary>
    /// <typeparam name="T">The field's type.</typeparam>
    /// <param name="codec">The codec of the field's type; its type code must be <see cref="TypeCode"/>.</param>
    /// <param name="value">The value the field reads as.</param>
    /// <exception cref="ArgumentException">The codec writes another type code, or writes references.</exception>
    public FieldSchema WithDefault<T>(ValueCodec<T> codec, T value)
    {
        ArgumentNullException.ThrowIfNull(codec);
        if (codec.TypeCode != TypeCode || codec.IsReference)
            throw new ArgumentException($"Field '{Name}' is stored as '{TypeCode}': its default cannot be written as '{codec.TypeCode}'.", nameof(codec));
        var buffer = new RecordBuffer(0);
        var writer = buffer.BeginRecord(0, 0, null);
        codec.Write(ref writer, value);
        return this with { EncodedDefault = RecordFormat.State(buffer.Memory(writer.Complete()).Span).ToArray() };
    }

    /// <summary>This field with <paramref name="encoded"/> as its <see cref="EncodedDefault"/> (as the schema catalog keeps it).</summary>
    internal FieldSchema WithEncodedDefault(byte[]? encoded) => this with { EncodedDefault = encoded };

    /// <summary>
    /// Former names of the field (<see cref="PersistentAliasAttribute"/> on a renamed property): a record stored
    /// before the rename, which has no field of <see cref="Name"/>, reads its value from the field of the first
    /// of these it has, unless the class has a field of that name now. Empty if there are none.
    /// </summary>
    public IReadOnlyList<string> Aliases => FormerNames ?? [];

    private string[]? FormerNames { get; init; }

    /// <summary>
    /// This field, reading its value in records stored before a rename from the field of a former name
    /// (<see cref="Aliases"/>). Generated code gives it for a <see cref="PersistentAliasAttribute"/> on a property.
    /// </summary>
    /// <param name="formerNames">The field's former names, the most recent first.</param>
    /// <exception cref="ArgumentException">A former name is empty, or is the field's own name.</exception>
    public FieldSchema WithAliases(params string[] formerNames)
    {
        ArgumentNullException.ThrowIfNull(formerNames);
        foreach (var former in formerNames)
        {
            if (string.IsNullOrEmpty(former) || former == Name)
                throw new ArgumentException($"Field '{Name}' cannot have {(string.IsNullOrEmpty(former) ? "an empty former name" : "its own name as a former name")}: give the names the property had before it was renamed.", nameof(formerNames));
        }
        return this with { FormerNames = [.. Aliases, .. formerNames] };
    }

    /// <inheritdoc />
    public bool Equals(FieldSchema other) => Name == other.Name && TypeCode == other.TypeCode;

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(Name, TypeCode);

    /// <summary>The layout signature of a list of fields: <c>name:code,name:code</c>.</summary>
    public static string Signature(IEnumerable<FieldSchema> fields) =>
        string.Join(",", fields.Select(f => f.Name + ":" + f.TypeCode));
}
