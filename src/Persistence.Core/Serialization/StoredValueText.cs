using System.Globalization;
using System.Text;

namespace Persistence.Serialization;

/// <summary>
/// Writes a stored field's value as text from its bytes and type code alone (no class of the program is
/// needed): what <see cref="Storage.DatabaseInspector"/> shows. Long strings and collections are cut,
/// saying how much was left out; references name the oid and the class the reference was written with.
/// </summary>
internal static class StoredValueText
{
    /// <summary>The elements of a collection shown before the rest is counted.</summary>
    public const int MostElements = 16;

    /// <summary>The characters of a string shown before the rest is counted.</summary>
    public const int MostCharacters = 120;

    /// <summary>Reads one value of <paramref name="shape"/> and appends it to <paramref name="text"/>.</summary>
    /// <param name="shape">The value's type code, parsed.</param>
    /// <param name="reader">Where the value's bytes start; left after them.</param>
    /// <param name="text">Where the text goes.</param>
    /// <param name="classOf">The class name of a type id, for references.</param>
    public static void Append(TypeShape shape, ref RecordReader reader, StringBuilder text, Func<uint, string> classOf)
    {
        switch (shape.Kind)
        {
            case ShapeKind.Primitive:
                AppendPrimitive(shape.Name, ref reader, text);
                break;
            case ShapeKind.Sized when shape.Name == "str":
                AppendString(reader.ReadString(), text);
                break;
            case ShapeKind.Sized:
                AppendBytes(reader.ReadBytes(), text);
                break;
            case ShapeKind.Reference:
                var reference = reader.ReadObjectReference();
                if (reference.Oid.IsNull) text.Append("null");
                else text.Append("-> ").Append(reference.Oid.Value.ToString(CultureInfo.InvariantCulture)).Append(" (").Append(classOf(reference.TypeId)).Append(')');
                break;
            case ShapeKind.Nullable:
                if (reader.ReadBoolean()) Append(shape.Arguments[0], ref reader, text, classOf);
                else text.Append("null");
                break;
            case ShapeKind.Collection:
                AppendCollection(shape, ref reader, text, classOf);
                break;
            case ShapeKind.Packed:
                AppendPacked(shape.Arguments[0].Name, ref reader, text);
                break;
            case ShapeKind.Value:
                text.Append('{');
                for (var i = 0; i < shape.Fields.Length; i++)
                {
                    if (i > 0) text.Append(", ");
                    text.Append(shape.Fields[i].Name).Append(": ");
                    Append(shape.Fields[i].Shape, ref reader, text, classOf);
                }
                text.Append('}');
                break;
        }
    }

    private static void AppendPrimitive(string code, ref RecordReader reader, StringBuilder text)
    {
        var invariant = CultureInfo.InvariantCulture;
        _ = code switch
        {
            "bool" => text.Append(reader.ReadBoolean() ? "true" : "false"),
            "u8" => text.Append(reader.ReadByte().ToString(invariant)),
            "i8" => text.Append(reader.ReadSByte().ToString(invariant)),
            "i16" => text.Append(reader.ReadInt16().ToString(invariant)),
            "u16" => text.Append(reader.ReadUInt16().ToString(invariant)),
            "char" => AppendString(reader.ReadChar().ToString(), text, '\''),
            "i32" => text.Append(reader.ReadInt32().ToString(invariant)),
            "u32" => text.Append(reader.ReadUInt32().ToString(invariant)),
            "i64" => text.Append(reader.ReadInt64().ToString(invariant)),
            "u64" => text.Append(reader.ReadUInt64().ToString(invariant)),
            "f16" => text.Append(reader.ReadHalf().ToString("R", invariant)),
            "f32" => text.Append(reader.ReadSingle().ToString("R", invariant)),
            "f64" => text.Append(reader.ReadDouble().ToString("R", invariant)),
            "dec" => text.Append(reader.ReadDecimal().ToString(invariant)),
            "datetime" => AppendDateTime(reader.ReadDateTime(), text),
            "dto" => text.Append(reader.ReadDateTimeOffset().ToString("o", invariant)),
            "date" => text.Append(reader.ReadDateOnly().ToString("yyyy-MM-dd", invariant)),
            "time" => text.Append(reader.ReadTimeOnly().ToString("HH:mm:ss.FFFFFFF", invariant)),
            "timespan" => text.Append(reader.ReadTimeSpan().ToString("c", invariant)),
            "guid" => text.Append(reader.ReadGuid().ToString("D")),
            _ => throw new FormatException($"'{code}' is not a primitive type code."),
        };
    }

    private static StringBuilder AppendDateTime(DateTime value, StringBuilder text) =>
        text.Append(value.ToString("o", CultureInfo.InvariantCulture)).Append(value.Kind == DateTimeKind.Unspecified ? " (kind unspecified)" : "");

    private static StringBuilder AppendString(string? value, StringBuilder text, char quote = '"')
    {
        if (value is null) return text.Append("null");
        text.Append(quote);
        var shown = Math.Min(value.Length, MostCharacters);
        foreach (var c in value.AsSpan(0, shown))
        {
            _ = c switch
            {
                '\\' => text.Append(@"\\"),
                '\n' => text.Append(@"\n"),
                '\r' => text.Append(@"\r"),
                '\t' => text.Append(@"\t"),
                _ when c == quote => text.Append('\\').Append(c),
                _ when char.IsControl(c) => text.Append(@"\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture)),
                _ => text.Append(c),
            };
        }
        text.Append(quote);
        return shown < value.Length ? text.Append(CultureInfo.InvariantCulture, $"... ({value.Length - shown} more characters)") : text;
    }

    private static void AppendBytes(byte[]? value, StringBuilder text)
    {
        if (value is null)
        {
            text.Append("null");
            return;
        }
        text.Append(CultureInfo.InvariantCulture, $"{value.Length} bytes");
        if (value.Length == 0) return;
        var shown = Math.Min(value.Length, 32);
        text.Append(' ').Append(Convert.ToHexString(value, 0, shown));
        if (shown < value.Length) text.Append("...");
    }

    private static void AppendCollection(TypeShape shape, ref RecordReader reader, StringBuilder text, Func<uint, string> classOf)
    {
        var count = reader.ReadCount(Math.Max(1, SchemaTranscoder.MinimumSize(shape.Arguments[0])));
        if (count < 0)
        {
            text.Append("null");
            return;
        }
        var dictionary = shape.Arguments.Length == 2;
        text.Append(dictionary ? '{' : '[');
        for (var i = 0; i < count; i++)
        {
            if (i == MostElements)
            {
                // The rest is read past, so the fields after this one are still found.
                for (var j = i; j < count; j++)
                    foreach (var argument in shape.Arguments) SchemaTranscoder.Skip(argument, ref reader);
                text.Append(CultureInfo.InvariantCulture, $", ... ({count - i} more)");
                break;
            }
            if (i > 0) text.Append(", ");
            Append(shape.Arguments[0], ref reader, text, classOf);
            if (!dictionary) continue;
            text.Append(": ");
            Append(shape.Arguments[1], ref reader, text, classOf);
        }
        text.Append(dictionary ? '}' : ']');
    }

    private static void AppendPacked(string elementCode, ref RecordReader reader, StringBuilder text)
    {
        var values = PackedIntegers.ReadInt64s(ref reader, elementCode);
        if (values is null)
        {
            text.Append("null");
            return;
        }
        text.Append('[');
        var shown = Math.Min(values.Length, MostElements);
        for (var i = 0; i < shown; i++)
        {
            if (i > 0) text.Append(", ");
            if (elementCode == "u64") text.Append(((ulong)values[i]).ToString(CultureInfo.InvariantCulture));
            else text.Append(values[i].ToString(CultureInfo.InvariantCulture));
        }
        if (shown < values.Length) text.Append(CultureInfo.InvariantCulture, $", ... ({values.Length - shown} more)");
        text.Append(']');
    }
}
