using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Diagnostics;

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
            var persistentAttribute = start.Compilation.GetTypeByMetadataName("Persistence.PersistentAttribute");
            if (persistentAttribute is null) return;
            start.RegisterSymbolAction(context => Analyze(context, persistentAttribute), SymbolKind.NamedType);
        });
    }

    private static void Analyze(SymbolAnalysisContext context, INamedTypeSymbol persistentAttribute)
    {
        var type = (INamedTypeSymbol)context.Symbol;
        if (type.TypeKind != TypeKind.Class || !HasAttribute(type, persistentAttribute)) return;

        var className = type.ToDisplayString(SymbolDisplayFormat.CSharpShortErrorMessageFormat);
        for (INamedTypeSymbol? current = type; current is not null; current = current.ContainingType)
        {
            foreach (var reference in current.DeclaringSyntaxReferences)
            {
                if (reference.GetSyntax(context.CancellationToken) is TypeDeclarationSyntax declaration &&
                    !declaration.Modifiers.Any(SyntaxKind.PartialKeyword))
                {
                    context.ReportDiagnostic(Diagnostic.Create(
                        DiagnosticDescriptors.PersistentClassMustBePartial,
                        declaration.Identifier.GetLocation(),
                        current.ToDisplayString(SymbolDisplayFormat.CSharpShortErrorMessageFormat),
                        className));
                }
            }
        }
    }

    private static bool HasAttribute(INamedTypeSymbol type, INamedTypeSymbol attribute)
    {
        foreach (var data in type.GetAttributes())
        {
            if (SymbolEqualityComparer.Default.Equals(data.AttributeClass, attribute)) return true;
        }
        return false;
    }
}
