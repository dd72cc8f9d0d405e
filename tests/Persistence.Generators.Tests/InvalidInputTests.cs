using Microsoft.CodeAnalysis;
using Persistence.Generators.Tests.Infrastructure;

namespace Persistence.Generators.Tests;

/// <summary>
/// Declarations the generator cannot complete are never completed or registered: they get nothing, or
/// placeholders that throw where the class's shape allows them (so the compiler reports nothing and the
/// analyzers' error is the one a build shows); the generator itself never reports diagnostics.
/// </summary>
public sealed class InvalidInputTests
{
    public static TheoryData<string, string, bool> InvalidClasses => new()
    {
        {
            "class not partial",
            """
            [Persistent]
            public class Customer
            {
                public string Name { get; set; } = "";
            }
            """,
            true
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
            """,
            false
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
            """,
            true
        },
        {
            "persistent references inside a value list",
            """
            [Persistent]
            public partial class Customer
            {
                public partial List<Customer> Friends { get; set; }
            }
            """,
            true
        },
        {
            "interface collection",
            """
            [Persistent]
            public partial class Customer
            {
                public partial IList<int> Scores { get; set; }
            }
            """,
            true
        },
        {
            "generic class",
            """
            [Persistent]
            public partial class Customer<T>
            {
                public partial int Count { get; set; }
            }

            [Persistent]
            public partial class Customer<TKey, TValue>
            {
                public partial TKey Key { get; set; }
            }
            """,
            true
        },
        {
            "class nested in a generic class",
            """
            public partial class Outer<T>
            {
                [Persistent]
                public partial class Customer
                {
                    public partial T Value { get; set; }
                }
            }
            """,
            true
        },
        {
            "record",
            """
            [Persistent]
            public partial record Customer
            {
                public partial string Name { get; set; }
            }
            """,
            true
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
            """,
            true
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
            """,
            true
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
            """,
            true
        },
        {
            "static partial property",
            """
            [Persistent]
            public partial class Customer
            {
                public static partial int Count { get; set; }
            }
            """,
            true
        },
        {
            "property named like a PersistentObject member",
            """
            [Persistent]
            public partial class Customer
            {
                public partial string Activate { get; set; }
            }
            """,
            true
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
            """,
            true
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
            """,
            true
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
            """,
            true
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
            """,
            true
        },
        {
            "class deriving from a class the generator cannot complete",
            """
            public class Entity { }

            [Persistent]
            public partial class Person : Entity
            {
                public partial string Name { get; set; }
            }

            [Persistent]
            public partial class Customer : Person
            {
                public partial int Orders { get; set; }
            }
            """,
            true
        },
        {
            "reference to a class the generator cannot complete",
            """
            public class Entity { }

            [Persistent]
            public partial class Person(int age) : Entity
            {
                public partial string Name { get; set; }
                public int Age => age;
            }

            [Persistent]
            public partial class Customer
            {
                public partial Person? Contact { get; set; }
                public partial PersistentList<Person>? Others { get; set; }
            }
            """,
            true
        },
    };

    [Theory]
    [MemberData(nameof(InvalidClasses))]
    public void Generator_completes_and_registers_no_invalid_persistent_class(string description, string declarations, bool compiles)
    {
        var (result, output) = TestCompiler.Run(TestCompiler.CreateCompilation(Wrap(declarations)));

        Assert.Null(result.Exception);
        Assert.Empty(result.Diagnostics);
        var completed = result.GeneratedSources
            .Where(s => s.HintName.StartsWith("Shop.", StringComparison.Ordinal) && s.HintName.Contains("Customer", StringComparison.Ordinal) &&
                        !s.SourceText.ToString().Contains("private const string __NotCompleted = ", StringComparison.Ordinal) ||
                        s.SourceText.ToString().Contains("Register(global::Shop.Customer.__PersistentTypeInfo", StringComparison.Ordinal) ||
                        s.SourceText.ToString().Contains("Register(global::Shop.Outer.Customer.__PersistentTypeInfo", StringComparison.Ordinal))
            .Select(s => s.HintName)
            .ToList();
        Assert.True(completed.Count == 0, $"{description}: completed or registered in {string.Join(", ", completed)}");

        // Where the class's shape allows placeholders the compiler has nothing to say, so a command-line
        // build runs the analyzers, whose error is then the one the user sees (GeneratorAgreementTests
        // checks there is one). A class in a type that is not partial cannot have them.
        var errors = output.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error).ToList();
        if (compiles) Assert.True(errors.Count == 0, $"{description}:{Environment.NewLine}{TestCompiler.Format(errors)}");
        else Assert.NotEmpty(errors);
    }

    [Fact]
    public void Unsupported_property_type_gets_placeholders_that_throw_and_no_registration()
    {
        var (result, output) = TestCompiler.Run(TestCompiler.CreateCompilation(Wrap("""
            [Persistent]
            public partial class Customer
            {
                public partial string Name { get; set; }
                public partial object Tag { get; set; }
            }

            [Persistent]
            public partial class Invoice
            {
                public partial Customer? Customer { get; set; }
            }

            public static class Probe
            {
                public static string Run()
                {
                    var customer = new Customer();
                    try
                    {
                        customer.Name = "x";
                        return "no exception";
                    }
                    catch (System.InvalidOperationException e)
                    {
                        return e.Message;
                    }
                }
            }
            """)));

        Assert.Empty(result.Diagnostics);
        Assert.Empty(output.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error));
        var registration = result.GeneratedSources.Single(s => s.HintName.StartsWith("Persistence.Generated", StringComparison.Ordinal)).SourceText.ToString();
        Assert.Contains("global::Shop.Invoice.__PersistentTypeInfo", registration, StringComparison.Ordinal);
        Assert.DoesNotContain("global::Shop.Customer.__PersistentTypeInfo", registration, StringComparison.Ordinal);

        // The placeholders run: the setter throws and says why.
        using var stream = new MemoryStream();
        var emitted = output.Emit(stream);
        Assert.True(emitted.Success, TestCompiler.Format(emitted.Diagnostics));
        var context = new System.Runtime.Loader.AssemblyLoadContext("placeholders", isCollectible: true);
        try
        {
            stream.Position = 0;
            var assembly = context.LoadFromStream(stream);
            var message = (string)assembly.GetType("Shop.Probe")!.GetMethod("Run")!.Invoke(null, null)!;
            Assert.StartsWith("Shop.Customer was not completed by the Persistence source generator: the PERSIST error on its declaration says why.", message, StringComparison.Ordinal);
        }
        finally
        {
            context.Unload();
        }
    }

    [Fact]
    public void With_the_analyzers_switched_off_an_invalid_class_gets_no_placeholders()
    {
        // Nothing would then report the class: the compiler's CS9248 must stop the build.
        var compilation = TestCompiler.CreateCompilation(Wrap("""
            [Persistent]
            public partial class Customer
            {
                public partial object Tag { get; set; }
            }
            """));
        foreach (var property in new[] { "RunAnalyzers", "RunAnalyzersDuringBuild" })
        {
            var options = new TestCompiler.GlobalOptions(new Dictionary<string, string> { ["build_property." + property] = "false" });
            var (result, output) = TestCompiler.Run(compilation, options);

            Assert.Empty(result.Diagnostics);
            Assert.DoesNotContain(result.GeneratedSources, s => s.HintName.Contains("Customer", StringComparison.Ordinal));
            Assert.Contains(output.GetDiagnostics(), d => d.Id == "CS9248");
        }

        var (kept, keptOutput) = TestCompiler.Run(compilation, new TestCompiler.GlobalOptions(new Dictionary<string, string> { ["build_property.RunAnalyzers"] = "true" }));
        Assert.Contains(kept.GeneratedSources, s => s.HintName == "Shop.Customer.g.cs");
        Assert.DoesNotContain(keptOutput.GetDiagnostics(), d => d.Severity == DiagnosticSeverity.Error);
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
            ["Persistence.Generated.PersistentTypeRegistration.g.cs", "Shop.Customer.g.cs", "Shop.Invoice.g.cs"],
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
