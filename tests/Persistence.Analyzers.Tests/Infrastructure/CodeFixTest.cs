namespace Persistence.Analyzers.Tests.Infrastructure;

/// <summary>Checks a code fix end to end: the fixed text, and that it then compiles with the generator with no diagnostic at all.</summary>
internal static class CodeFixTest
{
    public static async Task VerifyAsync(string id, string title, string before, string after, int index = 0) =>
        await VerifyAsync(id, title, [before], [after], index);

    public static async Task VerifyAsync(string id, string title, string[] before, string[] after, int index = 0)
    {
        var fixedSources = await CodeFixRunner.ApplyAsync(id, title, before, index);
        Assert.Equal(after.Length, fixedSources.Length);
        for (var i = 0; i < after.Length; i++)
        {
            Assert.True(
                Normalize(after[i]) == Normalize(fixedSources[i]),
                $"Document {i} differs.{Environment.NewLine}Expected:{Environment.NewLine}{after[i]}{Environment.NewLine}Actual:{Environment.NewLine}{fixedSources[i]}");
        }

        var (output, result) = TestCompiler.Generate(TestCompiler.CreateCompilation(fixedSources));
        Assert.Null(result.Exception);
        var problems = TestCompiler.CompilerProblems(output);
        Assert.True(problems.IsEmpty, TestCompiler.Format(problems));
        var diagnostics = await AnalyzerRunner.AnalyzeAsync(output);
        Assert.True(diagnostics.IsEmpty, TestCompiler.Format(diagnostics));
    }

    private static string Normalize(string text) => text.Replace("\r\n", "\n", StringComparison.Ordinal);
}
