using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;
using Persistence.Analyzers;
using Persistence.Generators.Tests.Infrastructure;

namespace Persistence.Generators.Tests;

/// <summary>PERSIST001: a [Persistent] class and the types containing it must be partial.</summary>
public sealed class PersistentClassMustBePartialAnalyzerTests
{
    [Fact]
    public async Task Reports_a_persistent_class_that_is_not_partial()
    {
        var source = """
            using Persistence;

            namespace Shop;

            [Persistent]
            public class Customer
            {
            }
            """;

        var diagnostic = Assert.Single(await AnalyzeAsync(source));

        Assert.Equal("PERSIST001", diagnostic.Id);
        Assert.Equal(DiagnosticSeverity.Error, diagnostic.Severity);
        Assert.Equal(
            "'Customer' is not partial: add the 'partial' modifier so the source generator can complete the [Persistent] class 'Customer'",
            diagnostic.GetMessage());
        AssertLocation(source, diagnostic, "Customer", line: 5);
        Assert.Equal("https://github.com/persistence-dotnet/persistence/blob/main/docs/diagnostics/PERSIST001.md", diagnostic.Descriptor.HelpLinkUri);
    }

    [Fact]
    public async Task Reports_each_containing_type_that_is_not_partial()
    {
        var source = """
            using Persistence;

            namespace Shop;

            public class Catalog
            {
                public partial class Section
                {
                    [Persistent]
                    public partial class Item
                    {
                    }
                }
            }
            """;

        var diagnostic = Assert.Single(await AnalyzeAsync(source));

        Assert.Equal("PERSIST001", diagnostic.Id);
        Assert.Equal(
            "'Catalog' is not partial: add the 'partial' modifier so the source generator can complete the [Persistent] class 'Catalog.Section.Item'",
            diagnostic.GetMessage());
        AssertLocation(source, diagnostic, "Catalog", line: 4);
    }

    [Fact]
    public async Task Reports_the_class_and_its_container_when_neither_is_partial()
    {
        var source = """
            namespace Shop;

            public class Catalog
            {
                [Persistence.Persistent]
                public class Item
                {
                }
            }
            """;

        var diagnostics = await AnalyzeAsync(source);

        Assert.Equal(2, diagnostics.Length);
        AssertLocation(source, diagnostics[0], "Catalog", line: 2);
        AssertLocation(source, diagnostics[1], "Item", line: 5);
    }

    [Fact]
    public async Task Accepts_a_partial_persistent_class_in_partial_containers()
    {
        var source = """
            using Persistence;

            namespace Shop;

            public static partial class Catalog
            {
                [Persistent]
                public partial class Item
                {
                    public partial string Title { get; set; }
                }
            }
            """;

        Assert.Empty(await AnalyzeAsync(source));
    }

    [Fact]
    public async Task Ignores_classes_that_are_not_persistent()
    {
        var source = """
            namespace Shop;

            public class Catalog
            {
                public class Item
                {
                }
            }
            """;

        Assert.Empty(await AnalyzeAsync(source));
    }

    private static async Task<ImmutableArray<Diagnostic>> AnalyzeAsync(string source)
    {
        var compilation = TestCompiler.CreateCompilation(source);
        var analyzers = ImmutableArray.Create<DiagnosticAnalyzer>(new PersistentClassMustBePartialAnalyzer());
        var diagnostics = await compilation
            .WithAnalyzers(analyzers, new CompilationWithAnalyzersOptions(
                new AnalyzerOptions([]),
                onAnalyzerException: (exception, _, _) => Assert.Fail(exception.ToString()),
                concurrentAnalysis: true,
                logAnalyzerExecutionTime: false))
            .GetAnalyzerDiagnosticsAsync(CancellationToken.None);
        return [.. diagnostics.OrderBy(d => d.Location.SourceSpan.Start)];
    }

    private static void AssertLocation(string source, Diagnostic diagnostic, string identifier, int line)
    {
        var span = diagnostic.Location.GetLineSpan();
        Assert.Equal(line, span.StartLinePosition.Line);
        Assert.Equal(identifier, source.Substring(diagnostic.Location.SourceSpan.Start, diagnostic.Location.SourceSpan.Length));
    }
}
