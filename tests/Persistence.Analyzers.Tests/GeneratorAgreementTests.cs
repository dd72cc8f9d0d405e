using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Text;
using Persistence.Analyzers.Tests.Infrastructure;
using Persistence.Rules;

namespace Persistence.Analyzers.Tests;

/// <summary>
/// The generator completes no invalid input (it emits nothing, or placeholders that throw) and reports
/// nothing; the analyzers must then say why, and must say nothing when it completes the type. For every [Persistent] class and [PersistentValue] type
/// of a corpus: the generator completed it exactly when no analyzer error (or PERSIST008, which
/// also stops its codec) lies inside it or on the types around it.
/// Three errors are deliberately about use, not generation, and kept out of the corpus: PERSIST011
/// (an abstract class nothing derives from), PERSIST003 for a persistent collection whose type
/// argument cannot be stored (the class is generated; the collection fails when stored), and PERSIST019
/// for [PersistentDefault] on a property the generator does not implement (an ordinary property, a
/// member of a [PersistentValue] type: the type is generated, and the attribute would do nothing).
/// </summary>
public sealed class GeneratorAgreementTests
{
    public static TheoryData<string> Declarations => new()
    {
        "[Persistent] public partial class Customer { public partial string Name { get; set; } }",
        "[Persistent] public class Customer { public string Name { get; set; } = \"\"; }",
        "public class Outer { [Persistent] public partial class Customer { public partial string Name { get; set; } } }",
        "public partial class Outer { [Persistent] private partial class Customer { public partial string Name { get; set; } } }",
        "public partial class Outer { [Persistent] protected internal partial class Customer { public partial string Name { get; set; } } }",
        "public partial class Outer<T> { [Persistent] public partial class Customer { public partial string Name { get; set; } } }",
        "[Persistent] public partial class Customer { public partial string Name { get; set; } public partial object Tag { get; set; } }",
        "[Persistent] public partial class Customer { public partial List<Customer> Friends { get; set; } }",
        "[Persistent] public partial class Customer { public partial IList<int> Scores { get; set; } }",
        "[Persistent] public partial class Customer<T> { public partial int Count { get; set; } }",
        "[Persistent] public partial record Customer { public partial string Name { get; set; } }",
        "[Persistent] public partial class Customer(string name) { public partial string Name { get; set; } public string Original => name; }",
        "public class Entity { } [Persistent] public partial class Customer : Entity { public partial string Name { get; set; } }",
        "[Persistent] public partial class Customer : PersistentObject { public partial string Name { get; set; } }",
        "[Persistent] public static partial class Customer { }",
        "[Persistent] file partial class Customer { public partial string Name { get; set; } }",
        "[Persistent] public partial class Customer { public static partial int Count { get; set; } }",
        "[Persistent] public partial class Customer { public partial string Activate { get; set; } }",
        "[Persistent] public partial class Customer { public partial string ToString { get; set; } }",
        "[Persistent] public partial class Person { public partial string Name { get; set; } } [Persistent] public partial class Customer : Person { public new partial string Name { get; set; } }",
        "[Persistent] public partial class Person { public partial string Name { get; set; } } [Persistent] public partial class Customer : Person { public partial int Orders { get; set; } }",
        "[Persistent] public abstract partial class Person { public partial string Name { get; set; } } [Persistent] public sealed partial class Customer : Person { public partial int Orders { get; set; } }",
        "[Persistent] public partial class Customer { public partial string First { get; set; } public partial string Full { get; } public partial string Full => First; }",
        "[Persistent] public partial class Customer { public partial int this[int i] { get; set; } }",
        "[Persistent] public partial class Customer { public partial int Id { get; init; } public required partial string Name { get; set; } }",
        "[Persistent] [PersistentValue] public partial class Customer { public partial string Name { get; set; } }",
        "[PersistentValue] public partial struct Line { public Customer? Who { get; set; } } [Persistent] public partial class Customer { public partial Line Line { get; set; } }",
        "[PersistentValue] public struct Money { public decimal Amount { get; set; } } [Persistent] public partial class Customer { public partial Money Price { get; set; } }",
        "[PersistentValue] public partial class Node { public Node? Next { get; set; } } [Persistent] public partial class Customer { public partial Node Head { get; set; } }",
        "[PersistentValue] public partial record struct Money(decimal Amount, string Currency); [Persistent] public partial class Customer { public partial Money Price { get; set; } public partial Money? Last { get; set; } }",
        "[PersistentValue] public partial record Address(string Street, object Extra); [Persistent] public partial class Customer { public partial Address? Home { get; set; } }",
        "[PersistentValue] public partial struct Pair<T> { public T First { get; set; } }",
        "[PersistentValue] public abstract partial class Shape { public int Sides { get; set; } }",
        "[PersistentValue] public partial struct Empty { public int Computed => 1; }",
        "[PersistentValue] public partial class Temperature { public Temperature(double celsius) => Kelvin = celsius; public double Kelvin { get; set; } }",
        "[PersistentValue] public partial class Range { public Range(int from, int to) { From = from; To = to; } public int From { get; } public int To { get; } }",
        "public class Base { } [PersistentValue] public partial class Derived : Base { public int X { get; set; } }",
        "public class Holder { [PersistentValue] public partial struct Money { public decimal Amount { get; set; } } }",
        "[PersistentValue] public partial struct A { public B Inner { get; set; } } [PersistentValue] public partial struct B { public List<A>? Outer { get; set; } }",
        "[PersistentValue] public partial record struct Money(decimal Amount) { [Transient] public Customer? Owner { get; set; } } [Persistent] public partial class Customer { public partial Money Price { get; set; } }",
        "[Persistent] public partial class Customer { [Transient] public partial object? Cache { get; set; } public partial PersistentList<Customer>? Friends { get; set; } }",
        "[Persistent] public partial record Person { public partial string Name { get; set; } } [Persistent] public partial class Customer : Person { public partial int Orders { get; set; } }",
        "public class Entity { } [Persistent] public partial class Person(int age) : Entity { public partial string Name { get; set; } public int Age => age; } [Persistent] public partial class Customer { public partial Person? Contact { get; set; } }",
        "public partial class Outer { [Persistent] private partial class Hidden { public partial int X { get; set; } } [Persistent] public partial class Customer { private partial Hidden? Secret { get; set; } } }",
        "[Persistent] [PersistentValue] public partial class Both { public partial int X { get; set; } } [Persistent] public partial class Customer : Both { public partial int Y { get; set; } }",
        "[Persistent] public partial class Person { public partial int X { get; set; } } public class Guest : Person { } [Persistent] public partial class Customer { public partial Guest? Visitor { get; set; } }",
        "[Persistent] public partial record Person { public partial int X { get; set; } } [Persistent] public partial class Customer { public partial List<Person>? People { get; set; } }",
        "public enum Tier { Basic, Silver } [Persistent] public partial class Customer { [PersistentDefault(Tier.Silver)] public partial Tier Tier { get; set; } [PersistentDefault(\"x\")] public partial string Name { get; set; } }",
        "[Persistent] public partial class Customer { [PersistentDefault(300)] public partial byte Level { get; set; } }",
        "[Persistent] public partial class Customer { [PersistentDefault(null)] public partial string Name { get; set; } }",
        "[Persistent] public partial class Customer { [Transient, PersistentDefault(5)] public partial int Views { get; set; } }",
    };

    [Theory]
    [MemberData(nameof(Declarations))]
    public async Task Analyzers_report_an_error_exactly_where_the_generator_completes_nothing(string declarations) =>
        await AssertAgreementAsync(Sources.Wrap(declarations));

    [Fact]
    public async Task Analyzers_and_generator_agree_on_every_property_type()
    {
        string[] types =
        [
            "bool", "byte", "sbyte", "short", "ushort", "int", "uint", "long", "ulong", "char", "float", "double", "decimal",
            "nint", "nuint", "string", "string?", "object", "object?", "dynamic",
            "Half", "DateTime", "DateTimeOffset", "DateOnly", "TimeOnly", "TimeSpan", "Guid", "Uri", "Version", "Type", "Int128", "UInt128",
            "System.Text.Rune", "Index", "Range", "System.Numerics.BigInteger", "Exception",
            "Small", "Big", "Small?", "Big[]", "int?", "DateTime?", "Guid?", "decimal?", "bool?",
            "byte[]", "byte[]?", "int[]", "string[]", "int[][]", "int[,]", "int?[]", "Customer[]", "Money[]",
            "List<int>", "List<string?>", "List<int?>?", "List<List<int>>", "List<Money>", "List<Customer>", "List<object>", "List<Bad>",
            "Dictionary<string, int>", "Dictionary<int, List<string>>", "Dictionary<string, Customer>", "Dictionary<Guid, Money?>",
            "HashSet<int>", "IList<int>", "IEnumerable<int>", "IReadOnlyList<int>", "Queue<int>", "SortedDictionary<string, int>",
            "System.Collections.Immutable.ImmutableArray<int>", "Memory<byte>", "ReadOnlyMemory<byte>", "ArraySegment<byte>",
            "(int, string)", "Tuple<int, string>", "KeyValuePair<string, int>", "Action", "Func<int>", "Lazy<int>",
            "Customer", "Customer?", "PersistentObject", "PersistentList<int>", "PersistentList<Customer>", "PersistentList<List<int>>",
            "PersistentDictionary<string, Customer>", "PersistentDictionary<string, Money>", "PersistentCounter",
            "PersistentSet<string>", "PersistentSet<Customer>", "PersistentSet<Money>", "PersistentSet<List<int>>",
            "Money", "Money?", "Address", "Address?", "Bad", "Bad?", "Plain", "PlainStruct", "IComparable", "Customer.Nested",
        ];
        var classes = string.Join(Environment.NewLine, types.Select((type, i) => $$"""
            [Persistent] public partial class C{{i}} { public partial {{type}} P { get; set; } }
            """));
        await AssertAgreementAsync(Sources.Wrap($$"""
            public enum Small : byte { A }
            public enum Big : long { A = 1L << 40 }
            [PersistentValue] public partial record struct Money(decimal Amount, string Currency);
            [PersistentValue] public partial record Address(string Street, List<Money> Prices);
            [PersistentValue] public struct Bad { public int X { get; set; } }
            public class Plain { }
            public struct PlainStruct { public int X; }
            [Persistent] public partial class Customer
            {
                public partial string Name { get; set; }

                [Persistent] public partial class Nested { public partial int X { get; set; } }
            }
            {{classes}}
            """),
            types.Length);
    }

    private static async Task AssertAgreementAsync(string source, int minimumTypes = 1)
    {
        var compilation = TestCompiler.CreateCompilation([source]);
        var (output, result) = TestCompiler.Generate(compilation);
        Assert.Null(result.Exception);
        Assert.Empty(result.Diagnostics);
        var diagnostics = await AnalyzerRunner.AnalyzeAsync(output);
        var blocking = diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error || d.Id == "PERSIST008").ToImmutableArray();

        var checkedTypes = 0;
        foreach (var type in SourceTypes(output.Assembly.GlobalNamespace))
        {
            var isPersistent = RuleSymbols.HasAttribute(type, RuleSymbols.PersistentAttribute);
            var isValue = RuleSymbols.HasAttribute(type, RuleSymbols.PersistentValueAttribute);
            if (!isPersistent && !isValue) continue;
            checkedTypes++;
            // A class the generator cannot complete may still get placeholders (they throw, and keep the
            // compiler quiet so that a build shows the analyzers' error): those are not a completed class.
            var generated = type.DeclaringSyntaxReferences.Any(r => RuleSymbols.IsGenerated(r.SyntaxTree)) && type.GetMembers("__NotCompleted").IsEmpty;
            var spans = UserSpans(type);
            var reported = blocking.Where(d => spans.Any(s => d.Location.SourceTree == s.Tree && s.Span.Contains(d.Location.SourceSpan))).ToList();
            Assert.True(
                generated == (reported.Count == 0),
                $"{type.ToDisplayString()}: generated = {generated}, but the analyzers reported:{Environment.NewLine}{TestCompiler.Format(reported)}{Environment.NewLine}All:{Environment.NewLine}{TestCompiler.Format(diagnostics)}");
        }
        Assert.True(checkedTypes >= minimumTypes, $"only {checkedTypes} types checked");
    }

    /// <summary>The user's declarations of a type, with those of the types around it (PERSIST001 and PERSIST012 may point there).</summary>
    private static List<(SyntaxTree Tree, TextSpan Span)> UserSpans(INamedTypeSymbol type)
    {
        var spans = new List<(SyntaxTree, TextSpan)>();
        for (INamedTypeSymbol? current = type; current is not null; current = current.ContainingType)
        {
            foreach (var reference in current.DeclaringSyntaxReferences.Where(r => !RuleSymbols.IsGenerated(r.SyntaxTree)))
            {
                // The containers only up to their own members: another class nested beside this one is not this one.
                var span = SymbolEqualityComparer.Default.Equals(current, type) ? reference.Span : ((Microsoft.CodeAnalysis.CSharp.Syntax.TypeDeclarationSyntax)reference.GetSyntax()).Identifier.Span;
                spans.Add((reference.SyntaxTree, span));
            }
        }
        return spans;
    }

    private static IEnumerable<INamedTypeSymbol> SourceTypes(INamespaceOrTypeSymbol container)
    {
        foreach (var member in container.GetMembers())
        {
            if (member is INamespaceSymbol ns)
            {
                foreach (var type in SourceTypes(ns)) yield return type;
            }
            else if (member is INamedTypeSymbol type && type.Locations.Any(l => l.IsInSource))
            {
                yield return type;
                foreach (var nested in SourceTypes(type)) yield return nested;
            }
        }
    }
}
