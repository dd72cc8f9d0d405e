using System.Linq;
using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;
using Persistence.Rules;

namespace Persistence.Analyzers;

/// <summary>
/// PERSIST016: a class deriving from a <c>[Persistent]</c> class without the attribute itself. Its
/// objects inherit the base's generated description, so stored they would load as the base class;
/// the commit refuses them (the generated <c>PersistentType</c> checks the class).
/// PERSIST020: a class that is not abstract deriving from <c>PersistentObject</c> itself without the
/// attribute and without writing its members: the compiler lists them missing, and the attribute is the fix.
/// </summary>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class UnmarkedSubclassAnalyzer : DiagnosticAnalyzer
{
    /// <inheritdoc />
    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } =
        ImmutableArray.Create(DiagnosticDescriptors.UnmarkedSubclass, DiagnosticDescriptors.HandWrittenPersistentObject);

    /// <inheritdoc />
    public override void Initialize(AnalysisContext context)
    {
        context.ConfigureGeneratedCodeAnalysis(GeneratedCodeAnalysisFlags.None);
        context.EnableConcurrentExecution();
        context.RegisterCompilationStartAction(static start =>
        {
            if (AnalyzerSymbols.PersistentObject(start.Compilation) is null) return;
            start.RegisterSymbolAction(static context => Analyze(context), SymbolKind.NamedType);
        });
    }

    private static void Analyze(SymbolAnalysisContext context)
    {
        var type = (INamedTypeSymbol)context.Symbol;
        if (type.TypeKind != TypeKind.Class || AnalyzerSymbols.IsPersistentClass(type)) return;
        if (RuleSymbols.IsPersistenceType(type.BaseType, RuleSymbols.PersistentObject))
        {
            // A class that writes the members itself (a hand-written persistent class) is left alone.
            if (!type.IsAbstract && !type.GetMembers("PersistentType").Any(static m => m.IsOverride) && AnalyzerSymbols.UserLocation(type) is { } where)
                context.ReportDiagnostic(Diagnostic.Create(DiagnosticDescriptors.HandWrittenPersistentObject, where, AnalyzerSymbols.Display(type)));
            return;
        }
        for (var baseType = type.BaseType; baseType is not null; baseType = baseType.BaseType)
        {
            if (RuleSymbols.IsPersistenceType(baseType, RuleSymbols.PersistentObject)) return;
            if (!AnalyzerSymbols.IsPersistentClass(baseType)) continue;
            // A base the generator cannot complete has an error of its own, which comes first.
            if (!ClassRules.IsCompletable(baseType, context.CancellationToken)) return;
            if (AnalyzerSymbols.UserLocation(type) is { } location)
            {
                var fix = RuleSymbols.IsInGenericType(type)
                    ? "a generic class cannot be [Persistent]: derive a non-generic class"
                    : "mark it [Persistent] and partial";
                context.ReportDiagnostic(Diagnostic.Create(DiagnosticDescriptors.UnmarkedSubclass, location, AnalyzerSymbols.Display(type), AnalyzerSymbols.Display(baseType), fix));
            }
            return;
        }
    }
}
