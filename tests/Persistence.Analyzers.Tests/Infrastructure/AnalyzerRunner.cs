using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Diagnostics;

namespace Persistence.Analyzers.Tests.Infrastructure;

/// <summary>Runs every Persistence analyzer with <see cref="CompilationWithAnalyzers"/>, as a build does: after the generator.</summary>
internal static class AnalyzerRunner
{
    /// <summary>Every analyzer in Persistence.Analyzers.</summary>
    public static readonly ImmutableArray<DiagnosticAnalyzer> All =
    [
        .. typeof(PersistentClassMustBePartialAnalyzer).Assembly.GetTypes()
            .Where(t => !t.IsAbstract && typeof(DiagnosticAnalyzer).IsAssignableFrom(t))
            .OrderBy(t => t.Name, StringComparer.Ordinal)
            .Select(t => (DiagnosticAnalyzer)Activator.CreateInstance(t)!),
    ];

    /// <summary>Generates, then analyzes: the Persistence diagnostics (every severity), in source order.</summary>
    public static async Task<ImmutableArray<Diagnostic>> AnalyzeAsync(
        IEnumerable<string> sources,
        CSharpParseOptions? parseOptions = null,
        CSharpCompilationOptions? options = null,
        IEnumerable<MetadataReference>? extraReferences = null,
        bool generate = true)
    {
        Compilation compilation = TestCompiler.CreateCompilation(sources, parseOptions, options, extraReferences);
        if (generate) compilation = TestCompiler.Generate(compilation).Output;
        return await AnalyzeAsync(compilation);
    }

    public static async Task<ImmutableArray<Diagnostic>> AnalyzeAsync(Compilation compilation, ImmutableArray<DiagnosticAnalyzer>? analyzers = null)
    {
        var diagnostics = await compilation
            .WithAnalyzers(analyzers ?? All, new CompilationWithAnalyzersOptions(
                new AnalyzerOptions([]),
                onAnalyzerException: (exception, analyzer, _) => Assert.Fail($"{analyzer.GetType().Name} threw {exception}"),
                concurrentAnalysis: true,
                logAnalyzerExecutionTime: false))
            .GetAnalyzerDiagnosticsAsync(CancellationToken.None);
        return
        [
            .. diagnostics
                .OrderBy(d => d.Location.SourceTree?.FilePath, StringComparer.Ordinal)
                .ThenBy(d => d.Location.SourceSpan.Start)
                .ThenBy(d => d.Id, StringComparer.Ordinal),
        ];
    }
}
