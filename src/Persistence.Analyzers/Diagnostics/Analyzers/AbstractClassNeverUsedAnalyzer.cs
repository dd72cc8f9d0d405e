using System.Collections.Concurrent;
using System.Collections.Immutable;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;

namespace Persistence.Analyzers;

/// <summary>
/// PERSIST011: an abstract <c>[Persistent]</c> class that no concrete <c>[Persistent]</c> class of the
/// project derives from, and that no other project can derive from either (it is not visible outside
/// the assembly, or the project is an executable), so no object of it can ever be stored.
/// </summary>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class AbstractClassNeverUsedAnalyzer : DiagnosticAnalyzer
{
    /// <inheritdoc />
    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } =
        ImmutableArray.Create(DiagnosticDescriptors.AbstractClassNeverUsed);

    /// <inheritdoc />
    public override void Initialize(AnalysisContext context)
    {
        context.ConfigureGeneratedCodeAnalysis(GeneratedCodeAnalysisFlags.None);
        context.EnableConcurrentExecution();
        context.RegisterCompilationStartAction(static start =>
        {
            if (AnalyzerSymbols.PersistentObject(start.Compilation) is null) return;
            var abstractClasses = new ConcurrentBag<INamedTypeSymbol>();
            var usedBases = new ConcurrentDictionary<INamedTypeSymbol, bool>(SymbolEqualityComparer.Default);
            start.RegisterSymbolAction(context =>
            {
                var type = (INamedTypeSymbol)context.Symbol;
                if (type.TypeKind != TypeKind.Class || !AnalyzerSymbols.IsPersistentClass(type)) return;
                if (type.IsAbstract)
                {
                    abstractClasses.Add(type);
                    return;
                }
                for (var baseType = type.BaseType; baseType is not null; baseType = baseType.BaseType) usedBases.TryAdd(baseType.OriginalDefinition, true);
            }, SymbolKind.NamedType);

            start.RegisterCompilationEndAction(context =>
            {
                var executable = context.Compilation.Options.OutputKind is not (OutputKind.DynamicallyLinkedLibrary or OutputKind.NetModule);
                var sharesInternals = context.Compilation.Assembly.GetAttributes().Any(static a => a.AttributeClass?.Name == "InternalsVisibleToAttribute");
                foreach (var type in abstractClasses)
                {
                    if (usedBases.ContainsKey(type)) continue;
                    if (!executable && IsVisibleOutside(type, sharesInternals)) continue;
                    if (AnalyzerSymbols.UserLocation(type) is { } location)
                    {
                        context.ReportDiagnostic(Diagnostic.Create(DiagnosticDescriptors.AbstractClassNeverUsed, location, AnalyzerSymbols.Display(type)));
                    }
                }
            });
        });
    }

    /// <summary>Whether another assembly may derive from the class: it and every type around it are public (or protected), or internal in an assembly that shares its internals.</summary>
    private static bool IsVisibleOutside(INamedTypeSymbol type, bool sharesInternals)
    {
        for (INamedTypeSymbol? current = type; current is not null; current = current.ContainingType)
        {
            var visible = current.DeclaredAccessibility switch
            {
                Accessibility.Public or Accessibility.Protected or Accessibility.ProtectedOrInternal => true,
                Accessibility.Internal => sharesInternals,
                _ => false,
            };
            if (!visible) return false;
        }
        return true;
    }
}
