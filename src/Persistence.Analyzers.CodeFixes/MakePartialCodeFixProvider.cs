using System.Collections.Generic;
using System.Collections.Immutable;
using System.Composition;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeActions;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace Persistence.Analyzers.CodeFixes;

/// <summary>
/// Fixes PERSIST001 (a persistent class or a type around it is not partial) and PERSIST012 when a
/// [PersistentValue] type is not partial: adds <c>partial</c> to every declaration of the type and of
/// the types containing it that lacks it, in whichever documents they are.
/// </summary>
[ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(MakePartialCodeFixProvider)), Shared]
public sealed class MakePartialCodeFixProvider : CodeFixProvider
{
    /// <inheritdoc />
    public override ImmutableArray<string> FixableDiagnosticIds { get; } =
        ImmutableArray.Create(DiagnosticDescriptors.PersistentClassMustBePartialId, DiagnosticDescriptors.UnsupportedValueTypeId);

    /// <inheritdoc />
    public override FixAllProvider GetFixAllProvider() => WellKnownFixAllProviders.BatchFixer;

    /// <inheritdoc />
    public override async Task RegisterCodeFixesAsync(CodeFixContext context)
    {
        var diagnostic = context.Diagnostics[0];
        if (diagnostic.Id == DiagnosticDescriptors.UnsupportedValueTypeId &&
            (!diagnostic.Properties.TryGetValue(PersistentValueAnalyzer.ProblemProperty, out var problem) || problem != "NotPartial"))
        {
            return;
        }
        var root = await context.Document.GetSyntaxRootAsync(context.CancellationToken).ConfigureAwait(false);
        var model = await context.Document.GetSemanticModelAsync(context.CancellationToken).ConfigureAwait(false);
        if (root?.FindToken(context.Span.Start).Parent?.FirstAncestorOrSelf<TypeDeclarationSyntax>() is not { } declaration) return;
        if (model?.GetDeclaredSymbol(declaration, context.CancellationToken) is not INamedTypeSymbol type) return;

        // PERSIST001 points at the declaration to fix; PERSIST012 at the value type, whose containers may need it too.
        var types = new List<INamedTypeSymbol> { type };
        if (diagnostic.Id == DiagnosticDescriptors.UnsupportedValueTypeId)
        {
            for (var outer = type.ContainingType; outer is not null; outer = outer.ContainingType) types.Add(outer);
        }
        context.RegisterCodeFix(
            CodeAction.Create(
                $"Make '{type.Name}' partial",
                cancellationToken => AddPartialAsync(context.Document.Project.Solution, types, cancellationToken),
                equivalenceKey: nameof(MakePartialCodeFixProvider)),
            diagnostic);
    }

    private static async Task<Solution> AddPartialAsync(Solution solution, List<INamedTypeSymbol> types, CancellationToken cancellationToken)
    {
        var declarations = types
            .SelectMany(static t => t.DeclaringSyntaxReferences)
            .Select(r => r.GetSyntax(cancellationToken))
            .OfType<TypeDeclarationSyntax>()
            .Where(static d => !d.Modifiers.Any(SyntaxKind.PartialKeyword))
            .GroupBy(static d => d.SyntaxTree);
        foreach (var group in declarations)
        {
            if (solution.GetDocument(group.Key) is not { } document) continue;
            var root = await group.Key.GetRootAsync(cancellationToken).ConfigureAwait(false);
            root = root.ReplaceNodes(group, static (_, declaration) => WithPartial(declaration));
            solution = solution.WithDocumentSyntaxRoot(document.Id, root);
        }
        return solution;
    }

    /// <summary>Adds <c>partial</c> last among the modifiers, right before the keyword, as C# requires.</summary>
    internal static TypeDeclarationSyntax WithPartial(TypeDeclarationSyntax declaration)
    {
        if (declaration.Modifiers.Count == 0)
        {
            var keyword = declaration.Keyword;
            var partial = SyntaxFactory.Token(keyword.LeadingTrivia, SyntaxKind.PartialKeyword, SyntaxFactory.TriviaList(SyntaxFactory.Space));
            return declaration.WithKeyword(keyword.WithLeadingTrivia()).WithModifiers(SyntaxFactory.TokenList(partial));
        }
        return declaration.AddModifiers(SyntaxFactory.Token(SyntaxKind.PartialKeyword).WithTrailingTrivia(SyntaxFactory.Space));
    }
}
