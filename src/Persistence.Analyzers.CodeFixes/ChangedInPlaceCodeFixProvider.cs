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
using Microsoft.CodeAnalysis.Formatting;
using Microsoft.CodeAnalysis.Operations;

namespace Persistence.Analyzers.CodeFixes;

/// <summary>
/// Fixes PERSIST006 (a stored collection or value changed in place): calls <c>MarkChanged()</c> on the
/// object (or persistent collection) right after the statement that changes it, or changes the property's type from List,
/// Dictionary or HashSet to the persistent collection, which tracks its own changes.
/// </summary>
[ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(ChangedInPlaceCodeFixProvider)), Shared]
public sealed class ChangedInPlaceCodeFixProvider : CodeFixProvider
{
    /// <inheritdoc />
    public override ImmutableArray<string> FixableDiagnosticIds { get; } = ImmutableArray.Create(DiagnosticDescriptors.ChangedInPlaceId);

    /// <inheritdoc />
    public override FixAllProvider GetFixAllProvider() => WellKnownFixAllProviders.BatchFixer;

    /// <inheritdoc />
    public override async Task RegisterCodeFixesAsync(CodeFixContext context)
    {
        var diagnostic = context.Diagnostics[0];
        var root = await context.Document.GetSyntaxRootAsync(context.CancellationToken).ConfigureAwait(false);
        var model = await context.Document.GetSemanticModelAsync(context.CancellationToken).ConfigureAwait(false);
        if (root is null || model is null) return;
        var node = root.FindNode(context.Span, getInnermostNodeForTie: true);
        var changed = model.GetOperation(node, context.CancellationToken) switch
        {
            IInvocationOperation invocation => InPlaceChanges.ChangedBy(invocation),
            IAssignmentOperation assignment => InPlaceChanges.ChangedBy(assignment.Target),
            IIncrementOrDecrementOperation increment => InPlaceChanges.ChangedBy(increment.Target),
            _ => null,
        };
        // The object to mark is the one at the root of the path, also for a change inside one of its values; for an element
        // of a persistent collection, the collection (a BTree marks its loaded buckets).
        if (changed?.Instance is not { } owner) return;

        if (node.FirstAncestorOrSelf<StatementSyntax>() is ExpressionStatementSyntax { Parent: BlockSyntax or SwitchSectionSyntax or GlobalStatementSyntax } statement &&
            OwnerText(owner) is { } ownerText)
        {
            context.RegisterCodeFix(
                CodeAction.Create(
                    ownerText.Length == 0 ? "Call MarkChanged() after the change" : $"Call {ownerText}.MarkChanged() after the change",
                    cancellationToken => AddMarkChangedAsync(context.Document, statement, ownerText, cancellationToken),
                    equivalenceKey: "MarkChanged"),
                diagnostic);
        }

        var property = changed.Property.PartialDefinitionPart ?? changed.Property;
        if (diagnostic.Properties.TryGetValue(ChangedInPlaceAnalyzer.CollectionProperty, out var collection) && collection is not null &&
            property.DeclaringSyntaxReferences.FirstOrDefault() is { } reference &&
            context.Document.Project.Solution.GetDocument(reference.SyntaxTree) is { } declaringDocument &&
            await reference.GetSyntaxAsync(context.CancellationToken).ConfigureAwait(false) is PropertyDeclarationSyntax declaration &&
            Unwrap(declaration.Type) is GenericNameSyntax generic)
        {
            var arguments = string.Join(", ", ((INamedTypeSymbol)property.Type).TypeArguments.Select(static t => t.ToDisplayString(SymbolDisplayFormat.MinimallyQualifiedFormat)));
            context.RegisterCodeFix(
                CodeAction.Create(
                    $"Change '{property.ContainingType.Name}.{property.Name}' to {collection}<{arguments}>",
                    cancellationToken => ChangeTypeAsync(declaringDocument, declaration, generic, collection, cancellationToken),
                    equivalenceKey: "UsePersistentCollection"),
                diagnostic);
        }
    }

    /// <summary>The object to call MarkChanged() on as code: "" for this, the expression if it is a plain name or member chain, else null (no fix).</summary>
    private static string? OwnerText(IOperation owner)
    {
        owner = InPlaceChanges.Strip(owner)!;
        if (owner is IInstanceReferenceOperation) return owner.IsImplicit ? "" : "this";
        for (var current = owner.Syntax; ; )
        {
            switch (current)
            {
                case IdentifierNameSyntax or ThisExpressionSyntax:
                    return owner.Syntax.ToString();
                case MemberAccessExpressionSyntax { Expression: var inner, RawKind: (int)SyntaxKind.SimpleMemberAccessExpression }:
                    current = inner;
                    continue;
                default:
                    return null;
            }
        }
    }

    private static async Task<Document> AddMarkChangedAsync(Document document, ExpressionStatementSyntax statement, string owner, CancellationToken cancellationToken)
    {
        var root = (await document.GetSyntaxRootAsync(cancellationToken).ConfigureAwait(false))!;
        var call = SyntaxFactory.ParseStatement(owner.Length == 0 ? "MarkChanged();" : owner + ".MarkChanged();")
            .WithLeadingTrivia(statement.GetLeadingTrivia().Where(static t => t.IsKind(SyntaxKind.WhitespaceTrivia)))
            .WithTrailingTrivia(statement.GetTrailingTrivia())
            .WithAdditionalAnnotations(Formatter.Annotation);
        SyntaxNode anchor = statement;
        SyntaxNode inserted = call;
        if (statement.Parent is GlobalStatementSyntax global)
        {
            anchor = global;
            inserted = SyntaxFactory.GlobalStatement(call);
        }
        return document.WithSyntaxRoot(root.InsertNodesAfter(anchor, [inserted]));
    }

    private static async Task<Solution> ChangeTypeAsync(Document document, PropertyDeclarationSyntax declaration, GenericNameSyntax generic, string collection, CancellationToken cancellationToken)
    {
        var root = (await document.GetSyntaxRootAsync(cancellationToken).ConfigureAwait(false))!;
        var replacement = PersistenceNames.QualifiedGeneric(collection, generic.TypeArgumentList);
        var oldName = (SyntaxNode?)generic.Parent as QualifiedNameSyntax ?? (SyntaxNode)generic;
        var newType = declaration.Type.ReplaceNode(oldName, replacement.WithTriviaFrom(oldName));
        return document.Project.Solution.WithDocumentSyntaxRoot(document.Id, root.ReplaceNode(declaration.Type, newType));
    }

    /// <summary>The generic name inside <c>List&lt;T&gt;</c>, <c>List&lt;T&gt;?</c> or <c>System.Collections.Generic.List&lt;T&gt;</c>.</summary>
    private static SimpleNameSyntax? Unwrap(TypeSyntax type) => type switch
    {
        NullableTypeSyntax nullable => Unwrap(nullable.ElementType),
        QualifiedNameSyntax qualified => qualified.Right,
        AliasQualifiedNameSyntax alias => alias.Name,
        SimpleNameSyntax simple => simple,
        _ => null,
    };
}
