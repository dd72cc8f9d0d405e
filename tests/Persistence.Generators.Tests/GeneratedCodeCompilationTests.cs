using Microsoft.CodeAnalysis;
using Persistence.Generators.Tests.Infrastructure;

namespace Persistence.Generators.Tests;

/// <summary>
/// Situations where the interesting part is that the generated code compiles cleanly with the
/// user's code: classes split over files, other assemblies, projects that see Core's internals,
/// projects without nullable annotations.
/// </summary>
public sealed class GeneratedCodeCompilationTests
{
    [Fact]
    public void Class_split_over_several_files_is_completed_once()
    {
        var (result, output) = TestCompiler.Run(TestCompiler.CreateCompilation(
            """
            using Persistence;

            namespace Shop;

            [Persistent]
            public partial class Customer
            {
                public partial string Name { get; set; }
            }
            """,
            """
            namespace Shop;

            public partial class Customer
            {
                public partial int Orders { get; set; }

                public Customer(string name) => Name = name;
            }
            """));

        AssertCompilesCleanly(result, output);
        var customer = Assert.Single(result.GeneratedSources, s => s.HintName == "Shop.Customer.g.cs").SourceText.ToString();
        Assert.Contains("new global::Persistence.FieldSchema(\"Name\", \"str\").WithDefault(", customer, StringComparison.Ordinal);
        Assert.Contains("new(\"Orders\", \"i32\"),", customer, StringComparison.Ordinal);
        Assert.DoesNotContain("public Customer()", customer, StringComparison.Ordinal);
    }

    [Fact]
    public void Classes_and_values_from_another_assembly_can_be_derived_from_and_stored()
    {
        var (libraryResult, library) = TestCompiler.Run(TestCompiler.CreateCompilation("Shop.Model", [
            """
            using Persistence;

            namespace Shop.Model;

            [Persistent]
            public partial class Customer
            {
                public partial string Name { get; set; }
            }

            [PersistentValue]
            public partial record struct Money(decimal Amount, string Currency);

            [PersistentValue]
            public partial record Address(string Street, string City);
            """,
        ]));
        AssertCompilesCleanly(libraryResult, library);
        var libraryReference = Emit(library);

        var (result, output) = TestCompiler.Run(TestCompiler.CreateCompilation(
            "Shop.App",
            [
                """
                using Persistence;
                using Shop.Model;

                namespace Shop.App;

                [Persistent]
                public partial class VipCustomer : Customer
                {
                    public partial Money Credit { get; set; }
                    public partial Address? Home { get; set; }
                    public partial Customer? Sponsor { get; set; }
                    public partial PersistentList<Customer> Friends { get; set; }
                }
                """,
            ],
            [libraryReference]));

        AssertCompilesCleanly(result, output);
        var vip = Assert.Single(result.GeneratedSources, s => s.HintName == "Shop.App.VipCustomer.g.cs").SourceText.ToString();
        Assert.Contains("public static new readonly global::Persistence.PersistentTypeInfo __PersistentTypeInfo", vip, StringComparison.Ordinal);
        Assert.Contains("global::Shop.Model.Customer.__PersistentTypeInfo,", vip, StringComparison.Ordinal);
        Assert.Contains("base.WriteState(ref writer);", vip, StringComparison.Ordinal);
        Assert.Contains("new(\"Credit\", \"{Amount:dec,Currency:str}\"),", vip, StringComparison.Ordinal);
        Assert.Contains("new(\"Home\", \"{Street:str,City:str}?\"),", vip, StringComparison.Ordinal);
        var registration = Assert.Single(result.GeneratedSources, s => s.HintName.StartsWith("Persistence.Generated", StringComparison.Ordinal)).SourceText.ToString();
        Assert.Contains("global::Persistence.PersistentTypes.Register(global::Shop.App.VipCustomer.__PersistentTypeInfo);", registration, StringComparison.Ordinal);
        // The library registers its own classes; the app names one only to run the library's initializer first.
        var libraryClass = registration.IndexOf("global::Persistence.PersistentTypes.Register(global::Shop.Model.Customer.__PersistentTypeInfo);", StringComparison.Ordinal);
        Assert.InRange(libraryClass, 0, registration.IndexOf("global::Shop.App.VipCustomer.__PersistentTypeInfo", StringComparison.Ordinal));
        Assert.Equal(
            registration.IndexOf("global::Shop.Model.Customer.__PersistentTypeInfo", StringComparison.Ordinal),
            registration.LastIndexOf("global::Shop.Model.Customer.__PersistentTypeInfo", StringComparison.Ordinal));
        Assert.Contains("\"Shop.Model.Customer\"", registration, StringComparison.Ordinal);
    }

    [Fact]
    public void Project_that_sees_core_internals_overrides_state_methods_as_protected_internal()
    {
        // Persistence.Core gives Persistence.Core.Tests access to its internals, which changes how its
        // protected internal methods must be overridden.
        var (result, output) = TestCompiler.Run(TestCompiler.CreateCompilation("Persistence.Core.Tests", [
            """
            using Persistence;

            namespace Shop;

            [Persistent]
            public partial class Customer
            {
                public partial string Name { get; set; }
            }

            [Persistent]
            public partial class Vip : Customer
            {
                public partial int Level { get; set; }
            }
            """,
        ]));

        AssertCompilesCleanly(result, output);
        Assert.All(
            result.GeneratedSources.Where(s => s.HintName.StartsWith("Shop.", StringComparison.Ordinal)),
            s => Assert.Contains("protected internal override void WriteState(", s.SourceText.ToString(), StringComparison.Ordinal));
    }

    [Fact]
    public void Generated_code_compiles_in_a_project_without_nullable_annotations()
    {
        var compilation = TestCompiler.CreateCompilation("""
            using System.Collections.Generic;
            using Persistence;

            namespace Shop;

            [Persistent]
            public partial class Customer
            {
                public partial string Name { get; set; }
                public partial List<string> Tags { get; set; }
                public partial Customer ReferredBy { get; set; }
                public partial int? Age { get; set; }
            }
            """);
        compilation = compilation.WithOptions(compilation.Options.WithNullableContextOptions(NullableContextOptions.Disable));

        var (result, output) = TestCompiler.Run(compilation);

        AssertCompilesCleanly(result, output);
        // Without annotations a string may be null: it reads as null from records stored before it existed.
        var customer = Assert.Single(result.GeneratedSources, s => s.HintName == "Shop.Customer.g.cs").SourceText.ToString();
        Assert.Contains("new(\"Name\", \"str\"),", customer, StringComparison.Ordinal);
    }

    [Fact]
    public void A_class_another_assembly_left_incomplete_is_no_base_or_reference()
    {
        // Built with its PERSIST002 error silenced: the class got placeholders, without the
        // PersistentObject base, so code deriving from it or holding it must not be completed against it.
        var (libraryResult, library) = TestCompiler.Run(TestCompiler.CreateCompilation("Shop.Model", [
            """
            using Persistence;

            namespace Shop.Model;

            [Persistent]
            public partial class Person(int age)
            {
                public partial string Name { get; set; }
                public int Age => age;
            }
            """,
        ]));
        Assert.Empty(libraryResult.Diagnostics);
        var libraryReference = Emit(library);

        var (result, output) = TestCompiler.Run(TestCompiler.CreateCompilation(
            "Shop.App",
            [
                """
                using Persistence;
                using Shop.Model;

                namespace Shop.App;

                [Persistent]
                public partial class Customer
                {
                    public partial Person? Contact { get; set; }
                    public partial PersistentList<Person>? Others { get; set; }
                }

                [Persistent]
                public partial class Employee : Person
                {
                    public Employee() : base(30) { }

                    public partial string Title { get; set; }
                }
                """,
            ],
            [libraryReference]));

        Assert.Null(result.Exception);
        Assert.Empty(result.Diagnostics);
        var errors = output.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error).ToList();
        Assert.True(errors.Count == 0, TestCompiler.Format(errors));
        foreach (var hint in new[] { "Shop.App.Customer.g.cs", "Shop.App.Employee.g.cs" })
        {
            var source = Assert.Single(result.GeneratedSources, s => s.HintName == hint).SourceText.ToString();
            Assert.Contains("private const string __NotCompleted = ", source, StringComparison.Ordinal);
        }
        var registration = result.GeneratedSources.SingleOrDefault(s => s.HintName.StartsWith("Persistence.Generated", StringComparison.Ordinal)).SourceText?.ToString() ?? "";
        Assert.DoesNotContain("Person", registration, StringComparison.Ordinal);
    }

    [Fact]
    public void Types_whose_names_differ_only_in_case_are_all_generated()
    {
        // Hint names are compared ignoring case: without a suffix the second AddSource would fail the
        // whole generator, and every class of the project would be left unimplemented.
        var (result, output) = TestCompiler.Run(TestCompiler.CreateCompilation("""
            using Persistence;

            namespace Shop;

            [Persistent]
            public partial class Customer
            {
                public partial string Name { get; set; }
            }

            [Persistent]
            public partial class CUSTOMER
            {
                public partial int Orders { get; set; }
            }

            [PersistentValue]
            public partial record struct Money(decimal Amount);

            [Persistent]
            public partial class MONEY
            {
                public partial Money Total { get; set; }
            }

            [Persistent]
            public partial class Invoice
            {
                public partial decimal Total { get; set; }
            }
            """));

        AssertCompilesCleanly(result, output);
        var hints = result.GeneratedSources.Select(s => s.HintName).ToList();
        Assert.Equal(hints.Count, hints.Distinct(StringComparer.OrdinalIgnoreCase).Count());
        Assert.Contains("Shop.Invoice.g.cs", hints);
        Assert.Equal(4, hints.Count(h => h.StartsWith("Shop.Customer.", StringComparison.OrdinalIgnoreCase) || h.StartsWith("Shop.Money.", StringComparison.OrdinalIgnoreCase)));
        var registration = result.GeneratedSources.Single(s => s.HintName.StartsWith("Persistence.Generated", StringComparison.Ordinal)).SourceText.ToString();
        Assert.Contains("global::Shop.Customer.__PersistentTypeInfo", registration, StringComparison.Ordinal);
        Assert.Contains("global::Shop.CUSTOMER.__PersistentTypeInfo", registration, StringComparison.Ordinal);
        Assert.Contains("global::Shop.MONEY.__PersistentTypeInfo", registration, StringComparison.Ordinal);
    }

    private static MetadataReference Emit(Compilation compilation)
    {
        using var stream = new MemoryStream();
        var emitted = compilation.Emit(stream);
        Assert.True(emitted.Success, TestCompiler.Format(emitted.Diagnostics));
        return MetadataReference.CreateFromImage(stream.ToArray());
    }

    private static void AssertCompilesCleanly(GeneratorRunResult result, Compilation output)
    {
        Assert.Null(result.Exception);
        Assert.Empty(result.Diagnostics);
        var problems = TestCompiler.Problems(output);
        Assert.True(problems.IsEmpty, TestCompiler.Format(problems));
    }
}
