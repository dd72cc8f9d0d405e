namespace Persistence;

/// <summary>Messages and checks shared by the persistent collections.</summary>
internal static class CollectionTypes
{
    public static InvalidOperationException NotRegistered(string collection, string arguments) =>
        new($"{collection}<{arguments}> is not registered, so it cannot be stored or loaded. The source generator registers every closed collection type it sees in a project that references Persistence " +
            "whose type arguments can be stored (the types a stored property may have: not a tuple, object or an interface, and for a BTree's key a value, not a persistent object; " +
            "error PERSIST021 reports such a collection at build time; a composite key is a [PersistentValue] record struct that implements IComparable<T>). " +
            $"Otherwise make sure the generator runs for the project that uses this type, or call {collection}<{arguments}>.Register(...) at start-up.");

    /// <summary>
    /// A type argument's name as C# code writes it, short: a keyword for a built-in type, <c>(…, …)</c> for
    /// a tuple, <c>Name&lt;…&gt;</c> for another generic type (its arguments left out), else its name.
    /// </summary>
    public static string NameOf(Type type)
    {
        var name = type.Name;
        var tick = name.IndexOf('`');
        if (tick < 0)
        {
            return type.IsEnum ? name : Type.GetTypeCode(type) switch
            {
                TypeCode.Boolean => "bool",
                TypeCode.Byte => "byte",
                TypeCode.SByte => "sbyte",
                TypeCode.Int16 => "short",
                TypeCode.UInt16 => "ushort",
                TypeCode.Int32 => "int",
                TypeCode.UInt32 => "uint",
                TypeCode.Int64 => "long",
                TypeCode.UInt64 => "ulong",
                TypeCode.Char => "char",
                TypeCode.Single => "float",
                TypeCode.Double => "double",
                TypeCode.Decimal => "decimal",
                TypeCode.String => "string",
                _ => type == typeof(object) ? "object" : name,
            };
        }
        var holes = string.Join(", ", Enumerable.Repeat("…", int.Parse(name.AsSpan(tick + 1), provider: System.Globalization.CultureInfo.InvariantCulture)));
        return name.StartsWith("ValueTuple`", StringComparison.Ordinal) ? $"({holes})" : $"{name[..tick]}<{holes}>";
    }

    /// <summary>A collection record's count, which is never null (a null count is damage, not an empty collection).</summary>
    public static int StoredCount(int count, string collection) =>
        count >= 0 ? count : throw new FormatException($"A record is damaged: a {collection} has no count (stored as null).");

    /// <summary>The error of an enumerator whose collection was reloaded (a transaction boundary turned it into a ghost) while it was enumerated.</summary>
    public static InvalidOperationException ReloadedDuringEnumeration() =>
        new("The persistent collection was reloaded while it was being enumerated (a commit, abort or cache eviction turned it back into a ghost). Finish the enumeration within the transaction, or enumerate a copy (ToList()).");

    /// <summary>The error of a change through a read-only view (Keys or Values of a dictionary).</summary>
    public static NotSupportedException ReadOnlyView(string view) =>
        new($"The {view} view of a persistent dictionary is read-only; change the dictionary itself.");

    /// <summary>
    /// Whether storing <paramref name="assigned"/> where <paramref name="stored"/> is leaves the stored
    /// bytes exactly as they are, so the write can be skipped. Only exact cases count: the same object,
    /// equal strings, equal integers, booleans, characters and Guids. Anything else is a change, even
    /// when Equals says otherwise (0.0 and -0.0, 1.0m and 1.00m, the kind of a DateTime).
    /// </summary>
    public static bool Unchanged<T>(T stored, T assigned)
    {
        if (typeof(T) == typeof(int) || typeof(T) == typeof(long) || typeof(T) == typeof(bool) || typeof(T) == typeof(Guid) ||
            typeof(T) == typeof(uint) || typeof(T) == typeof(ulong) || typeof(T) == typeof(short) || typeof(T) == typeof(ushort) ||
            typeof(T) == typeof(byte) || typeof(T) == typeof(sbyte) || typeof(T) == typeof(char))
        {
            return EqualityComparer<T>.Default.Equals(stored, assigned);
        }
        if (default(T) is not null) return false;
        return ReferenceEquals(stored, assigned) || (stored is string a && assigned is string b && string.Equals(a, b, StringComparison.Ordinal));
    }

    /// <summary>Checks an index into a collection of <paramref name="count"/> elements before anything is changed.</summary>
    public static void CheckIndex(int index, int count, bool allowEnd = false)
    {
        if ((uint)index > (uint)count || (!allowEnd && index == count))
            throw new ArgumentOutOfRangeException(nameof(index), index, $"The index must be at least 0 and {(allowEnd ? "at most" : "less than")} the count, {count}.");
    }

    /// <summary>Checks a range of a collection of <paramref name="count"/> elements before anything is changed.</summary>
    public static void CheckRange(int index, int length, int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        if (count - index < length)
            throw new ArgumentException($"The range of {length} elements at {index} does not lie within the {count} elements of the collection.");
    }
}
