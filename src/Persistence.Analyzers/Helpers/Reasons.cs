using System.Collections.Generic;
using System.Linq;
using Microsoft.CodeAnalysis;
using Persistence.Rules;

namespace Persistence.Analyzers;

/// <summary>The words each diagnostic uses for a problem the shared rules found: what is wrong and what to do.</summary>
internal static class Reasons
{
    public static string For(ClassProblem problem, INamedTypeSymbol type) => problem switch
    {
        ClassProblem.NotAClass when type.TypeKind == TypeKind.Struct => "it is a struct, and persistent objects are classes; declare a partial class, or use [PersistentValue] for a value stored inline",
        ClassProblem.NotAClass => "only classes can be persistent; declare a partial class",
        ClassProblem.Record => "it is a record, and a persistent object has identity rather than value equality; declare a partial class, or use [PersistentValue] for a record stored inline",
        ClassProblem.Static => "it is static, and persistent objects are instances; remove 'static'",
        ClassProblem.FileLocal => "it is file-local, and the generated registration in another file must name it; make it internal or public",
        ClassProblem.Generic => "it is generic, and a stored object is found again by the name of a closed class; declare a non-generic class, or hold the varying part in a persistent collection such as PersistentList<T>",
        ClassProblem.NestedInGeneric => $"it is nested in the generic type '{AnalyzerSymbols.Display(FirstGenericContainer(type)!)}'; move it to the namespace or into a non-generic type",
        ClassProblem.NotAccessible => "it is private or protected (or nested in such a type), and the generated registration must reach it; make it internal or public",
        ClassProblem.PrimaryConstructor => "it has a primary constructor, whose parameters loading a stored object cannot supply; declare partial properties and an ordinary constructor instead",
        ClassProblem.UnsupportedBase => RuleSymbols.HasAttribute(type.BaseType!, RuleSymbols.PersistentAttribute)
            ? $"it derives from '{AnalyzerSymbols.Display(type.BaseType!)}', a [Persistent] class the generator cannot complete (see the error on it)"
            : $"it derives from '{AnalyzerSymbols.Display(type.BaseType!)}', which is not persistent; derive from object (the generator adds PersistentObject), from PersistentObject, or from a non-generic [Persistent] class",
        _ => problem.ToString(),
    };

    public static string For(PropertyProblem problem, IPropertySymbol property, INamedTypeSymbol type) => problem switch
    {
        PropertyProblem.Static => "it is static, and only instance properties are stored; make it an ordinary static property",
        PropertyProblem.Indexer => "indexers cannot be stored; use a stored collection property instead",
        PropertyProblem.ByRef => "it returns by reference, which would let its value change unnoticed; return by value",
        PropertyProblem.ExplicitInterfaceImplementation => "it implements an interface member explicitly; declare it as an ordinary partial property and implement the interface member with it",
        PropertyProblem.AccessorShape => "declare it as { get; set; }, { get; init; } or { get; }, with no accessor bodies",
        PropertyProblem.NameOfPersistentObjectMember => $"'{property.Name}' is a member of PersistentObject, the base of every persistent class; rename the property",
        PropertyProblem.NameOfBaseClassMember => $"it would hide '{AnalyzerSymbols.Display(BaseMember(type, property.Name)!)}' of a base class; rename the property",
        _ => problem.ToString(),
    };

    public static string For(ValueProblem problem, INamedTypeSymbol type) => problem switch
    {
        ValueProblem.NotAStructOrClass => "only structs, records and classes can be values",
        ValueProblem.Generic => "it is generic, and a value's codec is written for one closed type; declare a non-generic type",
        ValueProblem.Static => "it is static, and values are instances; remove 'static'",
        ValueProblem.Abstract => "it is abstract, and reading a value must create one; make it a concrete type",
        ValueProblem.RefStruct => "it is a ref struct, which cannot be stored in a field; make it an ordinary struct",
        ValueProblem.FileLocal => "it is file-local, and the generated code in another file must name it; make it internal or public",
        ValueProblem.UnsupportedBase => $"it derives from '{AnalyzerSymbols.Display(type.BaseType!)}', and a value class must derive from object; copy the base's properties into it",
        ValueProblem.NestedInGeneric => $"it is nested in the generic type '{AnalyzerSymbols.Display(FirstGenericContainer(type)!)}'; move it to the namespace or into a non-generic type",
        ValueProblem.NotPartial => $"'{AnalyzerSymbols.Display(NonPartial(type)!)}' is not partial, and the generator adds the codec in another part; add the 'partial' modifier",
        ValueProblem.NoCodec => "it comes from an assembly built without the Persistence generator",
        ValueProblem.ContainsItself => "it contains itself, directly or through other values, and a value is stored inline; hold the recursive part in a [Persistent] class",
        ValueProblem.NoStoredMembers => "it has no stored members (public instance properties with a getter, and a setter or a matching constructor parameter); add one",
        ValueProblem.NoConstruction => "no constructor can rebuild it from its stored members; add a constructor whose parameters match stored properties by name and type, or a parameterless one, and give every other stored property a setter or init accessor",
        _ => problem.ToString(),
    };

    /// <summary>Why a type cannot be stored, naming the type inside it that is the trouble.</summary>
    /// <param name="problem">What cannot be stored.</param>
    /// <param name="declared">The declared type of the property or member.</param>
    /// <param name="referencesAllowed">Whether the member may hold a persistent reference (a class's property; not a value's member).</param>
    /// <param name="tupleAdvice">Whether to say what to store instead of a tuple (PERSIST021's message says it for every collection).</param>
    public static string For(StorageProblem problem, ITypeSymbol declared, bool referencesAllowed, bool tupleAdvice = true)
    {
        var inner = AnalyzerSymbols.Display(problem.Type);
        var outer = AnalyzerSymbols.Display(declared);
        var where = SymbolEqualityComparer.Default.Equals(problem.Type, declared) ? $"its type '{outer}'" : $"its type '{outer}' holds '{inner}', which";
        return problem.Kind switch
        {
            StorageProblemKind.ReferenceNotAllowed when declared is INamedTypeSymbol ordered && CollectionRules.IsOrdered(ordered) =>
                $"its type '{outer}' is keyed by the persistent type '{inner}', but a BTree's keys are values kept in order; key it by a value of the object (its id, a name), and keep the object as the value",
            StorageProblemKind.ReferenceNotAllowed => $"its type '{outer}' holds the persistent type '{inner}', but lists, arrays, dictionaries, nullables and values can only hold values; " +
                (referencesAllowed ? PersistentCollectionFor(declared, inner) : "a value cannot hold persistent objects, not even in a persistent collection: keep them in a [Persistent] class"),
            StorageProblemKind.InvalidValue => $"{where} is a [PersistentValue] type the generator cannot complete (see the diagnostic on '{inner}')",
            StorageProblemKind.InvalidClass => $"{where} is a [Persistent] class the generator cannot complete (see the error on '{inner}')",
            _ => $"{where} is not a type Persistence can store{Instead(problem, declared, referencesAllowed, tupleAdvice)}",
        };
    }

    /// <summary>
    /// What to store instead of a type that cannot be stored, where a common one has an answer that
    /// can be stored there: a persistent collection or a <c>[Persistent]</c> class only where a
    /// reference may be (a class's property, not inside a list, dictionary or value), and only
    /// collections whose type arguments can be stored.
    /// </summary>
    private static string Instead(StorageProblem problem, ITypeSymbol declared, bool referencesAllowed, bool tupleAdvice)
    {
        if (problem.Type is not INamedTypeSymbol type) return "";
        var references = referencesAllowed && SymbolEqualityComparer.Default.Equals(problem.Type, declared);
        var arguments = type.TypeArguments;
        var names = string.Join(", ", arguments.Select(AnalyzerSymbols.Display));
        var inline = arguments.All(a => Storable(a, reference: false));
        var persistent = references && arguments.All(a => Storable(a, reference: true));
        if (type.IsTupleType)
        {
            // A tuple of values: a value type of the project's own holds the same, with names that are stored.
            return tupleAdvice && type.TupleElements.All(e => Storable(e.Type, reference: false))
                ? "; store a [PersistentValue] record struct with these members instead (one that implements IComparable<T> can be a BTree's key)"
                : "";
        }

        var choices = new List<string>(2);
        if (type.ContainingNamespace?.ToDisplayString() == "System.Collections.Generic" && type.ContainingType is null)
        {
            switch (type.Name, type.Arity)
            {
                case ("SortedSet", 1):
                    if (references && inline && NaturallyOrdered(arguments[0])) choices.Add($"a BTreeSet<{names}>");
                    if (inline) choices.Add($"a List<{names}> (stored inline)");
                    break;
                case ("HashSet" or "ISet" or "IReadOnlySet", 1):
                    if (persistent) choices.Add($"a PersistentSet<{names}>");
                    if (inline) choices.Add($"a List<{names}> (stored inline)");
                    break;
                case ("IList" or "ICollection" or "IEnumerable" or "IReadOnlyList" or "IReadOnlyCollection" or "LinkedList" or "Queue" or "Stack", 1):
                    if (inline) choices.Add($"a List<{names}> (stored inline)");
                    if (persistent) choices.Add($"a PersistentList<{names}>");
                    break;
                case ("IDictionary" or "IReadOnlyDictionary" or "SortedDictionary" or "SortedList", 2):
                    if (inline) choices.Add($"a Dictionary<{names}> (stored inline)");
                    if (persistent) choices.Add($"a PersistentDictionary<{names}>");
                    break;
            }
            return choices.Count == 0 ? "" : "; store " + string.Join(" or ", choices) + " instead";
        }

        if (type.TypeKind == TypeKind.Interface)
        {
            var holdsReferences = referencesAllowed && (references || declared is INamedTypeSymbol collection && RuleSymbols.IsPersistentReference(collection));
            return holdsReferences ? InsteadOfInterface(type) : "";
        }

        // A class or struct of the project's own, not marked: the attribute that would make it storable here.
        if (type.TypeKind is not (TypeKind.Class or TypeKind.Struct) || !type.Locations.Any(l => l.IsInSource) || RuleSymbols.IsInGenericType(type)) return "";
        var asValue = type.TypeKind == TypeKind.Struct || (!type.IsAbstract && type.BaseType is { SpecialType: SpecialType.System_Object });
        var asObject = references && type.TypeKind == TypeKind.Class && !type.IsRecord && ClassRules.IsSupportedBase(type.BaseType, default);
        var name = AnalyzerSymbols.Display(type);
        return (asValue, asObject) switch
        {
            (true, true) => $"; mark '{name}' [PersistentValue] to store it inline, or [Persistent] to store it as an object of its own",
            (true, false) => $"; mark '{name}' [PersistentValue] to store it inline",
            (false, true) => $"; mark '{name}' [Persistent] to store it as an object of its own",
            _ => "",
        };
    }

    /// <summary>
    /// What to hold instead of an interface where a persistent reference may be: the <c>[Persistent]</c> class that the
    /// <c>[Persistent]</c> classes implementing it (in its own project) have in common, else advice to give them one.
    /// </summary>
    private static string InsteadOfInterface(INamedTypeSymbol type)
    {
        var name = AnalyzerSymbols.Display(type);
        var implementers = type.Locations.Any(l => l.IsInSource) ? PersistentImplementers(type.ContainingAssembly.GlobalNamespace, type) : [];
        const string Why = "; classes that cannot be stored may implement an interface, so a reference is typed with a persistent class: ";
        if (implementers.Count == 0)
            return Why + $"use the [Persistent] class that the classes implementing '{name}' derive from, or PersistentObject";
        var shared = PersistentChain(implementers[0]).FirstOrDefault(candidate => implementers.All(i => PersistentChain(i).Contains(candidate, SymbolEqualityComparer.Default)));
        if (shared is not null)
        {
            var which = implementers.Count == 1 ? $"the only [Persistent] class that implements '{name}'" : $"the [Persistent] class that the classes implementing '{name}' derive from";
            return Why + $"use '{AnalyzerSymbols.Display(shared)}', {which}, or PersistentObject";
        }
        var listed = string.Join(", ", implementers.Take(3).Select(i => $"'{AnalyzerSymbols.Display(i)}'")) + (implementers.Count > 3 ? ", ..." : "");
        return Why + $"give the [Persistent] classes that implement '{name}' ({listed}) a [Persistent] base class (abstract if need be) and use it, or use PersistentObject";
    }

    /// <summary>The non-generic <c>[Persistent]</c> classes in <paramref name="ns"/> and below that implement <paramref name="contract"/>, by name.</summary>
    private static List<INamedTypeSymbol> PersistentImplementers(INamespaceSymbol ns, INamedTypeSymbol contract)
    {
        var found = new List<INamedTypeSymbol>();
        var pending = new Stack<INamespaceOrTypeSymbol>([ns]);
        while (pending.Count > 0)
        {
            foreach (var member in pending.Pop().GetMembers())
            {
                if (member is INamespaceSymbol inner) pending.Push(inner);
                else if (member is INamedTypeSymbol named)
                {
                    pending.Push(named);
                    if (named.TypeKind == TypeKind.Class && named.Arity == 0 && RuleSymbols.HasAttribute(named, RuleSymbols.PersistentAttribute)
                        && named.AllInterfaces.Contains(contract, SymbolEqualityComparer.Default))
                        found.Add(named);
                }
            }
        }
        found.Sort(static (a, b) => string.CompareOrdinal(AnalyzerSymbols.Display(a), AnalyzerSymbols.Display(b)));
        return found;
    }

    /// <summary>The class and its bases that are <c>[Persistent]</c>, the class first.</summary>
    private static IEnumerable<INamedTypeSymbol> PersistentChain(INamedTypeSymbol type)
    {
        for (INamedTypeSymbol? current = type; current is not null; current = current.BaseType)
        {
            if (RuleSymbols.HasAttribute(current, RuleSymbols.PersistentAttribute)) yield return current;
        }
    }

    /// <summary>The persistent collection to hold the persistent objects of a list, array or dictionary of them.</summary>
    private static string PersistentCollectionFor(ITypeSymbol declared, string inner)
    {
        var suggestion = declared switch
        {
            IArrayTypeSymbol { IsSZArray: true } array when Storable(array.ElementType, reference: true) => $"PersistentList<{AnalyzerSymbols.Display(array.ElementType)}>",
            INamedTypeSymbol list when StorageRules.IsGenericCollection(list, "List", 1) && Storable(list.TypeArguments[0], reference: true) => $"PersistentList<{AnalyzerSymbols.Display(list.TypeArguments[0])}>",
            INamedTypeSymbol map when StorageRules.IsGenericCollection(map, "Dictionary", 2) && map.TypeArguments.All(a => Storable(a, reference: true)) =>
                $"PersistentDictionary<{string.Join(", ", map.TypeArguments.Select(AnalyzerSymbols.Display))}>",
            _ => null,
        };
        return suggestion is null
            ? $"use a persistent collection such as PersistentList<{inner}> or PersistentDictionary<TKey, {inner}>"
            : $"use a {suggestion}";
    }

    /// <summary>Whether a BTree orders keys of this type without a comparer: strings and types comparable to themselves.</summary>
    private static bool NaturallyOrdered(ITypeSymbol type) =>
        type.SpecialType == SpecialType.System_String ||
        type.AllInterfaces.Any(i => i.Name == "IComparable" && i.ContainingNamespace?.ToDisplayString() == "System");

    private static bool Storable(ITypeSymbol type, bool reference) =>
        StorageRules.Check(type, reference, new HashSet<ITypeSymbol>(SymbolEqualityComparer.Default), default) is null;

    private static INamedTypeSymbol? FirstGenericContainer(INamedTypeSymbol type)
    {
        for (var outer = type.ContainingType; outer is not null; outer = outer.ContainingType)
        {
            if (outer.Arity != 0) return outer;
        }
        return null;
    }

    private static INamedTypeSymbol? NonPartial(INamedTypeSymbol type) =>
        RuleSymbols.FindNonPartialContainer(type, out _, default);

    private static ISymbol? BaseMember(INamedTypeSymbol type, string name)
    {
        for (var baseType = type.BaseType; baseType is not null; baseType = baseType.BaseType)
        {
            if (baseType.GetMembers(name).FirstOrDefault() is { } member) return member;
        }
        return null;
    }
}
