namespace Persistence.Serialization;

/// <summary>
/// Finds the registered class a class name of the schema catalog stands for in this program
/// (docs/FORMAT.md, "Schema evolution"). A class is found by its name or a former one
/// (<see cref="PersistentTypes.Find"/>). A persistent collection is named with its type arguments
/// (<c>Persistence.PersistentList&lt;Shop.Customer&gt;</c>, <c>Persistence.BTree&lt;i32,i64&gt;.Bucket</c>),
/// so its name changes when a class it holds is renamed or its element type is widened: it is found as
/// the one registered collection of the same kind whose every type argument is the stored one, the
/// current name of a renamed class or a persistent base class of it, or a safe widening of a stored value type (whose records the
/// <see cref="SchemaTranscoder"/> then converts, as any class's fields). Only registered names are
/// compared: nothing is looked up by reflection.
/// </summary>
internal static class StoredNames
{
    /// <summary>The registered class <paramref name="storedName"/> is read as, or null if there is none or no single one.</summary>
    public static PersistentTypeInfo? TryResolve(string storedName)
    {
        if (PersistentTypes.Find(storedName) is { } type) return type;
        var candidates = ReadableAs(storedName);
        return candidates.Count == 1 ? candidates[0] : null;
    }

    /// <summary>Why <paramref name="storedName"/>, for which <see cref="TryResolve"/> found nothing, reads as no registered class (or as several).</summary>
    public static string WhyUnresolved(string storedName) => Unresolved(storedName, ReadableAs(storedName));

    /// <summary>
    /// The registered collections of the kind <paramref name="storedName"/> names (no registered class has that
    /// name) whose type arguments the stored ones can be read as. Empty if it is not the name of a generic type.
    /// </summary>
    private static List<PersistentTypeInfo> ReadableAs(string storedName) =>
        GenericName.TryParse(storedName, out var stored) ? Matching(stored, ArgumentReadsAs) : [];

    /// <summary>
    /// The registered collections of the kind <paramref name="stored"/> names whose type arguments pair with the
    /// stored ones by <paramref name="matches"/> (called with the stored argument, then the registered one).
    /// </summary>
    private static List<PersistentTypeInfo> Matching(GenericName stored, Func<string, string, bool> matches)
    {
        var found = new List<PersistentTypeInfo>();
        foreach (var type in PersistentTypes.All)
        {
            if (GenericName.TryParse(type.Name, out var current) && stored.IsSameKind(current) && stored.ArgumentsPair(current, matches)) found.Add(type);
        }
        return found;
    }

    /// <summary>
    /// Why <paramref name="target"/>, an object of a registered collection class, is not the
    /// <paramref name="expected"/> (as C# names it) that <paramref name="field"/> holds although it could be
    /// read as one (its type arguments read as that one's): this program also uses its class, so its objects
    /// load as that. Null when it could not be read as one.
    /// </summary>
    public static string? WhyNotReadAs(PersistentTypeInfo target, string expected, string field)
    {
        if (RegisteredReadAs(target, expected) is null) return null;
        var storedClass = ClassNames.OfStored(target.Name);
        return $"{field} holds objects of type '{expected}', and the collection it refers to is stored as a '{storedClass}', which this program also uses, and this connection " +
            $"has already loaded it as one (through another reference): one object is of one class in a connection. Refer to the collection from properties of one type, " +
            $"or read it through {field} first (in a new connection) and store it, after which it is a '{expected}'.";
    }

    /// <summary>
    /// The registered collection class C# names <paramref name="expected"/> that objects of the registered collection
    /// class <paramref name="stored"/> read as (its type arguments are the stored ones, base classes of them or safe
    /// widenings of them), or null if there is none.
    /// </summary>
    public static PersistentTypeInfo? RegisteredReadAs(PersistentTypeInfo stored, string expected) =>
        GenericName.TryParse(stored.Name, out var name) ? Matching(name, ArgumentReadsAs).Find(t => ClassNames.OfStored(t.Name) == expected) : null;

    /// <summary>Whether a record of the class <paramref name="stored"/> reads as an object of the registered collection class <paramref name="type"/> (a pair of names compared, not every registered class).</summary>
    public static bool ReadsAs(PersistentTypeInfo stored, PersistentTypeInfo type) =>
        PersistentTypes.Find(type.Name) == type &&
        GenericName.TryParse(stored.Name, out var from) && GenericName.TryParse(type.Name, out var to) && from.IsSameKind(to) && from.ArgumentsPair(to, ArgumentReadsAs);

    /// <summary>Whether <paramref name="type"/> is the class named <paramref name="current"/> or derives from it.</summary>
    private static bool IsOrDerivesFrom(PersistentTypeInfo type, string current)
    {
        for (PersistentTypeInfo? t = type; t is not null; t = t.Base)
            if (t.Name == current) return true;
        return false;
    }

    /// <summary>Whether what a collection stored as type argument <paramref name="stored"/> reads as one of <paramref name="current"/>.</summary>
    private static bool ArgumentReadsAs(string stored, string current)
    {
        if (stored == current) return true;
        // A class by its current or a former name, or a persistent class it derives from (every element
        // stored is one of those); a collection whose arguments name renamed classes.
        if (PersistentTypes.Find(stored) is { } type) return IsOrDerivesFrom(type, current);
        // A value: the same or a safe widening (the records' fields are converted as they are read).
        if (ValueShape(stored) is { } from) return ValueShape(current) is { } to && SchemaTranscoder.Convertible(from, to);
        // A collection whose own arguments widened: its objects are records of their own, found by their own names.
        return ReadableAs(stored).Exists(t => t.Name == current);
    }

    /// <summary>The shape of a value's type code, or null for the name of a class (or anything else).</summary>
    private static TypeShape? ValueShape(string argument)
    {
        // Class names hold '.' or '+' unless in the global namespace, where a name that is no type code fails to parse.
        if (argument.Contains('.') || argument.Contains('+')) return null;
        try
        {
            var shape = TypeShape.Parse(argument);
            return shape.Kind == ShapeKind.Reference ? null : shape;
        }
        catch (FormatException)
        {
            return null;
        }
    }

    /// <summary>The first class that <paramref name="argument"/> names, or one of the arguments it holds names, which this program does not know by that name; null if none.</summary>
    private static string? UnknownClass(string argument)
    {
        if (ValueShape(argument) is not null || PersistentTypes.Find(argument) is not null) return null;
        if (!GenericName.TryParse(argument, out var generic)) return argument;
        foreach (var inner in generic.Arguments)
        {
            if (UnknownClass(inner) is { } unknown) return unknown;
        }
        return null;
    }

    /// <summary>
    /// What to do about a stored class name no registered class has: add the class, or alias the class this program has
    /// for it. That class may be the one it was renamed to, or, in a program older than the one that renamed it, the one
    /// it was renamed from: the advice names neither direction.
    /// </summary>
    private static string AddOrAlias(string storedName) =>
        $"Add the class (marked [Persistent]); or, if this program has it under another name (renamed since it was stored, or before a newer version of the program renamed it), put [PersistentAlias(\"{storedName}\")] on that class.";

    private static string Unresolved(string storedName, List<PersistentTypeInfo> candidates)
    {
        if (!GenericName.TryParse(storedName, out var stored))
            return $"The database holds objects of class '{storedName}', which this program does not define or register. {AddOrAlias(storedName)}";
        if (candidates.Count > 1)
        {
            return $"The database holds objects of '{storedName}', which this program could read as any of {string.Join(", ", candidates.Select(c => $"'{c.Name}'").Order(StringComparer.Ordinal))} (their type arguments are safe widenings of the stored ones), and it cannot tell which one the property that holds them became. " +
                "Declare that property with the stored type arguments again (and copy its contents into a collection of the new type in code), or leave only one of those types in the program.";
        }
        foreach (var argument in stored.Arguments)
        {
            if (UnknownClass(argument) is { } unknown)
                return $"The database holds objects of '{storedName}', whose type arguments name the class '{unknown}', which this program does not define or register. {AddOrAlias(unknown)} The collection is then found through it.";
        }
        // A collection this program declares with narrower type arguments: a newer version widened it.
        var narrower = Matching(stored, (storedArgument, current) => ArgumentReadsAs(current, storedArgument));
        if (narrower.Count > 0)
        {
            var names = string.Join(", ", narrower.Select(c => $"'{c.Name}'").Order(StringComparer.Ordinal));
            return $"The database holds objects of '{storedName}', which a newer version of the program stored: it widened {(narrower.Count == 1 ? "" : "one of ")}this program's {names} to that, and a collection is not read back as narrower type arguments. " +
                "Read and change these objects with the newer version of the program (to go back to this version, give the property that holds them the newer version's type arguments).";
        }
        // Every type argument is a class or value this program knows: the stored type itself is not
        // registered, either because a property's type arguments changed or because no code of the
        // program names the type any more (a collection reached through the root or a PersistentObject).
        var mention = ClassNames.OfStored((stored with { Suffix = "" }).WithArguments(stored.Arguments));
        return $"The database holds objects of '{storedName}', which this program does not use, nor a {stored.Definition} it can read them as: each type argument must be the stored one, the class it names renamed with [PersistentAlias] or a [Persistent] base class of it, or a safe widening of it (int→long, float→double, T→T?). " +
            $"If the program still reads them (from the root, or through a property typed PersistentObject), name the type {mention} in its code, as the cast that reads them does: the source generator registers only the collection types a project names. " +
            $"Otherwise change the property that holds it back to type arguments it can be read as, or migrate: read it with the program that stored it and copy its contents into a collection of the new type.";
    }

    /// <summary>
    /// Why a bucket or node of the class <paramref name="partName"/> (the one it loaded as: a registered
    /// class, or a stand-in named as stored), met where a tree this program reads as
    /// <paramref name="treeName"/> keeps its parts, is none of them, when it is a part of a tree of the
    /// same kind with other type arguments: a program that declares the tree with those stored it (a
    /// newer version that widened them, typically). Null when it is no part of such a tree at all: then
    /// the record is damaged.
    /// </summary>
    public static string? WhyNotAPart(string partName, string treeName)
    {
        if (!GenericName.TryParse(partName, out var part) || part.Suffix is not (".Bucket" or ".Node") ||
            !GenericName.TryParse(treeName, out var tree) || tree.Suffix.Length != 0 || !part.IsSameKind(tree with { Suffix = part.Suffix }))
        {
            return null;
        }
        var storedTree = (part with { Suffix = "" }).WithArguments(part.Arguments);
        var stored = $"is stored as a '{partName}', a part of a '{storedTree}'";
        foreach (var argument in part.Arguments)
        {
            if (UnknownClass(argument) is { } unknown)
                return $"{stored}, whose type arguments name the class '{unknown}', which this program does not define or register. {AddOrAlias(unknown)}";
        }
        if (part.ArgumentsPair(tree, ArgumentReadsAs))
        {
            return $"{stored}, which reads as a part of this program's '{treeName}' (a safe widening), but this program also uses '{storedTree}', or another tree type the part could be read as, so the part does not load as one of its own tree's. " +
                $"Read the tree with a program that uses only '{treeName}' of those types: it stores each part it changes as a part of a '{treeName}'.";
        }
        return $"{stored}: a program that declares the tree as a '{storedTree}' stored it (a newer version of this one, if it widened the tree's type arguments), and this program's '{treeName}' is not a safe widening of it, so it cannot read it. " +
            $"Run the program that stored it, or change the type of the property that holds the tree back to the stored one; to go back for good, copy the tree's entries into a new '{treeName}' with the program that stored it.";
    }

    /// <summary>
    /// The name <paramref name="storedName"/> becomes when each class its type arguments name (at any depth)
    /// is named by its registered name instead of a former one (<paramref name="find"/> looks a name up
    /// by name and alias only), or null if it is not a generic name or names no class by a former name.
    /// </summary>
    public static string? WithCurrentClassNames(string storedName, Func<string, PersistentTypeInfo?> find)
    {
        if (!GenericName.TryParse(storedName, out var generic)) return null;
        var renamed = false;
        var arguments = new string[generic.Arguments.Length];
        for (var i = 0; i < arguments.Length; i++)
        {
            var argument = generic.Arguments[i];
            arguments[i] = find(argument)?.Name ?? WithCurrentClassNames(argument, find) ?? argument;
            renamed |= arguments[i] != argument;
        }
        return renamed ? generic.WithArguments(arguments) : null;
    }

    /// <summary>Whether <paramref name="name"/> is the stored name of a generic type (a persistent collection or one of its parts).</summary>
    public static bool IsGeneric(string name) => GenericName.TryParse(name, out _);

    /// <summary>
    /// A stored name of a generic type, split: <c>Persistence.BTree&lt;i32,Shop.Customer&gt;.Bucket</c> is the
    /// definition <c>Persistence.BTree</c>, the arguments <c>i32</c> and <c>Shop.Customer</c>, and the suffix <c>.Bucket</c>.
    /// </summary>
    private readonly record struct GenericName(string Definition, string[] Arguments, string Suffix)
    {
        public bool IsSameKind(GenericName other) =>
            Definition == other.Definition && Suffix == other.Suffix && Arguments.Length == other.Arguments.Length;

        /// <summary>Whether each type argument pairs with <paramref name="other"/>'s at its place by <paramref name="matches"/> (called with this one's, then the other's); both have as many.</summary>
        public bool ArgumentsPair(GenericName other, Func<string, string, bool> matches)
        {
            for (var i = 0; i < Arguments.Length; i++)
            {
                if (!matches(Arguments[i], other.Arguments[i])) return false;
            }
            return true;
        }

        /// <summary>Splits <paramref name="name"/> if it is a name (letters, digits, '_', '.', '+') followed by type arguments in angle brackets (and maybe a suffix).</summary>
        public static bool TryParse(string name, out GenericName parsed)
        {
            parsed = default;
            var open = name.IndexOf('<');
            if (open <= 0) return false;
            for (var i = 0; i < open; i++)
            {
                if (!char.IsLetterOrDigit(name[i]) && name[i] is not ('_' or '.' or '+')) return false;
            }
            var arguments = new List<string>();
            var depth = 0;
            var start = open + 1;
            for (var i = start; i < name.Length; i++)
            {
                switch (name[i])
                {
                    case '<' or '{':
                        depth++;
                        break;
                    case '>' or '}' when depth > 0:
                        depth--;
                        break;
                    case ',' when depth == 0:
                        arguments.Add(name[start..i]);
                        start = i + 1;
                        break;
                    case '>':
                        arguments.Add(name[start..i]);
                        if (arguments.Exists(a => a.Length == 0)) return false;
                        parsed = new GenericName(name[..open], [.. arguments], name[(i + 1)..]);
                        return true;
                    case '}':
                        return false;
                }
            }
            return false;
        }

        public string WithArguments(IEnumerable<string> arguments) => $"{Definition}<{string.Join(",", arguments)}>{Suffix}";
    }
}
