using System.Collections.Generic;
using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Diagnostics;
using Persistence.Rules;

namespace Persistence.Analyzers;

/// <summary>
/// The partial properties of <c>[Persistent]</c> classes, which the generator implements.
/// PERSIST014: one it cannot implement (<see cref="PropertyRules"/>). PERSIST003: one whose type cannot
/// be stored (<see cref="StorageRules"/>), or a persistent collection whose type arguments cannot be
/// (the generated registration skips it, and storing it fails at run time), except one of a generic
/// class's type parameters, left to PERSIST002. PERSIST018: one with an
/// initializer, which C# refuses on a property that is not an auto-property (CS8050).
/// </summary>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class StoredPropertyAnalyzer : DiagnosticAnalyzer
{
    /// <inheritdoc />
    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } =
        ImmutableArray.Create(DiagnosticDescriptors.UnsupportedPartialProperty, DiagnosticDescriptors.UnstorableType, DiagnosticDescriptors.PropertyInitializer);

    /// <inheritdoc />
    public override void Initialize(AnalysisContext context)
    {
        context.ConfigureGeneratedCodeAnalysis(GeneratedCodeAnalysisFlags.None);
        context.EnableConcurrentExecution();
        context.RegisterCompilationStartAction(static start =>
        {
            if (AnalyzerSymbols.PersistentObject(start.Compilation) is not { } persistentObject) return;
            start.RegisterSymbolAction(context => Analyze(context, persistentObject), SymbolKind.Property);
        });
    }

    private static void Analyze(SymbolAnalysisContext context, INamedTypeSymbol persistentObject)
    {
        var property = (IPropertySymbol)context.Symbol;
        property = property.PartialDefinitionPart ?? property;
        if (!property.IsPartialDefinition || !PropertyRules.IsImplementedByGenerator(property)) return;
        if (property.ContainingType is not { } type || !AnalyzerSymbols.IsPersistentClass(type)) return;
        if (AnalyzerSymbols.UserLocation(property) is not { } location) return;
        ReportInitializer(context, property, type);

        var problem = PropertyRules.Problem(property, type, persistentObject, context.CancellationToken);
        if (problem == PropertyProblem.ErrorType) return; // the compiler explains
        if (problem != PropertyProblem.None)
        {
            context.ReportDiagnostic(Diagnostic.Create(
                DiagnosticDescriptors.UnsupportedPartialProperty,
                location,
                $"{AnalyzerSymbols.Display(type)}.{property.Name}",
                Reasons.For(problem, property, type)));
            return;
        }
        if (AnalyzerSymbols.IsTransient(property)) return;
        // A type parameter comes from a generic class (or one it is nested in), which PERSIST002 reports
        // with what to declare instead: its properties of those parameters are not reported again.
        if (RuleSymbols.ContainsTypeParameter(property.Type)) return;

        var storage = StorageRules.Check(property.Type, allowReference: true, new HashSet<ITypeSymbol>(SymbolEqualityComparer.Default), context.CancellationToken);
        if (storage is null && property.Type is INamedTypeSymbol { Arity: > 0 } named && CollectionRules.IsRegistrableCollection(named.OriginalDefinition))
        {
            storage = CollectionRules.UnstorableArgument(named, context.CancellationToken);
        }
        if (storage is null || storage.Kind == StorageProblemKind.ErrorType) return;

        context.ReportDiagnostic(Diagnostic.Create(
            DiagnosticDescriptors.UnstorableType,
            TypeLocation(property, context) ?? location,
            $"{AnalyzerSymbols.Display(type)}.{property.Name}",
            Reasons.For(storage, property.Type, referencesAllowed: true)));
    }

    // PERSIST018, beside the compiler's CS8050, which does not say what to do instead.
    private static void ReportInitializer(SymbolAnalysisContext context, IPropertySymbol property, INamedTypeSymbol type)
    {
        foreach (var reference in property.DeclaringSyntaxReferences)
        {
            if (reference.GetSyntax(context.CancellationToken) is PropertyDeclarationSyntax { Initializer: { } initializer })
            {
                context.ReportDiagnostic(Diagnostic.Create(
                    DiagnosticDescriptors.PropertyInitializer,
                    initializer.GetLocation(),
                    $"{AnalyzerSymbols.Display(type)}.{property.Name}",
                    property.Name,
                    initializer.Value.ToString()));
            }
        }
    }

    /// <summary>The property's type as written, where the fix goes.</summary>
    internal static Location? TypeLocation(IPropertySymbol property, SymbolAnalysisContext context)
    {
        foreach (var reference in property.DeclaringSyntaxReferences)
        {
            switch (reference.GetSyntax(context.CancellationToken))
            {
                case BasePropertyDeclarationSyntax declaration:
                    return declaration.Type.GetLocation();
                case ParameterSyntax { Type: { } type }: // a positional record's property
                    return type.GetLocation();
            }
        }
        return null;
    }
}
