using Persistence.Analyzers.Tests.Infrastructure;

namespace Persistence.Analyzers.Tests;

/// <summary>PERSIST018: a persistent property with an initializer (CS8050); the fix moves the value into the constructors.</summary>
public sealed class PropertyInitializerTests
{
    private const string Id = "PERSIST018";

    [Fact]
    public async Task Reports_the_initializer_of_each_persistent_property_that_has_one()
    {
        var diagnostic = (await Expect.DiagnosticsAsync(Id, Sources.Wrap("""
            [Persistent]
            public partial class Customer
            {
                public partial string Name { get; set; } [|= "Unnamed"|];
                public partial List<string>? Tags { get; init; } [|= new()|];
                public partial int Visits { get; set; }
            }
            """),
            "'Customer.Name' has an initializer, which a persistent property cannot have (the compiler reports CS8050: the generator implements the property, and only auto-properties take initializers); set the value in the constructor instead, 'Name = \"Unnamed\";', which runs for new objects only, never for objects loaded from the database",
            "'Customer.Tags' has an initializer, which a persistent property cannot have (the compiler reports CS8050: the generator implements the property, and only auto-properties take initializers); set the value in the constructor instead, 'Tags = new();', which runs for new objects only, never for objects loaded from the database"))[0];
        Assert.Equal(Microsoft.CodeAnalysis.DiagnosticSeverity.Error, diagnostic.Severity);
    }

    [Fact]
    public async Task Leaves_initializers_of_auto_properties_and_of_classes_that_are_not_persistent_alone() =>
        await Expect.DiagnosticsAsync(Id, Sources.Wrap("""
            [Persistent]
            public partial class Customer
            {
                public partial string Name { get; set; }

                [Transient]
                public int Views { get; set; } = 3;
            }

            public class Plain
            {
                public string Name { get; set; } = "plain";
            }
            """));

    [Fact]
    public async Task Fix_moves_the_initial_value_into_a_new_constructor() =>
        await CodeFixTest.VerifyAsync(Id, "Move the initial value of 'Name' into the constructor",
            """
            using Persistence;

            namespace Shop;

            /// <summary>A customer.</summary>
            [Persistent]
            public partial class Customer
            {
                /// <summary>The name.</summary>
                public partial string Name { get; set; } = "Unnamed";

                /// <summary>The visits.</summary>
                public partial int Visits { get; set; }
            }
            """,
            """
            using Persistence;

            namespace Shop;

            /// <summary>A customer.</summary>
            [Persistent]
            public partial class Customer
            {
                /// <summary>The name.</summary>
                public partial string Name { get; set; }

                public Customer()
                {
                    Name = "Unnamed";
                }

                /// <summary>The visits.</summary>
                public partial int Visits { get; set; }
            }
            """);

    [Fact]
    public async Task Fix_assigns_a_get_only_property_in_each_constructor_through_a_private_setter() =>
        await CodeFixTest.VerifyAsync(Id, "Move the initial value of 'Status' into the constructor",
            """
            using Persistence;

            namespace Shop;

            /// <summary>An order.</summary>
            [Persistent]
            public partial class Order
            {
                /// <summary>The status of an order not yet handled.</summary>
                public const string Open = "open";

                /// <summary>An order with a number.</summary>
                public Order(int number) => Number = number;

                /// <summary>An order for the tests.</summary>
                public Order() : this(1) { }

                /// <summary>Its number.</summary>
                public partial int Number { get; set; }

                /// <summary>Where it stands.</summary>
                public partial string Status { get; } = Open;
            }
            """,
            """
            using Persistence;

            namespace Shop;

            /// <summary>An order.</summary>
            [Persistent]
            public partial class Order
            {
                /// <summary>The status of an order not yet handled.</summary>
                public const string Open = "open";

                /// <summary>An order with a number.</summary>
                public Order(int number)
                {
                    Status = Open;
                    Number = number;
                }

                /// <summary>An order for the tests.</summary>
                public Order() : this(1) { }

                /// <summary>Its number.</summary>
                public partial int Number { get; set; }

                /// <summary>Where it stands.</summary>
                public partial string Status { get; private set; }
            }
            """);
}
