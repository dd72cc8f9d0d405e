using Persistence.Analyzers.Tests.Infrastructure;

namespace Persistence.Analyzers.Tests;

/// <summary>
/// PERSIST006 through locals: a local initialized from a stored collection or value, and never given anything else, is that
/// collection or value (<c>var lines = order.Lines; lines.Add(x)</c>), and a foreach variable is an element of what it walks over.
/// </summary>
public sealed class ChangedInPlaceThroughLocalTests
{
    private const string Id = "PERSIST006";

    private const string Model = """
        [Persistent]
        public partial class Customer
        {
            public partial List<string>? Tags { get; set; }
            public partial List<Address>? Addresses { get; set; }
            public partial Address[]? Archive { get; set; }
            public partial PersistentList<Customer>? Friends { get; set; }
            public partial Place Place { get; set; }
            public partial string Name { get; set; }
        }

        [PersistentValue]
        public partial class Address
        {
            public string City { get; set; } = "";
            public List<string> Lines { get; set; } = new();
        }

        [PersistentValue]
        public partial record struct Place(string City, int Zip);

        """;

    private static string Message(string path, string advice) => Expect.ChangedInPlace(path, advice);

    private const string TagsAdvice =
        "use PersistentList<string> instead, assign a new collection to the property, or call MarkChanged() on the object after the change";

    private const string AddressesAdvice =
        "assign a new collection with the change to 'Customer.Addresses', or call MarkChanged() on the object after the change";

    private const string ArchiveAdvice =
        "assign a new array with the change to 'Customer.Archive', or call MarkChanged() on the object after the change";

    private static Task ReportsAsync(string markup, params string[] messages) => Expect.CompilesAndReportsAsync(Id, markup, messages);

    [Fact]
    public async Task Reports_a_change_through_a_local_holding_the_stored_collection_or_value() =>
        await ReportsAsync(Sources.Wrap(Model + """
            public static class Shop
            {
                public static void Tag(Customer customer, string tag)
                {
                    var tags = customer.Tags!;
                    [|tags.Add(tag)|];
                    List<string>? same = tags;
                    [|same!.Remove(tag)|];
                }

                public static void Move(Customer customer, string city)
                {
                    var first = customer.Addresses![0];
                    [|first.City = city|];
                    var lines = first.Lines;
                    [|lines.Clear()|];
                }
            }
            """),
            Message("Customer.Tags", TagsAdvice),
            Message("Customer.Tags", TagsAdvice),
            Message("Customer.Addresses[]", AddressesAdvice),
            Message("Customer.Addresses[].Lines", AddressesAdvice));

    [Fact]
    public async Task Reports_a_change_to_the_variable_of_a_foreach_over_stored_values() =>
        await ReportsAsync(Sources.Wrap(Model + """
            public static class Shop
            {
                public static void Rename(Customer customer, string city)
                {
                    foreach (var address in customer.Addresses!)
                        [|address.City = city|];
                    foreach (var old in customer.Archive!)
                        [|old.Lines.Add(city)|];
                }
            }
            """),
            Message("Customer.Addresses[]", AddressesAdvice),
            Message("Customer.Archive[].Lines", ArchiveAdvice));

    [Fact]
    public async Task A_local_that_is_given_something_else_or_a_copy_is_not_followed() =>
        await Expect.CleanAsync(Sources.Wrap(Model + """
            public static class Shop
            {
                public static void Reassigned(Customer customer, List<string> other, bool which, string tag)
                {
                    var tags = customer.Tags!;
                    if (which) tags = other;
                    tags.Add(tag);
                }

                public static void PassedByRef(Customer customer, string tag)
                {
                    var tags = customer.Tags!;
                    Replace(ref tags);
                    tags.Add(tag);
                }

                public static void Deconstructed(Customer customer, List<string> other, string tag)
                {
                    var tags = customer.Tags!;
                    (tags, _) = (other, 1);
                    tags.Add(tag);
                }

                public static void Copies(Customer customer, string tag)
                {
                    var copy = customer.Tags!.GetRange(0, 1);
                    copy.Add(tag);
                    var fresh = new List<string>(customer.Tags!);
                    fresh.Add(tag);
                    // A value struct copied to a local is a copy: changing it changes nothing stored (and nothing is lost).
                    var place = customer.Place;
                    place.Zip = 5;
                    List<string> declared;
                    declared = customer.Tags!;
                    declared.Add(tag);
                }

                public static void PersistentObjects(Customer customer, string name)
                {
                    // Persistent objects in a stored list track their own changes.
                    foreach (var friend in customer.Friends!) friend.Name = name;
                    var best = customer.Friends![0];
                    best.Name = name;
                }

                private static void Replace(ref List<string> tags) => tags = new List<string>();
            }
            """));

    [Fact]
    public async Task A_change_through_a_local_is_covered_by_MarkChanged_or_assigning_the_property() =>
        await Expect.CleanAsync(Sources.Wrap(Model + """
            public static class Shop
            {
                public static void Marked(Customer customer, string tag)
                {
                    var tags = customer.Tags!;
                    tags.Add(tag);
                    customer.MarkChanged();
                }

                public static void AssignedBack(Customer customer, string tag)
                {
                    var tags = customer.Tags!;
                    tags.Add(tag);
                    customer.Tags = tags;
                }

                public static Customer New(string tag)
                {
                    var customer = new Customer { Tags = new List<string>() };
                    var tags = customer.Tags;
                    tags.Add(tag);
                    return customer;
                }
            }
            """));

    [Fact]
    public async Task Fix_calls_MarkChanged_on_the_object_the_local_came_from() =>
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
                    var tags = customer.Tags;
                    tags.Add(tag);
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
                    var tags = customer.Tags;
                    tags.Add(tag);
                    customer.MarkChanged();
                }
            }
            """);
}
