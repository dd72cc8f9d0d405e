using System.Collections.Immutable;
using System.Composition;
using System.Threading.Tasks;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeActions;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace Persistence.Analyzers.CodeFixes;

/// <summary>
/// Fixes PERSIST018 (a persistent property has an initializer): moves the initial value to the start
/// of each constructor, or into a new parameterless constructor when the class declares none; a
/// get-only property gets a private setter for it.
/// </summary>
[ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(PropertyInitializerCodeFixProvider)), Shared]
public sealed class PropertyInitializerCodeFixProvider : CodeFixProvider
{
    /// <inheritdoc />
    public override ImmutableArray<string> FixableDiagnosticIds { get; } = ImmutableArray.Create(DiagnosticDescriptors.PropertyInitializerId);

    /// <inheritdoc />
    public override FixAllProvider GetFixAllProvider() => WellKnownFixAllProviders.BatchFixer;

    /// <inheritdoc />
    public override async Task RegisterCodeFixesAsync(CodeFixContext context)
    {
        var root = await context.Document.GetSyntaxRootAsync(context.CancellationToken).ConfigureAwait(false);
        if (root?.FindNode(context.Span).FirstAncestorOrSelf<PropertyDeclarationSyntax>() is not { Parent: TypeDeclarationSyntax type } property) return;
        var model = await context.Document.GetSemanticModelAsync(context.CancellationToken).ConfigureAwait(false);
        if (model?.GetDeclaredSymbol(type, context.CancellationToken) is not INamedTypeSymbol symbol || !StoredMembers.CanConvert(property, type, symbol)) return;
        context.RegisterCodeFix(
            CodeAction.Create(
                $"Move the initial value of '{property.Identifier.ValueText}' into the constructor",
                cancellationToken => StoredMembers.ConvertAsync(context.Document, property, type, cancellationToken),
                equivalenceKey: "MoveInitializerIntoConstructor"),
            context.Diagnostics[0]);
    }
}
