namespace Persistence.Serialization;

/// <summary>
/// How a stored field list is read as another one (a class's current fields, or an inline value's):
/// both lists' shapes, parsed once, and for each wanted field the stored field it comes from. A record
/// binding keeps its class's map, and the maps of inline values are kept by their pair of shapes, so a
/// record of an older layout converts without parsing type codes or building lookups again.
/// </summary>
internal sealed class FieldMap
{
    private static readonly Dictionary<(TypeShape From, TypeShape To), FieldMap> ValueMaps = [];
    private static readonly Lock Gate = new();

    private FieldMap(
        (string Name, TypeShape Shape)[] stored,
        (string Name, TypeShape Shape)[] current,
        IReadOnlyList<FieldSchema>? currentFields = null,
        IReadOnlyList<FieldSchema>? storedFields = null)
    {
        Stored = stored;
        Current = current;
        Defaults = currentFields?.Select(static f => f.EncodedDefault).ToArray();
        StoredDefaults = storedFields?.Select(static f => f.EncodedDefault).ToArray();
        Sources = new int[current.Length];
        Targets = new int[stored.Length];
        Array.Fill(Targets, -1);
        Copied = new bool[current.Length];
        for (var i = 0; i < current.Length; i++)
        {
            var source = Source(stored, current, i, currentFields?[i].Aliases);
            Sources[i] = source;
            if (source < 0) continue;
            if (Targets[source] < 0) Targets[source] = i;
            var from = stored[source].Shape;
            Copied[i] = from.Code == current[i].Shape.Code;
            if (Mismatched < 0 && !SchemaTranscoder.Convertible(from, current[i].Shape)) Mismatched = i;
        }
    }

    /// <summary>
    /// The stored field that wanted field <paramref name="at"/> reads: the one of its name, else the first of
    /// its former names (<see cref="FieldSchema.WithAliases"/>) that no wanted field has as its own name. A
    /// field of its name whose values do not convert gives way to a former name's that do: a property whose
    /// type was changed through a new name (the old property kept beside it while values were copied over)
    /// and that was then renamed back reads the new field of the records that hold both.
    /// </summary>
    private static int Source((string Name, TypeShape Shape)[] stored, (string Name, TypeShape Shape)[] current, int at, IReadOnlyList<string>? aliases)
    {
        var (name, shape) = current[at];
        var own = Array.FindIndex(stored, field => field.Name == name);
        if (aliases is null || (own >= 0 && SchemaTranscoder.Convertible(stored[own].Shape, shape))) return own;
        foreach (var alias in aliases)
        {
            if (Array.Exists(current, field => field.Name == alias)) continue;
            var source = Array.FindIndex(stored, field => field.Name == alias);
            if (source >= 0 && (own < 0 || SchemaTranscoder.Convertible(stored[source].Shape, shape))) return source;
        }
        return own;
    }

    /// <summary>The stored fields, in the order their values lie in a record.</summary>
    public (string Name, TypeShape Shape)[] Stored { get; }

    /// <summary>The wanted fields, in the order they are written.</summary>
    public (string Name, TypeShape Shape)[] Current { get; }

    /// <summary>For each wanted field, the index of the stored field of its name (or a former name), or -1 (it gets its default).</summary>
    public int[] Sources { get; }

    /// <summary>For each stored field, the index of the wanted field that reads it, or -1 (it is skipped).</summary>
    public int[] Targets { get; }

    /// <summary>For each wanted field, whether its stored bytes are copied as they are (same type code).</summary>
    public bool[] Copied { get; }

    /// <summary>
    /// For each wanted field, its default encoded (<see cref="FieldSchema.EncodedDefault"/>), written when the
    /// stored fields lack it; null for its type's default. Null for an inline value its codec did not describe
    /// (<see cref="ValueLayouts"/>).
    /// </summary>
    public byte[]?[]? Defaults { get; }

    /// <summary>
    /// For each stored field of a class, the default the program that added its layout gave it (as the schema
    /// catalog keeps it); null for its type's default. Null for an inline value's fields.
    /// </summary>
    public byte[]?[]? StoredDefaults { get; }

    /// <summary>The first wanted field whose stored values do not convert to it, or -1.</summary>
    public int Mismatched { get; } = -1;

    /// <summary>The map of one field list to another, parsing their type codes.</summary>
    public static FieldMap Of(IReadOnlyList<FieldSchema> storedFields, IReadOnlyList<FieldSchema> currentFields) =>
        new(Shapes(storedFields), Shapes(currentFields), currentFields, storedFields);

    /// <summary>
    /// The map of a class's stored fields to its current ones, built at the first record read with it
    /// rather than when the binding is made: a binding that only makes ghosts must not fail on a type code
    /// this program cannot parse (the record's load does, as the exception it always was).
    /// </summary>
    /// <param name="storedFields">The fields as the record was written.</param>
    /// <param name="currentFields">The class's fields in this program.</param>
    /// <param name="storedByNewerProgram">Whether a newer program than this one wrote records with the stored fields (see <see cref="StoredByNewerProgram"/>).</param>
    public static Lazy<FieldMap> Later(IReadOnlyList<FieldSchema> storedFields, IReadOnlyList<FieldSchema> currentFields, bool storedByNewerProgram = false) =>
        new(() =>
        {
            var map = Of(storedFields, currentFields);
            map.StoredByNewerProgram = storedByNewerProgram;
            return map;
        }, LazyThreadSafetyMode.PublicationOnly);

    /// <summary>
    /// Whether the stored fields are a layout a newer program wrote (its catalog version came after the one
    /// this program writes): a field that does not convert is then a change the newer program made, which
    /// this program cannot undo, and the error says so rather than advise how to change the type.
    /// </summary>
    public bool StoredByNewerProgram { get; private set; }

    /// <summary>
    /// The map of one inline value's fields to another's, made once per pair of shapes, with the defaults and
    /// former names the current value's codec described (<see cref="ValueLayouts"/>).
    /// </summary>
    public static FieldMap Of(TypeShape storedValue, TypeShape currentValue)
    {
        lock (Gate)
        {
            if (!ValueMaps.TryGetValue((storedValue, currentValue), out var map))
                ValueMaps[(storedValue, currentValue)] = map = new(storedValue.Fields, currentValue.Fields, ValueLayouts.Find(currentValue.Code));
            return map;
        }
    }

    private static (string Name, TypeShape Shape)[] Shapes(IReadOnlyList<FieldSchema> fields)
    {
        var shapes = new (string, TypeShape)[fields.Count];
        for (var i = 0; i < shapes.Length; i++) shapes[i] = (fields[i].Name, TypeShape.Parse(fields[i].TypeCode));
        return shapes;
    }
}
