using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace Persistence.Analyzers.Tests.Infrastructure;

/// <summary>Assertions on analyzer results for one test source with <c>[|…|]</c> markers.</summary>
internal static class Expect
{
    /// <summary>
    /// Analyzes <paramref name="markup"/> (after the generator) and checks that the diagnostics with
    /// <paramref name="id"/> are exactly at the marked spans, with the given messages in order, and that
    /// the diagnostic has a help link to its docs page.
    /// </summary>
    public static async Task<ImmutableArray<Diagnostic>> DiagnosticsAsync(string id, string markup, params string[] messages) =>
        await DiagnosticsAsync(id, markup, parseOptions: null, options: null, messages);

    public static async Task<ImmutableArray<Diagnostic>> DiagnosticsAsync(
        string id,
        string markup,
        CSharpParseOptions? parseOptions,
        CSharpCompilationOptions? options,
        params string[] messages)
    {
        var (source, spans) = Markup.Parse(markup);
        var all = await AnalyzerRunner.AnalyzeAsync([source], parseOptions, options);
        var found = all.Where(d => d.Id == id).ToImmutableArray();
        Assert.True(
            spans.Count == found.Length,
            $"Expected {spans.Count} {id} diagnostic(s), found {found.Length}:{Environment.NewLine}{TestCompiler.Format(all)}");
        for (var i = 0; i < spans.Count; i++)
        {
            Assert.Equal(TestCompiler.InputPath(0), found[i].Location.SourceTree?.FilePath);
            Assert.Equal(source[spans[i].Start..spans[i].End], source[found[i].Location.SourceSpan.Start..found[i].Location.SourceSpan.End]);
            Assert.Equal(spans[i], found[i].Location.SourceSpan);
            Assert.Equal($"https://github.com/persistence-dotnet/persistence/blob/main/docs/diagnostics/{id}.md", found[i].Descriptor.HelpLinkUri);
        }
        if (messages.Length > 0) Assert.Equal(messages, found.Select(d => d.GetMessage()));
        return found;
    }

    /// <summary>Checks that the marked source compiles (with the generator), then that the diagnostics with <paramref name="id"/> are exactly the marked ones.</summary>
    public static async Task CompilesAndReportsAsync(string id, string markup, params string[] messages)
    {
        var (output, _) = TestCompiler.Generate(TestCompiler.CreateCompilation([Markup.Parse(markup).Source]));
        Assert.Empty(TestCompiler.CompilerProblems(output));
        await DiagnosticsAsync(id, markup, messages);
    }

    /// <summary>PERSIST006's message for a change in place of <paramref name="path"/>.</summary>
    public static string ChangedInPlace(string path, string advice) =>
        $"'{path}' is changed in place, which does not mark the persistent object as changed, so the change is not saved: {advice}";

    /// <summary>Checks that <paramref name="source"/> compiles with the generator and gets no Persistence diagnostic at all (no false positive).</summary>
    public static async Task CleanAsync(string source, CSharpCompilationOptions? options = null)
    {
        var compilation = TestCompiler.CreateCompilation([source], options: options);
        var (output, result) = TestCompiler.Generate(compilation);
        Assert.Null(result.Exception);
        Assert.Empty(TestCompiler.CompilerProblems(output));
        var diagnostics = await AnalyzerRunner.AnalyzeAsync(output);
        Assert.True(diagnostics.IsEmpty, TestCompiler.Format(diagnostics));
    }
}
