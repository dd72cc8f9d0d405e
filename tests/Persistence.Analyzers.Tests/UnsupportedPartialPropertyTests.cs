using Persistence.Analyzers.Tests.Infrastructure;

namespace Persistence.Analyzers.Tests;

/// <summary>PERSIST014: a partial property of a persistent class that the generator cannot implement.</summary>
public sealed class UnsupportedPartialPropertyTests
{
    private const string Id = "PERSIST014";

    public static TheoryData<string, string> Unsupported => new()
    {
        { "public static partial int [|Count|] { get; set; }", "The generator cannot implement the partial property 'Customer.Count': it is static, and only instance properties are stored; make it an ordinary static property" },
        { "public partial string [|Activate|] { get; set; }", "The generator cannot implement the partial property 'Customer.Activate': 'Activate' is a member of PersistentObject, the base of every persistent class; rename the property" },
        { "public partial long [|PersistentSerial|] { get; set; }", "The generator cannot implement the partial property 'Customer.PersistentSerial': 'PersistentSerial' is a member of PersistentObject, the base of every persistent class; rename the property" },
        { "public partial ref int [|Slot|] { get; }", "The generator cannot implement the partial property 'Customer.Slot': it returns by reference, which would let its value change unnoticed; return by value" },
        { "public partial int [|this|][int index] { get; set; }", "The generator cannot implement the partial property 'Customer.this[]': indexers cannot be stored; use a stored collection property instead" },
    };

    [Theory]
    [MemberData(nameof(Unsupported))]
    public async Task Reports_why_the_property_cannot_be_implemented(string property, string message) =>
        await Expect.DiagnosticsAsync(Id, Sources.Wrap($$"""
            [Persistent]
            public partial class Customer
            {
                public partial string Name { get; set; }
                {{property}}
            }
            """),
            message);

    [Fact]
    public async Task Reports_a_property_that_hides_a_base_class_property() =>
        await Expect.DiagnosticsAsync(Id, Sources.Wrap("""
            [Persistent]
            public partial class Person
            {
                public partial string Name { get; set; }
            }

            [Persistent]
            public partial class Customer : Person
            {
                public new partial string [|Name|] { get; set; }
            }
            """),
            "The generator cannot implement the partial property 'Customer.Name': it would hide 'Person.Name' of a base class; rename the property");

    [Fact]
    public async Task Accepts_the_shapes_the_generator_implements() =>
        await Expect.CleanAsync(Sources.Wrap("""
            [Persistent]
            public partial class Account
            {
                public partial string Name { get; set; }
                public partial int Opened { get; init; }
                public partial long Balance { get; private set; }
                internal partial string? Notes { get; set; }
                public required partial string Owner { get; set; }
                public virtual partial int Level { get; protected set; }

                public void Deposit(long amount) => Balance += amount;
            }

            [Persistent]
            public partial class Savings : Account
            {
                public partial double Rate { get; set; }
            }
            """));

    [Fact]
    public async Task Ignores_a_partial_property_the_user_implemented() =>
        await Expect.CleanAsync(Sources.Wrap("""
            [Persistent]
            public partial class Customer
            {
                public partial string First { get; set; }
                public partial string Last { get; set; }
                public partial string FullName { get; }
                public partial string FullName => First + " " + Last;
            }
            """));
}
