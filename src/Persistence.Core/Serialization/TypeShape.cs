namespace Persistence.Serialization;

/// <summary>A parsed type code (docs/FORMAT.md): what a field's bytes are, enough to skip, copy or convert them.</summary>
internal sealed class TypeShape
{
    private static readonly Dictionary<string, TypeShape> Parsed = new(StringComparer.Ordinal);
    private static readonly Lock Gate = new();

    private TypeShape(string code, ShapeKind kind, string name)
    {
        Code = code;
        Kind = kind;
        Name = name;
        FixedSize = kind == ShapeKind.Primitive ? PrimitiveSize(name) : -1;
    }

    public string Code { get; }
    public ShapeKind Kind { get; }

    /// <summary>The primitive's code (<c>i32</c>), or <c>list</c>/<c>array</c>/<c>dict</c>/<c>packed</c>.</summary>
    public string Name { get; }

    /// <summary>The element shapes of a collection, or the inner shape of a nullable.</summary>
    public TypeShape[] Arguments { get; private set; } = [];

    /// <summary>The fields of an inline value.</summary>
    public (string Name, TypeShape Shape)[] Fields { get; private set; } = [];

    /// <summary>The fixed size in bytes of a primitive, or -1 if the size depends on the value.</summary>
    public int FixedSize { get; }

    /// <summary>Parses a type code, caching the result.</summary>
    public static TypeShape Parse(string code)
    {
        lock (Gate)
        {
            if (Parsed.TryGetValue(code, out var known)) return known;
            var position = 0;
            var shape = ParseAt(code, ref position);
            if (position != code.Length) throw Invalid(code);
            Parsed[code] = shape;
            return shape;
        }
    }

    private static TypeShape ParseAt(string code, ref int position)
    {
        var start = position;
        TypeShape shape;
        if (position < code.Length && code[position] == '{')
        {
            position++;
            var fields = new List<(string, TypeShape)>();
            while (position < code.Length && code[position] != '}')
            {
                var colon = code.IndexOf(':', position);
                if (colon < 0) throw Invalid(code);
                var name = code[position..colon];
                position = colon + 1;
                fields.Add((name, ParseAt(code, ref position)));
                if (position < code.Length && code[position] == ',') position++;
            }
            if (position >= code.Length) throw Invalid(code);
            position++;
            shape = new TypeShape("", ShapeKind.Value, "value") { Fields = [.. fields] };
        }
        else
        {
            while (position < code.Length && (char.IsAsciiLetterOrDigit(code[position]))) position++;
            var name = code[start..position];
            if (name.Length == 0) throw Invalid(code);
            if (position < code.Length && code[position] == '<')
            {
                position++;
                var arguments = new List<TypeShape> { ParseAt(code, ref position) };
                while (position < code.Length && code[position] == ',')
                {
                    position++;
                    arguments.Add(ParseAt(code, ref position));
                }
                if (position >= code.Length || code[position] != '>') throw Invalid(code);
                position++;
                var expected = name == "dict" ? 2 : 1;
                if (name == "packed")
                {
                    if (arguments.Count != 1 || !PackedIntegers.IsElementCode(arguments[0].Code)) throw Invalid(code);
                    shape = new TypeShape("", ShapeKind.Packed, name) { Arguments = [.. arguments] };
                }
                else
                {
                    if ((name != "list" && name != "array" && name != "dict") || arguments.Count != expected) throw Invalid(code);
                    shape = new TypeShape("", ShapeKind.Collection, name) { Arguments = [.. arguments] };
                }
            }
            else
            {
                if (name != "ref" && name != "str" && name != "bytes" && PrimitiveSize(name) < 0) throw Invalid(code);
                shape = new TypeShape("", name switch { "ref" => ShapeKind.Reference, "str" or "bytes" => ShapeKind.Sized, _ => ShapeKind.Primitive }, name);
            }
        }
        if (position < code.Length && code[position] == '?')
        {
            // The inner shape keeps its own code: conversions compare codes to tell an unchanged value
            // (copied as it is) from a widened one (i32 inside i32? and inside i64? are not the same bytes).
            var inner = shape.WithCode(code[start..position]);
            position++;
            shape = new TypeShape("", ShapeKind.Nullable, "?") { Arguments = [inner] };
        }
        return shape.WithCode(code[start..position]);
    }

    private TypeShape WithCode(string code) =>
        new(code, Kind, Name) { Arguments = Arguments, Fields = Fields };

    private static int PrimitiveSize(string name) => name switch
    {
        "bool" or "u8" or "i8" => 1,
        "i16" or "u16" or "char" or "f16" => 2,
        "i32" or "u32" or "f32" or "date" => 4,
        "i64" or "u64" or "f64" or "datetime" or "time" or "timespan" => 8,
        "dto" => 10,
        "dec" or "guid" => 16,
        _ => -1,
    };

    private static FormatException Invalid(string code) => new($"'{code}' is not a valid type code.");
}

/// <summary>The kinds of <see cref="TypeShape"/>.</summary>
internal enum ShapeKind
{
    /// <summary>A fixed-size value.</summary>
    Primitive,
    /// <summary>A length-prefixed string or byte array.</summary>
    Sized,
    /// <summary>A persistent reference.</summary>
    Reference,
    /// <summary>A presence byte and a value.</summary>
    Nullable,
    /// <summary>A list, array or dictionary.</summary>
    Collection,
    /// <summary>An array of integers in the packed encoding (<see cref="PackedIntegers"/>).</summary>
    Packed,
    /// <summary>An inline <c>[PersistentValue]</c>.</summary>
    Value,
}
