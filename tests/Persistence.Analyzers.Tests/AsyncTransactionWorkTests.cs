using Persistence.Analyzers.Tests.Infrastructure;

namespace Persistence.Analyzers.Tests;

/// <summary>
/// <c>Database.Transact</c> runs synchronous work: an async lambda binds to overloads the compiler
/// refuses (CS0619), with a message that says why and points to <c>TransactAsync</c>, which takes
/// both synchronous and async work.
/// </summary>
public sealed class AsyncTransactionWorkTests
{
    private static IEnumerable<Microsoft.CodeAnalysis.Diagnostic> Problems(string body)
    {
        var source = Sources.Wrap($$"""
            public static class Work
            {
                public static async System.Threading.Tasks.Task Run(Database db)
                {
                    {{body}}
                }
            }
            """);
        return TestCompiler.CompilerProblems(TestCompiler.CreateCompilation([source]));
    }

    [Theory]
    [InlineData("db.Transact(async c => { await System.Threading.Tasks.Task.Delay(1); c.Root.Remove(\"x\"); }); await System.Threading.Tasks.Task.CompletedTask;")]
    [InlineData("var n = db.Transact(async c => { await System.Threading.Tasks.Task.Delay(1); return c.Root.Count; }); await System.Threading.Tasks.Task.CompletedTask;")]
    public void Async_work_is_refused_at_compile_time(string body)
    {
        var problem = Assert.Single(Problems(body));
        Assert.Equal("CS0619", problem.Id);
        Assert.Contains("Transact runs synchronous work", problem.GetMessage());
        Assert.Contains("Pass async work to TransactAsync", problem.GetMessage());
    }

    [Theory]
    [InlineData("await db.TransactAsync(async c => { await System.Threading.Tasks.Task.Delay(1); c.Root.Remove(\"x\"); });")]
    [InlineData("var n = await db.TransactAsync(async c => { await System.Threading.Tasks.Task.Delay(1); return c.Root.Count; }); n++;")]
    [InlineData("await db.TransactAsync(c => c.Root.Count);")]
    [InlineData("await db.TransactAsync(c => { c.Root.Remove(\"x\"); return true; });")]
    [InlineData("db.Transact(c => { c.Root.Remove(\"x\"); }); await System.Threading.Tasks.Task.CompletedTask;")]
    [InlineData("var n = db.Transact(c => c.Root.Count); await System.Threading.Tasks.Task.CompletedTask;")]
    public void Synchronous_work_and_async_work_for_TransactAsync_compile(string body) => Assert.Empty(Problems(body));
}
