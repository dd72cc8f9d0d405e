using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;
using Persistence.Rules;

namespace Persistence.Analyzers;

/// <summary>
/// PERSIST009: a stored name that maps to more than one class. A <c>[Persistent]</c> class is stored
/// under its full name (nested types joined with '+', which is also its metadata name) and found by
/// the former names of its <c>[PersistentAlias]</c> attributes. Reported for an alias that is its own
/// class's name, another class's name (here or in a referenced assembly), or another class's alias,
/// and for a class whose name a persistent class of a referenced assembly already has.
/// </summary>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class StoredNameCollisionAnalyzer : DiagnosticAnalyzer
{
    /// <inheritdoc />
    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } =
        ImmutableArray.Create(DiagnosticDescriptors.StoredNameCollision);

    /// <inheritdoc />
    public override void Initialize(AnalysisContext context)
    {
        context.ConfigureGeneratedCodeAnalysis(GeneratedCodeAnalysisFlags.None);
        context.EnableConcurrentExecution();
        context.RegisterCompilationStartAction(static start =>
        {
            if (AnalyzerSymbols.PersistentObject(start.Compilation) is null) return;
            var classes = new ConcurrentBag<INamedTypeSymbol>();
            start.RegisterSymbolAction(context =>
            {
                var type = (INamedTypeSymbol)context.Symbol;
                if (type.TypeKind == TypeKind.Class && AnalyzerSymbols.IsPersistentClass(type)) classes.Add(type);
            }, SymbolKind.NamedType);
            start.RegisterCompilationEndAction(context => Report(context, classes.OrderBy(StoredName, System.StringComparer.Ordinal).ToList()));
        });
    }

    private static void Report(CompilationAnalysisContext context, List<INamedTypeSymbol> classes)
    {
        var byName = classes.GroupBy(StoredName).ToDictionary(static g => g.Key, static g => g.First());
        var aliasOwners = new Dictionary<string, INamedTypeSymbol>();
        foreach (var type in classes)
        {
            var name = StoredName(type);
            var elsewhere = context.Compilation.GetTypesByMetadataName(name).FirstOrDefault(t => !SymbolEqualityComparer.Default.Equals(t, type) && AnalyzerSymbols.IsPersistentClass(t));
            if (elsewhere is not null && AnalyzerSymbols.UserLocation(type) is { } location)
            {
                Report(context, location, name, $"'{Display(type)}' and the persistent class of the same name in assembly '{elsewhere.ContainingAssembly.Name}'; rename one of them");
            }

            foreach (var (alias, attribute) in Aliases(type))
            {
                var at = attribute.ApplicationSyntaxReference?.GetSyntax(context.CancellationToken).GetLocation() ?? AnalyzerSymbols.UserLocation(type);
                if (at is null) continue;
                var other = byName.TryGetValue(alias, out var here) ? here
                    : context.Compilation.GetTypesByMetadataName(alias).FirstOrDefault(AnalyzerSymbols.IsPersistentClass);
                if (SymbolEqualityComparer.Default.Equals(other, type)) Report(context, at, alias, $"'{Display(type)}' gives its own stored name as an alias; remove the alias");
                else if (other is not null) Report(context, at, alias, $"'{Display(type)}' gives it as an alias, and it is the stored name of '{Display(other)}'; remove the alias or rename that class");
                else if (aliasOwners.TryGetValue(alias, out var owner) && !SymbolEqualityComparer.Default.Equals(owner, type)) Report(context, at, alias, $"both '{Display(owner)}' and '{Display(type)}' give it as an alias; keep it on one class");
                else aliasOwners[alias] = type;
            }
        }
    }

    private static IEnumerable<(string Alias, AttributeData Attribute)> Aliases(INamedTypeSymbol type) =>
        type.GetAttributes()
            .Where(static a => RuleSymbols.IsPersistenceType(a.AttributeClass, RuleSymbols.PersistentAliasAttribute) && a.ConstructorArguments.Length == 1)
            .Select(static a => (Alias: a.ConstructorArguments[0].Value as string, Attribute: a))
            .Where(static a => !string.IsNullOrEmpty(a.Alias))
            .Select(static a => (a.Alias!, a.Attribute));

    /// <summary>The stored name, as the generator writes it: namespace, '.', containing types and the class joined with '+'.</summary>
    internal static string StoredName(INamedTypeSymbol type)
    {
        var name = type.Name;
        for (var outer = type.ContainingType; outer is not null; outer = outer.ContainingType) name = outer.Name + "+" + name;
        return type.ContainingNamespace is { IsGlobalNamespace: false } ns ? ns.ToDisplayString() + "." + name : name;
    }

    private static string Display(INamedTypeSymbol type) => AnalyzerSymbols.Display(type);

    private static void Report(CompilationAnalysisContext context, Location location, string name, string detail) =>
        context.ReportDiagnostic(Diagnostic.Create(DiagnosticDescriptors.StoredNameCollision, location, name, detail));
}
