using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Diagnostics;
using Persistence.Rules;

namespace Persistence.Analyzers;

/// <summary>
/// PERSIST001: a <c>[Persistent]</c> class, and each type it is nested in, must be declared
/// <c>partial</c>, or the generator cannot add its part. Reported on the name of every declaration
/// that lacks the modifier.
/// </summary>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class PersistentClassMustBePartialAnalyzer : DiagnosticAnalyzer
{
    /// <inheritdoc />
    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } =
        ImmutableArray.Create(DiagnosticDescriptors.PersistentClassMustBePartial);

    /// <inheritdoc />
    public override void Initialize(AnalysisContext context)
    {
        context.ConfigureGeneratedCodeAnalysis(GeneratedCodeAnalysisFlags.None);
        context.EnableConcurrentExecution();
        context.RegisterCompilationStartAction(static start =>
        {
            // Nothing to do in a project that does not reference Persistence.
            if (start.Compilation.GetTypeByMetadataName("Persistence.PersistentAttribute") is null) return;
            start.RegisterSymbolAction(Analyze, SymbolKind.NamedType);
        });
    }

    private static void Analyze(SymbolAnalysisContext context)
    {
        var type = (INamedTypeSymbol)context.Symbol;
        if (type.TypeKind != TypeKind.Class || !AnalyzerSymbols.IsPersistentClass(type)) return;

        var className = AnalyzerSymbols.Display(type);
        for (INamedTypeSymbol? current = type; current is not null; current = current.ContainingType)
        {
            foreach (var reference in current.DeclaringSyntaxReferences)
            {
                if (reference.GetSyntax(context.CancellationToken) is TypeDeclarationSyntax declaration &&
                    !declaration.Modifiers.Any(SyntaxKind.PartialKeyword) &&
                    !RuleSymbols.IsGenerated(declaration.SyntaxTree))
                {
                    context.ReportDiagnostic(Diagnostic.Create(
                        DiagnosticDescriptors.PersistentClassMustBePartial,
                        declaration.Identifier.GetLocation(),
                        AnalyzerSymbols.Display(current),
                        className));
                }
            }
        }
    }
}
