using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Simplification;

namespace Persistence.Analyzers.CodeFixes;

/// <summary>Names of Persistence types written into user code: fully qualified and annotated, so the code action's clean-up adds the <c>using</c> and shortens them.</summary>
internal static class PersistenceNames
{
    /// <summary><c>Persistence.<paramref name="name"/></c>, to be simplified (and imported) by the code action's clean-up.</summary>
    public static NameSyntax Qualified(string name) =>
        SyntaxFactory.QualifiedName(SyntaxFactory.IdentifierName("Persistence"), SyntaxFactory.IdentifierName(name))
            .WithAdditionalAnnotations(Simplifier.Annotation, Simplifier.AddImportsAnnotation);

    /// <summary><c>Persistence.<paramref name="name"/>&lt;…&gt;</c> with the given type arguments, to be simplified by the clean-up.</summary>
    public static NameSyntax QualifiedGeneric(string name, TypeArgumentListSyntax arguments) =>
        SyntaxFactory.QualifiedName(SyntaxFactory.IdentifierName("Persistence"), SyntaxFactory.GenericName(SyntaxFactory.Identifier(name), arguments))
            .WithAdditionalAnnotations(Simplifier.Annotation, Simplifier.AddImportsAnnotation);
}
