using System.Collections.Immutable;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;
using Persistence.Rules;

namespace Persistence.Analyzers;

/// <summary>
/// PERSIST010 (information): a <c>[Persistent]</c> class that declares constructors, none of which
/// can be called without arguments. That is allowed, and this says what it means: the generator adds
/// a public parameterless constructor only to classes that declare none, and loads stored objects
/// through the ghost constructor it always adds, which runs none of the user's constructors.
/// </summary>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class ParameterlessConstructorAnalyzer : DiagnosticAnalyzer
{
    /// <inheritdoc />
    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } =
        ImmutableArray.Create(DiagnosticDescriptors.NoParameterlessConstructor);

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
        if (type.TypeKind != TypeKind.Class || type.IsStatic || !AnalyzerSymbols.IsPersistentClass(type)) return;

        var declared = type.InstanceConstructors.Where(static c => !c.IsImplicitlyDeclared && !RuleSymbols.IsGenerated(c)).ToList();
        if (declared.Count == 0 || ClassRules.HasPrimaryConstructor(type, context.CancellationToken)) return;
        if (declared.Any(static c => c.Parameters.All(static p => p.IsOptional || p.IsParams))) return;
        if (AnalyzerSymbols.UserLocation(type) is not { } location) return;

        context.ReportDiagnostic(Diagnostic.Create(DiagnosticDescriptors.NoParameterlessConstructor, location, type.Name));
    }
}
