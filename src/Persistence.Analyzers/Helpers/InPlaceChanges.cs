using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Operations;
using Persistence.Rules;

namespace Persistence.Analyzers;

/// <summary>
/// Finds the changes made inside a stored mutable collection or <c>[PersistentValue]</c> class, held by a
/// stored property or inside the values it holds (the operations PERSIST006 looks at), and the path they change.
/// </summary>
internal static class InPlaceChanges
{
    private static readonly ImmutableHashSet<string> MutatingMethods = ImmutableHashSet.Create(
        "Add", "AddRange", "Insert", "InsertRange", "Remove", "RemoveAll", "RemoveAt", "RemoveRange", "RemoveWhere",
        "Clear", "Reverse", "Sort", "TryAdd", "UnionWith", "IntersectWith", "ExceptWith", "SymmetricExceptWith", "SetValue", "Fill");

    private static readonly ImmutableHashSet<string> ArrayParameters = ImmutableHashSet.Create("array", "keys", "items", "destinationArray");

    /// <summary>What an invocation changes inside the stored state of a persistent object, or null.</summary>
    public static ChangedPath? ChangedBy(IInvocationOperation invocation)
    {
        var method = invocation.TargetMethod;
        if (!MutatingMethods.Contains(method.Name) && method.Name is not ("Copy" or "ConstrainedCopy" or "SetCount" or "GetValueRefOrAddDefault")) return null;
        if (invocation.Instance is { } instance) return MutatingMethods.Contains(method.Name) ? StoredPath(instance) : null;
        if (method.IsExtensionMethod)
        {
            // CollectionExtensions.AddRange/InsertRange/TryAdd/Remove, and MemoryExtensions.Reverse/Sort/Fill/Clear, which
            // C# 14 picks for an array receiver (array.Reverse() then reverses the array in place).
            var extensions = method.ContainingType?.ToDisplayString();
            return invocation.Arguments.Length > 0 && extensions is "System.Collections.Generic.CollectionExtensions" or "System.MemoryExtensions"
                ? StoredPath(invocation.Arguments[0].Value)
                : null;
        }
        var container = method.ContainingType?.ToDisplayString();
        foreach (var argument in invocation.Arguments)
        {
            var changes =
                (container == "System.Array" && argument.Parameter is { } parameter && ArrayParameters.Contains(parameter.Name)) ||
                (container == "System.Runtime.InteropServices.CollectionsMarshal" && argument.Parameter?.Ordinal == 0);
            if (changes && StoredPath(argument.Value) is { } path) return path;
        }
        return null;
    }

    /// <summary>What an assignment (or ++/--) changes inside the stored state of a persistent object, or null.</summary>
    public static ChangedPath? ChangedBy(IOperation target) => Strip(target) switch
    {
        IArrayElementReferenceOperation element => StoredPath(element.ArrayReference),
        IPropertyReferenceOperation { Property.IsIndexer: true } or IImplicitIndexerReferenceOperation { IndexerSymbol: IPropertySymbol } => StoredPath(ElementOf(Strip(target))),
        // A stored member of a value class, or of a value struct that is an array's element (the only struct a setter changes
        // in place). Fields and [Transient] properties are not stored: changing them loses nothing.
        IPropertyReferenceOperation { Instance: { } instance } member when IsStoredValueMember(member.Property) => StoredPath(instance),
        _ => null,
    };

    /// <summary>
    /// Where the collection or value <paramref name="changed"/> evaluates to is stored: the stored property of a persistent
    /// object that holds it, directly, through members of <c>[PersistentValue]</c> types, or through the elements of
    /// Lists, Dictionaries and arrays. Null when it is not a collection or value changed in place, or not held there.
    /// </summary>
    private static ChangedPath? StoredPath(IOperation? changed)
    {
        var operation = Unwrap(changed);
        if (operation?.Type is not { } type ||
            !(IsMutable(type) || (operation is IArrayElementReferenceOperation && type is INamedTypeSymbol value && AnalyzerSymbols.IsPersistentValue(value))))
        {
            return null;
        }

        // The steps from the root down, found from the changed end up; the steps at that end that are not values (the
        // inner collections of a collection of collections) are not named: the root's own contents change.
        var below = new List<string>();
        var named = false;
        while (true)
        {
            string step;
            switch (operation)
            {
                case IPropertyReferenceOperation { Property.IsIndexer: false } reference when AnalyzerSymbols.IsStoredProperty(reference.Property):
                    below.Reverse();
                    return new ChangedPath(reference, string.Concat(below), inPersistentCollection: false);
                case IPropertyReferenceOperation { Property.IsIndexer: false, Instance: { } instance } member when IsStoredValueMember(member.Property):
                    step = "." + member.Property.Name;
                    operation = instance;
                    break;
                // An element of a persistent collection is stored inline in the collection's record (a BTree's: its bucket's).
                case { } element when ElementOf(element) is { Type: { } collectionType } && IsPersistentCollection(collectionType):
                    below.Reverse();
                    return new ChangedPath(element, string.Concat(below), inPersistentCollection: true);
                case { } element when ElementOf(element) is { Type: { } collectionType } collection && IsCollection(collectionType):
                    step = "[]";
                    operation = collection;
                    break;
                case IArrayElementReferenceOperation element:
                    step = "[]";
                    operation = element.ArrayReference;
                    break;
                // The variable of a foreach over a stored list, set or array is one of its elements, as list[i] is.
                case ILocalReferenceOperation reference when Origin(reference).Iterated is { Type: { } collectionType } collection && IsCollection(collectionType):
                    step = "[]";
                    operation = collection;
                    break;
                default:
                    return null;
            }
            named |= step != "[]" || (type is INamedTypeSymbol held && AnalyzerSymbols.IsPersistentValue(held));
            if (named) below.Add(step);
            operation = Unwrap(operation);
            if (operation?.Type is not { } next) return null;
            type = next;
        }
    }

    /// <summary>
    /// The collection whose element an operation is: <c>list[i]</c>, or <c>list[^i]</c>, which C# makes a call of the same
    /// indexer; null for anything else (a range, <c>list[a..b]</c>, is a copy).
    /// </summary>
    private static IOperation? ElementOf(IOperation? operation) => operation switch
    {
        IPropertyReferenceOperation { Property.IsIndexer: true } indexer => indexer.Instance,
        IImplicitIndexerReferenceOperation { IndexerSymbol: IPropertySymbol } element => element.Instance,
        _ => null,
    };

    /// <summary>The collection an operation stands for: without conversions, the receiver of <c>x?.</c>, the array or list under a span over it.</summary>
    private static IOperation? Unwrap(IOperation? operation)
    {
        while (true)
        {
            operation = Strip(operation);
            switch (operation)
            {
                case IConditionalAccessInstanceOperation instance:
                    operation = ConditionalReceiver(instance);
                    break;
                // A span over a stored array or list writes into it.
                case IInvocationOperation { TargetMethod.Name: "AsSpan" or "AsMemory" } view:
                    operation = view.Instance ?? (view.Arguments.Length > 0 ? view.Arguments[0].Value : null);
                    break;
                // The value of a nullable value struct is a copy holding the same collections (order.Place.Value.Lines).
                case IPropertyReferenceOperation { Property.Name: "Value", Instance: { } nullable } when IsNullableStruct(nullable.Type):
                    operation = nullable;
                    break;
                case IInvocationOperation { TargetMethod.Name: "GetValueOrDefault", Instance: { } nullable } when IsNullableStruct(nullable.Type):
                    operation = nullable;
                    break;
                // A local still holding what it was initialized with (var lines = order.Lines; lines.Add(x)).
                case ILocalReferenceOperation reference when Origin(reference).Initial is { } initial:
                    operation = initial;
                    break;
                default:
                    return operation;
            }
        }
    }

    /// <summary>
    /// What a local holds as long as nothing else is put in it in its method (it is not assigned again, nor passed by ref
    /// or out, nor a ref local): what it was initialized with, or for the variable of a foreach, the collection it walks
    /// (it holds one element at a time). Both null for a local declared otherwise (without an initializer, by a pattern).
    /// </summary>
    private static (IOperation? Initial, IOperation? Iterated) Origin(ILocalReferenceOperation reference)
    {
        if (reference.Local.IsRef) return default;
        (IOperation? Initial, IOperation? Iterated) origin = default;
        foreach (var operation in Body(reference).Descendants())
        {
            switch (operation)
            {
                case IVariableDeclaratorOperation declarator when SymbolEqualityComparer.Default.Equals(declarator.Symbol, reference.Local):
                    if (declarator.Parent is IForEachLoopOperation loop) origin = (null, Strip(loop.Collection));
                    else origin = (declarator.Initializer?.Value, null);
                    break;
                case ILocalReferenceOperation other when SymbolEqualityComparer.Default.Equals(other.Local, reference.Local) && IsWritten(other):
                    return default;
            }
        }
        return origin;
    }

    private static bool IsNullableStruct(ITypeSymbol? type) => type?.OriginalDefinition.SpecialType == SpecialType.System_Nullable_T;

    /// <summary>The whole body (method, accessor, top-level statements) an operation is in.</summary>
    private static IOperation Body(IOperation operation)
    {
        while (operation.Parent is not null) operation = operation.Parent;
        return operation;
    }

    /// <summary>Whether this use of a local puts something else in it: an assignment's or deconstruction's target, ++/--, a ref or out argument, a ref taken.</summary>
    private static bool IsWritten(ILocalReferenceOperation local)
    {
        if (local.IsDeclaration) return true;
        IOperation current = local;
        // A deconstruction's target is the local inside a tuple: (a, b) = (x, y).
        while (current.Parent is ITupleOperation tuple) current = tuple;
        return current.Parent switch
        {
            IAssignmentOperation assignment => ReferenceEquals(assignment.Target, current),
            IIncrementOrDecrementOperation => true,
            IArgumentOperation argument => argument.Parameter?.RefKind is RefKind.Ref or RefKind.Out,
            IVariableInitializerOperation { Parent: IVariableDeclaratorOperation { Symbol.IsRef: true } } => true,
            _ => false,
        };
    }

    /// <summary>Whether a property is a stored member of a <c>[PersistentValue]</c> type: it is written with the value, inline.</summary>
    private static bool IsStoredValueMember(IPropertySymbol property) =>
        property.ContainingType is { } type && AnalyzerSymbols.IsPersistentValue(type) &&
        ValueRules.StoredMembers(type, ValueRules.Constructors(type)).Contains(property, SymbolEqualityComparer.Default);

    /// <summary>What <c>x</c> in <c>x?.Add(…)</c> stands for: the receiver of the enclosing conditional access.</summary>
    private static IOperation? ConditionalReceiver(IOperation instance)
    {
        for (var parent = instance.Parent; parent is not null; parent = parent.Parent)
        {
            if (parent is IConditionalAccessOperation access) return access.Operation;
        }
        return null;
    }

    /// <summary>Whether the type is a PersistentList, PersistentDictionary or BTree, whose indexer gets and sets elements stored in their own records.</summary>
    private static bool IsPersistentCollection(ITypeSymbol type) =>
        type is INamedTypeSymbol { Name: "PersistentList" or "PersistentDictionary" or "BTree", ContainingNamespace: { Name: "Persistence", ContainingNamespace.IsGlobalNamespace: true } };

    /// <summary>A type whose contents can change without its holder's setter: List, Dictionary, HashSet, arrays, [PersistentValue] classes.</summary>
    private static bool IsMutable(ITypeSymbol type) =>
        IsCollection(type) || (type is INamedTypeSymbol { TypeKind: TypeKind.Class } named && AnalyzerSymbols.IsPersistentValue(named));

    /// <summary>A collection stored inline, whose elements are part of its holder's state: List, Dictionary, HashSet, arrays.</summary>
    private static bool IsCollection(ITypeSymbol type) => type switch
    {
        IArrayTypeSymbol => true,
        INamedTypeSymbol named => StorageRules.IsGenericCollection(named, "List", 1) ||
                                  StorageRules.IsGenericCollection(named, "Dictionary", 2) ||
                                  StorageRules.IsGenericCollection(named, "HashSet", 1),
        _ => false,
    };

    public static IOperation? Strip(IOperation? operation)
    {
        while (operation is IConversionOperation { IsImplicit: true } or IConversionOperation { Conversion.IsReference: true } || operation is IParenthesizedOperation)
        {
            operation = operation is IConversionOperation conversion ? conversion.Operand : ((IParenthesizedOperation)operation).Operand;
        }
        return operation;
    }
}
