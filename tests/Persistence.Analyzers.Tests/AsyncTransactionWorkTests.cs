using Persistence.Analyzers.Tests.Infrastructure;

namespace Persistence.Analyzers.Tests;

/// <summary>
/// The work of <c>Database.Transact</c>/<c>TransactAsync</c> must be synchronous: an async lambda binds
/// to overloads the compiler refuses (CS0619), with a message that says why; synchronous work still binds as before.
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
    [InlineData("await db.TransactAsync(async c => { await System.Threading.Tasks.Task.Delay(1); c.Root.Remove(\"x\"); });")]
    [InlineData("var n = await db.TransactAsync(async c => { await System.Threading.Tasks.Task.Delay(1); return c.Root.Count; });")]
    [InlineData("db.Transact(async c => { await System.Threading.Tasks.Task.Delay(1); c.Root.Remove(\"x\"); }); await System.Threading.Tasks.Task.CompletedTask;")]
    [InlineData("var n = db.Transact(async c => { await System.Threading.Tasks.Task.Delay(1); return c.Root.Count; }); await System.Threading.Tasks.Task.CompletedTask;")]
    public void Async_work_is_refused_at_compile_time(string body)
    {
        var problem = Assert.Single(Problems(body));
        Assert.Equal("CS0619", problem.Id);
        Assert.Contains("The work of a transaction must be synchronous", problem.GetMessage());
    }

    [Theory]
    [InlineData("await db.TransactAsync(c => c.Root.Count);")]
    [InlineData("await db.TransactAsync(c => { c.Root.Remove(\"x\"); return true; });")]
    [InlineData("db.Transact(c => { c.Root.Remove(\"x\"); }); await System.Threading.Tasks.Task.CompletedTask;")]
    [InlineData("var n = db.Transact(c => c.Root.Count); await System.Threading.Tasks.Task.CompletedTask;")]
    public void Synchronous_work_compiles(string body) => Assert.Empty(Problems(body));
}
