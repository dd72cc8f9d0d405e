using Persistence.Analyzers.Tests.Infrastructure;

namespace Persistence.Analyzers.Tests;

/// <summary>PERSIST015: a Persistence attribute where it does nothing.</summary>
public sealed class AttributeHasNoEffectTests
{
    private const string Id = "PERSIST015";

    [Fact]
    public async Task Reports_attributes_that_do_nothing() =>
        await Expect.DiagnosticsAsync(Id, Sources.Wrap("""
            [[|PersistentAlias("Shop.OldMoney")|]]
            [PersistentValue]
            public partial record struct Money(decimal Amount);

            [Persistent]
            [[|PersistentAlias("")|]]
            public partial class Customer
            {
                public partial string Name { get; set; }

                [[|Transient|]]
                public static int Count { get; set; }
            }

            public class Plain
            {
                [[|Persistence.TransientAttribute|]]
                public int Value { get; set; }
            }
            """),
            "[PersistentAlias] has no effect here: 'Money' is not a [Persistent] class, and only persistent classes are found by stored name",
            "[PersistentAlias] has no effect here: an empty name is no former name; give the class's former full name",
            "[Transient] has no effect here: 'Count' is static, and static members are never stored",
            "[Transient] has no effect here: 'Plain' is neither [Persistent] nor [PersistentValue], so none of its members is stored");

    [Fact]
    public async Task Reports_property_aliases_that_do_nothing() =>
        await Expect.DiagnosticsAsync(Id, Sources.Wrap("""
            [PersistentValue]
            public partial record struct Money([property: PersistentAlias("Cost")] decimal Amount)
            {
                public decimal Total { get; init; }

                [[|PersistentAlias("Total")|]]
                public decimal Sum { get; init; }

                [[|PersistentAlias("Cost")|]]
                public decimal Value { get; init; }

                [[|PersistentAlias("Old")|]]
                private int Hidden { get; set; }
            }

            public class Plain
            {
                [[|PersistentAlias("Old")|]]
                public int Value { get; set; }
            }

            [Persistent]
            public partial class Person
            {
                public partial string Name { get; set; }
                [PersistentAlias("Handle")] public partial string? Nick { get; set; }
            }

            [Persistent]
            public partial class Customer : Person
            {
                [[|PersistentAlias("Name")|]] public partial string FullName { get; set; }
                [[|PersistentAlias("Handle")|]] public partial string? Nickname { get; set; }
                [[|PersistentAlias("Email")|]] public partial string Email { get; set; }
                [[|PersistentAlias(" ")|]] public partial int Orders { get; set; }
                [Transient, [|PersistentAlias("Clicks")|]] public partial int Views { get; set; }
                [[|PersistentAlias("Total")|]] public static int Count { get; set; }
            }
            """),
            "[PersistentAlias] has no effect here: 'Total' is the name of the stored property 'Money.Total', which reads the stored field of that name (rename that property first, giving it its own [PersistentAlias])",
            "[PersistentAlias] has no effect here: 'Money.Amount' already reads the stored field 'Cost' as its former name",
            "[PersistentAlias] has no effect here: 'Hidden' is not stored (static, [Transient], or not a stored member of the value)",
            "[PersistentAlias] has no effect here: 'Plain' is neither a [Persistent] class nor a [PersistentValue] type, so its properties are not stored",
            "[PersistentAlias] has no effect here: 'Name' is the name of the stored property 'Person.Name', which reads the stored field of that name (rename that property first, giving it its own [PersistentAlias])",
            "[PersistentAlias] has no effect here: 'Person.Nick' already reads the stored field 'Handle' as its former name",
            "[PersistentAlias] has no effect here: 'Email' is the property's own name; give the name it had before it was renamed",
            "[PersistentAlias] has no effect here: an empty name is no former name; give the name the property had",
            "[PersistentAlias] has no effect here: 'Views' is not stored (static, [Transient], or not a partial property the generator implements)",
            "[PersistentAlias] has no effect here: 'Count' is not stored (static, [Transient], or not a partial property the generator implements)");

    [Fact]
    public async Task Accepts_attributes_where_they_act() =>
        await Expect.CleanAsync(Sources.Wrap("""
            [Persistent]
            [PersistentAlias("Shop.Client")]
            public partial class Customer
            {
                [PersistentAlias("FullName"), PersistentAlias("Views")]
                public partial string Name { get; set; }

                [Transient]
                public partial int Views { get; set; }

                [Transient]
                private int _clicks;

                public int Click() => ++_clicks;
            }

            [PersistentValue]
            public partial record Address([property: PersistentAlias("Road")] string Street)
            {
                [PersistentAlias("Town")]
                public string City { get; init; } = "";

                [Transient]
                public string? Display { get; set; }
            }
            """));
}
