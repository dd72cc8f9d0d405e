namespace Persistence.Serialization;

/// <summary>
/// What the codecs of <c>[PersistentValue]</c> types say of their fields beyond the type code: each field's
/// default (the value it reads as in a value stored before the type had it) and former names. The
/// conversion of an older value finds them by the current type code (a value's type code is its field list:
/// names and types, not the name of the type). Two value types of one type code that describe its fields
/// differently leave it with neither's description: its added fields read as their types' defaults and
/// match by name only, whichever of the two types registered first.
/// </summary>
internal static class ValueLayouts
{
    private static readonly Dictionary<string, FieldSchema[]?> Described = new(StringComparer.Ordinal);
    private static readonly Lock Gate = new();

    /// <summary>Keeps the description of the fields of the value type <paramref name="typeCode"/> stands for.</summary>
    /// <exception cref="ArgumentException">The fields are not those the type code lists, in its order.</exception>
    public static void Describe(string typeCode, FieldSchema[] fields)
    {
        var shape = TypeShape.Parse(typeCode);
        if (shape.Kind != ShapeKind.Value || shape.Fields.Length != fields.Length
            || !shape.Fields.Select(static f => f.Name).SequenceEqual(fields.Select(static f => f.Name))
            || !shape.Fields.Select(static f => f.Shape.Code).SequenceEqual(fields.Select(static f => f.TypeCode)))
        {
            throw new ArgumentException($"The fields described ({FieldSchema.Signature(fields)}) are not those of the value type code '{typeCode}'.", nameof(fields));
        }
        lock (Gate)
        {
            if (!Described.TryGetValue(typeCode, out var known)) Described[typeCode] = fields;
            else if (known is not null && !SameDescription(known, fields)) Described[typeCode] = null;
        }
    }

    /// <summary>The fields of the value type code <paramref name="typeCode"/> as its codec described them, or null.</summary>
    public static FieldSchema[]? Find(string typeCode)
    {
        lock (Gate) return Described.GetValueOrDefault(typeCode);
    }

    private static bool SameDescription(FieldSchema[] left, FieldSchema[] right)
    {
        for (var i = 0; i < left.Length; i++)
        {
            if (!left[i].Aliases.SequenceEqual(right[i].Aliases)) return false;
            if (!(left[i].EncodedDefault ?? []).AsSpan().SequenceEqual(right[i].EncodedDefault ?? [])
                || (left[i].EncodedDefault is null) != (right[i].EncodedDefault is null)) return false;
        }
        return true;
    }
}
