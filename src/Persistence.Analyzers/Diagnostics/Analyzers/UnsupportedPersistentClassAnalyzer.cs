using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;
using Persistence.Rules;

namespace Persistence.Analyzers;

/// <summary>
/// PERSIST002: a <c>[Persistent]</c> type the generator cannot complete (a struct, record, static,
/// file-local, generic or unreachable class, one nested in a generic type, with a primary constructor
/// or a base class that is not persistent). PERSIST013: a type that is also <c>[PersistentValue]</c>.
/// The problems are those of <see cref="ClassRules"/>, which the generator follows; PERSIST001 reports
/// missing <c>partial</c> modifiers.
/// </summary>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class UnsupportedPersistentClassAnalyzer : DiagnosticAnalyzer
{
    /// <inheritdoc />
    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } =
        ImmutableArray.Create(DiagnosticDescriptors.UnsupportedPersistentClass, DiagnosticDescriptors.PersistentAndValue);

    /// <inheritdoc />
    public override void Initialize(AnalysisContext context)
    {
        context.ConfigureGeneratedCodeAnalysis(GeneratedCodeAnalysisFlags.None);
        context.EnableConcurrentExecution();
        context.RegisterCompilationStartAction(static start =>
        {
            if (AnalyzerSymbols.PersistentObject(start.Compilation) is null) return;
            start.RegisterSymbolAction(Analyze, SymbolKind.NamedType);
        });
    }

    private static void Analyze(SymbolAnalysisContext context)
    {
        var type = (INamedTypeSymbol)context.Symbol;
        if (!AnalyzerSymbols.IsPersistentClass(type) || AnalyzerSymbols.UserLocation(type) is not { } location) return;

        foreach (var problem in ClassRules.Problems(type, context.Compilation, context.CancellationToken))
        {
            switch (problem)
            {
                case ClassProblem.NotPartial:         // PERSIST001
                case ClassProblem.DuplicateAttribute: // the compiler's CS0579
                case ClassProblem.NoRuntime:
                    break;
                case ClassProblem.AlsoPersistentValue:
                    context.ReportDiagnostic(Diagnostic.Create(DiagnosticDescriptors.PersistentAndValue, location, AnalyzerSymbols.Display(type)));
                    break;
                default:
                    context.ReportDiagnostic(Diagnostic.Create(
                        DiagnosticDescriptors.UnsupportedPersistentClass,
                        location,
                        AnalyzerSymbols.Display(type),
                        Reasons.For(problem, type)));
                    break;
            }
        }
    }
}
