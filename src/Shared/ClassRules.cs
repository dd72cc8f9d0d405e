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
    /// <summary>Every reason the generator cannot complete <paramref name="type"/>, in the order it checks them; none if it can.</summary>
    public static IEnumerable<ClassProblem> Problems(INamedTypeSymbol type, Compilation compilation, CancellationToken cancellationToken)
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
        if (!compilation.IsSymbolAccessibleWithin(type, compilation.Assembly)) yield return ClassProblem.NotAccessible;
        if (HasPrimaryConstructor(type, cancellationToken)) yield return ClassProblem.PrimaryConstructor;
        if (isClass && !IsSupportedBase(type.BaseType)) yield return ClassProblem.UnsupportedBase;
        if (compilation.GetTypeByMetadataName(RuleSymbols.PersistentObjectMetadataName) is null) yield return ClassProblem.NoRuntime;
    }

    /// <summary>The first reason the generator cannot complete <paramref name="type"/>, or <see cref="ClassProblem.None"/>.</summary>
    public static ClassProblem FirstProblem(INamedTypeSymbol type, Compilation compilation, CancellationToken cancellationToken) =>
        Problems(type, compilation, cancellationToken).FirstOrDefault();

    /// <summary>A base the generated part can build on: object (it then adds <c>PersistentObject</c>), <c>PersistentObject</c>, or a non-generic <c>[Persistent]</c> class.</summary>
    public static bool IsSupportedBase(INamedTypeSymbol? baseType) =>
        baseType is not null &&
        (baseType.SpecialType == SpecialType.System_Object ||
         RuleSymbols.IsPersistenceType(baseType, RuleSymbols.PersistentObject) ||
         (baseType.Arity == 0 && RuleSymbols.HasAttribute(baseType, RuleSymbols.PersistentAttribute)));

    public static bool HasPrimaryConstructor(INamedTypeSymbol type, CancellationToken cancellationToken) =>
        type.DeclaringSyntaxReferences.Any(r => r.GetSyntax(cancellationToken) is TypeDeclarationSyntax { ParameterList: not null });
}
