using System.Linq;
using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Diagnostics;
using Persistence.Rules;

namespace Persistence.Analyzers;

/// <summary>
/// PERSIST019: <c>[PersistentDefault]</c> whose value the property's type does not hold
/// (<see cref="DefaultRules.TryConvert"/>), or on a property that is not stored: of a type that is neither
/// <c>[Persistent]</c> nor <c>[PersistentValue]</c>, static, <c>[Transient]</c>, one the generator does not
/// implement, or not a stored member of a value. On a stored property the generator then completes no class
/// (or value codec), as for any property problem.
/// </summary>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class PersistentDefaultAnalyzer : DiagnosticAnalyzer
{
    /// <inheritdoc />
    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } =
        ImmutableArray.Create(DiagnosticDescriptors.PersistentDefaultNotApplicable);

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
        // A partial property is looked at once, through its definition.
        if (property.PartialDefinitionPart is not null) return;
        if (DefaultRules.Attribute(property) is not { } attribute || property.ContainingType is not { } type) return;
        if (attribute.ApplicationSyntaxReference?.GetSyntax(context.CancellationToken).GetLocation() is not { } location) return;
        if (Reason(property, type, attribute, persistentObject, context) is { } reason)
        {
            context.ReportDiagnostic(Diagnostic.Create(
                DiagnosticDescriptors.PersistentDefaultNotApplicable,
                location,
                $"{AnalyzerSymbols.Display(type)}.{property.Name}",
                reason));
        }
    }

    private static string? Reason(IPropertySymbol property, INamedTypeSymbol type, AttributeData attribute, INamedTypeSymbol persistentObject, SymbolAnalysisContext context)
    {
        if (AnalyzerSymbols.IsPersistentValue(type))
        {
            if (property.IsStatic) return "it is static, and static properties are never stored";
            if (AnalyzerSymbols.IsTransient(property)) return "it is [Transient], so it is not stored";
            if (!ValueRules.StoredMembers(type, ValueRules.Constructors(type)).Contains(property, SymbolEqualityComparer.Default))
                return $"it is not a stored member of '{AnalyzerSymbols.Display(type)}' (a public property with a getter that a setter, an init accessor or a constructor parameter of its name sets)";
        }
        else if (!AnalyzerSymbols.IsPersistentClass(type))
        {
            return $"'{AnalyzerSymbols.Display(type)}' is neither a [Persistent] class nor a [PersistentValue] type, so its properties are not stored";
        }
        else
        {
            if (property.IsStatic) return "it is static, and static properties are never stored";
            if (AnalyzerSymbols.IsTransient(property)) return "it is [Transient], so it is not stored";
            if (!property.IsPartialDefinition || !PropertyRules.IsImplementedByGenerator(property))
                return "it is not a partial property the generator implements, so it is not stored";
            // PERSIST014 or the compiler explains these.
            if (PropertyRules.Problem(property, type, persistentObject, context.CancellationToken) != PropertyProblem.None) return null;
        }
        if (attribute.ConstructorArguments.Length != 1 || attribute.ConstructorArguments[0] is not { Kind: not TypedConstantKind.Error } constant) return null;
        if (DefaultRules.TryConvert(attribute, property.Type, out _)) return null;
        var shown = AnalyzerSymbols.Display(property.Type);
        return constant.IsNull
            ? $"null is not a value of its type '{shown}', {(property.Type.IsReferenceType ? "which nullable annotations say is never null" : "which is not nullable")}"
            : $"{constant.ToCSharpString()} is not a value of its type '{shown}' (give a constant that type holds exactly: a string, bool, char, number or value of the enum)";
    }
}
