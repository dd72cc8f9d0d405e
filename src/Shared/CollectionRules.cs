using System.Collections.Generic;
using System.Threading;
using Microsoft.CodeAnalysis;

namespace Persistence.Rules;

/// <summary>
/// The rules for closed persistent collection types (<c>PersistentList&lt;T&gt;</c>,
/// <c>PersistentDictionary&lt;TKey,TValue&gt;</c>, …): generated code registers each one a project
/// mentions, if it can store every type argument.
/// </summary>
internal static class CollectionRules
{
    /// <summary>
    /// Whether a generic type definition is a Persistence collection that generated code registers: it
    /// derives from <c>PersistentObject</c> and has <c>public static void Register(ValueCodec&lt;T1&gt;, string, ValueCodec&lt;T2&gt;, string, ...)</c>,
    /// a codec and a stored name for each type argument.
    /// </summary>
    public static bool IsRegistrableCollection(INamedTypeSymbol definition)
    {
        if (definition.Arity == 0 || definition.ContainingType is not null) return false;
        if (definition.ContainingNamespace is not { Name: RuleSymbols.Namespace, ContainingNamespace.IsGlobalNamespace: true }) return false;
        if (definition.BaseType is not { } baseType || !RuleSymbols.IsPersistentReference(baseType)) return false;
        foreach (var member in definition.GetMembers("Register"))
        {
            if (member is not IMethodSymbol { IsStatic: true, DeclaredAccessibility: Accessibility.Public, ReturnsVoid: true, Arity: 0 } method) continue;
            if (method.Parameters.Length != 2 * definition.Arity) continue;
            var matches = true;
            for (var i = 0; i < definition.Arity && matches; i++)
            {
                matches =
                    method.Parameters[2 * i].Type is INamedTypeSymbol { Name: "ValueCodec", Arity: 1 } codec &&
                    SymbolEqualityComparer.Default.Equals(codec.TypeArguments[0], definition.TypeParameters[i]) &&
                    method.Parameters[(2 * i) + 1].Type.SpecialType == SpecialType.System_String;
            }
            if (matches) return true;
        }
        return false;
    }

    /// <summary>Whether the type is <c>BTree&lt;TKey,TValue&gt;</c> or <c>BTreeSet&lt;T&gt;</c>, whose keys are values.</summary>
    public static bool IsOrdered(INamedTypeSymbol type) =>
        type.ContainingType is null &&
        type.ContainingNamespace is { Name: RuleSymbols.Namespace, ContainingNamespace.IsGlobalNamespace: true } &&
        type.Name is "BTree" or "BTreeSet" && type.Arity is 1 or 2;

    /// <summary>
    /// For a closed registrable collection type, the first type argument the generated registration
    /// cannot store (so the collection would fail when it is first stored), or null. Persistent classes
    /// are named by their full name, so one nested in a generic type cannot be an argument.
    /// </summary>
    public static StorageProblem? UnstorableArgument(INamedTypeSymbol type, CancellationToken cancellationToken)
    {
        // A BTree's or BTreeSet's keys are values, kept in order in its buckets and nodes.
        var keysAreValues = IsOrdered(type);
        for (var i = 0; i < type.TypeArguments.Length; i++)
        {
            var argument = type.TypeArguments[i];
            if (StorageRules.Check(argument, allowReference: !(keysAreValues && i == 0), new HashSet<ITypeSymbol>(SymbolEqualityComparer.Default), cancellationToken) is { } problem) return problem;
            if (argument is INamedTypeSymbol named && RuleSymbols.IsPersistentReference(named))
            {
                for (var outer = named.ContainingType; outer is not null; outer = outer.ContainingType)
                {
                    if (outer.Arity != 0) return new StorageProblem(argument, StorageProblemKind.NotSupported);
                }
                if (named.Arity != 0 && IsRegistrableCollection(named.OriginalDefinition) && UnstorableArgument(named, cancellationToken) is { } inner) return inner;
            }
        }
        return null;
    }
}
