using Persistence.Generators.Tests.Infrastructure;

namespace Persistence.Generators.Tests;

/// <summary>What the generated module initializer registers, and in which order.</summary>
public sealed class RegistrationTests
{
    [Fact]
    public void Base_classes_are_registered_before_derived_ones()
    {
        var registration = GenerateRegistration("""
            [Persistent]
            public partial class Alpha : Zeta
            {
                public partial int A { get; set; }
            }

            [Persistent]
            public partial class Zeta : Middle
            {
                public partial int Z { get; set; }
            }

            [Persistent]
            public partial class Middle
            {
                public partial int M { get; set; }
            }
            """);

        Assert.Equal(
            [
                "global::Persistence.PersistentTypes.Register(global::Shop.Middle.__PersistentTypeInfo);",
                "global::Persistence.PersistentTypes.Register(global::Shop.Zeta.__PersistentTypeInfo);",
                "global::Persistence.PersistentTypes.Register(global::Shop.Alpha.__PersistentTypeInfo);",
            ],
            registration);
    }

    [Fact]
    public void A_collection_type_is_registered_once_whatever_its_nullable_annotations()
    {
        var registration = GenerateRegistration("""
            [Persistent]
            public partial class Customer
            {
                public partial PersistentList<Customer> Friends { get; set; }
                public partial PersistentList<Customer?>? Others { get; set; }

                public void Fill() => Friends = new PersistentList<Customer>();
            }
            """);

        Assert.Equal(
            [
                "global::Persistence.PersistentTypes.Register(global::Shop.Customer.__PersistentTypeInfo);",
                "global::Persistence.PersistentList<global::Shop.Customer>.Register(global::Persistence.Serialization.ValueCodecs.Reference<global::Shop.Customer>()!, \"Shop.Customer\");",
            ],
            registration);
    }

    [Fact]
    public void Only_persistence_collections_that_code_outside_a_class_can_name_are_registered()
    {
        var registration = GenerateRegistration("""
            public class PersistentList<T> { }

            public partial class Outer
            {
                private enum Secret { A }

                public static object Make() => (new global::Persistence.PersistentList<Secret>(), new PersistentList<int>());
            }
            """);

        Assert.Empty(registration);
    }

    internal static List<string> GenerateRegistration(string declarations) => RegistrationLines(TestCompiler.CreateCompilation($$"""
        using Persistence;

        namespace Shop;

        {{declarations}}
        """));

    /// <summary>The registration lines of the compilation's generated initializer, after checking that it compiles cleanly.</summary>
    internal static List<string> RegistrationLines(Microsoft.CodeAnalysis.CSharp.CSharpCompilation compilation)
    {
        var (result, output) = TestCompiler.Run(compilation);
        Assert.Empty(result.Diagnostics);
        var problems = TestCompiler.Problems(output);
        Assert.True(problems.IsEmpty, TestCompiler.Format(problems));

        var file = result.GeneratedSources.SingleOrDefault(s => s.HintName == "Persistence.Generated.PersistentTypeRegistration.g.cs");
        if (file.SourceText is null) return [];
        return file.SourceText.ToString()
            .Split('\n')
            .Select(line => line.Trim())
            .Where(line => line.EndsWith(");", StringComparison.Ordinal) && line.Contains(".Register(", StringComparison.Ordinal))
            .ToList();
    }
}
