using Persistence.Analyzers.Tests.Infrastructure;

namespace Persistence.Analyzers.Tests;

/// <summary>PERSIST012: a [PersistentValue] type the generator cannot give a codec; the fix adds 'partial' where that is the reason.</summary>
public sealed class UnsupportedValueTypeTests
{
    private const string Id = "PERSIST012";

    public static TheoryData<string, string> Unsupported => new()
    {
        {
            """
            [PersistentValue]
            public struct [|Money|]
            {
                public decimal Amount { get; set; }
            }
            """,
            "'Money' cannot be a [PersistentValue] type: 'Money' is not partial, and the generator adds the codec in another part; add the 'partial' modifier"
        },
        {
            """
            public class Holder
            {
                [PersistentValue]
                public partial struct [|Money|]
                {
                    public decimal Amount { get; set; }
                }
            }
            """,
            "'Holder.Money' cannot be a [PersistentValue] type: 'Holder' is not partial, and the generator adds the codec in another part; add the 'partial' modifier"
        },
        {
            """
            [PersistentValue]
            public partial struct [|Pair|]<T>
            {
                public T First { get; set; }
            }
            """,
            "'Pair<T>' cannot be a [PersistentValue] type: it is generic, and a value's codec is written for one closed type; declare a non-generic type"
        },
        {
            """
            [PersistentValue]
            public abstract partial record [|Shape|](int Sides);
            """,
            "'Shape' cannot be a [PersistentValue] type: it is abstract, and reading a value must create one; make it a concrete type"
        },
        {
            """
            [PersistentValue]
            public ref partial struct [|Span2|]
            {
                public int Length { get; set; }
            }
            """,
            "'Span2' cannot be a [PersistentValue] type: it is a ref struct, which cannot be stored in a field; make it an ordinary struct"
        },
        {
            """
            public class Base
            {
            }

            [PersistentValue]
            public partial class [|Derived|] : Base
            {
                public string? Name { get; set; }
            }
            """,
            "'Derived' cannot be a [PersistentValue] type: it derives from 'Base', and a value class must derive from object; copy the base's properties into it"
        },
        {
            """
            [PersistentValue]
            public partial class [|Node|]
            {
                public Node? Next { get; set; }
                public List<Node>? Children { get; set; }
            }
            """,
            "'Node' cannot be a [PersistentValue] type: it contains itself, directly or through other values, and a value is stored inline; hold the recursive part in a [Persistent] class"
        },
        {
            """
            [PersistentValue]
            public partial struct [|Empty|]
            {
                public int Computed => 1;
            }
            """,
            "'Empty' cannot be a [PersistentValue] type: it has no stored members (public instance properties with a getter, and a setter or a matching constructor parameter); add one"
        },
        {
            """
            [PersistentValue]
            public partial class [|Temperature|]
            {
                public Temperature(double celsius) => Kelvin = celsius + 273.15;
                public double Kelvin { get; set; }
            }
            """,
            "'Temperature' cannot be a [PersistentValue] type: no constructor can rebuild it from its stored members; add a constructor whose parameters match stored properties by name and type, or a parameterless one, and give every other stored property a setter or init accessor"
        },
    };

    [Theory]
    [MemberData(nameof(Unsupported))]
    public async Task Reports_what_is_wrong_and_what_to_do(string declarations, string message) =>
        await Expect.DiagnosticsAsync(Id, Sources.Wrap(declarations), message);

    [Fact]
    public async Task Accepts_structs_records_and_classes_the_generator_completes() =>
        await Expect.CleanAsync(Sources.Wrap("""
            [PersistentValue]
            public partial struct Point
            {
                public int X { get; set; }
                public int Y { get; set; }
            }

            [PersistentValue]
            public partial record struct Money(decimal Amount, string Currency);

            [PersistentValue]
            public partial record Address(string Street, int Zip)
            {
                public string? Note { get; init; }
            }

            [PersistentValue]
            public sealed partial class Range
            {
                public Range(int from, int to) { From = from; To = to; }
                public int From { get; }
                public int To { get; }
            }

            public partial class Outer
            {
                [PersistentValue]
                public partial record struct Inner(long Value);
            }
            """));

    [Fact]
    public async Task Fix_makes_the_value_and_its_containers_partial() =>
        await CodeFixTest.VerifyAsync(Id, "Make 'Money' partial",
            """
            using Persistence;

            namespace Shop;

            /// <summary>Types.</summary>
            public static class Types
            {
                /// <summary>An amount.</summary>
                [PersistentValue]
                public readonly record struct Money(decimal Amount, string Currency);
            }
            """,
            """
            using Persistence;

            namespace Shop;

            /// <summary>Types.</summary>
            public static partial class Types
            {
                /// <summary>An amount.</summary>
                [PersistentValue]
                public readonly partial record struct Money(decimal Amount, string Currency);
            }
            """);

    [Fact]
    public async Task Fix_is_offered_only_for_a_missing_partial() =>
        Assert.Empty(await CodeFixRunner.TitlesAsync(Id, [Sources.Wrap("""
            [PersistentValue]
            public partial struct Pair<T>
            {
                public T First { get; set; }
            }
            """)]));
}
