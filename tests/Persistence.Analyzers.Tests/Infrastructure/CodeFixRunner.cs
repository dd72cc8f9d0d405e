using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeActions;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Text;
using Persistence.Analyzers.CodeFixes;
using Persistence.Generators;

namespace Persistence.Analyzers.Tests.Infrastructure;

/// <summary>
/// Applies a code fix the way the IDE does, without Microsoft.CodeAnalysis.Testing: an
/// <see cref="AdhocWorkspace"/> project with the generator, the analyzers' diagnostics on its
/// compilation, a <see cref="CodeFixContext"/>, and the changed solution of the chosen action.
/// </summary>
internal static class CodeFixRunner
{
    /// <summary>Every code fix provider in Persistence.Analyzers.CodeFixes.</summary>
    public static readonly ImmutableArray<CodeFixProvider> All =
    [
        .. typeof(MakePartialCodeFixProvider).Assembly.GetTypes()
            .Where(t => !t.IsAbstract && typeof(CodeFixProvider).IsAssignableFrom(t))
            .Select(t => (CodeFixProvider)Activator.CreateInstance(t)!),
    ];

    /// <summary>The titles of the fixes offered for the <paramref name="index"/>th diagnostic <paramref name="id"/>.</summary>
    public static async Task<IReadOnlyList<string>> TitlesAsync(string id, string[] sources, int index = 0)
    {
        using var workspace = new AdhocWorkspace();
        var (_, actions) = await FixesAsync(workspace, id, sources, index);
        return [.. actions.Select(a => a.Title)];
    }

    /// <summary>Applies the fix titled <paramref name="title"/> to the <paramref name="index"/>th diagnostic <paramref name="id"/>; returns every document's new text.</summary>
    public static async Task<string[]> ApplyAsync(string id, string title, string[] sources, int index = 0)
    {
        using var workspace = new AdhocWorkspace();
        var (project, actions) = await FixesAsync(workspace, id, sources, index);
        var action = actions.SingleOrDefault(a => a.Title == title)
            ?? throw new Xunit.Sdk.XunitException($"No fix '{title}'; offered: {string.Join(" | ", actions.Select(a => a.Title))}");
        var operations = await action.GetOperationsAsync(CancellationToken.None);
        var changed = operations.OfType<ApplyChangesOperation>().Single().ChangedSolution.GetProject(project.Id)!;
        var texts = new List<string>();
        foreach (var document in project.Documents.OrderBy(d => d.Name, StringComparer.Ordinal))
        {
            texts.Add((await changed.GetDocument(document.Id)!.GetTextAsync()).ToString());
        }
        return [.. texts];
    }

    private static async Task<(Project Project, List<CodeAction> Actions)> FixesAsync(AdhocWorkspace workspace, string id, string[] sources, int index)
    {
        var projectId = ProjectId.CreateNewId();
        var solution = workspace.CurrentSolution.AddProject(ProjectInfo.Create(
            projectId,
            VersionStamp.Default,
            "TestProject",
            "TestAssembly",
            Microsoft.CodeAnalysis.LanguageNames.CSharp,
            compilationOptions: TestCompiler.CompilationOptions,
            parseOptions: TestCompiler.ParseOptions,
            metadataReferences: TestCompiler.References,
            analyzerReferences: [new GeneratorReference()]));
        for (var i = 0; i < sources.Length; i++)
        {
            var path = TestCompiler.InputPath(i);
            solution = solution.AddDocument(DocumentId.CreateNewId(projectId), path, SourceText.From(sources[i]), filePath: path);
        }
        var project = solution.GetProject(projectId)!;

        var compilation = (await project.GetCompilationAsync())!;
        var diagnostics = (await AnalyzerRunner.AnalyzeAsync(compilation)).Where(d => d.Id == id).ToList();
        Assert.True(diagnostics.Count > index, $"Expected a {id} diagnostic, found {TestCompiler.Format(await AnalyzerRunner.AnalyzeAsync(compilation))}");
        var diagnostic = diagnostics[index];
        var document = project.Documents.Single(d => d.FilePath == diagnostic.Location.SourceTree!.FilePath);

        var actions = new List<CodeAction>();
        var context = new CodeFixContext(document, diagnostic, (action, _) => actions.Add(action), CancellationToken.None);
        foreach (var provider in All.Where(p => p.FixableDiagnosticIds.Contains(id)))
        {
            await provider.RegisterCodeFixesAsync(context);
        }
        return (project, actions);
    }

    /// <summary>The Persistence generator as a workspace analyzer reference, so project compilations include its output as in the IDE.</summary>
    private sealed class GeneratorReference : AnalyzerReference
    {
        private readonly ISourceGenerator _generator = new PersistentGenerator().AsSourceGenerator();

        public override string? FullPath => null;

        public override object Id => "Persistence.Generators";

        public override string Display => "Persistence.Generators";

        public override ImmutableArray<DiagnosticAnalyzer> GetAnalyzersForAllLanguages() => [];

        public override ImmutableArray<DiagnosticAnalyzer> GetAnalyzers(string language) => [];

        public override ImmutableArray<ISourceGenerator> GetGeneratorsForAllLanguages() => [_generator];

        public override ImmutableArray<ISourceGenerator> GetGenerators(string language) => [_generator];
    }
}
