using System.Collections.Generic;
using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;
using Persistence.Rules;

namespace Persistence.Analyzers;

/// <summary>
/// PERSIST005: an instance field or an auto-property (any property with a backing field) of a
/// <c>[Persistent]</c> class that is neither implemented by the generator nor <c>[Transient]</c>: its
/// value is lost when the object is reloaded. The diagnostic says whether the member can simply be
/// made a partial property, for the code fix.
/// </summary>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class StateNotSavedAnalyzer : DiagnosticAnalyzer
{
    /// <summary>Diagnostic property: "true" if the member's type can be stored and it can become a partial property.</summary>
    internal const string CanBePartialProperty = "CanBePartial";

    /// <inheritdoc />
    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } =
        ImmutableArray.Create(DiagnosticDescriptors.StateNotSaved);

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
        // A record is refused whole (PERSIST002: declare a partial class instead), so its members are not reported one by one.
        if (type.TypeKind != TypeKind.Class || type.IsRecord || !AnalyzerSymbols.IsPersistentClass(type)) return;

        foreach (var member in type.GetMembers())
        {
            if (member is not IFieldSymbol { IsStatic: false, IsConst: false } field) continue;
            if (!field.IsImplicitlyDeclared)
            {
                if (RuleSymbols.IsGenerated(field) || AnalyzerSymbols.IsTransient(field)) continue;
                Report(context, field, "field", field.Type, canBePartial: !field.IsVolatile && field.RefKind == RefKind.None);
            }
            else if (field.AssociatedSymbol is IPropertySymbol property)
            {
                // A backing field: an auto-property, or a property using the 'field' keyword.
                var definition = property.PartialDefinitionPart ?? property;
                if (AnalyzerSymbols.IsTransient(definition) || AnalyzerSymbols.IsTransient(property)) continue;
                if (definition.IsPartialDefinition && PropertyRules.IsImplementedByGenerator(definition)) continue;
                var canBePartial = !definition.IsPartialDefinition && definition.ExplicitInterfaceImplementations.IsEmpty && !definition.IsOverride && !definition.IsIndexer;
                Report(context, definition, "property", definition.Type, canBePartial);
            }
        }
    }

    private static void Report(SymbolAnalysisContext context, ISymbol member, string kind, ITypeSymbol type, bool canBePartial)
    {
        if (AnalyzerSymbols.UserLocation(member) is not { } location) return;
        canBePartial = canBePartial && StorageRules.Check(type, allowReference: true, new HashSet<ITypeSymbol>(SymbolEqualityComparer.Default), context.CancellationToken) is null;
        context.ReportDiagnostic(Diagnostic.Create(
            DiagnosticDescriptors.StateNotSaved,
            location,
            ImmutableDictionary<string, string?>.Empty.Add(CanBePartialProperty, canBePartial ? "true" : "false"),
            kind,
            member.Name,
            AnalyzerSymbols.Display(member.ContainingType)));
    }
}
