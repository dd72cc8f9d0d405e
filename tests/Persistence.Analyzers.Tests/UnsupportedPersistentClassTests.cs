using Persistence.Analyzers.Tests.Infrastructure;

namespace Persistence.Analyzers.Tests;

/// <summary>PERSIST002: kinds of types the generator cannot make persistent; PERSIST013: [Persistent] and [PersistentValue] together.</summary>
public sealed class UnsupportedPersistentClassTests
{
    private const string Id = "PERSIST002";

    public static TheoryData<string, string> Unsupported => new()
    {
        {
            """
            [Persistent]
            public partial class [|Box|]<T>
            {
                public partial int Count { get; set; }
            }
            """,
            "'Box<T>' cannot be a [Persistent] class: it is generic, and a stored object is found again by the name of a closed class; declare a non-generic class, or hold the varying part in a persistent collection such as PersistentList<T>"
        },
        {
            """
            [Persistent]
            public partial record [|Customer|]
            {
                public partial string Name { get; set; }
            }
            """,
            "'Customer' cannot be a [Persistent] class: it is a record, and a persistent object has identity rather than value equality; declare a partial class, or use [PersistentValue] for a record stored inline"
        },
        {
            """
            [Persistent]
            public static partial class [|Settings|]
            {
            }
            """,
            "'Settings' cannot be a [Persistent] class: it is static, and persistent objects are instances; remove 'static'"
        },
        {
            """
            [Persistent]
            file partial class [|Hidden|]
            {
                public partial int Count { get; set; }
            }
            """,
            "'Hidden' cannot be a [Persistent] class: it is file-local, and the generated registration in another file must name it; make it internal or public"
        },
        {
            """
            public partial class Outer
            {
                [Persistent]
                private partial class [|Customer|]
                {
                    public partial string Name { get; set; }
                }
            }
            """,
            "'Outer.Customer' cannot be a [Persistent] class: it is private or protected (or nested in such a type), and the generated registration must reach it; make it internal or public"
        },
        {
            """
            public partial class Outer<T>
            {
                [Persistent]
                public partial class [|Customer|]
                {
                    public partial string Name { get; set; }
                }
            }
            """,
            "'Outer<T>.Customer' cannot be a [Persistent] class: it is nested in the generic type 'Outer<T>'; move it to the namespace or into a non-generic type"
        },
        {
            """
            [Persistent]
            public partial class [|Customer|](string name)
            {
                public partial string Name { get; set; }
                public string Original => name;
            }
            """,
            "'Customer' cannot be a [Persistent] class: it has a primary constructor, whose parameters loading a stored object cannot supply; declare partial properties and an ordinary constructor instead"
        },
        {
            """
            public class Entity { }

            [Persistent]
            public partial class [|Customer|] : Entity
            {
                public partial string Name { get; set; }
            }
            """,
            "'Customer' cannot be a [Persistent] class: it derives from 'Entity', which is not persistent; derive from object (the generator adds PersistentObject), from PersistentObject, or from a non-generic [Persistent] class"
        },
        {
            """
            [Persistent]
            public partial struct [|Point|]
            {
                public int X { get; set; }
            }
            """,
            "'Point' cannot be a [Persistent] class: it is a struct, and persistent objects are classes; declare a partial class, or use [PersistentValue] for a value stored inline"
        },
    };

    [Theory]
    [MemberData(nameof(Unsupported))]
    public async Task Reports_what_is_not_supported_and_what_is(string declarations, string message) =>
        await Expect.DiagnosticsAsync(Id, Sources.Wrap(declarations), message);

    [Fact]
    public async Task Reports_a_class_deriving_from_a_generic_persistent_class() =>
        await Expect.DiagnosticsAsync(Id, Sources.Wrap("""
            public abstract class Base<T> : PersistentObject { }

            [Persistent]
            public partial class [|Customer|] : Base<int>
            {
                public partial string Name { get; set; }
            }
            """),
            "'Customer' cannot be a [Persistent] class: it derives from 'Base<int>', which is not persistent; derive from object (the generator adds PersistentObject), from PersistentObject, or from a non-generic [Persistent] class");

    [Fact]
    public async Task Reports_a_type_that_is_both_persistent_and_a_value()
    {
        await Expect.DiagnosticsAsync("PERSIST013", Sources.Wrap("""
            [Persistent]
            [PersistentValue]
            public partial class [|Money|]
            {
                public partial decimal Amount { get; set; }
            }
            """),
            "'Money' is marked both [Persistent] and [PersistentValue]: keep [Persistent] for an object with identity stored in a record of its own, or [PersistentValue] for a value stored inline in the objects that hold it");
        await Expect.DiagnosticsAsync(Id, Sources.Wrap("""
            [Persistent]
            [PersistentValue]
            public partial class Money
            {
                public partial decimal Amount { get; set; }
            }
            """));
    }

    [Fact]
    public async Task Accepts_every_supported_kind_of_class() =>
        await Expect.CleanAsync(Sources.Wrap("""
            [Persistent]
            public abstract partial class Animal
            {
                public partial string Name { get; set; }
            }

            [Persistent]
            public sealed partial class Dog : Animal
            {
                public partial bool GoodBoy { get; set; }
            }

            [Persistent]
            internal partial class Note : PersistentObject
            {
                public partial string? Text { get; set; }
            }

            public static partial class Outer
            {
                [Persistent]
                internal partial class Inner
                {
                    public partial int Value { get; set; }
                }
            }
            """));
}
