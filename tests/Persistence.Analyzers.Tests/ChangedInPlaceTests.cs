using Persistence.Analyzers.Tests.Infrastructure;

namespace Persistence.Analyzers.Tests;

/// <summary>PERSIST006: a stored List, Dictionary, array or value class changed in place is not saved; the fixes mark the object changed or switch to a persistent collection.</summary>
public sealed class ChangedInPlaceTests
{
    private const string Id = "PERSIST006";

    private const string Model = """
        [Persistent]
        public partial class Customer
        {
            public partial string Name { get; set; }
            public partial List<string>? Tags { get; set; }
            public partial int[]? Scores { get; set; }
            public partial Dictionary<string, List<int>>? Groups { get; set; }
            public partial Price? Price { get; set; }
            public partial PersistentList<string>? History { get; set; }

            [Transient]
            public partial List<string>? Scratch { get; set; }
        }

        [PersistentValue]
        public partial class Price
        {
            public decimal Amount { get; set; }
        }

        """;

    private const string ListAdvice = "use PersistentList<string> instead, assign a new collection to the property, or call MarkChanged() on the object after the change";

    [Fact]
    public async Task Reports_each_change_in_place_with_what_to_do()
    {
        var diagnostics = await Expect.DiagnosticsAsync(Id, Sources.Wrap(Model + """
            public static class Shop
            {
                public static void Change(Customer customer)
                {
                    [|customer.Tags!.Add("new")|];
                    [|customer.Tags[0] = "first"|];
                    customer.Tags?[|.RemoveAt(0)|];
                    [|customer.Tags.Sort()|];
                    [|customer.Scores![1] += 2|];
                    [|customer.Scores[0]++|];
                    [|Array.Reverse(customer.Scores)|];
                    [|MemoryExtensions.Sort(customer.Scores.AsSpan())|];
                    [|customer.Groups!["a"].Add(1)|];
                    [|customer.Groups["b"] = new List<int>()|];
                    [|customer.Price!.Amount = 3|];
                }
            }
            """),
            $"'Customer.Tags' is changed in place, which does not mark the persistent object as changed, so the change is not saved: {ListAdvice}",
            $"'Customer.Tags' is changed in place, which does not mark the persistent object as changed, so the change is not saved: {ListAdvice}",
            $"'Customer.Tags' is changed in place, which does not mark the persistent object as changed, so the change is not saved: {ListAdvice}",
            $"'Customer.Tags' is changed in place, which does not mark the persistent object as changed, so the change is not saved: {ListAdvice}",
            "'Customer.Scores' is changed in place, which does not mark the persistent object as changed, so the change is not saved: assign a new array to the property, or call MarkChanged() on the object after the change",
            "'Customer.Scores' is changed in place, which does not mark the persistent object as changed, so the change is not saved: assign a new array to the property, or call MarkChanged() on the object after the change",
            "'Customer.Scores' is changed in place, which does not mark the persistent object as changed, so the change is not saved: assign a new array to the property, or call MarkChanged() on the object after the change",
            "'Customer.Scores' is changed in place, which does not mark the persistent object as changed, so the change is not saved: assign a new array to the property, or call MarkChanged() on the object after the change",
            "'Customer.Groups' is changed in place, which does not mark the persistent object as changed, so the change is not saved: use PersistentDictionary<string, List<int>> instead, assign a new collection to the property, or call MarkChanged() on the object after the change",
            "'Customer.Groups' is changed in place, which does not mark the persistent object as changed, so the change is not saved: use PersistentDictionary<string, List<int>> instead, assign a new collection to the property, or call MarkChanged() on the object after the change",
            "'Customer.Price' is changed in place, which does not mark the persistent object as changed, so the change is not saved: assign a new value to the property (make the value immutable, e.g. a record with init accessors), or call MarkChanged() on the object after the change");
        Assert.All(diagnostics, d => Assert.Equal(Microsoft.CodeAnalysis.DiagnosticSeverity.Warning, d.Severity));
    }

    [Fact]
    public async Task Reports_an_array_reversed_in_place_by_the_span_extension_CSharp_14_binds_to() =>
        await Expect.DiagnosticsAsync(Id, Sources.Wrap(Model + """
            public static class Shop
            {
                public static void Change(Customer customer) => [|customer.Scores!.Reverse()|];
            }
            """),
            TestCompiler.ParseOptions.WithLanguageVersion(Microsoft.CodeAnalysis.CSharp.LanguageVersion.Preview),
            options: null);

    [Fact]
    public async Task Reports_a_change_when_another_element_is_marked_changed() =>
        await Expect.DiagnosticsAsync(Id, Sources.Wrap(Model + """
            public static class Shop
            {
                public static void Change(Customer[] customers, int i, int j)
                {
                    [|customers[0].Tags!.Add("new")|];
                    customers[1].MarkChanged();
                    [|customers[i].Scores![0] = 1|];
                    customers[j].MarkChanged();
                    [|customers[i + 1].Scores![0] = 1|];
                    customers[i + 1].MarkChanged();
                }
            }
            """));

    [Fact]
    public async Task Reports_a_change_inside_the_class_itself() =>
        await Expect.DiagnosticsAsync(Id, Sources.Wrap("""
            [Persistent]
            public partial class Customer
            {
                public partial List<string> Tags { get; set; }

                public void Tag(string tag) => [|Tags.Add(tag)|];
            }
            """));

    [Fact]
    public async Task Reports_a_change_to_an_object_made_in_the_method_once_a_commit_stored_it() =>
        await Expect.DiagnosticsAsync(Id, Sources.Wrap(Model + """
            public static class Shop
            {
                public static void Create(Connection connection)
                {
                    var customer = new Customer { Name = "Ada", Tags = [] };
                    customer.Tags.Add("before the commit: stored whole");
                    connection.Root["ada"] = customer;
                    connection.Commit();
                    [|customer.Tags.Add("after the commit: lost")|];
                    connection.Commit();
                }
            }
            """),
            $"'Customer.Tags' is changed in place, which does not mark the persistent object as changed, so the change is not saved: {ListAdvice}");

    [Fact]
    public async Task Accepts_code_that_marks_the_object_changed_or_changes_a_new_object() =>
        await Expect.CleanAsync(Sources.Wrap(Model + """
            public static class Shop
            {
                public static void MarkChanged(Customer customer)
                {
                    customer.Tags!.Add("new");
                    customer.MarkChanged();
                }

                public static void Reassign(Customer customer)
                {
                    customer.Scores![0] = 1;
                    customer.Scores = customer.Scores;
                }

                public static void MarkChangedThroughAnArrayOrAList(Customer[] customers, List<Customer> list, int i)
                {
                    customers[1].Tags!.Add("new");
                    customers[1].MarkChanged();
                    customers[i].Scores![0] = 1;
                    customers[i].MarkChanged();
                    list[0].Tags!.Add("new");
                    list[0].MarkChanged();
                }

                public static Customer Create()
                {
                    var customer = new Customer { Name = "Ada", Tags = [] };
                    customer.Tags.Add("new");
                    return customer;
                }

                public static void Other(Customer customer)
                {
                    customer.History!.Add("tracked by the collection itself");
                    customer.Scratch?.Add("not stored");
                    customer.Tags = [.. customer.Tags ?? [], "copied"];
                    var copy = new List<string>(customer.Tags);
                    copy.Add("a copy");
                    _ = customer.Tags.Contains("x") ? customer.Tags[0] : customer.Scores?.Length.ToString();
                    _ = System.Linq.Enumerable.Reverse(customer.Scores ?? []);
                    customer.Price = new Price { Amount = 2 };
                }
            }

            [Persistent]
            public partial class Basket
            {
                public Basket() => Items = [];

                public Basket(string first)
                {
                    Items = [];
                    Items.Add(first);
                }

                public partial List<string> Items { get; set; }

                public void Add(string item)
                {
                    Items.Add(item);
                    MarkChanged();
                }
            }

            public class Plain
            {
                public List<string> Items { get; } = [];

                public void Add(string item) => Items.Add(item);
            }
            """));

    [Fact]
    public async Task Fix_calls_MarkChanged_on_the_object_after_the_statement() =>
        await CodeFixTest.VerifyAsync(Id, "Call customer.MarkChanged() after the change",
            """
            using System.Collections.Generic;
            using Persistence;

            namespace Shop;

            /// <summary>A customer.</summary>
            [Persistent]
            public partial class Customer
            {
                /// <summary>Tags.</summary>
                public partial List<string> Tags { get; set; }
            }

            /// <summary>Uses customers.</summary>
            public static class Tagging
            {
                /// <summary>Adds a tag.</summary>
                public static void Tag(Customer customer, string tag)
                {
                    if (tag.Length == 0) return;
                    customer.Tags.Add(tag);
                }
            }
            """,
            """
            using System.Collections.Generic;
            using Persistence;

            namespace Shop;

            /// <summary>A customer.</summary>
            [Persistent]
            public partial class Customer
            {
                /// <summary>Tags.</summary>
                public partial List<string> Tags { get; set; }
            }

            /// <summary>Uses customers.</summary>
            public static class Tagging
            {
                /// <summary>Adds a tag.</summary>
                public static void Tag(Customer customer, string tag)
                {
                    if (tag.Length == 0) return;
                    customer.Tags.Add(tag);
                    customer.MarkChanged();
                }
            }
            """);

    [Fact]
    public async Task Fix_calls_MarkChanged_inside_the_class() =>
        await CodeFixTest.VerifyAsync(Id, "Call MarkChanged() after the change",
            """
            using System.Collections.Generic;
            using Persistence;

            namespace Shop;

            /// <summary>A customer.</summary>
            [Persistent]
            public partial class Customer
            {
                /// <summary>Scores.</summary>
                public partial int[] Scores { get; set; }

                /// <summary>Resets one score.</summary>
                public void Reset(int index)
                {
                    Scores[index] = 0;
                }
            }
            """,
            """
            using System.Collections.Generic;
            using Persistence;

            namespace Shop;

            /// <summary>A customer.</summary>
            [Persistent]
            public partial class Customer
            {
                /// <summary>Scores.</summary>
                public partial int[] Scores { get; set; }

                /// <summary>Resets one score.</summary>
                public void Reset(int index)
                {
                    Scores[index] = 0;
                    MarkChanged();
                }
            }
            """);

    [Fact]
    public async Task Fix_switches_the_property_to_the_persistent_collection_in_its_own_document() =>
        await CodeFixTest.VerifyAsync(Id, "Change 'Customer.Tags' to PersistentList<string>",
            [
                """
                using System.Collections.Generic;
                using Persistence;

                namespace Shop;

                /// <summary>A customer.</summary>
                [Persistent]
                public partial class Customer
                {
                    /// <summary>Tags.</summary>
                    public partial List<string>? Tags { get; set; }
                }
                """,
                """
                namespace Shop;

                /// <summary>Uses customers.</summary>
                public static class Tagging
                {
                    /// <summary>Adds a tag.</summary>
                    public static void Tag(Customer customer, string tag)
                    {
                        customer.Tags ??= [];
                        customer.Tags.Add(tag);
                    }
                }
                """,
            ],
            [
                """
                using System.Collections.Generic;
                using Persistence;

                namespace Shop;

                /// <summary>A customer.</summary>
                [Persistent]
                public partial class Customer
                {
                    /// <summary>Tags.</summary>
                    public partial PersistentList<string>? Tags { get; set; }
                }
                """,
                """
                namespace Shop;

                /// <summary>Uses customers.</summary>
                public static class Tagging
                {
                    /// <summary>Adds a tag.</summary>
                    public static void Tag(Customer customer, string tag)
                    {
                        customer.Tags ??= [];
                        customer.Tags.Add(tag);
                    }
                }
                """,
            ]);

    [Fact]
    public async Task Advises_PersistentSet_for_a_HashSet_changed_in_place() =>
        await Expect.DiagnosticsAsync(Id, Sources.Wrap("""
            [Persistent]
            public partial class Customer
            {
                public partial HashSet<string>? Labels { get; set; }
            }

            public static class Shop
            {
                public static void Change(Customer customer)
                {
                    [|customer.Labels!.Add("new")|];
                    [|customer.Labels.UnionWith(["a", "b"])|];
                    _ = customer.Labels.Contains("new");
                }
            }
            """),
            "'Customer.Labels' is changed in place, which does not mark the persistent object as changed, so the change is not saved: use PersistentSet<string> instead, assign a new collection to the property, or call MarkChanged() on the object after the change",
            "'Customer.Labels' is changed in place, which does not mark the persistent object as changed, so the change is not saved: use PersistentSet<string> instead, assign a new collection to the property, or call MarkChanged() on the object after the change");

    [Fact]
    public async Task Fix_switches_a_HashSet_property_to_PersistentSet() =>
        await CodeFixTest.VerifyAsync(Id, "Change 'Customer.Labels' to PersistentSet<string>",
            """
            using System.Collections.Generic;
            using Persistence;

            namespace Shop;

            /// <summary>A customer.</summary>
            [Persistent]
            public partial class Customer
            {
                /// <summary>Labels.</summary>
                public partial HashSet<string>? Labels { get; set; }

                /// <summary>Adds a label.</summary>
                public void Label(string label)
                {
                    Labels ??= [];
                    Labels.Add(label);
                }
            }
            """,
            """
            using System.Collections.Generic;
            using Persistence;

            namespace Shop;

            /// <summary>A customer.</summary>
            [Persistent]
            public partial class Customer
            {
                /// <summary>Labels.</summary>
                public partial PersistentSet<string>? Labels { get; set; }

                /// <summary>Adds a label.</summary>
                public void Label(string label)
                {
                    Labels ??= [];
                    Labels.Add(label);
                }
            }
            """);

    [Fact]
    public async Task No_collection_switch_is_offered_for_arrays() =>
        Assert.Equal(
            ["Call customer.MarkChanged() after the change"],
            await CodeFixRunner.TitlesAsync(Id, [Sources.Wrap(Model + """
                public static class Shop
                {
                    public static void Change(Customer customer)
                    {
                        customer.Scores![0] = 1;
                    }
                }
                """)]));
}
