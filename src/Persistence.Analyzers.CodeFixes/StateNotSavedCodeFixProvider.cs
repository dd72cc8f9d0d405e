using System.Collections.Immutable;
using System.Composition;
using System.Linq;
using System.Threading.Tasks;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeActions;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Editing;

namespace Persistence.Analyzers.CodeFixes;

/// <summary>
/// Fixes PERSIST005 (a field or auto-property of a persistent class is not saved): makes the
/// auto-property partial, or turns the field into a partial property of the same name (initial
/// values move into the constructors), so it is stored; or marks it <c>[Transient]</c> to say that
/// losing it is intended.
/// </summary>
[ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(StateNotSavedCodeFixProvider)), Shared]
public sealed class StateNotSavedCodeFixProvider : CodeFixProvider
{
    /// <inheritdoc />
    public override ImmutableArray<string> FixableDiagnosticIds { get; } = ImmutableArray.Create(DiagnosticDescriptors.StateNotSavedId);

    /// <inheritdoc />
    public override FixAllProvider GetFixAllProvider() => WellKnownFixAllProviders.BatchFixer;

    /// <inheritdoc />
    public override async Task RegisterCodeFixesAsync(CodeFixContext context)
    {
        var diagnostic = context.Diagnostics[0];
        var root = await context.Document.GetSyntaxRootAsync(context.CancellationToken).ConfigureAwait(false);
        var node = root?.FindNode(context.Span);
        MemberDeclarationSyntax? member = node switch
        {
            PropertyDeclarationSyntax property => property,
            VariableDeclaratorSyntax { Parent.Parent: FieldDeclarationSyntax field } => field,
            _ => null,
        };
        if (member is null || member.Parent is not TypeDeclarationSyntax type) return;
        var name = node is VariableDeclaratorSyntax variable ? variable.Identifier.ValueText : ((PropertyDeclarationSyntax)member).Identifier.ValueText;
        var canBePartial = diagnostic.Properties.TryGetValue(StateNotSavedAnalyzer.CanBePartialProperty, out var value) && value == "true";

        var model = await context.Document.GetSemanticModelAsync(context.CancellationToken).ConfigureAwait(false);
        if (canBePartial && model?.GetDeclaredSymbol(type, context.CancellationToken) is INamedTypeSymbol symbol && StoredMembers.CanConvert(member, type, symbol))
        {
            var title = member is FieldDeclarationSyntax ? $"Convert '{name}' to a partial property" : $"Make '{name}' a partial property";
            context.RegisterCodeFix(
                CodeAction.Create(title, cancellationToken => StoredMembers.ConvertAsync(context.Document, member, type, cancellationToken), equivalenceKey: "MakePartialProperty"),
                diagnostic);
        }
        context.RegisterCodeFix(
            CodeAction.Create(
                $"Mark '{name}' [Transient]",
                async cancellationToken =>
                {
                    var editor = await DocumentEditor.CreateAsync(context.Document, cancellationToken).ConfigureAwait(false);
                    editor.AddAttribute(member, SyntaxFactory.Attribute(PersistenceNames.Qualified("Transient")));
                    return editor.GetChangedDocument();
                },
                equivalenceKey: "MarkTransient"),
            diagnostic);
    }
}
