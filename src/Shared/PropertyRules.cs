using System.Linq;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace Persistence.Rules;

/// <summary>Why the generator cannot implement a partial property of a <c>[Persistent]</c> class.</summary>
internal enum PropertyProblem
{
    None,
    Static,
    Indexer,
    /// <summary>Returns by reference.</summary>
    ByRef,
    ExplicitInterfaceImplementation,
    /// <summary>Its type does not bind (the compiler reports it).</summary>
    ErrorType,
    /// <summary>Not a plain <c>{ get; set; }</c>/<c>{ get; init; }</c> declaration.</summary>
    AccessorShape,
    /// <summary>Its name is a member of <c>PersistentObject</c>.</summary>
    NameOfPersistentObjectMember,
    /// <summary>Its name is a member of a base class (it would hide it).</summary>
    NameOfBaseClassMember,
}

/// <summary>The rules for the partial properties the generator implements (before their type is looked at: <see cref="StorageRules"/>).</summary>
internal static class PropertyRules
{
    /// <summary>
    /// Whether the generator implements <paramref name="property"/>: a partial definition with no
    /// implementation part other than the generator's own. A partial property the user implemented
    /// is an ordinary property, not stored.
    /// </summary>
    public static bool IsImplementedByGenerator(IPropertySymbol property) =>
        property.IsPartialDefinition &&
        (property.PartialImplementationPart is not { } implementation || RuleSymbols.IsGenerated(implementation));

    /// <summary>The first reason the generator cannot implement <paramref name="property"/> of <paramref name="type"/>.</summary>
    public static PropertyProblem Problem(IPropertySymbol property, INamedTypeSymbol type, INamedTypeSymbol persistentObject, CancellationToken cancellationToken)
    {
        if (property.IsStatic) return PropertyProblem.Static;
        if (property.IsIndexer) return PropertyProblem.Indexer;
        if (property.RefKind != RefKind.None) return PropertyProblem.ByRef;
        if (!property.ExplicitInterfaceImplementations.IsEmpty) return PropertyProblem.ExplicitInterfaceImplementation;
        if (property.Type.TypeKind == TypeKind.Error) return PropertyProblem.ErrorType;
        if (property.DeclaringSyntaxReferences.FirstOrDefault()?.GetSyntax(cancellationToken) is not PropertyDeclarationSyntax { AccessorList: { } accessors }) return PropertyProblem.AccessorShape;

        // A name the base classes already use would hide or duplicate a stored field.
        if (!persistentObject.GetMembers(property.Name).IsEmpty) return PropertyProblem.NameOfPersistentObjectMember;
        for (var baseType = type.BaseType; baseType is not null; baseType = baseType.BaseType)
        {
            if (!baseType.GetMembers(property.Name).IsEmpty) return PropertyProblem.NameOfBaseClassMember;
        }

        var hasGetter = false;
        var hasSetter = false;
        foreach (var accessor in accessors.Accessors)
        {
            if (accessor.Body is not null || accessor.ExpressionBody is not null) return PropertyProblem.AccessorShape;
            switch (accessor.Keyword.Kind())
            {
                case SyntaxKind.GetKeyword when !hasGetter:
                    hasGetter = true;
                    break;
                case SyntaxKind.SetKeyword or SyntaxKind.InitKeyword when !hasSetter:
                    hasSetter = true;
                    break;
                default:
                    return PropertyProblem.AccessorShape;
            }
        }
        return PropertyProblem.None;
    }
}
