using Persistence.Analyzers.Tests.Infrastructure;

namespace Persistence.Analyzers.Tests;

/// <summary>PERSIST016: a class derives from a [Persistent] class without being [Persistent] itself.</summary>
public sealed class UnmarkedSubclassTests
{
    private const string Id = "PERSIST016";

    [Fact]
    public async Task Reports_each_class_below_a_persistent_class_without_the_attribute() =>
        await Expect.DiagnosticsAsync(Id, Sources.Wrap("""
            [Persistent]
            public partial class Person
            {
                public partial string Name { get; set; }
            }

            public class [|Guest|] : Person
            {
                public int Visits { get; set; }
            }

            public abstract class [|Member|] : Person { }

            public sealed class [|Gold|] : Member { }

            public class [|Box|]<T> : Person { }
            """),
            "'Guest' derives from the [Persistent] class 'Person' but is not [Persistent] itself, so its objects cannot be stored (a commit that reaches one fails); mark it [Persistent] and partial",
            "'Member' derives from the [Persistent] class 'Person' but is not [Persistent] itself, so its objects cannot be stored (a commit that reaches one fails); mark it [Persistent] and partial",
            "'Gold' derives from the [Persistent] class 'Person' but is not [Persistent] itself, so its objects cannot be stored (a commit that reaches one fails); mark it [Persistent] and partial",
            "'Box<T>' derives from the [Persistent] class 'Person' but is not [Persistent] itself, so its objects cannot be stored (a commit that reaches one fails); a generic class cannot be [Persistent]: derive a non-generic class");

    [Fact]
    public async Task Ignores_persistent_subclasses_and_classes_of_their_own() =>
        await Expect.CleanAsync(Sources.Wrap("""
            [Persistent]
            public partial class Person
            {
                public partial string Name { get; set; }
            }

            [Persistent]
            public partial class Guest : Person
            {
                public partial int Visits { get; set; }
            }

            public class Plain { }

            public class Derived : Plain { }
            """));

    [Fact]
    public async Task Leaves_a_base_the_generator_cannot_complete_to_its_own_error() =>
        await Expect.DiagnosticsAsync(Id, Sources.Wrap("""
            public class Entity { }

            [Persistent]
            public partial class Person : Entity
            {
                public partial string Name { get; set; }
            }

            public class Guest : Person { }
            """));
}
