using Persistence.Generators.Tests.Infrastructure;

namespace Persistence.Generators.Tests;

/// <summary>
/// Declarations the generator cannot complete get nothing at all (the build then fails on the
/// unimplemented partial members, and the analyzers say why); the generator itself never reports diagnostics.
/// </summary>
public sealed class InvalidInputTests
{
    public static TheoryData<string, string> InvalidClasses => new()
    {
        {
            "class not partial",
            """
            [Persistent]
            public class Customer
            {
                public string Name { get; set; } = "";
            }
            """
        },
        {
            "containing class not partial",
            """
            public class Outer
            {
                [Persistent]
                public partial class Customer
                {
                    public partial string Name { get; set; }
                }
            }
            """
        },
        {
            "property of a type that cannot be stored",
            """
            [Persistent]
            public partial class Customer
            {
                public partial string Name { get; set; }
                public partial object Tag { get; set; }
            }
            """
        },
        {
            "persistent references inside a value list",
            """
            [Persistent]
            public partial class Customer
            {
                public partial List<Customer> Friends { get; set; }
            }
            """
        },
        {
            "interface collection",
            """
            [Persistent]
            public partial class Customer
            {
                public partial IList<int> Scores { get; set; }
            }
            """
        },
        {
            "generic class",
            """
            [Persistent]
            public partial class Customer<T>
            {
                public partial int Count { get; set; }
            }
            """
        },
        {
            "record",
            """
            [Persistent]
            public partial record Customer
            {
                public partial string Name { get; set; }
            }
            """
        },
        {
            "primary constructor",
            """
            [Persistent]
            public partial class Customer(string name)
            {
                public partial string Name { get; set; }
                public string Original => name;
            }
            """
        },
        {
            "base class not persistent",
            """
            public class Entity { }

            [Persistent]
            public partial class Customer : Entity
            {
                public partial string Name { get; set; }
            }
            """
        },
        {
            "private nested class the registration cannot reach",
            """
            public partial class Outer
            {
                [Persistent]
                private partial class Customer
                {
                    public partial string Name { get; set; }
                }
            }
            """
        },
        {
            "static partial property",
            """
            [Persistent]
            public partial class Customer
            {
                public static partial int Count { get; set; }
            }
            """
        },
        {
            "property named like a PersistentObject member",
            """
            [Persistent]
            public partial class Customer
            {
                public partial string Activate { get; set; }
            }
            """
        },
        {
            "property that hides a base class property",
            """
            [Persistent]
            public partial class Person
            {
                public partial string Name { get; set; }
            }

            [Persistent]
            public partial class Customer : Person
            {
                public new partial string Name { get; set; }
            }
            """
        },
        {
            "value type holding a persistent reference",
            """
            [PersistentValue]
            public partial struct Line
            {
                public Customer? Who { get; set; }
            }

            [Persistent]
            public partial class Customer
            {
                public partial Line Line { get; set; }
            }
            """
        },
        {
            "value type not partial",
            """
            [PersistentValue]
            public struct Money
            {
                public decimal Amount { get; set; }
            }

            [Persistent]
            public partial class Customer
            {
                public partial Money Price { get; set; }
            }
            """
        },
        {
            "value class that contains itself",
            """
            [PersistentValue]
            public partial class Node
            {
                public Node? Next { get; set; }
            }

            [Persistent]
            public partial class Customer
            {
                public partial Node Head { get; set; }
            }
            """
        },
    };

    [Theory]
    [MemberData(nameof(InvalidClasses))]
    public void Generator_emits_nothing_for_an_invalid_persistent_class(string description, string declarations)
    {
        var (result, _) = TestCompiler.Run(TestCompiler.CreateCompilation(Wrap(declarations)));

        Assert.Null(result.Exception);
        Assert.Empty(result.Diagnostics);
        var mentions = result.GeneratedSources
            .Where(s => s.HintName.StartsWith("Shop.", StringComparison.Ordinal) && s.HintName.Contains("Customer", StringComparison.Ordinal) ||
                        s.SourceText.ToString().Contains("global::Shop.Customer.__PersistentTypeInfo", StringComparison.Ordinal) ||
                        s.SourceText.ToString().Contains("global::Shop.Outer.Customer.__PersistentTypeInfo", StringComparison.Ordinal))
            .Select(s => s.HintName)
            .ToList();
        Assert.True(mentions.Count == 0, $"{description}: generated {string.Join(", ", mentions)}");
    }

    [Fact]
    public void Unsupported_property_type_leaves_the_partial_properties_unimplemented()
    {
        var (result, output) = TestCompiler.Run(TestCompiler.CreateCompilation(Wrap("""
            [Persistent]
            public partial class Customer
            {
                public partial string Name { get; set; }
                public partial object Tag { get; set; }
            }
            """)));

        Assert.Empty(result.Diagnostics);
        var errors = TestCompiler.Problems(output).Where(d => d.Id == "CS9248").Select(d => d.GetMessage()).ToList();
        Assert.Equal(2, errors.Count);
        Assert.Contains(errors, m => m.Contains("Customer.Name", StringComparison.Ordinal));
        Assert.Contains(errors, m => m.Contains("Customer.Tag", StringComparison.Ordinal));
    }

    [Fact]
    public void Valid_classes_next_to_an_invalid_one_are_still_generated()
    {
        var (result, _) = TestCompiler.Run(TestCompiler.CreateCompilation(Wrap("""
            [Persistent]
            public partial class Customer
            {
                public partial object Tag { get; set; }
            }

            [Persistent]
            public partial class Invoice
            {
                public partial decimal Total { get; set; }
            }
            """)));

        Assert.Empty(result.Diagnostics);
        Assert.Equal(
            ["Persistence.Generated.PersistentTypeRegistration.g.cs", "Shop.Invoice.g.cs"],
            result.GeneratedSources.Select(s => s.HintName).Order(StringComparer.Ordinal));
        var registration = result.GeneratedSources.Single(s => s.HintName.StartsWith("Persistence.Generated", StringComparison.Ordinal)).SourceText.ToString();
        Assert.Contains("global::Shop.Invoice.__PersistentTypeInfo", registration, StringComparison.Ordinal);
        Assert.DoesNotContain("Customer", registration, StringComparison.Ordinal);
    }

    [Fact]
    public void Compilation_without_persistent_types_gets_no_files()
    {
        var (result, _) = TestCompiler.Run(TestCompiler.CreateCompilation("""
            namespace Shop;

            public class Plain
            {
                public string Name { get; set; } = "";
            }
            """));

        Assert.Empty(result.Diagnostics);
        Assert.Empty(result.GeneratedSources);
    }

    private static string Wrap(string declarations) => $$"""
        using System.Collections.Generic;
        using Persistence;

        namespace Shop;

        {{declarations}}
        """;
}
