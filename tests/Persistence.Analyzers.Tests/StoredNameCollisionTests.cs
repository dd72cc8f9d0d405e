using Microsoft.CodeAnalysis;
using Persistence.Analyzers.Tests.Infrastructure;

namespace Persistence.Analyzers.Tests;

/// <summary>PERSIST009: a stored name claimed by more than one class.</summary>
public sealed class StoredNameCollisionTests
{
    private const string Id = "PERSIST009";

    [Fact]
    public async Task Reports_aliases_that_collide() =>
        await Expect.DiagnosticsAsync(Id, Sources.Wrap("""
            [Persistent]
            [[|PersistentAlias("Shop.Client")|]]
            public partial class Customer
            {
                public partial string Name { get; set; }
            }

            [Persistent]
            public partial class Client
            {
                public partial string Name { get; set; }
            }

            [Persistent]
            [PersistentAlias("Shop.OldInvoice")]
            public partial class Invoice
            {
                public partial int Number { get; set; }
            }

            [Persistent]
            [[|PersistentAlias("Shop.OldInvoice")|]]
            [[|PersistentAlias("Shop.Receipt")|]]
            public partial class Receipt
            {
                public partial int Number { get; set; }
            }
            """),
            "The stored name 'Shop.Client' maps to more than one class: 'Customer' gives it as an alias, and it is the stored name of 'Client'; remove the alias or rename that class",
            "The stored name 'Shop.OldInvoice' maps to more than one class: both 'Invoice' and 'Receipt' give it as an alias; keep it on one class",
            "The stored name 'Shop.Receipt' maps to more than one class: 'Receipt' gives its own stored name as an alias; remove the alias");

    [Fact]
    public async Task Reports_a_class_whose_stored_name_a_referenced_assembly_uses()
    {
        var library = TestCompiler.CreateCompilation([Sources.Wrap("""
            [Persistent]
            public partial class Customer
            {
                public partial string Name { get; set; }
            }
            """)], assemblyName: "Shop.Model");
        var (generated, _) = TestCompiler.Generate(library);
        using var stream = new MemoryStream();
        Assert.True(generated.Emit(stream).Success);
        var reference = MetadataReference.CreateFromImage(stream.ToArray());

        var (source, spans) = Markup.Parse(Sources.Wrap("""
            [Persistent]
            public partial class [|Customer|]
            {
                public partial int Orders { get; set; }
            }
            """));
        var compilation = TestCompiler.Generate(TestCompiler.CreateCompilation([source], extraReferences: [reference])).Output;
        var diagnostic = Assert.Single((await AnalyzerRunner.AnalyzeAsync(compilation)).Where(d => d.Id == Id));
        Assert.Equal(spans[0], diagnostic.Location.SourceSpan);
        Assert.Equal("The stored name 'Shop.Customer' maps to more than one class: 'Customer' and the persistent class of the same name in assembly 'Shop.Model'; rename one of them", diagnostic.GetMessage());
    }

    [Fact]
    public async Task Accepts_distinct_names_and_aliases() =>
        await Expect.CleanAsync(Sources.Wrap("""
            [Persistent]
            [PersistentAlias("Shop.Client")]
            [PersistentAlias("Old.Shop.Customer")]
            public partial class Customer
            {
                public partial string Name { get; set; }
            }

            public partial class Outer
            {
                [Persistent]
                [PersistentAlias("Shop.Customer+Inner")]
                public partial class Inner
                {
                    public partial int Value { get; set; }
                }
            }
            """));
}
