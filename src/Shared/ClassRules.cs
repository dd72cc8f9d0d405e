using System.Collections.Generic;
using System.Linq;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace Persistence.Rules;

/// <summary>Why the generator cannot complete a <c>[Persistent]</c> type.</summary>
internal enum ClassProblem
{
    None,
    /// <summary>A struct, interface, enum or delegate.</summary>
    NotAClass,
    Record,
    Static,
    FileLocal,
    Generic,
    /// <summary>The attribute is given more than once (the compiler reports it).</summary>
    DuplicateAttribute,
    /// <summary>Also marked <c>[PersistentValue]</c>.</summary>
    AlsoPersistentValue,
    /// <summary>Nested in a generic type.</summary>
    NestedInGeneric,
    /// <summary>The class, or a type containing it, is not partial.</summary>
    NotPartial,
    /// <summary>Private or protected (or nested in such a type): the generated registration cannot name it.</summary>
    NotAccessible,
    PrimaryConstructor,
    /// <summary>Derives from a class that is neither object, <c>PersistentObject</c> nor a non-generic <c>[Persistent]</c> class.</summary>
    UnsupportedBase,
    /// <summary>Persistence.Core is not referenced.</summary>
    NoRuntime,
}

/// <summary>The rules a <c>[Persistent]</c> class must follow for the generator to complete it.</summary>
internal static class ClassRules
{
    /// <summary>
    /// Every reason the generator cannot complete <paramref name="type"/>, in the order it checks them;
    /// none if it can. Without a <paramref name="compilation"/>, whether Persistence.Core is referenced is not checked.
    /// </summary>
    public static IEnumerable<ClassProblem> Problems(INamedTypeSymbol type, Compilation? compilation, CancellationToken cancellationToken)
    {
        var isClass = type.TypeKind == TypeKind.Class;
        if (!isClass) yield return ClassProblem.NotAClass;
        else if (type.IsRecord) yield return ClassProblem.Record;
        if (type.IsStatic) yield return ClassProblem.Static;
        if (type.IsFileLocal) yield return ClassProblem.FileLocal;
        if (type.Arity != 0) yield return ClassProblem.Generic;
        if (RuleSymbols.CountAttributes(type, RuleSymbols.PersistentAttribute) > 1) yield return ClassProblem.DuplicateAttribute;
        if (RuleSymbols.HasAttribute(type, RuleSymbols.PersistentValueAttribute)) yield return ClassProblem.AlsoPersistentValue;
        if (RuleSymbols.FindNonPartialContainer(type, out var genericContainer, cancellationToken) is not null)
        {
            yield return genericContainer ? ClassProblem.NestedInGeneric : ClassProblem.NotPartial;
        }
        if (!AccessibleInItsAssembly(type)) yield return ClassProblem.NotAccessible;
        // A positional record's parameters are the record's own matter, already refused above.
        if (!type.IsRecord && HasPrimaryConstructor(type, cancellationToken)) yield return ClassProblem.PrimaryConstructor;
        if (isClass && !IsSupportedBase(type.BaseType, cancellationToken)) yield return ClassProblem.UnsupportedBase;
        if (compilation is not null && compilation.GetTypeByMetadataName(RuleSymbols.PersistentObjectMetadataName) is null) yield return ClassProblem.NoRuntime;
    }

    /// <summary>
    /// Whether a <c>[Persistent]</c> class becomes a persistent object: one from another assembly must
    /// have been completed there (it derives from <c>PersistentObject</c>), one from source must break no rule (otherwise the generator gives it
    /// at most placeholders, without the <c>PersistentObject</c> base, so other classes can neither
    /// derive from it nor hold it).
    /// </summary>
    public static bool IsCompletable(INamedTypeSymbol type, CancellationToken cancellationToken) =>
        type.DeclaringSyntaxReferences.IsEmpty
            // Compiled elsewhere: completed if the generator gave it its base (placeholders do not).
            ? RuleSymbols.DerivesFromPersistentObject(type)
            : !Problems(type, compilation: null, cancellationToken).Any();

    /// <summary>Whether code anywhere in the type's assembly can name it (the generated registration must).</summary>
    private static bool AccessibleInItsAssembly(INamedTypeSymbol type)
    {
        for (INamedTypeSymbol? current = type; current is not null; current = current.ContainingType)
        {
            if (current.DeclaredAccessibility is not (Accessibility.Public or Accessibility.Internal or Accessibility.ProtectedOrInternal)) return false;
        }
        return true;
    }

    /// <summary>The first reason the generator cannot complete <paramref name="type"/>, or <see cref="ClassProblem.None"/>.</summary>
    public static ClassProblem FirstProblem(INamedTypeSymbol type, Compilation compilation, CancellationToken cancellationToken) =>
        Problems(type, compilation, cancellationToken).FirstOrDefault();

    /// <summary>A base the generated part can build on: object (it then adds <c>PersistentObject</c>), <c>PersistentObject</c>, or a non-generic <c>[Persistent]</c> class the generator completes.</summary>
    public static bool IsSupportedBase(INamedTypeSymbol? baseType, CancellationToken cancellationToken) =>
        baseType is not null &&
        (baseType.SpecialType == SpecialType.System_Object ||
         RuleSymbols.IsPersistenceType(baseType, RuleSymbols.PersistentObject) ||
         (baseType.Arity == 0 && RuleSymbols.HasAttribute(baseType, RuleSymbols.PersistentAttribute) && IsCompletable(baseType, cancellationToken)));

    public static bool HasPrimaryConstructor(INamedTypeSymbol type, CancellationToken cancellationToken) =>
        type.DeclaringSyntaxReferences.Any(r => r.GetSyntax(cancellationToken) is TypeDeclarationSyntax { ParameterList: not null });
}
