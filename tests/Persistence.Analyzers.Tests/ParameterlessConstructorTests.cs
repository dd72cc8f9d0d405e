using Persistence.Analyzers.Tests.Infrastructure;

namespace Persistence.Analyzers.Tests;

/// <summary>PERSIST010 (information): a persistent class whose constructors all take arguments.</summary>
public sealed class ParameterlessConstructorTests
{
    private const string Id = "PERSIST010";

    [Fact]
    public async Task Explains_what_the_generator_adds_instead()
    {
        var diagnostic = Assert.Single(await Expect.DiagnosticsAsync(Id, Sources.Wrap("""
            [Persistent]
            public partial class [|Customer|]
            {
                public Customer(string name) => Name = name;

                public partial string Name { get; set; }
            }
            """),
            "'Customer' has no parameterless constructor, and the generator adds none because 'Customer' declares constructors: loaded objects are made by the constructor the generator adds (Customer(GhostToken)), which runs none of yours, and then read their stored properties"));
        Assert.Equal(Microsoft.CodeAnalysis.DiagnosticSeverity.Info, diagnostic.Severity);
    }

    [Fact]
    public async Task Is_quiet_when_the_class_can_be_made_without_arguments() =>
        await Expect.CleanAsync(Sources.Wrap("""
            [Persistent]
            public partial class NoConstructor
            {
                public partial string Name { get; set; }
            }

            [Persistent]
            public partial class Both
            {
                public Both() => Name = "";
                public Both(string name) => Name = name;
                public partial string Name { get; set; }
            }

            [Persistent]
            public partial class Defaults
            {
                public Defaults(string name = "", params int[] scores) => Name = name;
                public partial string Name { get; set; }
            }

            [Persistent]
            public partial class Hidden
            {
                private Hidden() => Name = "";
                public static Hidden Create() => new();
                public partial string Name { get; set; }
            }
            """));
}
