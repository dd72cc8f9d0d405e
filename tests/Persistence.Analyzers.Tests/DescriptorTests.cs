using Microsoft.CodeAnalysis;
using Persistence.Analyzers.Tests.Infrastructure;

namespace Persistence.Analyzers.Tests;

/// <summary>Every diagnostic has an id in the release tracking file, a docs page, a help link to it, and is reported by an analyzer; every fix fixes one of them.</summary>
public sealed class DescriptorTests
{
    private static readonly DiagnosticDescriptor[] Descriptors =
    [
        .. typeof(DiagnosticDescriptors)
            .GetFields(System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.Static)
            .Where(f => f.FieldType == typeof(DiagnosticDescriptor))
            .Select(f => (DiagnosticDescriptor)f.GetValue(null)!)
            .OrderBy(d => d.Id, StringComparer.Ordinal),
    ];

    [Fact]
    public void Ids_run_from_PERSIST001_without_gaps() =>
        Assert.Equal(Enumerable.Range(1, Descriptors.Length).Select(i => $"PERSIST{i:000}"), Descriptors.Select(d => d.Id));

    [Fact]
    public void Each_descriptor_is_reported_by_an_analyzer() =>
        Assert.Equal(
            Descriptors.Select(d => d.Id),
            AnalyzerRunner.All.SelectMany(a => a.SupportedDiagnostics).Select(d => d.Id).Distinct().Order(StringComparer.Ordinal));

    [Fact]
    public void Each_descriptor_has_a_docs_page_that_its_help_link_names()
    {
        var root = CompilerTooOldTests.RepositoryRoot();
        foreach (var descriptor in Descriptors)
        {
            Assert.Equal($"https://github.com/persistence-dotnet/persistence/blob/main/docs/diagnostics/{descriptor.Id}.md", descriptor.HelpLinkUri);
            var page = Path.Combine(root, "docs", "diagnostics", descriptor.Id + ".md");
            Assert.True(File.Exists(page), $"{page} is missing");
            var text = File.ReadAllText(page);
            Assert.StartsWith($"# {descriptor.Id}: ", text, StringComparison.Ordinal);
            Assert.Contains($"| Severity | {descriptor.DefaultSeverity} |", text, StringComparison.Ordinal);
            Assert.Contains("## Fix", text, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Each_descriptor_is_tracked_in_the_unshipped_release_with_its_severity()
    {
        var lines = File.ReadAllLines(Path.Combine(CompilerTooOldTests.RepositoryRoot(), "src", "Persistence.Analyzers", "AnalyzerReleases.Unshipped.md"));
        foreach (var descriptor in Descriptors)
        {
            Assert.Contains(lines, l => l.StartsWith($"{descriptor.Id} | Persistence | {descriptor.DefaultSeverity} |", StringComparison.Ordinal));
        }
    }

    [Fact]
    public void Each_code_fix_fixes_a_known_diagnostic_and_supports_fix_all()
    {
        Assert.NotEmpty(CodeFixRunner.All);
        foreach (var provider in CodeFixRunner.All)
        {
            Assert.All(provider.FixableDiagnosticIds, id => Assert.Contains(Descriptors, d => d.Id == id));
            Assert.NotNull(provider.GetFixAllProvider());
        }
    }

    [Fact]
    public void The_analyzer_assembly_does_not_reference_Workspaces() =>
        Assert.DoesNotContain(
            typeof(PersistentClassMustBePartialAnalyzer).Assembly.GetReferencedAssemblies(),
            a => a.Name!.StartsWith("Microsoft.CodeAnalysis.Workspaces", StringComparison.Ordinal) || a.Name!.Contains("Workspaces", StringComparison.Ordinal));
}
