using System;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Operations;

namespace Persistence.Analyzers;

/// <summary>Finds the calls of <c>Database.Transact</c> and <c>TransactAsync</c> that the transaction rules look at.</summary>
internal static class TransactCalls
{
    private const string DatabaseMetadataName = "Persistence.Database";

    /// <summary>
    /// Runs <paramref name="check"/> on every call of <c>Database.Transact</c> or <c>TransactAsync</c>, with
    /// the <c>Database</c> type; nothing in a compilation that does not reference Persistence. (The analyzer's
    /// Initialize still configures generated code and concurrency itself, where the analyzer rules look for it.)
    /// </summary>
    public static void Register(AnalysisContext context, Action<OperationAnalysisContext, IInvocationOperation, INamedTypeSymbol> check)
    {
        context.RegisterCompilationStartAction(start =>
        {
            if (start.Compilation.GetTypeByMetadataName(DatabaseMetadataName) is not { } database) return;
            start.RegisterOperationAction(
                operation =>
                {
                    var invocation = (IInvocationOperation)operation.Operation;
                    if (IsTransact(invocation.TargetMethod, database)) check(operation, invocation, database);
                },
                OperationKind.Invocation);
        });
    }

    /// <summary>Whether <paramref name="method"/> is <c>Database.Transact</c> or <c>TransactAsync</c> (any overload).</summary>
    public static bool IsTransact(IMethodSymbol method, INamedTypeSymbol database) =>
        method.Name is "Transact" or "TransactAsync" && SymbolEqualityComparer.Default.Equals(method.ContainingType, database);
}
