using System.Collections;
using System.Reflection;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Persistence.Generators.Tests.Infrastructure;
using Steps = Persistence.Generators.PersistentGenerator.Steps;

namespace Persistence.Generators.Tests;

/// <summary>
/// The pipeline caches: running again on the same input or after an unrelated edit reuses the
/// models and regenerates nothing, while a real change regenerates the class it touches.
/// </summary>
public sealed class IncrementalGenerationTests
{
    private const string Customer = """
        using Persistence;

        namespace Shop;

        [Persistent]
        public partial class Customer
        {
            public partial string Name { get; set; }
            public partial PersistentList<Invoice> Invoices { get; set; }
        }
        """;

    private const string Invoice = """
        using Persistence;

        namespace Shop;

        [Persistent]
        public partial class Invoice
        {
            public partial decimal Total { get; set; }
        }

        [PersistentValue]
        public partial record struct Money(decimal Amount, string Currency);
        """;

    [Fact]
    public void Running_again_on_the_same_input_regenerates_nothing()
    {
        var compilation = TestCompiler.CreateCompilation(Customer, Invoice);
        var driver = TestCompiler.CreateDriver(trackSteps: true).RunGenerators(compilation);

        driver = driver.RunGenerators(compilation.Clone());

        var result = driver.GetRunResult().Results.Single();
        AssertAllReused(result, Steps.PersistentClasses, Steps.PersistentValues, Steps.CollectionUses, Steps.Registration);
        AssertOutputsReused(result);
    }

    [Fact]
    public void Adding_an_unrelated_class_keeps_the_models_cached()
    {
        var compilation = TestCompiler.CreateCompilation(Customer, Invoice);
        var driver = TestCompiler.CreateDriver(trackSteps: true).RunGenerators(compilation);

        driver = driver.RunGenerators(compilation.AddSyntaxTrees(Parse("""
            namespace Shop;

            public class Helper
            {
                public int Count { get; set; }
            }
            """)));

        var result = driver.GetRunResult().Results.Single();
        AssertAllCached(result, Steps.PersistentClasses);
        AssertAllCached(result, Steps.PersistentValues);
        AssertAllReused(result, Steps.CollectionUses, Steps.Registration);
        AssertOutputsReused(result);
    }

    [Fact]
    public void Adding_a_comment_keeps_the_models_cached()
    {
        var compilation = TestCompiler.CreateCompilation(Customer, Invoice);
        var driver = TestCompiler.CreateDriver(trackSteps: true).RunGenerators(compilation);

        var customerTree = compilation.SyntaxTrees.First();
        driver = driver.RunGenerators(compilation.ReplaceSyntaxTree(
            customerTree,
            Parse(Customer.Replace("public partial string Name", "// The customer's display name.\n    public partial string Name", StringComparison.Ordinal), customerTree.FilePath)));

        var result = driver.GetRunResult().Results.Single();
        AssertAllCached(result, Steps.PersistentClasses);
        AssertAllReused(result, Steps.Registration);
        AssertOutputsReused(result);
    }

    [Fact]
    public void Adding_a_property_regenerates_that_class_only()
    {
        var compilation = TestCompiler.CreateCompilation(Customer, Invoice);
        var driver = TestCompiler.CreateDriver(trackSteps: true).RunGenerators(compilation);

        var customerTree = compilation.SyntaxTrees.First();
        driver = driver.RunGenerators(compilation.ReplaceSyntaxTree(
            customerTree,
            Parse(Customer.Replace("public partial string Name { get; set; }", "public partial string Name { get; set; }\n    public partial int Orders { get; set; }", StringComparison.Ordinal), customerTree.FilePath)));

        var result = driver.GetRunResult().Results.Single();
        var classes = Outputs(result, Steps.PersistentClasses);
        Assert.Contains(classes, o => o.Reason == IncrementalStepRunReason.Modified && o.Value.ToString()!.Contains("Orders", StringComparison.Ordinal));
        Assert.Contains(classes, o => o.Reason == IncrementalStepRunReason.Cached && o.Value.ToString()!.Contains("Invoice", StringComparison.Ordinal));
        Assert.Contains(result.GeneratedSources, s => s.HintName == "Shop.Customer.g.cs" && s.SourceText.ToString().Contains("__Orders", StringComparison.Ordinal));
        var sourceOutputs = result.TrackedOutputSteps.SelectMany(p => p.Value).SelectMany(s => s.Outputs).ToList();
        Assert.Contains(sourceOutputs, o => o.Reason == IncrementalStepRunReason.Modified);
    }

    [Fact]
    public void Changing_a_value_type_in_another_file_regenerates_the_classes_that_store_it()
    {
        var product = """
            using Persistence;

            namespace Shop;

            [Persistent]
            public partial class Product
            {
                public partial Money Price { get; set; }
            }
            """;
        var money = """
            using Persistence;

            namespace Shop;

            [PersistentValue]
            public partial record struct Money(decimal Amount);
            """;
        var compilation = TestCompiler.CreateCompilation(product, money);
        var driver = TestCompiler.CreateDriver(trackSteps: true).RunGenerators(compilation);

        var moneyTree = compilation.SyntaxTrees.Last();
        driver = driver.RunGenerators(compilation.ReplaceSyntaxTree(
            moneyTree,
            Parse(money.Replace("(decimal Amount)", "(decimal Amount, string Currency)", StringComparison.Ordinal), moneyTree.FilePath)));

        var result = driver.GetRunResult().Results.Single();
        Assert.Contains(Outputs(result, Steps.PersistentClasses), o => o.Reason == IncrementalStepRunReason.Modified);
        var generated = Assert.Single(result.GeneratedSources, s => s.HintName == "Shop.Product.g.cs").SourceText.ToString();
        Assert.Contains("new(\"Price\", \"{Amount:dec,Currency:str}\"),", generated, StringComparison.Ordinal);
    }

    [Fact]
    public void Pipeline_models_hold_no_symbols_syntax_or_compilations()
    {
        var compilation = TestCompiler.CreateCompilation(Customer, Invoice);
        var result = TestCompiler.CreateDriver(trackSteps: true).RunGenerators(compilation).GetRunResult().Results.Single();

        foreach (var name in new[] { Steps.PersistentClasses, Steps.PersistentValues, Steps.CollectionUses, Steps.Registration })
        {
            var outputs = Outputs(result, name);
            Assert.NotEmpty(outputs);
            foreach (var output in outputs) AssertPlainData(output.Value, name);
        }
    }

    private static SyntaxTree Parse(string source, string path = "Extra.cs") =>
        CSharpSyntaxTree.ParseText(source, TestCompiler.ParseOptions, path);

    private static List<(object Value, IncrementalStepRunReason Reason)> Outputs(GeneratorRunResult result, string stepName)
    {
        Assert.True(result.TrackedSteps.TryGetValue(stepName, out var steps), $"No step named {stepName} ran.");
        return steps.SelectMany(s => s.Outputs).ToList();
    }

    private static void AssertAllCached(GeneratorRunResult result, string stepName)
    {
        var outputs = Outputs(result, stepName);
        Assert.NotEmpty(outputs);
        Assert.All(outputs, o => Assert.Equal(IncrementalStepRunReason.Cached, o.Reason));
    }

    private static void AssertAllReused(GeneratorRunResult result, params string[] stepNames)
    {
        foreach (var stepName in stepNames)
        {
            var outputs = Outputs(result, stepName);
            Assert.NotEmpty(outputs);
            Assert.All(outputs, o => Assert.True(
                o.Reason is IncrementalStepRunReason.Cached or IncrementalStepRunReason.Unchanged,
                $"{stepName} output was {o.Reason}: {o.Value}"));
        }
    }

    private static void AssertOutputsReused(GeneratorRunResult result)
    {
        var outputs = result.TrackedOutputSteps.SelectMany(p => p.Value).SelectMany(s => s.Outputs).ToList();
        Assert.NotEmpty(outputs);
        Assert.All(outputs, o => Assert.True(
            o.Reason is IncrementalStepRunReason.Cached or IncrementalStepRunReason.Unchanged,
            $"A source output was {o.Reason}"));
    }

    /// <summary>Walks a model and fails on anything that would keep a compilation alive or defeat caching.</summary>
    private static void AssertPlainData(object? value, string path)
    {
        switch (value)
        {
            case null or string or bool or int or Enum:
                return;
            case ISymbol or SyntaxNode or SyntaxTree or Compilation or SemanticModel or Location:
                Assert.Fail($"{path} holds a {value.GetType().Name}.");
                return;
            case IEnumerable items:
                var i = 0;
                foreach (var item in items) AssertPlainData(item, $"{path}[{i++}]");
                return;
        }

        var type = value.GetType();
        if (type.IsGenericType && type.GetGenericTypeDefinition().FullName!.StartsWith("System.ValueTuple", StringComparison.Ordinal) ||
            type.Namespace?.StartsWith("Persistence.Generators", StringComparison.Ordinal) == true)
        {
            foreach (var field in type.GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic))
            {
                AssertPlainData(field.GetValue(value), $"{path}.{field.Name}");
            }
            return;
        }
        Assert.Fail($"{path} holds a {type.FullName}, which is not a plain model.");
    }
}
