using Persistence.Analyzers.Tests.Infrastructure;

namespace Persistence.Analyzers.Tests;

/// <summary>
/// PERSIST022: work passed to <c>Database.Transact</c> or <c>TransactAsync</c> that returns a persistent
/// object, or a value holding one. The work's connection closes when the work ends, so the caller got an
/// object that could neither load nor change, and learnt so only at run time (ConnectionClosedException).
/// </summary>
public sealed class PersistentObjectFromTransactTests
{
    private const string Id = "PERSIST022";

    private static string Message(string method, string found) =>
        $"{method} closes its connection when the work ends, so the persistent object the work returns ({found}) cannot load or change afterwards: return ids (PersistentOid) or plain values from the work and load the object again through an open connection (connection.Get<T>(oid), or from its Root), or do what needs the object inside the work";

    private static string Program(string body, string members = "") => Sources.Wrap($$"""
        using System.Linq;

        [Persistent]
        public partial class Job
        {
            public partial string? Name { get; set; }
            public partial int Tries { get; set; }
        }

        public sealed record JobView(Job Job, int Tries);

        public sealed record JobSummary(string? Name, int Tries, Oid Id);

        public static class Queue
        {
            public static async System.Threading.Tasks.Task Run(Database db)
            {
                {{body}}
                await System.Threading.Tasks.Task.CompletedTask;
            }

            private static Job First(Connection c) => ((PersistentList<Job>)c.Root["jobs"])[0];

            {{members}}
        }
        """);

    [Fact]
    public async Task Work_returning_a_persistent_object_is_reported() =>
        await Expect.CompilesAndReportsAsync(Id, Program("""
            var job = db.[|Transact|](c => First(c));
            var same = db.[|Transact|](First);
            var root = db.[|Transact|](c => c.Root);
            var any = db.[|Transact|](c => c.Root["jobs"]);
            var typed = db.[|Transact|]<Job?>(c => c.Root.Count > 0 ? First(c) : null);
            """),
            Message("Transact", "'Job'"),
            Message("Transact", "'Job'"),
            Message("Transact", "'PersistentDictionary<string, PersistentObject>'"),
            Message("Transact", "'PersistentObject'"),
            Message("Transact", "'Job'"));

    [Fact]
    public async Task Work_returning_a_value_that_holds_a_persistent_object_is_reported() =>
        await Expect.CompilesAndReportsAsync(Id, Program("""
            var pair = db.[|Transact|](c => (First(c), 1));
            var list = db.[|Transact|](c => new List<Job> { First(c) });
            var array = db.[|Transact|](c => new[] { First(c) });
            var lazy = db.[|Transact|](c => ((PersistentList<Job>)c.Root["jobs"]).Where(j => j.Tries > 0));
            var entry = db.[|Transact|](c => new KeyValuePair<int, Job>(1, First(c)));
            var view = db.[|Transact|](c => new JobView(First(c), 1));
            var nested = db.[|Transact|](c => new Dictionary<string, (int, Job[])>());
            """),
            Message("Transact", "'Job', in '(Job, int)'"),
            Message("Transact", "'Job', in 'List<Job>'"),
            Message("Transact", "'Job', in 'Job[]'"),
            Message("Transact", "'Job', in 'IEnumerable<Job>'"),
            Message("Transact", "'Job', in 'KeyValuePair<int, Job>'"),
            Message("Transact", "'Job', in 'JobView'"),
            Message("Transact", "'Job', in 'Dictionary<string, (int, Job[])>'"));

    [Fact]
    public async Task Persistent_collections_and_nullables_count_as_persistent_objects() =>
        await Expect.CompilesAndReportsAsync(Id, Program("""
            var jobs = db.[|Transact|](c => (PersistentList<Job>)c.Root["jobs"]);
            var tree = db.[|Transact|](c => new BTree<int, Job>());
            var maybe = db.[|Transact|](c => (int?)1 is null ? default((Job, int)?) : null);
            """),
            Message("Transact", "'PersistentList<Job>'"),
            Message("Transact", "'BTree<int, Job>'"),
            Message("Transact", "'Job', in '(Job, int)?'"));

    [Fact]
    public async Task Async_work_returning_a_persistent_object_is_reported_for_TransactAsync() =>
        await Expect.CompilesAndReportsAsync(Id, Program("""
            var job = await db.[|TransactAsync|](async c => { await System.Threading.Tasks.Task.Yield(); return First(c); });
            var jobs = await db.[|TransactAsync|](c => System.Threading.Tasks.Task.FromResult(new List<Job> { First(c) }));
            var direct = await db.[|TransactAsync|](First);
            var loaded = await db.[|TransactAsync|](LoadAsync, maxAttempts: 3);
            """,
            members: """
            private static async System.Threading.Tasks.Task<(Job, int)> LoadAsync(Connection c)
            {
                await System.Threading.Tasks.Task.Yield();
                return (First(c), 1);
            }
            """),
            Message("TransactAsync", "'Job'"),
            Message("TransactAsync", "'Job', in 'List<Job>'"),
            Message("TransactAsync", "'Job'"),
            Message("TransactAsync", "'Job', in '(Job, int)'"));

    [Fact]
    public async Task A_type_parameter_constrained_to_a_persistent_class_is_reported() =>
        await Expect.CompilesAndReportsAsync(Id, Program(
            "",
            members: """
            public static T Load<T>(Database db, string key) where T : PersistentObject => db.[|Transact|](c => (T)c.Root[key]);
            """),
            Message("Transact", "'T'"));

    [Fact]
    public async Task Work_returning_ids_and_plain_values_is_not_reported() =>
        await Expect.CleanAsync(Program("""
            var tries = db.Transact(c => First(c).Tries);
            var name = db.Transact(c => First(c).Name);
            var id = db.Transact(c => First(c).PersistentOid);
            var ids = db.Transact(c => ((PersistentList<Job>)c.Root["jobs"]).Select(j => j.PersistentOid).ToList());
            var summary = db.Transact(c => new JobSummary(First(c).Name, First(c).Tries, First(c).PersistentOid));
            var pair = db.Transact(c => (First(c).Name, First(c).Tries));
            db.Transact(c => { First(c).Tries++; });
            var count = await db.TransactAsync(async c => { await System.Threading.Tasks.Task.Yield(); return First(c).Tries; });
            await db.TransactAsync(async c => { await System.Threading.Tasks.Task.Yield(); First(c).Tries++; });
            var loader = db.Transact(c => (Func<Connection, Job>)First);
            _ = (tries, name, id, ids, summary, pair, count, loader);
            """,
            members: """
            public static T Load<T>(Database db, Func<Connection, T> read) => db.Transact(read);

            public static object Untyped(Database db) => db.Transact<object>(c => c.Root["jobs"]);
            """));

    [Fact]
    public async Task Work_that_stores_an_object_and_a_result_nothing_takes_are_not_reported() =>
        await Expect.CleanAsync(Program("""
            db.Transact(c => c.Root["jobs"] = new PersistentList<Job>());
            await db.TransactAsync(c => c.Root["first"] = new Job { Name = "first" });
            var stored = db.Transact(c => c.Root["second"] = new Job { Name = "second" });
            db.Transact(First);
            await db.TransactAsync(First).ConfigureAwait(false);
            _ = db.Transact(c => First(c));
            _ = stored;
            """));

    [Fact]
    public async Task A_Transact_inside_the_work_of_another_joins_its_open_connection_and_is_not_reported() =>
        await Expect.CompilesAndReportsAsync(Id, Program("""
            var tries = db.Transact(c =>
            {
                var job = db.Transact(First);
                job.Tries++;
                return job.Tries;
            });
            var outer = db.[|Transact|](c => db.Transact(First));
            """),
            Message("Transact", "'Job'"));
}
