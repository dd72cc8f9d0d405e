using System.Collections.Immutable;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;
using Persistence.Rules;

namespace Persistence.Analyzers;

/// <summary>
/// PERSIST007: a static field or static auto-property whose type holds persistent objects (a
/// persistent class, or an array, collection or other generic type of them). Such an object belongs
/// to the connection that loaded it; a static outlives the connection and is shared by threads.
/// </summary>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class PersistentObjectInStaticAnalyzer : DiagnosticAnalyzer
{
    /// <inheritdoc />
    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } =
        ImmutableArray.Create(DiagnosticDescriptors.PersistentObjectInStatic);

    /// <inheritdoc />
    public override void Initialize(AnalysisContext context)
    {
        context.ConfigureGeneratedCodeAnalysis(GeneratedCodeAnalysisFlags.None);
        context.EnableConcurrentExecution();
        context.RegisterCompilationStartAction(static start =>
        {
            if (AnalyzerSymbols.PersistentObject(start.Compilation) is null) return;
            start.RegisterSymbolAction(static context =>
            {
                var field = (IFieldSymbol)context.Symbol;
                if (field is { IsStatic: true, IsConst: false, IsImplicitlyDeclared: false }) Check(context, field, "field", field.Type);
            }, SymbolKind.Field);
            start.RegisterSymbolAction(static context =>
            {
                var property = (IPropertySymbol)context.Symbol;
                if (property.IsStatic && HoldsPersistentObjects(property.Type) && HasBackingField(property)) Check(context, property, "property", property.Type);
            }, SymbolKind.Property);
        });
    }

    private static void Check(SymbolAnalysisContext context, ISymbol member, string kind, ITypeSymbol type)
    {
        if (!HoldsPersistentObjects(type) || RuleSymbols.IsGenerated(member) || AnalyzerSymbols.UserLocation(member) is not { } location) return;
        context.ReportDiagnostic(Diagnostic.Create(
            DiagnosticDescriptors.PersistentObjectInStatic,
            location,
            kind,
            $"{AnalyzerSymbols.Display(member.ContainingType)}.{member.Name}",
            AnalyzerSymbols.Display(type)));
    }

    /// <summary>Whether values of the type are, or contain, persistent objects.</summary>
    private static bool HoldsPersistentObjects(ITypeSymbol type) => type switch
    {
        IArrayTypeSymbol array => HoldsPersistentObjects(array.ElementType),
        INamedTypeSymbol named => IsPersistentObject(named) || named.TypeArguments.Any(HoldsPersistentObjects),
        _ => false,
    };

    private static bool IsPersistentObject(INamedTypeSymbol type)
    {
        if (type.TypeKind != TypeKind.Class) return false;
        if (AnalyzerSymbols.IsPersistentClass(type)) return true;
        for (INamedTypeSymbol? current = type; current is not null; current = current.BaseType)
        {
            if (RuleSymbols.IsPersistenceType(current, RuleSymbols.PersistentObject)) return true;
        }
        return false;
    }

    private static bool HasBackingField(IPropertySymbol property) =>
        property.ContainingType.GetMembers().Any(m => m is IFieldSymbol field && SymbolEqualityComparer.Default.Equals(field.AssociatedSymbol, property));
}
