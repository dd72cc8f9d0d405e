using System.Collections.Immutable;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Operations;

namespace Persistence.Analyzers;

/// <summary>
/// PERSIST017: work passed to <c>Database.Transact</c> or <c>TransactAsync</c> that returns an
/// awaitable the method does not await (a <c>ValueTask</c>, an <c>async ValueTask</c> lambda, a
/// custom awaitable). It binds as work returning a plain value, so the transaction commits when the
/// work returns at its first await, and the rest of the work runs later on a connection that moved on.
/// An async lambda without a declared return type returns a <c>Task</c>: <c>Transact</c> refuses it
/// through overloads the compiler rejects, and <c>TransactAsync</c> awaits it, so only the other
/// awaitables need this rule.
/// </summary>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class UnawaitedTransactionWorkAnalyzer : DiagnosticAnalyzer
{
    /// <inheritdoc />
    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } =
        ImmutableArray.Create(DiagnosticDescriptors.UnawaitedTransactionWork);

    /// <inheritdoc />
    public override void Initialize(AnalysisContext context)
    {
        context.ConfigureGeneratedCodeAnalysis(GeneratedCodeAnalysisFlags.None);
        context.EnableConcurrentExecution();
        TransactCalls.Register(context, Check);
    }

    private static void Check(OperationAnalysisContext context, IInvocationOperation invocation, INamedTypeSymbol database)
    {
        var method = invocation.TargetMethod;
        if (!ReturnsTypeArgument(method.OriginalDefinition) || !IsAwaitable(method.TypeArguments[0])) return;
        var work = invocation.Arguments.FirstOrDefault(static a => a.Parameter?.Ordinal == 0);
        var fix = method.Name == "Transact"
            ? "pass async work to TransactAsync, as a lambda that returns a Task (async c => ..., without a declared return type)"
            : "let the work return a Task (async c => ..., without a declared return type, or call AsTask() on what it returns)";
        context.ReportDiagnostic(Diagnostic.Create(
            DiagnosticDescriptors.UnawaitedTransactionWork,
            (work?.Value.Syntax ?? invocation.Syntax).GetLocation(),
            method.Name,
            AnalyzerSymbols.Display(method.TypeArguments[0]),
            fix));
    }

    /// <summary>Whether the overload takes work of type Func&lt;Connection, T&gt; with T its own type parameter (work returning a plain value).</summary>
    private static bool ReturnsTypeArgument(IMethodSymbol definition) =>
        definition.TypeParameters.Length == 1
        && definition.Parameters.Length > 0
        && definition.Parameters[0].Type is INamedTypeSymbol { TypeArguments.Length: 2 } work
        && SymbolEqualityComparer.Default.Equals(work.TypeArguments[1], definition.TypeParameters[0]);

    /// <summary>Whether <c>await</c> takes values of the type: it, or a class it derives from, has an instance GetAwaiter() without parameters.</summary>
    private static bool IsAwaitable(ITypeSymbol type)
    {
        for (var current = type; current is not null; current = current.BaseType)
        {
            if (current.GetMembers("GetAwaiter").Any(static m => m is IMethodSymbol { IsStatic: false, Parameters.Length: 0, ReturnsVoid: false })) return true;
        }
        return false;
    }
}
