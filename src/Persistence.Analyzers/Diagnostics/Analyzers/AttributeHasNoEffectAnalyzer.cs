using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Diagnostics;
using Persistence.Rules;

namespace Persistence.Analyzers;

/// <summary>
/// PERSIST015: <c>[PersistentAlias]</c> on a type that is not <c>[Persistent]</c>, or with an empty
/// name; <c>[Transient]</c> on a static member, or on a member of a type that is neither
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
        if (attribute.Parent is not AttributeListSyntax { Parent: { } declaration, Target: null }) return;

        if (RuleSymbols.IsPersistenceType(attributeType, RuleSymbols.PersistentAliasAttribute))
        {
            if (context.SemanticModel.GetDeclaredSymbol(declaration, context.CancellationToken) is not INamedTypeSymbol type) return;
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

    private static void Report(SyntaxNodeAnalysisContext context, AttributeSyntax attribute, string name, string detail) =>
        context.ReportDiagnostic(Diagnostic.Create(DiagnosticDescriptors.AttributeHasNoEffect, attribute.GetLocation(), name, detail));
}
