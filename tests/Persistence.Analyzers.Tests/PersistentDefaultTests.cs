using Persistence.Analyzers.Tests.Infrastructure;

namespace Persistence.Analyzers.Tests;

/// <summary>PERSIST019: a [PersistentDefault] value the property's type does not hold, or the attribute on a property that is not stored.</summary>
public sealed class PersistentDefaultTests
{
    private const string Id = "PERSIST019";

    [Fact]
    public async Task Reports_values_the_property_s_type_does_not_hold() =>
        await Expect.DiagnosticsAsync(Id, Sources.Wrap("""
            public enum Tier { Basic, Silver }
            public enum Color { Red }

            [Persistent]
            public partial class Customer
            {
                [[|PersistentDefault(300)|]] public partial byte Level { get; set; }
                [[|PersistentDefault(null)|]] public partial string Country { get; set; }
                [[|PersistentDefault(null)|]] public partial int Count { get; set; }
                [[|PersistentDefault(1)|]] public partial Tier Tier { get; set; }
                [[|PersistentDefault(Color.Red)|]] public partial Tier? Upgrade { get; set; }
                [[|PersistentDefault("5")|]] public partial int Orders { get; set; }
                [[|PersistentDefault(1.1)|]] public partial float Ratio { get; set; }
                [[|PersistentDefault(1.5)|]] public partial int Whole { get; set; }
                [[|PersistentDefault(-1)|]] public partial uint Positive { get; set; }
                [[|PersistentDefault(16777217)|]] public partial float Large { get; set; }
                [[|PersistentDefault('x')|]] public partial string Letter { get; set; }
                [[|PersistentDefault(typeof(int))|]] public partial string? Kind { get; set; }
                [[|PersistentDefault(0)|]] public partial DateTime Since { get; set; }
                [[|PersistentDefault(null)|]] public partial List<int> Scores { get; set; }
            }

            [PersistentValue]
            public partial record struct Money(decimal Amount, [property: [|PersistentDefault(300)|]] byte Level)
            {
                [[|PersistentDefault(null)|]] public string Currency { get; init; }
            }
            """),
            "[PersistentDefault] cannot give 'Customer.Level' a default: 300 is not a value of its type 'byte' (give a constant that type holds exactly: a string, bool, char, number or value of the enum)",
            "[PersistentDefault] cannot give 'Customer.Country' a default: null is not a value of its type 'string', which nullable annotations say is never null",
            "[PersistentDefault] cannot give 'Customer.Count' a default: null is not a value of its type 'int', which is not nullable",
            "[PersistentDefault] cannot give 'Customer.Tier' a default: 1 is not a value of its type 'Tier' (give a constant that type holds exactly: a string, bool, char, number or value of the enum)",
            "[PersistentDefault] cannot give 'Customer.Upgrade' a default: Shop.Color.Red is not a value of its type 'Tier?' (give a constant that type holds exactly: a string, bool, char, number or value of the enum)",
            "[PersistentDefault] cannot give 'Customer.Orders' a default: \"5\" is not a value of its type 'int' (give a constant that type holds exactly: a string, bool, char, number or value of the enum)",
            "[PersistentDefault] cannot give 'Customer.Ratio' a default: 1.1 is not a value of its type 'float' (give a constant that type holds exactly: a string, bool, char, number or value of the enum)",
            "[PersistentDefault] cannot give 'Customer.Whole' a default: 1.5 is not a value of its type 'int' (give a constant that type holds exactly: a string, bool, char, number or value of the enum)",
            "[PersistentDefault] cannot give 'Customer.Positive' a default: -1 is not a value of its type 'uint' (give a constant that type holds exactly: a string, bool, char, number or value of the enum)",
            "[PersistentDefault] cannot give 'Customer.Large' a default: 16777217 is not a value of its type 'float' (give a constant that type holds exactly: a string, bool, char, number or value of the enum)",
            "[PersistentDefault] cannot give 'Customer.Letter' a default: 'x' is not a value of its type 'string' (give a constant that type holds exactly: a string, bool, char, number or value of the enum)",
            "[PersistentDefault] cannot give 'Customer.Kind' a default: typeof(int) is not a value of its type 'string' (give a constant that type holds exactly: a string, bool, char, number or value of the enum)",
            "[PersistentDefault] cannot give 'Customer.Since' a default: 0 is not a value of its type 'DateTime' (give a constant that type holds exactly: a string, bool, char, number or value of the enum)",
            "[PersistentDefault] cannot give 'Customer.Scores' a default: null is not a value of its type 'List<int>', which nullable annotations say is never null",
            "[PersistentDefault] cannot give 'Money.Level' a default: 300 is not a value of its type 'byte' (give a constant that type holds exactly: a string, bool, char, number or value of the enum)",
            "[PersistentDefault] cannot give 'Money.Currency' a default: null is not a value of its type 'string', which nullable annotations say is never null");

    [Fact]
    public async Task Reports_the_attribute_on_properties_that_are_not_stored() =>
        await Expect.DiagnosticsAsync(Id, Sources.Wrap("""
            [Persistent]
            public partial class Customer
            {
                [Transient, [|PersistentDefault(5)|]] public partial int Views { get; set; }
                [[|PersistentDefault(5)|]] public int Plain { get; set; }
                [[|PersistentDefault("x")|]] public partial string Written { get; set; }
                public partial string Written { get => ""; set { } }
            }

            [PersistentValue]
            public partial record struct Money(decimal Amount)
            {
                [[|PersistentDefault("NZD")|]] private string Currency { get; set; }
                [Transient, [|PersistentDefault(1)|]] public int Cents { get; set; }
            }

            public class Plain
            {
                [[|PersistentDefault(1)|]] public int Value { get; set; }
            }
            """),
            "[PersistentDefault] cannot give 'Customer.Views' a default: it is [Transient], so it is not stored",
            "[PersistentDefault] cannot give 'Customer.Plain' a default: it is not a partial property the generator implements, so it is not stored",
            "[PersistentDefault] cannot give 'Customer.Written' a default: it is not a partial property the generator implements, so it is not stored",
            "[PersistentDefault] cannot give 'Money.Currency' a default: it is not a stored member of 'Money' (a public property with a getter that a setter, an init accessor or a constructor parameter of its name sets)",
            "[PersistentDefault] cannot give 'Money.Cents' a default: it is [Transient], so it is not stored",
            "[PersistentDefault] cannot give 'Plain.Value' a default: 'Plain' is neither a [Persistent] class nor a [PersistentValue] type, so its properties are not stored");

    [Fact]
    public async Task Accepts_values_the_property_s_type_holds() =>
        await Expect.CleanAsync(Sources.Wrap("""
            public enum Tier : byte { Basic, Silver }

            [Persistent]
            public partial class Customer
            {
                [PersistentDefault("unknown")] public partial string Country { get; set; }
                [PersistentDefault(null)] public partial string? Nickname { get; set; }
                [PersistentDefault(200)] public partial byte Level { get; set; }
                [PersistentDefault(-1)] public partial long Balance { get; set; }
                [PersistentDefault(7)] public partial int? Limit { get; set; }
                [PersistentDefault(null)] public partial int? Unset { get; set; }
                [PersistentDefault(2)] public partial double Weight { get; set; }
                [PersistentDefault(1.5)] public partial float Ratio { get; set; }
                [PersistentDefault(0.1)] public partial decimal Rate { get; set; }
                [PersistentDefault(true)] public partial bool Active { get; set; }
                [PersistentDefault('x')] public partial char Mark { get; set; }
                [PersistentDefault(Tier.Silver)] public partial Tier Tier { get; set; }
                [PersistentDefault(Tier.Silver)] public partial Tier? Upgrade { get; set; }
            }

            [PersistentValue]
            public partial record struct Money(decimal Amount, [property: PersistentDefault("NZD")] string Currency)
            {
                [PersistentDefault(Tier.Silver)] public Tier Tier { get; init; }
            }
            """));

    [Fact]
    public async Task Accepts_null_for_a_string_without_nullable_annotations() =>
        await Expect.CleanAsync(Sources.Wrap("""
            #nullable disable
            [Persistent]
            public partial class Customer
            {
                [PersistentDefault(null)] public partial string Country { get; set; }
            }
            """));
}
