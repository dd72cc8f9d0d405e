using Persistence.Analyzers.Tests.Infrastructure;

namespace Persistence.Analyzers.Tests;

/// <summary>
/// <c>Database.Transact</c> runs synchronous work: an async lambda binds to overloads the compiler
/// refuses (CS0619), with a message that says why and points to <c>TransactAsync</c>, which takes
/// both synchronous and async work. Work returning another awaitable (a <c>ValueTask</c>) binds as
/// work returning a plain value, which PERSIST017 refuses.
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

    private const string Id = "PERSIST017";

    private static string Method(string body) => Sources.Wrap($$"""
        public static class Work
        {
            public static async System.Threading.Tasks.Task Run(Database db)
            {
                {{body}}
            }

            private static System.Threading.Tasks.ValueTask<int> CountAsync(Connection c) => new(c.Root.Count);
        }
        """);

    [Fact]
    public async Task Work_returning_a_ValueTask_is_refused_for_Transact() =>
        await Expect.DiagnosticsAsync(Id, Method("""
            db.Transact([|async System.Threading.Tasks.ValueTask (c) => { await System.Threading.Tasks.Task.Delay(1); c.Root.Remove("x"); }|]);
            var n = db.Transact([|async System.Threading.Tasks.ValueTask<int> (c) => { await System.Threading.Tasks.Task.Delay(1); return c.Root.Count; }|]);
            var m = db.Transact([|CountAsync|]);
            await System.Threading.Tasks.Task.CompletedTask;
            """),
            "Transact would commit before this work completes: the work returns 'ValueTask', which Transact takes as a plain result, so the commit stores only what came before the work's first await; pass async work to TransactAsync, as a lambda that returns a Task (async c => ..., without a declared return type)",
            "Transact would commit before this work completes: the work returns 'ValueTask<int>', which Transact takes as a plain result, so the commit stores only what came before the work's first await; pass async work to TransactAsync, as a lambda that returns a Task (async c => ..., without a declared return type)",
            "Transact would commit before this work completes: the work returns 'ValueTask<int>', which Transact takes as a plain result, so the commit stores only what came before the work's first await; pass async work to TransactAsync, as a lambda that returns a Task (async c => ..., without a declared return type)");

    [Fact]
    public async Task Work_returning_a_ValueTask_is_refused_for_TransactAsync() =>
        await Expect.DiagnosticsAsync(Id, Method("""
            await db.TransactAsync([|async System.Threading.Tasks.ValueTask (c) => { await System.Threading.Tasks.Task.Delay(1); c.Root.Remove("x"); }|]);
            await db.TransactAsync(maxAttempts: 3, work: [|c => CountAsync(c)|]);
            """),
            "TransactAsync would commit before this work completes: the work returns 'ValueTask', which TransactAsync takes as a plain result, so the commit stores only what came before the work's first await; let the work return a Task (async c => ..., without a declared return type, or call AsTask() on what it returns)",
            "TransactAsync would commit before this work completes: the work returns 'ValueTask<int>', which TransactAsync takes as a plain result, so the commit stores only what came before the work's first await; let the work return a Task (async c => ..., without a declared return type, or call AsTask() on what it returns)");

    [Fact]
    public async Task Work_that_returns_a_Task_or_a_plain_value_is_not_reported() =>
        await Expect.CleanAsync(Method("""
            await db.TransactAsync(async c => { await System.Threading.Tasks.Task.Delay(1); c.Root.Remove("x"); });
            var n = await db.TransactAsync(async c => { await System.Threading.Tasks.Task.Delay(1); return c.Root.Count; });
            n += await db.TransactAsync(c => CountAsync(c).AsTask());
            n += await db.TransactAsync(c => c.Root.Count);
            n += db.Transact(c => c.Root.Count);
            db.Transact(c => { c.Root.Remove("x"); });
            var list = db.Transact(c => new List<int> { c.Root.Count });
            n += list.Count;
            """));
}
