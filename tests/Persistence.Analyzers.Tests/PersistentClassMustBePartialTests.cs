using Persistence.Analyzers.Tests.Infrastructure;

namespace Persistence.Analyzers.Tests;

/// <summary>PERSIST001: a [Persistent] class and the types containing it must be partial; the fix adds 'partial'.</summary>
public sealed class PersistentClassMustBePartialTests
{
    private const string Id = "PERSIST001";

    [Fact]
    public async Task Reports_a_persistent_class_that_is_not_partial()
    {
        var diagnostic = Assert.Single(await Expect.DiagnosticsAsync(Id, """
            using Persistence;

            namespace Shop;

            [Persistent]
            public class [|Customer|]
            {
            }
            """,
            "'Customer' is not partial: add the 'partial' modifier so the source generator can complete the [Persistent] class 'Customer'"));
        Assert.Equal(Microsoft.CodeAnalysis.DiagnosticSeverity.Error, diagnostic.Severity);
    }

    [Fact]
    public async Task Reports_each_containing_type_that_is_not_partial()
    {
        await Expect.DiagnosticsAsync(Id, """
            using Persistence;

            namespace Shop;

            public class [|Catalog|]
            {
                public partial class Section
                {
                    [Persistent]
                    public partial class Item
                    {
                    }
                }
            }
            """,
            "'Catalog' is not partial: add the 'partial' modifier so the source generator can complete the [Persistent] class 'Catalog.Section.Item'");
    }

    [Fact]
    public async Task Reports_the_class_and_its_container_when_neither_is_partial()
    {
        await Expect.DiagnosticsAsync(Id, """
            namespace Shop;

            public class [|Catalog|]
            {
                [Persistence.Persistent]
                public class [|Item|]
                {
                }
            }
            """);
    }

    [Fact]
    public async Task Reports_every_declaration_of_a_class_split_over_parts_that_lacks_partial()
    {
        await Expect.DiagnosticsAsync(Id, """
            using Persistence;

            namespace Shop;

            [Persistent]
            public partial class Customer
            {
                public partial string Name { get; set; }
            }

            public class [|Customer|]
            {
            }
            """);
    }

    [Fact]
    public async Task Accepts_a_partial_persistent_class_in_partial_containers() =>
        await Expect.CleanAsync("""
            using Persistence;

            namespace Shop;

            public static partial class Catalog
            {
                [Persistent]
                public partial class Item
                {
                    public partial string Title { get; set; }
                }
            }
            """);

    [Fact]
    public async Task Ignores_classes_that_are_not_persistent() =>
        await Expect.CleanAsync("""
            namespace Shop;

            public class Catalog
            {
                public class Item
                {
                }
            }
            """);

    [Fact]
    public async Task Fix_adds_partial_to_the_class() =>
        await CodeFixTest.VerifyAsync(Id, "Make 'Customer' partial",
            """
            using Persistence;

            namespace Shop;

            /// <summary>A customer.</summary>
            [Persistent]
            public sealed class Customer
            {
                /// <summary>The name.</summary>
                public partial string Name { get; set; }
            }
            """,
            """
            using Persistence;

            namespace Shop;

            /// <summary>A customer.</summary>
            [Persistent]
            public sealed partial class Customer
            {
                /// <summary>The name.</summary>
                public partial string Name { get; set; }
            }
            """);

    [Fact]
    public async Task Fix_adds_partial_to_a_container_without_modifiers()
    {
        var before = """
            using Persistence;

            namespace Shop;

            /// <summary>The catalog.</summary>
            static class Catalog
            {
                /// <summary>An item.</summary>
                [Persistent]
                public partial class Item
                {
                    /// <summary>The title.</summary>
                    public partial string Title { get; set; }
                }
            }
            """;
        var after = before.Replace("static class Catalog", "static partial class Catalog", StringComparison.Ordinal);
        await CodeFixTest.VerifyAsync(Id, "Make 'Catalog' partial", before, after);

        var noModifiers = before.Replace("static class Catalog", "class Catalog", StringComparison.Ordinal);
        await CodeFixTest.VerifyAsync(Id, "Make 'Catalog' partial", noModifiers, noModifiers.Replace("class Catalog", "partial class Catalog", StringComparison.Ordinal));
    }
}
