using System.Collections.Generic;
using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;
using Persistence.Rules;

namespace Persistence.Analyzers;

/// <summary>
/// <c>[PersistentValue]</c> types, which the generator gives a codec (<see cref="ValueRules"/>).
/// PERSIST012: a type it cannot complete. PERSIST008: a stored member that is a persistent
/// reference. PERSIST003: a stored member whose type cannot be stored otherwise.
/// </summary>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class PersistentValueAnalyzer : DiagnosticAnalyzer
{
    /// <summary>Diagnostic property saying which problem PERSIST012 reports (the code fix adds 'partial' for NotPartial).</summary>
    internal const string ProblemProperty = "Problem";

    /// <inheritdoc />
    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } = ImmutableArray.Create(
        DiagnosticDescriptors.UnsupportedValueType, DiagnosticDescriptors.ReferenceInValue, DiagnosticDescriptors.UnstorableType);

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
        if (!AnalyzerSymbols.IsPersistentValue(type) || AnalyzerSymbols.UserLocation(type) is not { } location) return;

        var visiting = new HashSet<ITypeSymbol>(SymbolEqualityComparer.Default);
        var containsItself = ContainsItself(type, type, new HashSet<ITypeSymbol>(SymbolEqualityComparer.Default));
        foreach (var problem in ValueRules.Problems(type, visiting, context.CancellationToken))
        {
            switch (problem)
            {
                case ValueProblem.AlsoPersistent:      // PERSIST013, from the class analyzer
                case ValueProblem.DuplicateAttribute:  // the compiler's CS0579
                case ValueProblem.NoCodec:
                    break;
                case ValueProblem.MemberNotStorable:
                    if (containsItself) Report(context, location, type, ValueProblem.ContainsItself);
                    ReportMembers(context, type, containsItself);
                    break;
                default:
                    Report(context, location, type, problem);
                    break;
            }
        }
    }

    private static void Report(SymbolAnalysisContext context, Location location, INamedTypeSymbol type, ValueProblem problem) =>
        context.ReportDiagnostic(Diagnostic.Create(
            DiagnosticDescriptors.UnsupportedValueType,
            location,
            ImmutableDictionary<string, string?>.Empty.Add(ProblemProperty, problem.ToString()),
            AnalyzerSymbols.Display(type),
            Reasons.For(problem, type)));

    private static void ReportMembers(SymbolAnalysisContext context, INamedTypeSymbol type, bool containsItself)
    {
        var members = ValueRules.StoredMembers(type, ValueRules.Constructors(type));
        var visiting = new HashSet<ITypeSymbol>(SymbolEqualityComparer.Default);
        foreach (var (member, problem) in ValueRules.MemberProblems(type, members, visiting, context.CancellationToken))
        {
            if (problem.Kind == StorageProblemKind.ErrorType || (containsItself && problem.Kind == StorageProblemKind.InvalidValue)) continue;
            // A member of the value's type parameters: PERSIST012 says the value cannot be generic.
            if (RuleSymbols.ContainsTypeParameter(member.Type)) continue;
            if (AnalyzerSymbols.UserLocation(member) is not { } location) continue;
            var name = $"{AnalyzerSymbols.Display(type)}.{member.Name}";
            context.ReportDiagnostic(problem.Kind == StorageProblemKind.ReferenceNotAllowed && SymbolEqualityComparer.Default.Equals(problem.Type, member.Type)
                ? Diagnostic.Create(DiagnosticDescriptors.ReferenceInValue, location, name, AnalyzerSymbols.Display(problem.Type), AnalyzerSymbols.Display(type))
                : Diagnostic.Create(DiagnosticDescriptors.UnstorableType, StoredPropertyAnalyzer.TypeLocation(member, context) ?? location, name, Reasons.For(problem, member.Type, referencesAllowed: false)));
        }
    }

    /// <summary>Whether <paramref name="target"/> is reached again through the stored members of the values inside <paramref name="type"/>.</summary>
    private static bool ContainsItself(ITypeSymbol type, INamedTypeSymbol target, HashSet<ITypeSymbol> seen)
    {
        switch (type)
        {
            case IArrayTypeSymbol array:
                return ContainsItself(array.ElementType, target, seen);
            case INamedTypeSymbol named when !AnalyzerSymbols.IsPersistentValue(named):
                foreach (var argument in named.TypeArguments)
                {
                    if (ContainsItself(argument, target, seen)) return true;
                }
                return false;
            case INamedTypeSymbol value:
                if (!seen.Add(value)) return false;
                foreach (var member in ValueRules.StoredMembers(value, ValueRules.Constructors(value)))
                {
                    if (SymbolEqualityComparer.Default.Equals(member.Type.WithNullableAnnotation(NullableAnnotation.NotAnnotated), target) ||
                        ContainsItself(member.Type, target, seen)) return true;
                }
                return false;
            default:
                return false;
        }
    }
}
