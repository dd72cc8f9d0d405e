using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using Persistence.Generators;

namespace Persistence.Generators.Tests.Infrastructure;

/// <summary>Builds in-memory compilations against Persistence.Core and runs the generator on them.</summary>
internal static class TestCompiler
{
    public static readonly CSharpParseOptions ParseOptions =
        new(LanguageVersion.Latest, DocumentationMode.Diagnose);

    private static readonly ImmutableArray<MetadataReference> References = LoadReferences();

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

    public static CSharpCompilation CreateCompilation(params string[] sources) =>
        CreateCompilation("TestAssembly", sources);

    public static CSharpCompilation CreateCompilation(string assemblyName, string[] sources, IEnumerable<MetadataReference>? extraReferences = null) =>
        CSharpCompilation.Create(
            assemblyName,
            sources.Select((source, i) => CSharpSyntaxTree.ParseText(source, ParseOptions, path: $"Input{i}.cs")),
            extraReferences is null ? References : References.AddRange(extraReferences),
            new CSharpCompilationOptions(
                OutputKind.DynamicallyLinkedLibrary,
                nullableContextOptions: NullableContextOptions.Enable,
                warningLevel: 9999,
                deterministic: true));

    public static GeneratorDriver CreateDriver(bool trackSteps = false) =>
        CSharpGeneratorDriver.Create(
            [new PersistentGenerator().AsSourceGenerator()],
            parseOptions: ParseOptions,
            driverOptions: new GeneratorDriverOptions(IncrementalGeneratorOutputKind.None, trackIncrementalGeneratorSteps: trackSteps));

    /// <summary>Runs the generator and returns its result and the compilation with the generated code added.</summary>
    public static (GeneratorRunResult Result, Compilation Output) Run(Compilation compilation)
    {
        var driver = CreateDriver().RunGeneratorsAndUpdateCompilation(compilation, out var output, out _);
        return (driver.GetRunResult().Results.Single(), output);
    }

    /// <summary>Runs the generator with the given MSBuild-visible global options (<c>build_property.X</c>).</summary>
    public static (GeneratorRunResult Result, Compilation Output) Run(Compilation compilation, GlobalOptions options)
    {
        GeneratorDriver driver = CSharpGeneratorDriver.Create(
            [new PersistentGenerator().AsSourceGenerator()],
            parseOptions: ParseOptions,
            optionsProvider: new OptionsProvider(options));
        driver = driver.RunGeneratorsAndUpdateCompilation(compilation, out var output, out _);
        return (driver.GetRunResult().Results.Single(), output);
    }

    /// <summary>Global analyzer config options, as MSBuild passes the properties a project makes visible.</summary>
    public sealed class GlobalOptions(IReadOnlyDictionary<string, string> values) : AnalyzerConfigOptions
    {
        public override bool TryGetValue(string key, [NotNullWhen(true)] out string? value) => values.TryGetValue(key, out value);
    }

    private sealed class OptionsProvider(GlobalOptions global) : AnalyzerConfigOptionsProvider
    {
        private static readonly GlobalOptions Empty = new(new Dictionary<string, string>());

        public override AnalyzerConfigOptions GlobalOptions => global;

        public override AnalyzerConfigOptions GetOptions(SyntaxTree tree) => Empty;

        public override AnalyzerConfigOptions GetOptions(AdditionalText textFile) => Empty;
    }

    /// <summary>Every warning and error of a compilation, CS1591 on the test inputs aside (inputs are not documented; generated code must be).</summary>
    public static ImmutableArray<Diagnostic> Problems(Compilation compilation) =>
    [
        .. compilation.GetDiagnostics().Where(d =>
            d.Severity >= DiagnosticSeverity.Warning &&
            !(d.Id == "CS1591" && d.Location.SourceTree?.FilePath.StartsWith("Input", StringComparison.Ordinal) == true)),
    ];

    public static string Format(IEnumerable<Diagnostic> diagnostics) =>
        string.Join(Environment.NewLine, diagnostics.Select(d => d.ToString()));
}
