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
    public async Task Accepts_attributes_where_they_act() =>
        await Expect.CleanAsync(Sources.Wrap("""
            [Persistent]
            [PersistentAlias("Shop.Client")]
            public partial class Customer
            {
                public partial string Name { get; set; }

                [Transient]
                public partial int Views { get; set; }

                [Transient]
                private int _clicks;

                public int Click() => ++_clicks;
            }

            [PersistentValue]
            public partial record Address(string Street)
            {
                [Transient]
                public string? Display { get; set; }
            }
            """));
}
