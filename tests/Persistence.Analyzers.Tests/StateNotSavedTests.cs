using Persistence.Analyzers.Tests.Infrastructure;

namespace Persistence.Analyzers.Tests;

/// <summary>PERSIST005: fields and auto-properties of a persistent class are not saved; the fixes make them stored, or [Transient].</summary>
public sealed class StateNotSavedTests
{
    private const string Id = "PERSIST005";

    [Fact]
    public async Task Reports_fields_and_auto_properties()
    {
        var diagnostic = (await Expect.DiagnosticsAsync(Id, Sources.Wrap("""
            [Persistent]
            public partial class Customer
            {
                private int [|_visits|];
                private readonly List<string> [|_log|] = new();
                public string [|Nickname|] { get; set; } = "";
                public int [|Level|] { get; private set; }
                public partial string Name { get; set; }
            }
            """),
            "The field '_visits' of the persistent class 'Customer' holds state that is not saved: make it a partial property, or mark it [Transient] if it is meant to be lost when the object is reloaded",
            "The field '_log' of the persistent class 'Customer' holds state that is not saved: make it a partial property, or mark it [Transient] if it is meant to be lost when the object is reloaded",
            "The property 'Nickname' of the persistent class 'Customer' holds state that is not saved: make it a partial property, or mark it [Transient] if it is meant to be lost when the object is reloaded",
            "The property 'Level' of the persistent class 'Customer' holds state that is not saved: make it a partial property, or mark it [Transient] if it is meant to be lost when the object is reloaded"))[0];
        Assert.Equal(Microsoft.CodeAnalysis.DiagnosticSeverity.Warning, diagnostic.Severity);
    }

    [Fact]
    public async Task Reports_a_user_implemented_partial_property_with_a_backing_field() =>
        await Expect.DiagnosticsAsync(Id, Sources.Wrap("""
            [Persistent]
            public partial class Customer
            {
                public partial string Name { get; set; }
                public partial string [|Email|] { get; set; }
                public partial string Email { get => field; set => field = value.Trim(); }
            }
            """),
            TestCompiler.ParseOptions.WithLanguageVersion(Microsoft.CodeAnalysis.CSharp.LanguageVersion.Preview),
            options: null);

    [Fact]
    public async Task A_persistent_record_gets_PERSIST002_alone_not_one_PERSIST005_per_positional_property()
    {
        const string markup = """
            [Persistent]
            public partial record [|Point|](int X, int Y)
            {
                public string Label { get; set; } = "";
            }
            """;
        // The record itself is refused (declare a partial class instead): its members are not reported one by one.
        await Expect.DiagnosticsAsync("PERSIST002", Sources.Wrap(markup));
        await Expect.DiagnosticsAsync(Id, Sources.Wrap(markup.Replace("[|", "").Replace("|]", "")));
    }

    [Fact]
    public async Task Accepts_transient_members_constants_statics_and_computed_properties() =>
        await Expect.CleanAsync(Sources.Wrap("""
            [Persistent]
            public partial class Customer
            {
                private const int Limit = 3;
                private static int s_created = 1;

                [Transient]
                private readonly object _gate = new();

                [Transient]
                public int Views { get; set; }

                public partial string Name { get; set; }
                public partial int Orders { get; set; }
                public bool IsRegular => Orders > Limit;
                public int Created => s_created;
                public event EventHandler? Renamed;

                public void Touch() { lock (_gate) Views++; Renamed?.Invoke(this, EventArgs.Empty); }
            }

            public class NotPersistent
            {
                private int _count;
                public string Name { get; set; } = "";
                public int Next() => ++_count;
            }
            """));

    [Fact]
    public async Task Fix_makes_an_auto_property_partial_and_moves_its_initial_value_to_a_new_constructor() =>
        await CodeFixTest.VerifyAsync(Id, "Make 'Nickname' a partial property",
            """
            using Persistence;

            namespace Shop;

            /// <summary>A customer.</summary>
            [Persistent]
            public partial class Customer
            {
                /// <summary>What friends call them.</summary>
                public string Nickname { get; set; } = "none";

                /// <summary>The name.</summary>
                public partial string Name { get; set; }
            }
            """,
            """
            using Persistence;

            namespace Shop;

            /// <summary>A customer.</summary>
            [Persistent]
            public partial class Customer
            {
                /// <summary>What friends call them.</summary>
                public partial string Nickname { get; set; }

                public Customer()
                {
                    Nickname = "none";
                }

                /// <summary>The name.</summary>
                public partial string Name { get; set; }
            }
            """);

    [Fact]
    public async Task Fix_makes_a_get_only_property_partial_with_a_private_setter_and_assigns_it_in_each_constructor() =>
        await CodeFixTest.VerifyAsync(Id, "Make 'Level' a partial property",
            """
            using Persistence;

            namespace Shop;

            /// <summary>A customer.</summary>
            [Persistent]
            public partial class Customer
            {
                /// <summary>Creates one.</summary>
                public Customer(string name) => Name = name;

                /// <summary>Creates one for the tests.</summary>
                public Customer()
                {
                    Name = "test";
                }

                /// <summary>Creates one with a level.</summary>
                public Customer(string name, int level) : this(name) { }

                /// <summary>The level.</summary>
                public int Level { get; } = 1;

                /// <summary>The name.</summary>
                public partial string Name { get; set; }
            }
            """,
            """
            using Persistence;

            namespace Shop;

            /// <summary>A customer.</summary>
            [Persistent]
            public partial class Customer
            {
                /// <summary>Creates one.</summary>
                public Customer(string name)
                {
                    Level = 1;
                    Name = name;
                }

                /// <summary>Creates one for the tests.</summary>
                public Customer()
                {
                    Level = 1;
                    Name = "test";
                }

                /// <summary>Creates one with a level.</summary>
                public Customer(string name, int level) : this(name) { }

                /// <summary>The level.</summary>
                public partial int Level { get; private set; }

                /// <summary>The name.</summary>
                public partial string Name { get; set; }
            }
            """);

    [Fact]
    public async Task Fix_converts_a_field_to_a_partial_property_of_the_same_name() =>
        await CodeFixTest.VerifyAsync(Id, "Convert '_visits' to a partial property",
            """
            using Persistence;

            namespace Shop;

            /// <summary>A customer.</summary>
            [Persistent]
            public partial class Customer
            {
                private int _visits;

                /// <summary>Counts a visit.</summary>
                public int Visit() => ++_visits;
            }
            """,
            """
            using Persistence;

            namespace Shop;

            /// <summary>A customer.</summary>
            [Persistent]
            public partial class Customer
            {
                private partial int _visits { get; set; }

                /// <summary>Counts a visit.</summary>
                public int Visit() => ++_visits;
            }
            """);

    [Fact]
    public async Task Fix_marks_a_member_transient() =>
        await CodeFixTest.VerifyAsync(Id, "Mark 'Views' [Transient]",
            """
            using Persistence;

            namespace Shop;

            /// <summary>A customer.</summary>
            [Persistent]
            public partial class Customer
            {
                /// <summary>Views since loaded.</summary>
                public int Views { get; set; }
            }
            """,
            """
            using Persistence;

            namespace Shop;

            /// <summary>A customer.</summary>
            [Persistent]
            public partial class Customer
            {
                /// <summary>Views since loaded.</summary>
                [Transient]
                public int Views { get; set; }
            }
            """);

    [Fact]
    public async Task Fix_writes_the_full_attribute_name_where_the_namespace_is_not_imported() =>
        await CodeFixTest.VerifyAsync(Id, "Mark '_cache' [Transient]",
            """
            namespace Shop;

            /// <summary>A customer.</summary>
            [Persistence.Persistent]
            public partial class Customer
            {
                private string? _cache;

                /// <summary>The name.</summary>
                public partial string Name { get; set; }

                /// <summary>The name, shouted.</summary>
                public string Loud => _cache ??= Name.ToUpperInvariant();
            }
            """,
            """
            namespace Shop;

            /// <summary>A customer.</summary>
            [Persistence.Persistent]
            public partial class Customer
            {
                [Persistence.Transient]
                private string? _cache;

                /// <summary>The name.</summary>
                public partial string Name { get; set; }

                /// <summary>The name, shouted.</summary>
                public string Loud => _cache ??= Name.ToUpperInvariant();
            }
            """);

    [Fact]
    public async Task Only_transient_is_offered_for_a_member_whose_type_cannot_be_stored() =>
        Assert.Equal(
            ["Mark '_gate' [Transient]"],
            await CodeFixRunner.TitlesAsync(Id, [Sources.Wrap("""
                [Persistent]
                public partial class Customer
                {
                    private readonly object _gate = new();
                }
                """)]));
}
