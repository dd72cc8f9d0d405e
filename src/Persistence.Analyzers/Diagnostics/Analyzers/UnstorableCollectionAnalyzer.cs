using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Operations;
using Persistence.Rules;

namespace Persistence.Analyzers;

/// <summary>
/// PERSIST021: <c>new BTree&lt;(DateTime, long), Order&gt;()</c> and other creations of a closed persistent
/// collection type whose type arguments cannot be stored. The generated registration skips such a type,
/// so the constructor throws at run time; a stored property of the type is PERSIST003 already.
/// Collections of a generic method's or type's parameters are left alone: code that builds them
/// registers them itself (<c>PersistentList&lt;T&gt;.Register</c>).
/// </summary>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class UnstorableCollectionAnalyzer : DiagnosticAnalyzer
{
    /// <inheritdoc />
    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } =
        ImmutableArray.Create(DiagnosticDescriptors.UnstorableCollection);

    /// <inheritdoc />
    public override void Initialize(AnalysisContext context)
    {
        context.ConfigureGeneratedCodeAnalysis(GeneratedCodeAnalysisFlags.None);
        context.EnableConcurrentExecution();
        context.RegisterCompilationStartAction(static start =>
        {
            if (AnalyzerSymbols.PersistentObject(start.Compilation) is null) return;
            start.RegisterOperationAction(Analyze, OperationKind.ObjectCreation);
        });
    }

    private static void Analyze(OperationAnalysisContext context)
    {
        if (context.Operation.Type is not INamedTypeSymbol { Arity: > 0 } type) return;
        if (!CollectionRules.IsRegistrableCollection(type.OriginalDefinition) || RuleSymbols.ContainsTypeParameterOrError(type)) return;
        if (CollectionRules.UnstorableArgument(type, context.CancellationToken) is not { } problem || problem.Kind == StorageProblemKind.ErrorType) return;
        context.ReportDiagnostic(Diagnostic.Create(
            DiagnosticDescriptors.UnstorableCollection,
            context.Operation.Syntax.GetLocation(),
            AnalyzerSymbols.Display(type),
            Reasons.For(problem, type, referencesAllowed: true, tupleAdvice: false)));
    }
}
