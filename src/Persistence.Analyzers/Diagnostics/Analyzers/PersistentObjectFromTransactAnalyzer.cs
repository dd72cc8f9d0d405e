using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Operations;
using Persistence.Rules;

namespace Persistence.Analyzers;

/// <summary>
/// PERSIST022: work passed to <c>Database.Transact</c> or <c>TransactAsync</c> whose result is a
/// persistent object or holds one (as a tuple element, an element of an array or collection, a
/// <c>KeyValuePair</c>, a nullable, a record's property; for <c>TransactAsync</c>, the <c>Task</c>'s
/// result). The connection the work ran on closes when the work ends, so the caller gets an object
/// that cannot load or change. A type parameter counts only when a constraint makes it persistent; a
/// delegate holds no object (it may load one through a connection it is given). Left alone: a result
/// nothing takes; work that only assigns (<c>c =&gt; c.Root["x"] = new Job()</c>, which C# binds as work
/// returning the object); a Transact inside the work of another, which joins that work's open connection.
/// </summary>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class PersistentObjectFromTransactAnalyzer : DiagnosticAnalyzer
{
    /// <inheritdoc />
    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } =
        ImmutableArray.Create(DiagnosticDescriptors.PersistentObjectFromTransact);

    /// <inheritdoc />
    public override void Initialize(AnalysisContext context)
    {
        context.ConfigureGeneratedCodeAnalysis(GeneratedCodeAnalysisFlags.None);
        context.EnableConcurrentExecution();
        TransactCalls.Register(context, Check);
    }

    private static void Check(OperationAnalysisContext context, IInvocationOperation invocation, INamedTypeSymbol database)
    {
        if (invocation.TargetMethod.TypeArguments.Length != 1) return;
        var result = invocation.TargetMethod.TypeArguments[0];
        if (FindPersistent(result, new HashSet<ITypeSymbol>(SymbolEqualityComparer.Default)) is not { } found) return;
        if (StoresOnly(invocation) || IsDiscarded(invocation) || InsideOtherWork(invocation, database)) return;
        context.ReportDiagnostic(Diagnostic.Create(
            DiagnosticDescriptors.PersistentObjectFromTransact,
            NameLocation(invocation),
            invocation.TargetMethod.Name,
            AnalyzerSymbols.Display(found),
            SymbolEqualityComparer.Default.Equals(found, result) ? "" : $", in '{AnalyzerSymbols.Display(result)}'"));
    }

    /// <summary>
    /// Whether the work is a lambda that only assigns, <c>c =&gt; c.Root["x"] = new Job()</c>: it binds as work
    /// returning the value assigned, but it is written to store the object, not to hand it out.
    /// </summary>
    private static bool StoresOnly(IInvocationOperation invocation) =>
        invocation.Arguments.FirstOrDefault(static a => a.Parameter?.Ordinal == 0)?.Value.Syntax
            is LambdaExpressionSyntax { ExpressionBody: AssignmentExpressionSyntax };

    /// <summary>Whether nothing takes the call's result: a statement of its own (awaited or not), or assigned to a discard.</summary>
    private static bool IsDiscarded(IOperation operation)
    {
        var current = operation;
        while (current.Parent is { } parent)
        {
            switch (parent)
            {
                case IConversionOperation { IsImplicit: true }:
                case IAwaitOperation:
                case IInvocationOperation { TargetMethod.Name: "ConfigureAwait" } configure when configure.Instance == current:
                    current = parent;
                    continue;
                case IExpressionStatementOperation:
                    return true;
                case ISimpleAssignmentOperation { Target: IDiscardOperation } assignment:
                    return assignment.Value == current;
                default:
                    return false;
            }
        }
        return false;
    }

    /// <summary>Whether the call is in the work of another Transact: it joins that work, whose connection stays open after it.</summary>
    private static bool InsideOtherWork(IOperation operation, INamedTypeSymbol database)
    {
        for (var current = operation.Parent; current is not null; current = current.Parent)
        {
            if (current is IInvocationOperation outer && TransactCalls.IsTransact(outer.TargetMethod, database)) return true;
        }
        return false;
    }

    /// <summary>The persistent type the result is or holds, or null.</summary>
    private static ITypeSymbol? FindPersistent(ITypeSymbol type, HashSet<ITypeSymbol> seen)
    {
        if (!seen.Add(type)) return null;
        switch (type)
        {
            case IArrayTypeSymbol array:
                return FindPersistent(array.ElementType, seen);
            case ITypeParameterSymbol parameter:
                return parameter.ConstraintTypes.Any(constraint => FindPersistent(constraint, seen) is not null) ? parameter : null;
            case INamedTypeSymbol { TypeKind: TypeKind.Error or TypeKind.Delegate }:
                return null;
            case INamedTypeSymbol named:
                if (IsPersistentObject(named)) return named;
                foreach (var argument in named.TypeArguments)
                {
                    if (FindPersistent(argument, seen) is { } found) return found;
                }
                if (!named.IsRecord) return null;
                foreach (var property in named.GetMembers().OfType<IPropertySymbol>())
                {
                    if (property is { IsStatic: false, IsIndexer: false, DeclaredAccessibility: Accessibility.Public } && FindPersistent(property.Type, seen) is { } held) return held;
                }
                return null;
            default:
                return null;
        }
    }

    /// <summary>Whether the class is PersistentObject, derives from it, or is (or derives from) a [Persistent] class whose generated base is not there yet.</summary>
    private static bool IsPersistentObject(INamedTypeSymbol type)
    {
        if (type.TypeKind != TypeKind.Class) return false;
        for (INamedTypeSymbol? current = type; current is not null; current = current.BaseType)
        {
            if (RuleSymbols.IsPersistenceType(current, RuleSymbols.PersistentObject) || AnalyzerSymbols.IsPersistentClass(current)) return true;
        }
        return false;
    }

    /// <summary>Where to report: the method's name in the call (<c>db.Transact</c>), not the work, which may run for many lines.</summary>
    private static Location NameLocation(IInvocationOperation invocation) => invocation.Syntax switch
    {
        InvocationExpressionSyntax { Expression: MemberAccessExpressionSyntax access } => access.Name.Identifier.GetLocation(),
        InvocationExpressionSyntax { Expression: MemberBindingExpressionSyntax binding } => binding.Name.Identifier.GetLocation(),
        InvocationExpressionSyntax { Expression: SimpleNameSyntax name } => name.Identifier.GetLocation(),
        _ => invocation.Syntax.GetLocation(),
    };
}
