using System.Collections.Generic;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Operations;
using Persistence.Rules;

namespace Persistence.Analyzers;

/// <summary>
/// Whether an in-place change needs no warning because the code around it already takes care:
/// the same body calls <c>MarkChanged()</c> on the object or assigns the property on it (for an element
/// of a persistent collection: on the collection, and the element), or the object is new (made in this
/// body and not committed since, or this is its constructor), so it is stored whole.
/// </summary>
internal static class MarkedChanged
{
    public static bool Covers(OperationAnalysisContext context, ChangedPath changed)
    {
        var holder = changed.Root;
        var owner = InPlaceChanges.Strip(changed.Instance);
        if (owner is null) return false;
        if (owner is IInstanceReferenceOperation && context.ContainingSymbol is IMethodSymbol { MethodKind: MethodKind.Constructor }) return true;

        var body = context.Operation;
        while (body.Parent is not null) body = body.Parent;
        foreach (var operation in body.Descendants())
        {
            switch (operation)
            {
                case IInvocationOperation { TargetMethod: { Name: "MarkChanged", Parameters.IsEmpty: true } } call when call.Instance is not null && SameObject(call.Instance, owner):
                    return true;
                // A persistent collection writes nothing when given back the element it holds (list[0] = list[0]).
                case ISimpleAssignmentOperation { Target: IPropertyReferenceOperation or IImplicitIndexerReferenceOperation } assignment
                    when SameObject(assignment.Target, holder) && !(changed.InPersistentCollection && SameObject(assignment.Value, assignment.Target)):
                    return true;
                case IVariableDeclaratorOperation { Initializer.Value: { } value } declarator
                    when owner is ILocalReferenceOperation local && SymbolEqualityComparer.Default.Equals(declarator.Symbol, local.Local) &&
                         InPlaceChanges.Strip(value) is IObjectCreationOperation && !CommitsBetween(body, declarator, context.Operation):
                    return true;
            }
        }
        return false;
    }

    /// <summary>
    /// Whether a connection's <c>Commit()</c> stands between the object's creation and the change: the commit
    /// stored the new object, which is from then on an object like any other (a change in place after it is lost).
    /// </summary>
    private static bool CommitsBetween(IOperation body, IOperation created, IOperation change) =>
        body.Descendants().Any(operation =>
            operation is IInvocationOperation { TargetMethod: { Name: "Commit", Parameters.IsEmpty: true, ContainingType: { Name: "Connection" } connection } } &&
            connection.ContainingNamespace is { Name: RuleSymbols.Namespace, ContainingNamespace.IsGlobalNamespace: true } &&
            operation.Syntax.SpanStart > created.Syntax.SpanStart && operation.Syntax.SpanStart < change.Syntax.SpanStart);

    private static IPropertySymbol Definition(IPropertySymbol property) => property.PartialDefinitionPart ?? property;

    /// <summary>
    /// Whether two expressions name the same object: this, the same local or parameter, the same field or
    /// property of the same object, or the same element (the same indices, constants or variables) of the same array or indexer.
    /// </summary>
    private static bool SameObject(IOperation? left, IOperation? right)
    {
        left = InPlaceChanges.Strip(left);
        right = InPlaceChanges.Strip(right);
        return (left, right) switch
        {
            (null, null) => true,
            (IInstanceReferenceOperation, IInstanceReferenceOperation) => true,
            (ILocalReferenceOperation a, ILocalReferenceOperation b) => SymbolEqualityComparer.Default.Equals(a.Local, b.Local),
            (IParameterReferenceOperation a, IParameterReferenceOperation b) => SymbolEqualityComparer.Default.Equals(a.Parameter, b.Parameter),
            (IFieldReferenceOperation a, IFieldReferenceOperation b) => SymbolEqualityComparer.Default.Equals(a.Field, b.Field) && SameObject(a.Instance, b.Instance),
            (IPropertyReferenceOperation a, IPropertyReferenceOperation b) =>
                SymbolEqualityComparer.Default.Equals(Definition(a.Property), Definition(b.Property)) && SameObject(a.Instance, b.Instance) &&
                SameIndices(a.Arguments.Select(argument => argument.Value), b.Arguments.Select(argument => argument.Value)),
            (IImplicitIndexerReferenceOperation a, IImplicitIndexerReferenceOperation b) =>
                SymbolEqualityComparer.Default.Equals(a.IndexerSymbol, b.IndexerSymbol) && SameObject(a.Instance, b.Instance) && SameIndices([a.Argument], [b.Argument]),
            (IArrayElementReferenceOperation a, IArrayElementReferenceOperation b) =>
                SameObject(a.ArrayReference, b.ArrayReference) && SameIndices(a.Indices, b.Indices),
            _ => false,
        };
    }

    /// <summary>Whether two lists of indices are the same constants, or the same locals or parameters (not changed in between: the check is by name only).</summary>
    private static bool SameIndices(IEnumerable<IOperation> left, IEnumerable<IOperation> right)
    {
        var (a, b) = (left.ToList(), right.ToList());
        if (a.Count != b.Count) return false;
        for (var i = 0; i < a.Count; i++)
        {
            var (x, y) = (InPlaceChanges.Strip(a[i]), InPlaceChanges.Strip(b[i]));
            var same = x switch
            {
                // An index from the end (^1): the same index from the end.
                IUnaryOperation { OperatorKind: UnaryOperatorKind.Hat } fromEnd =>
                    y is IUnaryOperation { OperatorKind: UnaryOperatorKind.Hat } other && SameIndices([fromEnd.Operand], [other.Operand]),
                { ConstantValue.HasValue: true } => y?.ConstantValue is { HasValue: true } other && Equals(x.ConstantValue.Value, other.Value),
                _ => x is ILocalReferenceOperation or IParameterReferenceOperation && SameObject(x, y),
            };
            if (!same) return false;
        }
        return true;
    }
}
