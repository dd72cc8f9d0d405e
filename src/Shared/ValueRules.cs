using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using Microsoft.CodeAnalysis;

namespace Persistence.Rules;

/// <summary>Why the generator cannot complete a <c>[PersistentValue]</c> type.</summary>
internal enum ValueProblem
{
    None,
    /// <summary>An interface, enum or delegate.</summary>
    NotAStructOrClass,
    Generic,
    Static,
    Abstract,
    RefStruct,
    FileLocal,
    /// <summary>The attribute is given more than once (the compiler reports it).</summary>
    DuplicateAttribute,
    /// <summary>Also marked <c>[Persistent]</c>.</summary>
    AlsoPersistent,
    /// <summary>A class deriving from another class than object.</summary>
    UnsupportedBase,
    NestedInGeneric,
    NotPartial,
    /// <summary>From a referenced assembly that was built without the generator.</summary>
    NoCodec,
    /// <summary>Holds itself, directly or through other values.</summary>
    ContainsItself,
    /// <summary>A stored member's type cannot be stored (<see cref="ValueRules.MemberProblems"/> says which).</summary>
    MemberNotStorable,
    NoStoredMembers,
    /// <summary>No constructor the generated reader can call with the stored members.</summary>
    NoConstruction,
}

/// <summary>The rules a <c>[PersistentValue]</c> type must follow for the generator to give it a codec.</summary>
internal static class ValueRules
{
    /// <summary>The first reason the generator cannot complete <paramref name="type"/>, or <see cref="ValueProblem.None"/>.</summary>
    /// <param name="type">The value type.</param>
    /// <param name="visiting">The values being checked further out, to refuse a value that contains itself.</param>
    /// <param name="cancellationToken">Cancels the work.</param>
    public static ValueProblem FirstProblem(INamedTypeSymbol type, HashSet<ITypeSymbol> visiting, CancellationToken cancellationToken) =>
        Problems(type, visiting, cancellationToken).FirstOrDefault();

    /// <summary>Every reason the generator cannot complete <paramref name="type"/>, in the order it checks them.</summary>
    public static IEnumerable<ValueProblem> Problems(INamedTypeSymbol type, HashSet<ITypeSymbol> visiting, CancellationToken cancellationToken)
    {
        if (type.TypeKind is not (TypeKind.Struct or TypeKind.Class)) yield return ValueProblem.NotAStructOrClass;
        if (type.Arity != 0) yield return ValueProblem.Generic;
        if (type.IsStatic) yield return ValueProblem.Static;
        if (type.IsAbstract) yield return ValueProblem.Abstract;
        if (type.IsRefLikeType) yield return ValueProblem.RefStruct;
        if (type.IsFileLocal) yield return ValueProblem.FileLocal;
        if (RuleSymbols.CountAttributes(type, RuleSymbols.PersistentValueAttribute) > 1) yield return ValueProblem.DuplicateAttribute;
        if (RuleSymbols.HasAttribute(type, RuleSymbols.PersistentAttribute)) yield return ValueProblem.AlsoPersistent;
        if (type.TypeKind == TypeKind.Class && type.BaseType?.SpecialType != SpecialType.System_Object) yield return ValueProblem.UnsupportedBase;

        var fromSource = !type.DeclaringSyntaxReferences.IsEmpty;
        if (fromSource)
        {
            if (RuleSymbols.FindNonPartialContainer(type, out var genericContainer, cancellationToken) is not null)
            {
                yield return genericContainer ? ValueProblem.NestedInGeneric : ValueProblem.NotPartial;
            }
        }
        else
        {
            if (!type.GetMembers(RuleSymbols.ValueCodecProperty).Any(static m => m is IPropertySymbol { IsStatic: true })) yield return ValueProblem.NoCodec;
            for (var outer = type.ContainingType; outer is not null; outer = outer.ContainingType)
            {
                if (outer.Arity != 0)
                {
                    yield return ValueProblem.NestedInGeneric;
                    break;
                }
            }
        }

        if (visiting.Contains(type))
        {
            yield return ValueProblem.ContainsItself;
            yield break;
        }

        var constructors = Constructors(type);
        var members = StoredMembers(type, constructors);
        if (MemberProblems(type, members, visiting, cancellationToken).Count > 0) yield return ValueProblem.MemberNotStorable;
        if (members.Count == 0) yield return ValueProblem.NoStoredMembers;
        else if (fromSource && !ChooseConstruction(type, constructors, members, new List<string>(), new List<string>())) yield return ValueProblem.NoConstruction;
    }

    /// <summary>The stored members whose type cannot be stored inside a value, with the reason.</summary>
    public static List<(IPropertySymbol Member, StorageProblem Problem)> MemberProblems(
        INamedTypeSymbol type,
        List<IPropertySymbol> members,
        HashSet<ITypeSymbol> visiting,
        CancellationToken cancellationToken)
    {
        var problems = new List<(IPropertySymbol, StorageProblem)>();
        if (!visiting.Add(type)) return problems;
        try
        {
            foreach (var member in members)
            {
                cancellationToken.ThrowIfCancellationRequested();
                if (StorageRules.Check(member.Type, allowReference: false, visiting, cancellationToken) is { } problem) problems.Add((member, problem));
            }
        }
        finally
        {
            visiting.Remove(type);
        }
        return problems;
    }

    /// <summary>The constructors a value can be rebuilt with (a record's copy constructor is not one).</summary>
    public static List<IMethodSymbol> Constructors(INamedTypeSymbol type) =>
        type.InstanceConstructors.Where(c => !IsCopyConstructor(c, type)).ToList();

    /// <summary>
    /// The stored members of a value, in declaration order: public instance properties with a getter
    /// that can be set again or given back to a constructor (positional records, get-only
    /// properties), and are not <c>[Transient]</c>.
    /// </summary>
    public static List<IPropertySymbol> StoredMembers(INamedTypeSymbol type, List<IMethodSymbol> constructors)
    {
        var members = new List<IPropertySymbol>();
        foreach (var member in type.GetMembers())
        {
            if (member is not IPropertySymbol property) continue;
            if (property.IsStatic || property.IsIndexer || property.DeclaredAccessibility != Accessibility.Public) continue;
            if (property.GetMethod is null || property.RefKind != RefKind.None || !property.ExplicitInterfaceImplementations.IsEmpty) continue;
            if (property.SetMethod is null && !constructors.Any(c => c.Parameters.Any(p => Matches(p, property)))) continue;
            if (RuleSymbols.HasAttribute(property, RuleSymbols.TransientAttribute)) continue;
            members.Add(property);
        }
        return members;
    }

    /// <summary>
    /// Picks how a value is rebuilt when read: the constructor whose parameters all match stored
    /// members by name and type (the one with the most parameters), the rest by object initializer.
    /// </summary>
    /// <returns>false if there is no way: no matching or parameterless constructor, or a member left over that cannot be set.</returns>
    public static bool ChooseConstruction(
        INamedTypeSymbol type,
        List<IMethodSymbol> constructors,
        List<IPropertySymbol> members,
        List<string> constructorArguments,
        List<string> initializedMembers)
    {
        IMethodSymbol? best = null;
        List<IPropertySymbol>? bestMembers = null;
        var hasParameterless = type.TypeKind == TypeKind.Struct;
        foreach (var constructor in constructors)
        {
            if (constructor.Parameters.IsEmpty)
            {
                hasParameterless = true;
                continue;
            }
            var matched = new List<IPropertySymbol>();
            foreach (var parameter in constructor.Parameters)
            {
                var member = members.FirstOrDefault(m => Matches(parameter, m));
                if (member is null || matched.Contains(member, SymbolEqualityComparer.Default))
                {
                    matched = null;
                    break;
                }
                matched.Add(member);
            }
            if (matched is not null && (best is null || matched.Count > bestMembers!.Count))
            {
                best = constructor;
                bestMembers = matched;
            }
        }
        if (best is null && !hasParameterless) return false;

        var setsRequiredMembers = best is not null && best.GetAttributes().Any(static a =>
            a.AttributeClass is { Name: "SetsRequiredMembersAttribute" } attribute &&
            attribute.ContainingNamespace.ToDisplayString() == "System.Diagnostics.CodeAnalysis");
        var viaConstructor = bestMembers ?? new List<IPropertySymbol>();
        foreach (var member in viaConstructor) constructorArguments.Add(member.Name);
        foreach (var member in members)
        {
            var passed = viaConstructor.Contains(member, SymbolEqualityComparer.Default);
            if (passed && !(member.IsRequired && !setsRequiredMembers)) continue;
            if (member.SetMethod is null) return false;
            initializedMembers.Add(member.Name);
        }
        return true;
    }

    /// <summary>Whether a constructor parameter gives the value of a property: same name (ignoring case) and type.</summary>
    private static bool Matches(IParameterSymbol parameter, IPropertySymbol property) =>
        parameter.RefKind == RefKind.None &&
        string.Equals(parameter.Name, property.Name, StringComparison.OrdinalIgnoreCase) &&
        SymbolEqualityComparer.Default.Equals(parameter.Type, property.Type);

    /// <summary>A record's generated copy constructor, which is no way to build a value from its fields.</summary>
    private static bool IsCopyConstructor(IMethodSymbol constructor, INamedTypeSymbol type) =>
        constructor.Parameters.Length == 1 && SymbolEqualityComparer.Default.Equals(constructor.Parameters[0].Type, type);
}
