using System.Collections.Generic;
using System.Linq;
using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Diagnostics;
using Persistence.Rules;

namespace Persistence.Analyzers;

/// <summary>
/// PERSIST015: <c>[PersistentAlias]</c> on a type that is not <c>[Persistent]</c>, on a property that is
/// not stored (of a persistent class or a value), with an empty name, or naming a field another stored property reads;
/// <c>[Transient]</c> on a static member, or on a member of a type that is neither
/// <c>[Persistent]</c> nor <c>[PersistentValue]</c>. Looks only at attributes whose name could be one of these.
/// </summary>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class AttributeHasNoEffectAnalyzer : DiagnosticAnalyzer
{
    /// <inheritdoc />
    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } =
        ImmutableArray.Create(DiagnosticDescriptors.AttributeHasNoEffect);

    /// <inheritdoc />
    public override void Initialize(AnalysisContext context)
    {
        context.ConfigureGeneratedCodeAnalysis(GeneratedCodeAnalysisFlags.None);
        context.EnableConcurrentExecution();
        context.RegisterCompilationStartAction(static start =>
        {
            if (AnalyzerSymbols.PersistentObject(start.Compilation) is null) return;
            start.RegisterSyntaxNodeAction(Analyze, SyntaxKind.Attribute);
        });
    }

    private static void Analyze(SyntaxNodeAnalysisContext context)
    {
        var attribute = (AttributeSyntax)context.Node;
        var written = attribute.Name is QualifiedNameSyntax qualified ? qualified.Right.Identifier.ValueText
            : attribute.Name is SimpleNameSyntax simple ? simple.Identifier.ValueText
            : "";
        if (written is not ("PersistentAlias" or "PersistentAliasAttribute" or "Transient" or "TransientAttribute")) return;
        if (context.SemanticModel.GetSymbolInfo(attribute, context.CancellationToken).Symbol is not IMethodSymbol { ContainingType: var attributeType }) return;
        if (attribute.Parent is not AttributeListSyntax { Parent: { } declaration } list) return;
        // [property: …] on a positional record's parameter goes to the property of the parameter's name.
        var onParameterProperty = list.Target?.Identifier.IsKind(SyntaxKind.PropertyKeyword) == true && declaration is ParameterSyntax;
        if (list.Target is not null && !onParameterProperty) return;

        if (RuleSymbols.IsPersistenceType(attributeType, RuleSymbols.PersistentAliasAttribute))
        {
            var declared = context.SemanticModel.GetDeclaredSymbol(declaration, context.CancellationToken);
            if (onParameterProperty)
                declared = declared is IParameterSymbol { ContainingSymbol: IMethodSymbol { ContainingType: { } record } } parameter
                    ? record.GetMembers(parameter.Name).OfType<IPropertySymbol>().FirstOrDefault()
                    : null;
            if (declared is IPropertySymbol property)
            {
                var alias = attribute.ArgumentList?.Arguments is { Count: 1 } given &&
                    context.SemanticModel.GetConstantValue(given[0].Expression, context.CancellationToken) is { HasValue: true, Value: var name }
                    ? name as string ?? ""
                    : null;
                if (PropertyAliasProblem(property, alias) is { } problem) Report(context, attribute, "PersistentAlias", problem);
                return;
            }
            if (declared is not INamedTypeSymbol type) return;
            if (!AnalyzerSymbols.IsPersistentClass(type))
            {
                Report(context, attribute, "PersistentAlias", $"'{AnalyzerSymbols.Display(type)}' is not a [Persistent] class, and only persistent classes are found by stored name");
            }
            else if (attribute.ArgumentList?.Arguments is { Count: 1 } arguments &&
                     context.SemanticModel.GetConstantValue(arguments[0].Expression, context.CancellationToken) is { HasValue: true, Value: var value } &&
                     string.IsNullOrWhiteSpace(value as string))
            {
                Report(context, attribute, "PersistentAlias", "an empty name is no former name; give the class's former full name");
            }
        }
        else if (RuleSymbols.IsPersistenceType(attributeType, RuleSymbols.TransientAttribute))
        {
            var member = declaration is FieldDeclarationSyntax { Declaration.Variables: { Count: > 0 } variables }
                ? context.SemanticModel.GetDeclaredSymbol(variables[0], context.CancellationToken)
                : context.SemanticModel.GetDeclaredSymbol(declaration, context.CancellationToken);
            if (member is null) return;
            if (member.IsStatic)
            {
                Report(context, attribute, "Transient", $"'{member.Name}' is static, and static members are never stored");
            }
            else if (member.ContainingType is { } type && !AnalyzerSymbols.IsPersistentClass(type) && !AnalyzerSymbols.IsPersistentValue(type))
            {
                Report(context, attribute, "Transient", $"'{AnalyzerSymbols.Display(type)}' is neither [Persistent] nor [PersistentValue], so none of its members is stored");
            }
        }
    }

    /// <summary>
    /// Why <c>[PersistentAlias(<paramref name="alias"/>)]</c> does nothing on <paramref name="property"/>, or null:
    /// a property that is not stored; an empty name; a name that a stored property of the class (or of a
    /// base class) has now, whose field that property reads; a name an earlier property of the layout
    /// already gives as its former name. <paramref name="alias"/> is null when it is not a constant yet.
    /// </summary>
    private static string? PropertyAliasProblem(IPropertySymbol property, string? alias)
    {
        if (property.ContainingType is not { } type) return null;
        var isValue = AnalyzerSymbols.IsPersistentValue(type);
        if (!isValue && !AnalyzerSymbols.IsPersistentClass(type))
            return $"'{AnalyzerSymbols.Display(type)}' is neither a [Persistent] class nor a [PersistentValue] type, so its properties are not stored";
        // The stored layout: a value's stored members; a class's, the base classes' properties first, each class's in declaration order.
        var layout = new List<IPropertySymbol>();
        if (isValue) layout.AddRange(ValueRules.StoredMembers(type, ValueRules.Constructors(type)));
        for (var level = type; !isValue && level is not null && AnalyzerSymbols.IsPersistentClass(level); level = level.BaseType)
            layout.InsertRange(0, level.GetMembers().OfType<IPropertySymbol>().Where(static p => p.PartialDefinitionPart is null && AnalyzerSymbols.IsStoredProperty(p)));
        if (!layout.Contains(property.PartialDefinitionPart ?? property, SymbolEqualityComparer.Default))
            return $"'{property.Name}' is not stored (static, [Transient], or {(isValue ? "not a stored member of the value" : "not a partial property the generator implements")})";
        if (alias is null) return null;
        if (string.IsNullOrWhiteSpace(alias)) return "an empty name is no former name; give the name the property had";
        if (alias == property.Name) return $"'{alias}' is the property's own name; give the name it had before it was renamed";
        if (layout.FirstOrDefault(p => p.Name == alias) is { } current)
            return $"'{alias}' is the name of the stored property '{AnalyzerSymbols.Display(current.ContainingType)}.{alias}', which reads the stored field of that name (rename that property first, giving it its own [PersistentAlias])";
        foreach (var earlier in layout.TakeWhile(p => !SymbolEqualityComparer.Default.Equals(p, property.PartialDefinitionPart ?? property)))
        {
            if (AliasesOf(earlier).Contains(alias))
                return $"'{AnalyzerSymbols.Display(earlier.ContainingType)}.{earlier.Name}' already reads the stored field '{alias}' as its former name";
        }
        return null;
    }

    private static IEnumerable<string?> AliasesOf(IPropertySymbol property) =>
        property.GetAttributes()
            .Where(static a => RuleSymbols.IsPersistenceType(a.AttributeClass, RuleSymbols.PersistentAliasAttribute))
            .Select(static a => a.ConstructorArguments.Length == 1 ? a.ConstructorArguments[0].Value as string : null);

    private static void Report(SyntaxNodeAnalysisContext context, AttributeSyntax attribute, string name, string detail) =>
        context.ReportDiagnostic(Diagnostic.Create(DiagnosticDescriptors.AttributeHasNoEffect, attribute.GetLocation(), name, detail));
}
