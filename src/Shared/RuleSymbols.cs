using System;
using System.Linq;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace Persistence.Rules;

/// <summary>
/// Names and symbol tests shared by the source generator and the analyzers. This folder is compiled
/// into both assemblies, so what the generator accepts and what the analyzers report are decided by
/// the same code.
/// </summary>
internal static class RuleSymbols
{
    public const string Namespace = "Persistence";
    public const string PersistentAttribute = "PersistentAttribute";
    public const string PersistentValueAttribute = "PersistentValueAttribute";
    public const string PersistentAliasAttribute = "PersistentAliasAttribute";
    public const string TransientAttribute = "TransientAttribute";
    public const string PersistentObject = "PersistentObject";
    public const string PersistentObjectMetadataName = "Persistence.PersistentObject";

    /// <summary>The static property a <c>[PersistentValue]</c> type gets from the generator.</summary>
    public const string ValueCodecProperty = "PersistentCodec";

    /// <summary>Whether a type is the named top-level type of the <c>Persistence</c> namespace.</summary>
    public static bool IsPersistenceType(ITypeSymbol? type, string name) =>
        type is INamedTypeSymbol { ContainingType: null } named &&
        named.Name == name &&
        named.ContainingNamespace is { Name: Namespace, ContainingNamespace.IsGlobalNamespace: true };

    public static bool HasAttribute(ISymbol symbol, string attributeName) => CountAttributes(symbol, attributeName) > 0;

    public static int CountAttributes(ISymbol symbol, string attributeName) =>
        symbol.GetAttributes().Count(a => IsPersistenceType(a.AttributeClass, attributeName));

    /// <summary>
    /// Whether a type is stored as a reference: a <c>[Persistent]</c> class (from this project, whose
    /// generated base is not visible to the generator yet, or from another) or any class deriving from
    /// <c>PersistentObject</c> (the persistent collections, <c>PersistentObject</c> itself) but not
    /// through a <c>[Persistent]</c> class: a class deriving from one without being one is stored as
    /// that class, without its own fields, and loads as it. (The generator cannot see a
    /// <c>[Persistent]</c> class's generated base, the analyzers can: this way both see the same.)
    /// </summary>
    public static bool IsPersistentReference(INamedTypeSymbol type)
    {
        if (type.TypeKind != TypeKind.Class || ContainsTypeParameterOrError(type)) return false;
        if (type.Arity == 0 && HasAttribute(type, PersistentAttribute)) return true;
        for (INamedTypeSymbol? current = type; current is not null; current = current.BaseType)
        {
            if (IsPersistenceType(current, PersistentObject)) return true;
            if (HasAttribute(current, PersistentAttribute)) return false;
        }
        return false;
    }

    /// <summary>Whether the type, or a type containing it, is generic.</summary>
    public static bool IsInGenericType(INamedTypeSymbol type)
    {
        for (INamedTypeSymbol? current = type; current is not null; current = current.ContainingType)
        {
            if (current.Arity != 0) return true;
        }
        return false;
    }

    /// <summary>Whether <c>PersistentObject</c> is among the type's bases (as compiled: a referenced assembly's, or written in source).</summary>
    public static bool DerivesFromPersistentObject(INamedTypeSymbol type)
    {
        for (var current = type.BaseType; current is not null; current = current.BaseType)
        {
            if (IsPersistenceType(current, PersistentObject)) return true;
        }
        return false;
    }

    /// <summary>Whether a type is, or has inside it (as an element or type argument), a type parameter.</summary>
    public static bool ContainsTypeParameter(ITypeSymbol type) => ContainsTypeParameter(type, orError: false);

    /// <summary>The same, or an error type, or a type that is neither named nor an array (a pointer, dynamic).</summary>
    public static bool ContainsTypeParameterOrError(ITypeSymbol type) => ContainsTypeParameter(type, orError: true);

    private static bool ContainsTypeParameter(ITypeSymbol type, bool orError) => type switch
    {
        ITypeParameterSymbol => true,
        IArrayTypeSymbol array => ContainsTypeParameter(array.ElementType, orError),
        INamedTypeSymbol named => (orError && named.TypeKind == TypeKind.Error) || named.TypeArguments.Any(argument => ContainsTypeParameter(argument, orError)),
        _ => orError,
    };

    /// <summary>
    /// Checks that every declaration of a type and of each type containing it says <c>partial</c>
    /// and that no containing type is generic (the generator re-declares them all).
    /// </summary>
    /// <returns>null if so; otherwise the first type that is generic (<paramref name="genericContainer"/> true) or not partial.</returns>
    public static INamedTypeSymbol? FindNonPartialContainer(INamedTypeSymbol type, out bool genericContainer, CancellationToken cancellationToken)
    {
        genericContainer = false;
        for (var current = type.ContainingType; current is not null; current = current.ContainingType)
        {
            if (current.Arity != 0)
            {
                genericContainer = true;
                return current;
            }
        }
        return FindNonPartial(type, cancellationToken);
    }

    /// <summary>The first of a type and the types containing it that has a declaration not marked <c>partial</c>, or null.</summary>
    public static INamedTypeSymbol? FindNonPartial(INamedTypeSymbol type, CancellationToken cancellationToken)
    {
        for (INamedTypeSymbol? current = type; current is not null; current = current.ContainingType)
        {
            if (current.DeclaringSyntaxReferences.IsEmpty) return current;
            foreach (var reference in current.DeclaringSyntaxReferences)
            {
                if (reference.GetSyntax(cancellationToken) is not TypeDeclarationSyntax declaration ||
                    !declaration.Modifiers.Any(SyntaxKind.PartialKeyword))
                {
                    return current;
                }
            }
        }
        return null;
    }

    /// <summary>
    /// Whether a declaration was written by the Persistence source generator. Analyzers see the
    /// generator's output in the compilation; the generator itself never does. Generated trees are
    /// named after the generator (<c>…/Persistence.Generators.PersistentGenerator/&lt;hint&gt;.g.cs</c>).
    /// </summary>
    public static bool IsGenerated(SyntaxTree? tree) =>
        tree is not null &&
        tree.FilePath.EndsWith(".g.cs", StringComparison.OrdinalIgnoreCase) &&
        tree.FilePath.IndexOf("Persistence.Generators.PersistentGenerator", StringComparison.Ordinal) >= 0;

    /// <summary>Whether every declaration of a symbol was written by the generator.</summary>
    public static bool IsGenerated(ISymbol symbol) =>
        !symbol.DeclaringSyntaxReferences.IsEmpty &&
        symbol.DeclaringSyntaxReferences.All(static r => IsGenerated(r.SyntaxTree));
}
