using Persistence.Generators.Tests.Infrastructure;

namespace Persistence.Generators.Tests;

/// <summary>Generated registration of the BTree collections a program mentions.</summary>
public sealed class BTreeRegistrationTests
{
    [Fact]
    public void A_program_mentioning_a_BTree_and_a_BTreeSet_registers_both()
    {
        var (result, output) = TestCompiler.Run(TestCompiler.CreateCompilation("""
            using Persistence;

            namespace Shop;

            [Persistent]
            public partial class Customer
            {
                public partial string Name { get; set; }
                public partial BTreeSet<string>? Tags { get; set; }
            }

            public static class Catalog
            {
                public static object Make() => new BTree<int, Customer>();
            }
            """));
        Assert.Empty(result.Diagnostics);
        var problems = TestCompiler.Problems(output);
        Assert.True(problems.IsEmpty, TestCompiler.Format(problems));

        var registration = result.GeneratedSources.Single(s => s.HintName == "Persistence.Generated.PersistentTypeRegistration.g.cs").SourceText.ToString();
        var lines = registration.Split('\n').Select(line => line.Trim()).Where(line => line.Contains(".Register(", StringComparison.Ordinal)).ToList();
        Assert.Contains(
            "global::Persistence.BTree<int, global::Shop.Customer>.Register(global::Persistence.Serialization.ValueCodecs.Int32, \"i32\", global::Persistence.Serialization.ValueCodecs.Reference<global::Shop.Customer>()!, \"Shop.Customer\");",
            lines);
        Assert.Contains(
            "global::Persistence.BTreeSet<string>.Register(global::Persistence.Serialization.ValueCodecs.String!, \"str\");",
            lines);
    }
}
