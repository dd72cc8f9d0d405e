using System.Runtime.CompilerServices;
using System.Runtime.Loader;
using Microsoft.CodeAnalysis;
using Persistence.Generators.Tests.Infrastructure;

namespace Persistence.Generators.Tests;

/// <summary>
/// A program's initializer runs the initializers of the referenced assemblies that have persistent
/// classes, by naming one class of each: the runtime runs an assembly's initializer only once code
/// uses the assembly, and a program that had not used one yet met its stored objects as classes it
/// does not define.
/// </summary>
public sealed class ReferencedAssemblyRegistrationTests
{
    [Fact]
    public void An_app_names_a_class_of_each_referenced_assembly_with_persistent_classes()
    {
        var domain = CompileLibrary("Shop.Domain", """
            using Persistence;

            namespace Shop.Domain;

            [Persistent]
            public partial class Customer
            {
                public partial string Name { get; set; }
            }
            """);
        var extensions = CompileLibrary("Shop.Extensions", """
            using Persistence;

            namespace Shop.Extensions;

            [Persistent]
            public partial class VipCustomer : Shop.Domain.Customer
            {
                public partial int Level { get; set; }
            }
            """, domain);
        var plain = CompileLibrary("Shop.Plain", "namespace Shop.Plain; public class Helper { }");

        var (result, output) = TestCompiler.Run(TestCompiler.CreateCompilation("Shop.App", ["""
            namespace Shop.App;

            public static class Program
            {
                public static object Open() => new Persistence.PersistentDictionary<string, Shop.Domain.Customer>();
            }
            """], [domain, extensions, plain]));

        Assert.Empty(result.Diagnostics);
        var problems = TestCompiler.Problems(output);
        Assert.True(problems.IsEmpty, TestCompiler.Format(problems));
        Snapshot.Verify(result, nameof(An_app_names_a_class_of_each_referenced_assembly_with_persistent_classes));
    }

    [Fact]
    public void An_app_without_persistent_classes_or_collections_of_its_own_still_runs_its_references_initializers()
    {
        var domain = CompileLibrary("Shop.Domain", """
            using Persistence;

            namespace Shop.Domain;

            [Persistent]
            public partial class Customer
            {
                public partial string Name { get; set; }
            }
            """);

        Assert.Equal(
            ["global::Persistence.PersistentTypes.Register(global::Shop.Domain.Customer.__PersistentTypeInfo);"],
            AppRegistration("namespace Shop.App; public static class Program { }", domain));
    }

    /// <summary>A class that two libraries of the tests below both define.</summary>
    private const string Note = """
        using Persistence;

        namespace Shop.Common;

        [Persistent]
        public partial class Note
        {
            public partial string Text { get; set; }
        }
        """;

    [Fact]
    public void A_class_the_app_cannot_name_unambiguously_or_at_all_is_not_named()
    {
        var first = CompileLibrary("First", Note + """

            [Persistent]
            internal partial class Secret
            {
                public partial string Text { get; set; }
            }

            [Persistent]
            public partial class Other
            {
                public partial string Text { get; set; }
            }
            """);
        var second = CompileLibrary("Second", Note);

        // Note is in both, Secret is internal: First is reached through Other, Second not at all.
        Assert.Equal(
            ["global::Persistence.PersistentTypes.Register(global::Shop.Common.Other.__PersistentTypeInfo);"],
            AppRegistration("namespace Shop.App; public static class Program { }", first, second));
    }

    /// <summary>A library whose persistent classes are all internal (a class with no modifier is).</summary>
    private const string Secrets = """
        using Persistence;

        namespace Shop.Secrets;

        [Persistent]
        partial class Vault
        {
            public partial string Code { get; set; }
        }

        [Persistent]
        internal partial class Key
        {
            public partial Vault? Opens { get; set; }
        }

        public static class Keeper
        {
            public static object MakeKey() => new Key { Opens = new Vault { Code = "1234" } };
        }
        """;

    [Fact]
    public void An_assembly_whose_persistent_classes_are_not_public_is_reached_through_the_class_it_declares_for_that()
    {
        var secrets = CompileLibrary("Shop.Secrets-2", Secrets);

        Assert.Equal(
            ["global::Persistence.PersistentTypes.Register(global::Persistence.Generated.PersistentTypes_Shop_002ESecrets_002D2.__PersistentTypeInfo);"],
            AppRegistration("namespace Shop.App; public static class Program { }", secrets));
    }

    [Fact]
    public void Libraries_whose_names_differ_only_in_characters_a_class_name_cannot_hold_declare_different_classes()
    {
        // 'Shop.Secrets', 'Shop-Secrets' and 'Shop_Secrets' all read 'Shop_Secrets' with those characters
        // replaced by '_': an app referencing two of them could name neither class (GetTypeByMetadataName
        // finds no one type), and a library referencing another of them declared a class of the other's
        // name (CS0436) and named its own.
        var dot = CompileLibrary("Shop.Secrets", Secrets);
        var dash = CompileLibrary("Shop-Secrets", Secrets.Replace("Shop.Secrets", "Shop.Dashed", StringComparison.Ordinal));

        var lines = AppRegistration("namespace Shop.App; public static class Program { }", dot, dash);

        Assert.Equal(2, lines.Distinct(StringComparer.Ordinal).Count());
        Assert.All(lines, line => Assert.StartsWith("global::Persistence.PersistentTypes.Register(global::Persistence.Generated.PersistentTypes_Shop", line, StringComparison.Ordinal));

        // A library that references another names that one's class, not its own, and compiles cleanly.
        var dashLine = Assert.Single(AppRegistration("namespace Shop.App; public static class Program { }", dash));
        var underscoreSource = Secrets.Replace("Shop.Secrets", "Shop.Underscored", StringComparison.Ordinal);
        Assert.Equal(
            [dashLine],
            RegistrationTests.RegistrationLines(TestCompiler.CreateCompilation("Shop_Secrets", [underscoreSource], [dash]))
                .Where(line => line.Contains("PersistentTypes_", StringComparison.Ordinal)));
        var underscore = CompileLibrary("Shop_Secrets", underscoreSource, dash);
        Assert.Equal(3, AppRegistration("namespace Shop.App; public static class Program { }", dot, dash, underscore).Distinct(StringComparer.Ordinal).Count());
    }

    [Fact]
    public void An_app_registers_the_non_public_classes_of_a_library_before_it_first_uses_the_library()
    {
        // A stored name no other test registers: the registry is the process's.
        var ns = "Shop.Hidden" + Guid.NewGuid().ToString("N");
        var vault = ns + ".Vault";
        var library = CompileLibraryImage("Shop.Hidden", Secrets.Replace("Shop.Secrets", ns, StringComparison.Ordinal));
        var app = CompileLibraryImage("Shop.HiddenApp", "namespace Shop.App; public static class Program { }", MetadataReference.CreateFromImage(library));
        var context = new AssemblyLoadContext("hidden", isCollectible: true);
        try
        {
            var loaded = context.LoadFromStream(new MemoryStream(library));
            context.Resolving += (_, name) => name.Name == "Shop.Hidden" ? loaded : null;
            Assert.Null(PersistentTypes.Find(vault));

            RuntimeHelpers.RunModuleConstructor(context.LoadFromStream(new MemoryStream(app)).ManifestModule.ModuleHandle);

            Assert.Equal(vault, PersistentTypes.Find(vault)?.Name);
        }
        finally
        {
            context.Unload();
        }
    }

    [Fact]
    public void A_second_assembly_defining_a_class_of_the_same_full_name_is_refused_when_it_starts()
    {
        // Same name, same properties: the second's objects would have loaded as the first's class.
        var context = new AssemblyLoadContext("twins", isCollectible: true);
        try
        {
            var left = context.LoadFromStream(new MemoryStream(CompileLibraryImage("Shop.Left", Note)));
            var right = context.LoadFromStream(new MemoryStream(CompileLibraryImage("Shop.Right", Note)));
            RuntimeHelpers.RunModuleConstructor(left.ManifestModule.ModuleHandle);

            var error = Assert.ThrowsAny<Exception>(() => RuntimeHelpers.RunModuleConstructor(right.ManifestModule.ModuleHandle));

            var refusal = Assert.IsType<InvalidOperationException>(error.InnerException ?? error);
            Assert.StartsWith("Two persistent classes are registered under the name 'Shop.Common.Note'", refusal.Message, StringComparison.Ordinal);
            Assert.Contains("Move one to another namespace or rename it", refusal.Message, StringComparison.Ordinal);
        }
        finally
        {
            context.Unload();
        }
    }

    /// <summary>A library compiled with the generator, as a reference for the next compilation.</summary>
    private static MetadataReference CompileLibrary(string name, string source, params MetadataReference[] references) =>
        MetadataReference.CreateFromImage(CompileLibraryImage(name, source, references));

    /// <summary>The image of a library compiled with the generator, after checking that it compiles cleanly.</summary>
    private static byte[] CompileLibraryImage(string name, string source, params MetadataReference[] references)
    {
        var (result, output) = TestCompiler.Run(TestCompiler.CreateCompilation(name, [source], references));
        Assert.Empty(result.Diagnostics);
        var problems = TestCompiler.Problems(output);
        Assert.True(problems.IsEmpty, TestCompiler.Format(problems));
        using var image = new MemoryStream();
        var emitted = output.Emit(image);
        Assert.True(emitted.Success, TestCompiler.Format(emitted.Diagnostics));
        return image.ToArray();
    }

    /// <summary>The registration lines of an app's initializer, after checking that the app compiles cleanly.</summary>
    private static List<string> AppRegistration(string source, params MetadataReference[] references) =>
        RegistrationTests.RegistrationLines(TestCompiler.CreateCompilation("Shop.App", [source], references));
}
