using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Diagnostics;

namespace Persistence.Analyzers;

/// <summary>
/// PERSIST004: persistent classes declare partial properties, which need C# 13. Reported once per
/// <c>[Persistent]</c> class when the project's language version is older. (A compiler older than
/// Roslyn 4.14 cannot load the generator or this analyzer at all; the package's MSBuild targets report
/// that case with the same id.)
/// </summary>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class LanguageVersionAnalyzer : DiagnosticAnalyzer
{
    /// <inheritdoc />
    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } =
        ImmutableArray.Create(DiagnosticDescriptors.CompilerTooOld);

    /// <inheritdoc />
    public override void Initialize(AnalysisContext context)
    {
        context.ConfigureGeneratedCodeAnalysis(GeneratedCodeAnalysisFlags.None);
        context.EnableConcurrentExecution();
        context.RegisterCompilationStartAction(static start =>
        {
            if (AnalyzerSymbols.PersistentObject(start.Compilation) is null) return;
            if (start.Compilation is not CSharpCompilation { LanguageVersion: var version } || version >= LanguageVersion.CSharp13) return;
            var shown = version.ToDisplayString();
            start.RegisterSymbolAction(context =>
            {
                var type = (INamedTypeSymbol)context.Symbol;
                if (AnalyzerSymbols.IsPersistentClass(type) && AnalyzerSymbols.UserLocation(type) is { } location)
                {
                    context.ReportDiagnostic(Diagnostic.Create(DiagnosticDescriptors.CompilerTooOld, location, AnalyzerSymbols.Display(type), shown));
                }
            }, SymbolKind.NamedType);
        });
    }
}
