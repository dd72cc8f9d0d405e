using Persistence.Analyzers.Tests.Infrastructure;

namespace Persistence.Analyzers.Tests;

/// <summary>
/// PERSIST006 through inline values: a collection or a mutable value reached through <c>[PersistentValue]</c> members (and the
/// elements of stored lists and arrays of values) is stored with the persistent object at the root of the path, so changing it in
/// place is lost just the same.
/// </summary>
public sealed class ChangedInPlaceThroughValueTests
{
    private const string Id = "PERSIST006";

    private const string Model = """
        [Persistent]
        public partial class Customer
        {
            public partial List<string>? Tags { get; set; }
            public partial Address? Home { get; set; }
            public partial Place Place { get; set; }
            public partial Place? MaybePlace { get; set; }
            public partial List<Address>? Addresses { get; set; }
            public partial Dictionary<string, Address>? AddressBook { get; set; }
            public partial List<Site>? Sites { get; set; }
            public partial PersistentList<Address>? History { get; set; }
            public partial PersistentDictionary<string, Site>? SitesByName { get; set; }
            public partial BTree<string, Address>? Book { get; set; }
            public partial Point[]? Points { get; set; }
            public partial Site? Site { get; set; }
            public partial Money? Price { get; set; }

            [Transient]
            public partial Address? Scratch { get; set; }
        }

        [PersistentValue]
        public partial record Address(List<string> Lines, int[] Codes, Geo Geo, string City);

        [PersistentValue]
        public partial record Geo(List<string> Tags, Dictionary<string, int> Counts, Note? Note);

        [PersistentValue]
        public partial class Note
        {
            public string Text { get; set; } = "";
        }

        [PersistentValue]
        public partial record struct Place(List<string> Lines, Geo Geo);

        [PersistentValue]
        public partial record struct Point(int X, int Y);

        [PersistentValue]
        public partial class Site
        {
            public string City { get; set; } = "";
            public Address? Main { get; set; }

            [Transient]
            public List<string>? Seen { get; set; }

            // Fields of a value are not stored.
            public int Visits;
        }

        [PersistentValue]
        public partial record Money(decimal Amount, string Currency);

        """;

    private static string Message(string path, string advice) => Expect.ChangedInPlace(path, advice);

    private static string ValueAdvice(string root, bool record = true) =>
        $"assign a new value with the change to '{root}'{(record ? " (a copy made with 'with { … }')" : "")}, or call MarkChanged() on the object after the change";

    private const string ElementAdvice =
        "assign a new collection with the change to 'Customer.Addresses', or call MarkChanged() on the object after the change";

    private static Task ReportsAsync(string markup, params string[] messages) => Expect.CompilesAndReportsAsync(Id, markup, messages);

    private const string PointsAdvice =
        "assign a new array with the change to 'Customer.Points', or call MarkChanged() on the object after the change";

    [Fact]
    public async Task Reports_a_collection_changed_in_place_inside_a_stored_value_naming_the_whole_path() =>
        await ReportsAsync(Sources.Wrap(Model + """
            public static class Shop
            {
                public static void Change(Customer customer, string line)
                {
                    [|customer.Home!.Lines.Add(line)|];
                    [|customer.Home.Lines[0] = line|];
                    [|customer.Home.Codes[0] = 1|];
                    [|customer.Home.Codes[1]++|];
                    [|Array.Sort(customer.Home.Codes)|];
                    [|customer.Home.Geo.Tags.Add(line)|];
                    [|customer.Home.Geo.Counts["k"] += 1|];
                    [|customer.Home.Geo.Note!.Text = line|];
                    customer.Home?[|.Lines.Clear()|];
                }
            }
            """),
            Message("Customer.Home.Lines", ValueAdvice("Customer.Home")),
            Message("Customer.Home.Lines", ValueAdvice("Customer.Home")),
            Message("Customer.Home.Codes", ValueAdvice("Customer.Home")),
            Message("Customer.Home.Codes", ValueAdvice("Customer.Home")),
            Message("Customer.Home.Codes", ValueAdvice("Customer.Home")),
            Message("Customer.Home.Geo.Tags", ValueAdvice("Customer.Home")),
            Message("Customer.Home.Geo.Counts", ValueAdvice("Customer.Home")),
            Message("Customer.Home.Geo.Note", ValueAdvice("Customer.Home")),
            Message("Customer.Home.Lines", ValueAdvice("Customer.Home")));

    [Fact]
    public async Task Reports_a_change_in_place_inside_a_stored_struct_value() =>
        await ReportsAsync(Sources.Wrap(Model + """
            public static class Shop
            {
                public static void Change(Customer customer, string line)
                {
                    [|customer.Place.Lines.Add(line)|];
                    [|customer.Place.Geo.Tags.Remove(line)|];
                }
            }
            """),
            Message("Customer.Place.Lines", ValueAdvice("Customer.Place")),
            Message("Customer.Place.Geo.Tags", ValueAdvice("Customer.Place")));

    [Fact]
    public async Task Reports_a_change_in_place_inside_an_element_of_a_stored_list_or_array_of_values() =>
        await ReportsAsync(Sources.Wrap(Model + """
            public static class Shop
            {
                public static void Change(Customer customer, string line, int i)
                {
                    [|customer.Addresses![0].Lines.Add(line)|];
                    [|customer.Addresses[i].Geo.Tags.Add(line)|];
                    [|customer.Points![0].X = 3|];
                    [|customer.Points[i].Y += 1|];
                    [|customer.AddressBook!["home"].Codes[0] = 1|];
                    [|customer.Sites![0].City = line|];
                }
            }
            """),
            Message("Customer.Addresses[].Lines", ElementAdvice),
            Message("Customer.Addresses[].Geo.Tags", ElementAdvice),
            Message("Customer.Points[]", PointsAdvice),
            Message("Customer.Points[]", PointsAdvice),
            Message("Customer.AddressBook[].Codes", "assign a new collection with the change to 'Customer.AddressBook', or call MarkChanged() on the object after the change"),
            Message("Customer.Sites[]", "assign a new collection with the change to 'Customer.Sites', or call MarkChanged() on the object after the change"));

    [Fact]
    public async Task Reports_a_change_in_place_through_a_mutable_value_class() =>
        await ReportsAsync(Sources.Wrap(Model + """
            public static class Shop
            {
                public static void Change(Customer customer, string line)
                {
                    [|customer.Site!.City = line|];
                    [|customer.Site.Main!.Lines.Add(line)|];
                }
            }
            """),
            Message("Customer.Site", "assign a new value to the property (make the value immutable, e.g. a record with init accessors), or call MarkChanged() on the object after the change"),
            Message("Customer.Site.Main.Lines", ValueAdvice("Customer.Site", record: false)));

    [Fact]
    public async Task Accepts_a_change_through_a_value_when_the_object_at_the_root_is_marked_changed_or_new() =>
        await Expect.CleanAsync(Sources.Wrap(Model + """
            public static class Shop
            {
                public static void MarkChanged(Customer customer, string line)
                {
                    customer.Home!.Lines.Add(line);
                    customer.Place.Geo.Tags.Add(line);
                    customer.Addresses![0].Lines.Add(line);
                    customer.Points![0].X = 1;
                    customer.MarkChanged();
                }

                public static void Reassign(Customer customer, string line)
                {
                    customer.Home!.Geo.Tags.Add(line);
                    customer.Home = customer.Home with { City = line };
                }

                public static void AssignNewValue(Customer customer, string line)
                {
                    customer.Home = customer.Home! with { Lines = [.. customer.Home.Lines, line] };
                    customer.Place = customer.Place with { Lines = [.. customer.Place.Lines, line] };
                }

                public static void MarkChangedThroughAnArray(Customer[] customers, string line)
                {
                    customers[0].Home!.Lines.Add(line);
                    customers[0].MarkChanged();
                }

                public static Customer Create(string line)
                {
                    var customer = new Customer { Home = new Address([], [0], new Geo([], [], null), "Paris") };
                    customer.Home.Lines.Add(line);
                    customer.Home.Geo.Counts["k"] = 1;
                    return customer;
                }

                public static void Transient(Customer customer, string line)
                {
                    customer.Scratch?.Lines.Add(line);
                    customer.Site!.Seen = [line];
                    customer.Site.Seen.Add(line);
                    customer.Site.Visits = 3;
                    customer.Site.Visits++;
                }
            }
            """));

    [Fact]
    public async Task Accepts_reading_through_values_and_values_with_only_immutable_members() =>
        await Expect.CleanAsync(Sources.Wrap(Model + """
            public static class Shop
            {
                public static int Read(Customer customer, string line)
                {
                    var count = customer.Home!.Lines.Count + customer.Home.Codes.Length + customer.Place.Lines.Count;
                    if (customer.Home.Lines.Contains(line) && customer.Home.Geo.Counts.TryGetValue(line, out var n)) count += n;
                    foreach (var address in customer.Addresses ?? []) count += address.Lines.IndexOf(line);
                    count += customer.Addresses![0].Geo.Tags.Count + customer.Points![0].X;
                    _ = customer.Home.Lines[0].Remove(0);
                    _ = customer.Home.City.Remove(0);
                    _ = customer.Tags![0].Remove(0);
                    _ = customer.Price!.Currency.Replace("a", "b");
                    _ = customer.Price.Amount.ToString();
                    _ = customer.Home.Geo.Note?.Text.Insert(0, line);
                    _ = customer.Site?.Main?.Lines.ToArray();
                    return count;
                }

                public static Address Copy(Customer customer, string line) => customer.Home! with { City = line };

                public static Money Raise(Customer customer) => customer.Price! with { Amount = customer.Price.Amount + 1 };
            }
            """));

    [Fact]
    public async Task Reports_a_change_inside_a_nullable_value_struct() =>
        await ReportsAsync(Sources.Wrap(Model + """
            public static class Shop
            {
                public static void Change(Customer customer, string line)
                {
                    [|customer.MaybePlace!.Value.Lines.Add(line)|];
                    [|customer.MaybePlace.GetValueOrDefault().Geo.Tags.Add(line)|];
                    var place = customer.MaybePlace.Value;
                    [|place.Lines.Clear()|];
                }
            }
            """),
            Message("Customer.MaybePlace.Lines", ValueAdvice("Customer.MaybePlace")),
            Message("Customer.MaybePlace.Geo.Tags", ValueAdvice("Customer.MaybePlace")),
            Message("Customer.MaybePlace.Lines", ValueAdvice("Customer.MaybePlace")));

    [Fact]
    public async Task Follows_a_value_copied_to_a_local() =>
        // The local holds the same value class, or a copy of the value struct holding the same list: the change is the stored one's.
        await ReportsAsync(Sources.Wrap(Model + """
            public static class Shop
            {
                public static void Change(Customer customer, string line)
                {
                    var home = customer.Home!;
                    [|home.Lines.Add(line)|];
                    var place = customer.Place;
                    [|place.Lines.Add(line)|];
                }
            }
            """),
            Message("Customer.Home.Lines", ValueAdvice("Customer.Home")),
            Message("Customer.Place.Lines", ValueAdvice("Customer.Place")));

    private const string ListElementAdvice =
        "assign the element a new value with the change (a copy made with 'with { … }'), or call MarkChanged() on the collection after the change";

    [Fact]
    public async Task Reports_a_change_in_place_inside_a_value_held_by_a_persistent_collection() =>
        await ReportsAsync(Sources.Wrap(Model + """
            public static class Shop
            {
                public static void Change(Customer customer, PersistentList<Address> history, string line)
                {
                    [|customer.History![0].Lines.Add(line)|];
                    [|customer.SitesByName!["a"].City = line|];
                    [|customer.Book!["a"].Codes[0] = 1|];
                    [|history[0].Geo.Tags.Add(line)|];
                }

                public static void MarkedTheWrongObject(Customer customer, string line)
                {
                    // The collections are persistent objects of their own.
                    [|customer.History![0].Lines.Add(line)|];
                    customer.MarkChanged();
                    [|customer.Book!["a"].Lines.Add(line)|];
                    customer.MarkChanged();
                    [|customer.SitesByName!["b"].City = line|];
                    customer.SitesByName["b"] = customer.SitesByName["b"];
                }
            }
            """),
            Message("Customer.History[].Lines", ListElementAdvice),
            Message("Customer.SitesByName[]", "assign the element a new value with the change, or call MarkChanged() on the collection after the change"),
            Message("Customer.Book[].Codes", "assign the element a new value with the change (a copy made with 'with { … }'), or call MarkChanged() on the collection after the change"),
            Message("PersistentList<Address>[].Geo.Tags", ListElementAdvice),
            Message("Customer.History[].Lines", ListElementAdvice),
            Message("Customer.Book[].Lines", "assign the element a new value with the change (a copy made with 'with { … }'), or call MarkChanged() on the collection after the change"),
            Message("Customer.SitesByName[]", "assign the element a new value with the change, or call MarkChanged() on the collection after the change"));

    [Fact]
    public async Task Reports_a_change_in_place_through_an_index_from_the_end() =>
        await ReportsAsync(Sources.Wrap(Model + """
            public static class Shop
            {
                public static void Change(Customer customer, string line)
                {
                    [|customer.History![^1].Lines.Add(line)|];
                    [|customer.Addresses![^1].Codes[0] = 1|];
                    [|customer.Tags![^1] = line|];
                }
            }
            """),
            Message("Customer.History[].Lines", ListElementAdvice),
            Message("Customer.Addresses[].Codes", ElementAdvice),
            Message("Customer.Tags", "use PersistentList<string> instead, assign a new collection to the property, or call MarkChanged() on the object after the change"));

    [Fact]
    public async Task Accepts_a_change_through_an_index_from_the_end_whose_element_is_assigned_again() =>
        await Expect.CleanAsync(Sources.Wrap(Model + """
            public static class Shop
            {
                public static void Change(Customer customer, string line)
                {
                    customer.History![^1].Lines.Add(line);
                    customer.History[^1] = customer.History[^1] with { City = line };
                }
            }
            """));

    [Fact]
    public async Task Accepts_a_change_inside_an_element_of_a_persistent_collection_that_is_marked_or_assigned() =>
        await Expect.CleanAsync(Sources.Wrap(Model + """
            public static class Shop
            {
                public static void MarkChanged(Customer customer, string line)
                {
                    customer.History![0].Lines.Add(line);
                    customer.History.MarkChanged();
                    // A BTree's MarkChanged() stores its loaded buckets.
                    customer.Book!["b"].Lines.Add(line);
                    customer.Book.MarkChanged();
                }

                public static void Assign(Customer customer, string line)
                {
                    customer.Book!["a"].Lines.Add(line);
                    customer.Book["a"] = customer.Book["a"] with { City = line };
                }

                public static int Read(Customer customer, string line) =>
                    customer.Book!["a"].Lines.IndexOf(line) + customer.History![0].Codes.Length + customer.SitesByName!["a"].City.Length;

                public static void Replace(Customer customer, string line)
                {
                    customer.History![0] = customer.History[0] with { Lines = [.. customer.History[0].Lines, line] };
                    customer.History.Add(customer.History[0]);
                }
            }
            """));

    [Fact]
    public async Task Fix_calls_MarkChanged_on_the_object_at_the_root_of_the_path() =>
        await CodeFixTest.VerifyAsync(Id, "Call customer.MarkChanged() after the change",
            """
            using System.Collections.Generic;
            using Persistence;

            namespace Shop;

            /// <summary>A customer.</summary>
            [Persistent]
            public partial class Customer
            {
                /// <summary>Home.</summary>
                public partial Address Home { get; set; }
            }

            /// <summary>An address.</summary>
            [PersistentValue]
            public partial record Address(List<string> Lines);

            /// <summary>Uses customers.</summary>
            public static class Moving
            {
                /// <summary>Adds a line.</summary>
                public static void AddLine(Customer customer, string line)
                {
                    customer.Home.Lines.Add(line);
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
                /// <summary>Home.</summary>
                public partial Address Home { get; set; }
            }

            /// <summary>An address.</summary>
            [PersistentValue]
            public partial record Address(List<string> Lines);

            /// <summary>Uses customers.</summary>
            public static class Moving
            {
                /// <summary>Adds a line.</summary>
                public static void AddLine(Customer customer, string line)
                {
                    customer.Home.Lines.Add(line);
                    customer.MarkChanged();
                }
            }
            """);

    [Fact]
    public async Task No_collection_switch_is_offered_for_a_collection_inside_a_value()
    {
        string[] sources = [Sources.Wrap(Model + """
                public static class Shop
                {
                    public static void Change(Customer customer)
                    {
                        customer.Home!.Lines.Add("x");
                        customer.Addresses![0].Lines.Add("x");
                    }
                }
                """)];
        Assert.Equal(["Call customer.MarkChanged() after the change"], await CodeFixRunner.TitlesAsync(Id, sources));
        Assert.Equal(["Call customer.MarkChanged() after the change"], await CodeFixRunner.TitlesAsync(Id, sources, index: 1));
    }

    [Fact]
    public async Task Fix_marks_the_persistent_collection_a_BTree_too()
    {
        string[] sources = [Sources.Wrap(Model + """
                public static class Shop
                {
                    public static void Change(Customer customer)
                    {
                        customer.History![0].Lines.Add("x");
                        customer.Book!["a"].Lines.Add("x");
                    }
                }
                """)];
        Assert.Equal(["Call customer.History.MarkChanged() after the change"], await CodeFixRunner.TitlesAsync(Id, sources));
        Assert.Equal(["Call customer.Book.MarkChanged() after the change"], await CodeFixRunner.TitlesAsync(Id, sources, index: 1));
    }
}
