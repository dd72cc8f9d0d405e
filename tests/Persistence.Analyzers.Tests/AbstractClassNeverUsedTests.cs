using Microsoft.CodeAnalysis;
using Persistence.Analyzers.Tests.Infrastructure;

namespace Persistence.Analyzers.Tests;

/// <summary>PERSIST011: an abstract persistent class no concrete persistent class can derive from.</summary>
public sealed class AbstractClassNeverUsedTests
{
    private const string Id = "PERSIST011";

    [Fact]
    public async Task Reports_an_internal_abstract_class_nothing_derives_from() =>
        await Expect.DiagnosticsAsync(Id, Sources.Wrap("""
            [Persistent]
            internal abstract partial class [|Shape|]
            {
                public partial int Sides { get; set; }
            }
            """),
            "The abstract [Persistent] class 'Shape' has no concrete [Persistent] class deriving from it, and no other project can derive from it, so no object of it can ever be stored: remove 'abstract', or derive a [Persistent] class from it");

    [Fact]
    public async Task Reports_a_public_abstract_class_in_an_executable() =>
        await Expect.DiagnosticsAsync(Id, Sources.Wrap("""
            [Persistent]
            public abstract partial class [|Shape|]
            {
                public partial int Sides { get; set; }
            }

            public static class Program
            {
                public static void Main() { }
            }
            """),
            parseOptions: null,
            options: TestCompiler.CompilationOptions.WithOutputKind(OutputKind.ConsoleApplication));

    [Fact]
    public async Task Accepts_abstract_classes_with_concrete_descendants_or_open_to_other_projects() =>
        await Expect.CleanAsync(Sources.Wrap("""
            [Persistent]
            internal abstract partial class Animal
            {
                public partial string Name { get; set; }
            }

            [Persistent]
            internal abstract partial class Pet : Animal
            {
                public partial string Owner { get; set; }
            }

            [Persistent]
            internal sealed partial class Dog : Pet
            {
                public partial bool GoodBoy { get; set; }
            }

            [Persistent]
            public abstract partial class Document
            {
                public partial string Title { get; set; }
            }
            """));
}
