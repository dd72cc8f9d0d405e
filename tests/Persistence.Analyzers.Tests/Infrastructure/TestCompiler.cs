using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Persistence.Generators;

namespace Persistence.Analyzers.Tests.Infrastructure;

/// <summary>Builds in-memory compilations against Persistence.Core and runs the source generator on them.</summary>
internal static class TestCompiler
{
    public static readonly CSharpParseOptions ParseOptions = new(LanguageVersion.Latest, DocumentationMode.Diagnose);

    public static readonly CSharpCompilationOptions CompilationOptions = new(
        OutputKind.DynamicallyLinkedLibrary,
        nullableContextOptions: NullableContextOptions.Enable,
        warningLevel: 9999,
        deterministic: true);

    public static readonly ImmutableArray<MetadataReference> References = LoadReferences();

    private static ImmutableArray<MetadataReference> LoadReferences()
    {
        // The runtime's own assemblies from the trusted platform list, plus Persistence.Core.
        var runtimeDirectory = Path.GetDirectoryName(typeof(object).Assembly.Location)!;
        var platform = ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!)
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Where(path => string.Equals(Path.GetDirectoryName(path), runtimeDirectory, StringComparison.OrdinalIgnoreCase));
        return
        [
            .. platform.Select(path => (MetadataReference)MetadataReference.CreateFromFile(path)),
            MetadataReference.CreateFromFile(typeof(PersistentObject).Assembly.Location),
        ];
    }

    /// <summary>Input file names: the generator's output is told apart by its own path.</summary>
    public static string InputPath(int index) => $"Input{index}.cs";

    public static CSharpCompilation CreateCompilation(
        IEnumerable<string> sources,
        CSharpParseOptions? parseOptions = null,
        CSharpCompilationOptions? options = null,
        IEnumerable<MetadataReference>? extraReferences = null,
        string assemblyName = "TestAssembly") =>
        CSharpCompilation.Create(
            assemblyName,
            sources.Select((source, i) => CSharpSyntaxTree.ParseText(source, parseOptions ?? ParseOptions, path: InputPath(i))),
            extraReferences is null ? References : References.AddRange(extraReferences),
            options ?? CompilationOptions);

    /// <summary>Runs the generator: the compilation the analyzers see in a real build.</summary>
    public static (Compilation Output, GeneratorRunResult Result) Generate(Compilation compilation)
    {
        var driver = CSharpGeneratorDriver.Create(
            [new PersistentGenerator().AsSourceGenerator()],
            parseOptions: (CSharpParseOptions)compilation.SyntaxTrees.First().Options);
        var result = driver.RunGeneratorsAndUpdateCompilation(compilation, out var output, out _).GetRunResult().Results.Single();
        return (output, result);
    }

    /// <summary>Every compiler warning and error, CS1591 on the test inputs aside (inputs are not documented; generated code must be).</summary>
    public static ImmutableArray<Diagnostic> CompilerProblems(Compilation compilation) =>
    [
        .. compilation.GetDiagnostics().Where(d =>
            d.Severity >= DiagnosticSeverity.Warning &&
            !(d.Id == "CS1591" && d.Location.SourceTree?.FilePath.StartsWith("Input", StringComparison.Ordinal) == true)),
    ];

    public static string Format(IEnumerable<Diagnostic> diagnostics) =>
        string.Join(Environment.NewLine, diagnostics.Select(d => d.ToString()));
}
