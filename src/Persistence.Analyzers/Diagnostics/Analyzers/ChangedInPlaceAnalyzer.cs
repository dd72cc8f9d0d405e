using System.Collections.Immutable;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Operations;

namespace Persistence.Analyzers;

/// <summary>
/// PERSIST006 (the classic ZODB trap): the contents of a List, Dictionary, HashSet, array or
/// <c>[PersistentValue]</c> class held in a stored property, or inside the values it holds, or in an element of a
/// persistent collection, are changed in place (<c>order.Lines.Add(x)</c>, <c>order.Lines[i] = y</c>,
/// <c>order.Price.Amount = 3</c>, <c>order.Address.Lines.Add(x)</c>, <c>history[0].Lines.Add(x)</c>), which
/// the generated setter (or the collection) never sees. Not reported where the same code marks the object changed
/// (<c>MarkChanged()</c> or assigning the property) or where the object is new (created in the same
/// code and not committed since, or in its own constructor): a new object is stored whole.
/// </summary>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class ChangedInPlaceAnalyzer : DiagnosticAnalyzer
{
    /// <summary>Diagnostic property: the persistent collection to switch to ("PersistentList", "PersistentDictionary" or "PersistentSet"), when the project has it.</summary>
    internal const string CollectionProperty = "Collection";

    /// <inheritdoc />
    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } =
        ImmutableArray.Create(DiagnosticDescriptors.ChangedInPlace);

    /// <inheritdoc />
    public override void Initialize(AnalysisContext context)
    {
        context.ConfigureGeneratedCodeAnalysis(GeneratedCodeAnalysisFlags.None);
        context.EnableConcurrentExecution();
        context.RegisterCompilationStartAction(static start =>
        {
            if (AnalyzerSymbols.PersistentObject(start.Compilation) is null) return;
            start.RegisterOperationAction(static context => Check(context, InPlaceChanges.ChangedBy((IInvocationOperation)context.Operation)), OperationKind.Invocation);
            start.RegisterOperationAction(
                static context => Check(context, InPlaceChanges.ChangedBy(((IAssignmentOperation)context.Operation).Target)),
                OperationKind.SimpleAssignment, OperationKind.CompoundAssignment, OperationKind.CoalesceAssignment);
            start.RegisterOperationAction(
                static context => Check(context, InPlaceChanges.ChangedBy(((IIncrementOrDecrementOperation)context.Operation).Target)),
                OperationKind.Increment, OperationKind.Decrement);
        });
    }

    private static void Check(OperationAnalysisContext context, ChangedPath? changed)
    {
        if (changed is null || MarkedChanged.Covers(context, changed)) return;

        if (changed.InPersistentCollection)
        {
            var element = changed.Root.Type!;
            Report(context, changed, $"{Collection(changed.Instance!)}[]",
                $"assign the element a new {Kind(element)} with the change{CopyHint(element)}, or call MarkChanged() on the collection after the change");
            return;
        }

        var property = changed.Property.PartialDefinitionPart ?? changed.Property;
        var type = property.Type;
        var root = $"{AnalyzerSymbols.Display(property.ContainingType)}.{property.Name}";
        var collection = !changed.ThroughValue && type is INamedTypeSymbol named && !property.DeclaringSyntaxReferences.IsEmpty
            ? Replacement(named, context.Compilation)
            : null;
        var advice = type switch
        {
            // A value is stored whole with the object: a new one goes through the setter (a persistent collection of
            // values would not help, its elements are values changed in place just the same).
            _ when changed.ThroughValue => $"assign a new {Kind(type)} with the change to '{root}'{CopyHint(type)}, or call MarkChanged() on the object after the change",
            IArrayTypeSymbol => "assign a new array to the property, or call MarkChanged() on the object after the change",
            _ when IsValue(type) =>
                "assign a new value to the property (make the value immutable, e.g. a record with init accessors), or call MarkChanged() on the object after the change",
            _ when collection is not null => $"use {collection}<{string.Join(", ", ((INamedTypeSymbol)type).TypeArguments.Select(AnalyzerSymbols.Display))}> instead, assign a new collection to the property, or call MarkChanged() on the object after the change",
            _ => "assign a new collection to the property, or call MarkChanged() on the object after the change",
        };
        Report(context, changed, root, advice, collection);
    }

    private static void Report(OperationAnalysisContext context, ChangedPath changed, string root, string advice, string? collection = null)
    {
        var properties = ImmutableDictionary<string, string?>.Empty;
        if (collection is not null) properties = properties.Add(CollectionProperty, collection);
        context.ReportDiagnostic(Diagnostic.Create(
            DiagnosticDescriptors.ChangedInPlace,
            context.Operation.Syntax.GetLocation(),
            properties,
            root + changed.Below,
            advice));
    }

    /// <summary>A persistent collection as messages name it: the stored property that holds it ('Customer.History'), else its type.</summary>
    private static string Collection(IOperation collection) =>
        InPlaceChanges.Strip(collection) is IPropertyReferenceOperation { Property: var property } && AnalyzerSymbols.IsStoredProperty(property)
            ? $"{AnalyzerSymbols.Display((property.PartialDefinitionPart ?? property).ContainingType)}.{property.Name}"
            : AnalyzerSymbols.Display(collection.Type!);

    private static string Kind(ITypeSymbol type) => type is IArrayTypeSymbol ? "array" : IsValue(Underlying(type)) ? "value" : "collection";

    private static string CopyHint(ITypeSymbol type) => Underlying(type).IsRecord ? " (a copy made with 'with { … }')" : "";

    /// <summary>T for a nullable value struct T?, else the type itself.</summary>
    private static ITypeSymbol Underlying(ITypeSymbol type) =>
        type is INamedTypeSymbol { OriginalDefinition.SpecialType: SpecialType.System_Nullable_T } nullable ? nullable.TypeArguments[0] : type;

    private static bool IsValue(ITypeSymbol type) => type is INamedTypeSymbol named && AnalyzerSymbols.IsPersistentValue(named);

    /// <summary>The persistent collection that tracks its own changes, if the project has it: PersistentList for List, PersistentDictionary for Dictionary, PersistentSet for HashSet.</summary>
    private static string? Replacement(INamedTypeSymbol type, Compilation compilation)
    {
        var name = type.Name switch { "List" => "PersistentList", "Dictionary" => "PersistentDictionary", "HashSet" => "PersistentSet", _ => null };
        return name is not null && compilation.GetTypeByMetadataName($"Persistence.{name}`{type.Arity}") is not null ? name : null;
    }
}
