using Persistence.Analyzers.Tests.Infrastructure;

namespace Persistence.Analyzers.Tests;

/// <summary>
/// PERSIST021: a persistent collection created with a type argument that cannot be stored. The generator
/// registers only collection types it can store, so such a collection compiled and failed at run time,
/// when it was first created, saying the generator did not run.
/// </summary>
public sealed class UnstorableCollectionTests
{
    private const string Id = "PERSIST021";

    private const string Rule = ". A persistent collection's type arguments must be types a stored property could have, and a BTree's keys values kept in order: for a composite key, use a [PersistentValue] record struct that implements IComparable<T>.";

    private static string Program(string body, string members = "") => Sources.Wrap($$"""
        [Persistent]
        public partial class Order
        {
            public partial long Id { get; set; }
        }

        [PersistentValue]
        public partial record struct DateKey(DateTime Date, long Id) : IComparable<DateKey>
        {
            public int CompareTo(DateKey other) => Date != other.Date ? Date.CompareTo(other.Date) : Id.CompareTo(other.Id);
        }

        public static class Indexes
        {
            public static void Build(Connection connection)
            {
                {{body}}
            }

            {{members}}
        }
        """);

    public static TheoryData<string, string> Unstorable => new()
    {
        {
            "var byDate = [|new BTree<(DateTime, long), Order>()|];",
            "'BTree<(DateTime, long), Order>' cannot be stored or loaded: its type 'BTree<(DateTime, long), Order>' holds '(DateTime, long)', which is not a type Persistence can store"
        },
        {
            "BTree<(int, int), string> pairs = [|new()|];",
            "'BTree<(int, int), string>' cannot be stored or loaded: its type 'BTree<(int, int), string>' holds '(int, int)', which is not a type Persistence can store"
        },
        {
            "connection.Root[\"tags\"] = [|new PersistentSet<object>()|];",
            "'PersistentSet<object>' cannot be stored or loaded: its type 'PersistentSet<object>' holds 'object', which is not a type Persistence can store"
        },
        {
            "var ranks = [|new BTree<Order, int>()|];",
            "'BTree<Order, int>' cannot be stored or loaded: its type 'BTree<Order, int>' is keyed by the persistent type 'Order', but a BTree's keys are values kept in order; key it by a value of the object (its id, a name), and keep the object as the value"
        },
    };

    [Theory]
    [MemberData(nameof(Unstorable))]
    public async Task Reports_the_creation_and_the_type_argument_that_cannot_be_stored(string body, string message) =>
        await Expect.DiagnosticsAsync(Id, Program(body), message + Rule);

    [Fact]
    public async Task Collections_of_storable_types_and_of_type_parameters_are_not_reported() =>
        await Expect.CleanAsync(Program(
            """
            connection.Root["byDate"] = new BTree<DateKey, Order>();
            connection.Root["orders"] = new PersistentList<Order>();
            connection.Root["tags"] = new PersistentSet<string>();
            var pairs = new List<(int, int)>();
            """,
            "public static PersistentList<T> Make<T>() => new PersistentList<T>();"));
}
