using System.Linq;
using Microsoft.CodeAnalysis;
using Persistence.Rules;

namespace Persistence.Analyzers;

/// <summary>Symbol helpers shared by the analyzers.</summary>
internal static class AnalyzerSymbols
{
    /// <summary>How types and members are named in messages: short, as the compiler's own errors name them.</summary>
    public static readonly SymbolDisplayFormat MessageFormat = SymbolDisplayFormat.CSharpShortErrorMessageFormat;

    public static string Display(ISymbol symbol) => symbol.ToDisplayString(MessageFormat);

    /// <summary>A type's name without a top-level nullable annotation ('Customer', not 'Customer?').</summary>
    public static string Display(ITypeSymbol type) => type.WithNullableAnnotation(NullableAnnotation.NotAnnotated).ToDisplayString(MessageFormat);

    /// <summary>
    /// <c>PersistentObject</c>, or null in a compilation that does not reference Persistence.Core:
    /// analyzers register nothing there, so other projects pay one type lookup per compilation.
    /// </summary>
    public static INamedTypeSymbol? PersistentObject(Compilation compilation) =>
        compilation.GetTypeByMetadataName(RuleSymbols.PersistentObjectMetadataName);

    public static bool IsPersistentClass(INamedTypeSymbol type) => RuleSymbols.HasAttribute(type, RuleSymbols.PersistentAttribute);

    public static bool IsPersistentValue(INamedTypeSymbol type) => RuleSymbols.HasAttribute(type, RuleSymbols.PersistentValueAttribute);

    public static bool IsTransient(ISymbol symbol) => RuleSymbols.HasAttribute(symbol, RuleSymbols.TransientAttribute);

    /// <summary>Where to report on a symbol: its name in the first declaration the user wrote (never the generator's part).</summary>
    public static Location? UserLocation(ISymbol symbol) =>
        symbol.Locations.FirstOrDefault(static l => l.IsInSource && !RuleSymbols.IsGenerated(l.SourceTree));

    /// <summary>
    /// Whether a property of a persistent class is stored: implemented by the generator (from source),
    /// or, from a referenced assembly, a settable instance property of a [Persistent] class. Not [Transient].
    /// </summary>
    public static bool IsStoredProperty(IPropertySymbol property)
    {
        var definition = property.PartialDefinitionPart ?? property;
        if (property.IsStatic || property.IsIndexer || definition.ContainingType is not { } type || !IsPersistentClass(type) || IsTransient(definition)) return false;
        return definition.DeclaringSyntaxReferences.IsEmpty
            ? property.SetMethod is not null
            : PropertyRules.IsImplementedByGenerator(definition);
    }
}
