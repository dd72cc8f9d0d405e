using System.Text;

namespace Persistence;

/// <summary>
/// Class names as C# code writes them, for messages: <c>Persistence.PersistentList&lt;Shop.Invoice&gt;</c>
/// and <c>Persistence.PersistentDictionary&lt;string, List&lt;int&gt;&gt;</c>, where the stored name says
/// <c>Persistence.PersistentDictionary&lt;str,list&lt;i32&gt;&gt;</c> (type codes, docs/FORMAT.md) and
/// the runtime <c>Persistence.PersistentDictionary`2[System.String,…]</c>. Nested classes are joined
/// with '.'. Only text is read: no reflection. A name that does not parse is given as it is.
/// </summary>
internal static class ClassNames
{
    private static readonly Dictionary<string, string> Codes = new(StringComparer.Ordinal)
    {
        ["bool"] = "bool", ["u8"] = "byte", ["i8"] = "sbyte", ["i16"] = "short", ["u16"] = "ushort",
        ["char"] = "char", ["i32"] = "int", ["u32"] = "uint", ["i64"] = "long", ["u64"] = "ulong",
        ["f16"] = "Half", ["f32"] = "float", ["f64"] = "double", ["dec"] = "decimal", ["str"] = "string",
        ["bytes"] = "byte[]", ["datetime"] = "DateTime", ["dto"] = "DateTimeOffset", ["date"] = "DateOnly",
        ["time"] = "TimeOnly", ["timespan"] = "TimeSpan", ["guid"] = "Guid", ["ref"] = "PersistentObject",
    };

    private static readonly Dictionary<string, string> RuntimeNames = new(StringComparer.Ordinal)
    {
        ["System.Boolean"] = "bool", ["System.Byte"] = "byte", ["System.SByte"] = "sbyte", ["System.Int16"] = "short",
        ["System.UInt16"] = "ushort", ["System.Char"] = "char", ["System.Int32"] = "int", ["System.UInt32"] = "uint",
        ["System.Int64"] = "long", ["System.UInt64"] = "ulong", ["System.Single"] = "float", ["System.Double"] = "double",
        ["System.Decimal"] = "decimal", ["System.String"] = "string", ["System.Object"] = "object",
        ["System.Half"] = "Half", ["System.DateTime"] = "DateTime", ["System.DateTimeOffset"] = "DateTimeOffset",
        ["System.DateOnly"] = "DateOnly", ["System.TimeOnly"] = "TimeOnly", ["System.TimeSpan"] = "TimeSpan",
        ["System.Guid"] = "Guid", ["System.IntPtr"] = "nint", ["System.UIntPtr"] = "nuint",
        ["System.Collections.Generic.List"] = "List", ["System.Collections.Generic.Dictionary"] = "Dictionary",
    };

    /// <summary>A stored class name (a persistent class's full name, or a collection's with type codes as its arguments) as C# writes it.</summary>
    public static string OfStored(string storedName) => Read(storedName, Stored);

    /// <summary>The class <typeparamref name="T"/> as C# writes it.</summary>
    public static string Of<T>() => Read(typeof(T).ToString(), Runtime);

    private delegate void Grammar(string name, ref int position, StringBuilder text);

    private static string Read(string name, Grammar grammar)
    {
        var text = new StringBuilder();
        var position = 0;
        try
        {
            grammar(name, ref position, text);
        }
        catch (Exception e) when (e is IndexOutOfRangeException or FormatException)
        {
            return name;
        }
        return position == name.Length ? text.ToString() : name;
    }

    // name ('<' argument (',' argument)* '>')? '?'?  |  '{' field ':' code (',' field ':' code)* '}'
    private static void Stored(string name, ref int position, StringBuilder text)
    {
        if (name[position] == '{')
        {
            text.Append('{');
            position++;
            while (name[position] != '}')
            {
                var colon = name.IndexOf(':', position);
                if (colon < 0) throw new FormatException();
                text.Append(name, position, colon - position).Append(": ");
                position = colon + 1;
                Stored(name, ref position, text);
                if (name[position] == ',') { position++; text.Append(", "); }
            }
            position++;
            text.Append('}');
        }
        else
        {
            var identifier = Identifier(name, ref position);
            if (position < name.Length && name[position] == '<')
            {
                var arguments = new List<string>();
                position++;
                while (true)
                {
                    var argument = new StringBuilder();
                    Stored(name, ref position, argument);
                    arguments.Add(argument.ToString());
                    if (name[position++] == '>') break;
                }
                text.Append(identifier switch
                {
                    "array" or "packed" when arguments.Count == 1 => arguments[0] + "[]",
                    "list" when arguments.Count == 1 => $"List<{arguments[0]}>",
                    "dict" when arguments.Count == 2 => $"Dictionary<{arguments[0]}, {arguments[1]}>",
                    _ => $"{identifier.Replace('+', '.')}<{string.Join(", ", arguments)}>",
                });
            }
            else text.Append(Codes.TryGetValue(identifier, out var keyword) ? keyword : identifier.Replace('+', '.'));
        }
        if (position < name.Length && name[position] == '?') { position++; text.Append('?'); }
    }

    // name ('`' digits '[' argument (',' argument)* ']')? ('[' ','* ']')*
    private static void Runtime(string name, ref int position, StringBuilder text)
    {
        var identifier = Identifier(name, ref position);
        if (position < name.Length && name[position] == '`')
        {
            while (char.IsAsciiDigit(name[++position])) { }
            if (name[position++] != '[') throw new FormatException();
            var arguments = new List<string>();
            while (true)
            {
                var argument = new StringBuilder();
                Runtime(name, ref position, argument);
                arguments.Add(argument.ToString());
                if (name[position++] == ']') break;
            }
            text.Append(identifier == "System.Nullable" && arguments.Count == 1
                ? arguments[0] + "?"
                : $"{Plain(identifier)}<{string.Join(", ", arguments)}>");
        }
        else text.Append(Plain(identifier));
        while (position < name.Length && name[position] == '[')
        {
            var end = name.IndexOf(']', position);
            if (end < 0) throw new FormatException();
            text.Append(name, position, end + 1 - position);
            position = end + 1;
        }

        static string Plain(string identifier) =>
            RuntimeNames.TryGetValue(identifier, out var known) ? known : identifier.Replace('+', '.');
    }

    private static string Identifier(string name, ref int position)
    {
        var start = position;
        while (position < name.Length && (char.IsLetterOrDigit(name[position]) || name[position] is '_' or '.' or '+'))
            position++;
        if (position == start) throw new FormatException();
        return name[start..position];
    }
}
