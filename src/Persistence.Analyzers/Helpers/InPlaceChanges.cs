using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Operations;
using Persistence.Rules;

namespace Persistence.Analyzers;

/// <summary>
/// Finds the changes made inside a stored mutable collection or <c>[PersistentValue]</c> class (the
/// operations PERSIST006 looks at), and the stored property they change.
/// </summary>
internal static class InPlaceChanges
{
    private static readonly ImmutableHashSet<string> MutatingMethods = ImmutableHashSet.Create(
        "Add", "AddRange", "Insert", "InsertRange", "Remove", "RemoveAll", "RemoveAt", "RemoveRange", "RemoveWhere",
        "Clear", "Reverse", "Sort", "TryAdd", "UnionWith", "IntersectWith", "ExceptWith", "SymmetricExceptWith", "SetValue", "Fill");

    private static readonly ImmutableHashSet<string> ArrayParameters = ImmutableHashSet.Create("array", "keys", "items", "destinationArray");

    /// <summary>The stored property whose contents an invocation changes, or null.</summary>
    public static IPropertyReferenceOperation? ChangedBy(IInvocationOperation invocation)
    {
        var method = invocation.TargetMethod;
        if (!MutatingMethods.Contains(method.Name) && method.Name is not ("Copy" or "ConstrainedCopy" or "SetCount" or "GetValueRefOrAddDefault")) return null;
        if (invocation.Instance is { } instance) return MutatingMethods.Contains(method.Name) ? StoredHolder(instance) : null;
        if (method.IsExtensionMethod)
        {
            // CollectionExtensions.AddRange/InsertRange/TryAdd/Remove, and MemoryExtensions.Reverse/Sort/Fill/Clear, which
            // C# 14 picks for an array receiver (array.Reverse() then reverses the array in place).
            var extensions = method.ContainingType?.ToDisplayString();
            return invocation.Arguments.Length > 0 && extensions is "System.Collections.Generic.CollectionExtensions" or "System.MemoryExtensions"
                ? StoredHolder(invocation.Arguments[0].Value)
                : null;
        }
        var container = method.ContainingType?.ToDisplayString();
        foreach (var argument in invocation.Arguments)
        {
            var changes =
                (container == "System.Array" && argument.Parameter is { } parameter && ArrayParameters.Contains(parameter.Name)) ||
                (container == "System.Runtime.InteropServices.CollectionsMarshal" && argument.Parameter?.Ordinal == 0);
            if (changes && StoredHolder(argument.Value) is { } holder) return holder;
        }
        return null;
    }

    /// <summary>The stored property whose contents an assignment (or ++/--) changes, or null.</summary>
    public static IPropertyReferenceOperation? ChangedBy(IOperation target) => Strip(target) switch
    {
        IArrayElementReferenceOperation element => StoredHolder(element.ArrayReference),
        IPropertyReferenceOperation { Property.IsIndexer: true } indexer => StoredHolder(indexer.Instance),
        IMemberReferenceOperation { Instance: { } instance } member when member.Member.ContainingType is { TypeKind: TypeKind.Class } type && AnalyzerSymbols.IsPersistentValue(type) => StoredHolder(instance),
        _ => null,
    };

    /// <summary>
    /// The stored property of a persistent class that holds the collection or value <paramref name="operation"/>
    /// evaluates to, directly or through the elements of other stored collections.
    /// </summary>
    private static IPropertyReferenceOperation? StoredHolder(IOperation? operation) => Strip(operation) switch
    {
        IPropertyReferenceOperation { Property.IsIndexer: false } reference when IsMutable(reference.Property.Type) && AnalyzerSymbols.IsStoredProperty(reference.Property) => reference,
        IPropertyReferenceOperation { Property.IsIndexer: true } indexer => StoredHolder(indexer.Instance),
        IArrayElementReferenceOperation element => StoredHolder(element.ArrayReference),
        IConditionalAccessInstanceOperation instance => StoredHolder(ConditionalReceiver(instance)),
        // A span over a stored array or list writes into it.
        IInvocationOperation { TargetMethod.Name: "AsSpan" or "AsMemory" } view => StoredHolder(view.Instance ?? (view.Arguments.Length > 0 ? view.Arguments[0].Value : null)),
        _ => null,
    };

    /// <summary>What <c>x</c> in <c>x?.Add(…)</c> stands for: the receiver of the enclosing conditional access.</summary>
    private static IOperation? ConditionalReceiver(IOperation instance)
    {
        for (var parent = instance.Parent; parent is not null; parent = parent.Parent)
        {
            if (parent is IConditionalAccessOperation access) return access.Operation;
        }
        return null;
    }

    /// <summary>A type whose contents can change without its holder's setter: List, Dictionary, HashSet, arrays, [PersistentValue] classes.</summary>
    public static bool IsMutable(ITypeSymbol type) => type switch
    {
        IArrayTypeSymbol => true,
        INamedTypeSymbol named => StorageRules.IsGenericCollection(named, "List", 1) ||
                                  StorageRules.IsGenericCollection(named, "Dictionary", 2) ||
                                  StorageRules.IsGenericCollection(named, "HashSet", 1) ||
                                  (named.TypeKind == TypeKind.Class && AnalyzerSymbols.IsPersistentValue(named)),
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
