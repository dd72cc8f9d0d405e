using Persistence.Analyzers.Tests.Infrastructure;

namespace Persistence.Analyzers.Tests;

/// <summary>PERSIST003: the type of a stored property (or of a stored member of a value) cannot be stored.</summary>
public sealed class UnstorableTypeTests
{
    private const string Id = "PERSIST003";

    private const string Supported = ". Stored types are bool, the integer and floating-point types, decimal, char, string, DateTime, DateTimeOffset, DateOnly, TimeOnly, TimeSpan, Guid, enums and nullables of these, byte[], arrays, List<T> and Dictionary<TKey, TValue> of values, [PersistentValue] types, [Persistent] classes and persistent collections; mark the property [Transient] to keep it out of storage.";

    public static TheoryData<string, string> Unstorable => new()
    {
        { "public partial [|object|] Tag { get; set; }", "'Customer.Tag' cannot be stored: its type 'object' is not a type Persistence can store" },
        { "public partial [|IList<int>|] Scores { get; set; }", "'Customer.Scores' cannot be stored: its type 'IList<int>' is not a type Persistence can store; store a List<int> (stored inline) or a PersistentList<int> instead" },
        { "public partial [|HashSet<string>?|] Tags { get; set; }", "'Customer.Tags' cannot be stored: its type 'HashSet<string>' is not a type Persistence can store; store a PersistentSet<string> or a List<string> (stored inline) instead" },
        { "public partial [|IReadOnlyDictionary<string, int>|] Totals { get; set; }", "'Customer.Totals' cannot be stored: its type 'IReadOnlyDictionary<string, int>' is not a type Persistence can store; store a Dictionary<string, int> (stored inline) or a PersistentDictionary<string, int> instead" },
        { "public partial [|Address|] Home { get; set; }", "'Customer.Home' cannot be stored: its type 'Address' is not a type Persistence can store; mark 'Address' [PersistentValue] to store it inline" },
        { "public partial [|Plain?|] Extra { get; set; }", "'Customer.Extra' cannot be stored: its type 'Plain' is not a type Persistence can store; mark 'Plain' [PersistentValue] to store it inline, or [Persistent] to store it as an object of its own" },
        { "public partial [|Box<int>?|] Boxed { get; set; }", "'Customer.Boxed' cannot be stored: its type 'Box<int>' is not a type Persistence can store" },
        { "public partial [|IList<Customer>|] Friends { get; set; }", "'Customer.Friends' cannot be stored: its type 'IList<Customer>' is not a type Persistence can store; store a PersistentList<Customer> instead" },
        { "public partial [|IDictionary<string, object>|] Bag { get; set; }", "'Customer.Bag' cannot be stored: its type 'IDictionary<string, object>' is not a type Persistence can store" },
        { "public partial [|SortedSet<long>|] Ordered { get; set; }", "'Customer.Ordered' cannot be stored: its type 'SortedSet<long>' is not a type Persistence can store; store a BTreeSet<long> or a List<long> (stored inline) instead" },
        { "public partial [|(int Width, int Height)|] Size { get; set; }", "'Customer.Size' cannot be stored: its type '(int Width, int Height)' is not a type Persistence can store; store a [PersistentValue] record struct with these members instead (one that implements IComparable<T> can be a BTree's key)" },
        { "public partial [|BTreeSet<(string Word, long Id)>?|] Words { get; set; }", "'Customer.Words' cannot be stored: its type 'BTreeSet<(string Word, long Id)>' holds '(string Word, long Id)', which is not a type Persistence can store; store a [PersistentValue] record struct with these members instead (one that implements IComparable<T> can be a BTree's key)" },
        { "public partial [|List<(object, int)>|] Pairs { get; set; }", "'Customer.Pairs' cannot be stored: its type 'List<(object, int)>' holds '(object, int)', which is not a type Persistence can store" },
        { "public partial [|Uri?|] Site { get; set; }", "'Customer.Site' cannot be stored: its type 'Uri' is not a type Persistence can store" },
        { "public partial [|int[,]|] Grid { get; set; }", "'Customer.Grid' cannot be stored: its type 'int[*,*]' is not a type Persistence can store" },
        { "public partial [|List<object>|] Things { get; set; }", "'Customer.Things' cannot be stored: its type 'List<object>' holds 'object', which is not a type Persistence can store" },
        { "public partial [|Dictionary<string, HashSet<int>>|] Groups { get; set; }", "'Customer.Groups' cannot be stored: its type 'Dictionary<string, HashSet<int>>' holds 'HashSet<int>', which is not a type Persistence can store; store a List<int> (stored inline) instead" },
        {
            "public partial [|List<Customer>|] Friends { get; set; }",
            "'Customer.Friends' cannot be stored: its type 'List<Customer>' holds the persistent type 'Customer', but lists, arrays, dictionaries, nullables and values can only hold values; use a PersistentList<Customer>"
        },
        {
            "public partial [|Customer[]|] Friends { get; set; }",
            "'Customer.Friends' cannot be stored: its type 'Customer[]' holds the persistent type 'Customer', but lists, arrays, dictionaries, nullables and values can only hold values; use a PersistentList<Customer>"
        },
        {
            "public partial [|Dictionary<Customer, int>|] Visits { get; set; }",
            "'Customer.Visits' cannot be stored: its type 'Dictionary<Customer, int>' holds the persistent type 'Customer', but lists, arrays, dictionaries, nullables and values can only hold values; use a PersistentDictionary<Customer, int>"
        },
        {
            "public partial [|BTree<Customer, int>?|] Ranks { get; set; }",
            "'Customer.Ranks' cannot be stored: its type 'BTree<Customer, int>' is keyed by the persistent type 'Customer', but a BTree's keys are values kept in order; key it by a value of the object (its id, a name), and keep the object as the value"
        },
        {
            "public partial [|BTreeSet<Customer>?|] Members { get; set; }",
            "'Customer.Members' cannot be stored: its type 'BTreeSet<Customer>' is keyed by the persistent type 'Customer', but a BTree's keys are values kept in order; key it by a value of the object (its id, a name), and keep the object as the value"
        },
        {
            "public partial [|Shape?|] Outline { get; set; }",
            "'Customer.Outline' cannot be stored: its type 'Shape' is not a type Persistence can store; mark 'Shape' [Persistent] to store it as an object of its own"
        },
        {
            "public partial [|PersistentList<System.IO.Stream>|] Streams { get; set; }",
            "'Customer.Streams' cannot be stored: its type 'PersistentList<Stream>' holds 'Stream', which is not a type Persistence can store"
        },
        {
            "public partial [|PersistentDictionary<string, List<Customer>>|] Groups { get; set; }",
            "'Customer.Groups' cannot be stored: its type 'PersistentDictionary<string, List<Customer>>' holds the persistent type 'Customer', but lists, arrays, dictionaries, nullables and values can only hold values; use a persistent collection such as PersistentList<Customer> or PersistentDictionary<TKey, Customer>"
        },
    };

    private const string InterfaceWhy = "; classes that cannot be stored may implement an interface, so a reference is typed with a persistent class: ";

    public static TheoryData<string, string> Interfaces => new()
    {
        { "public partial [|IShape?|] Outline { get; set; }", "'Drawing.Outline' cannot be stored: its type 'IShape' is not a type Persistence can store" + InterfaceWhy + "use 'Figure', the [Persistent] class that the classes implementing 'IShape' derive from, or PersistentObject" },
        { "public partial [|PersistentList<IShape>|] Shapes { get; set; }", "'Drawing.Shapes' cannot be stored: its type 'PersistentList<IShape>' holds 'IShape', which is not a type Persistence can store" + InterfaceWhy + "use 'Figure', the [Persistent] class that the classes implementing 'IShape' derive from, or PersistentObject" },
        { "public partial [|IRound?|] Wheel { get; set; }", "'Drawing.Wheel' cannot be stored: its type 'IRound' is not a type Persistence can store" + InterfaceWhy + "use 'Circle', the only [Persistent] class that implements 'IRound', or PersistentObject" },
        { "public partial [|ILabelled?|] Tagged { get; set; }", "'Drawing.Tagged' cannot be stored: its type 'ILabelled' is not a type Persistence can store" + InterfaceWhy + "give the [Persistent] classes that implement 'ILabelled' ('Circle', 'Note') a [Persistent] base class (abstract if need be) and use it, or use PersistentObject" },
        { "public partial [|IUnused?|] Nothing { get; set; }", "'Drawing.Nothing' cannot be stored: its type 'IUnused' is not a type Persistence can store" + InterfaceWhy + "use the [Persistent] class that the classes implementing 'IUnused' derive from, or PersistentObject" },
        // Inline, where no reference may be: nothing to suggest.
        { "public partial [|List<IShape>|] Inline { get; set; }", "'Drawing.Inline' cannot be stored: its type 'List<IShape>' holds 'IShape', which is not a type Persistence can store" },
    };

    [Theory]
    [MemberData(nameof(Interfaces))]
    public async Task An_interface_type_names_the_persistent_class_its_implementers_share(string property, string message) =>
        await Expect.DiagnosticsAsync(Id, Sources.Wrap($$"""
            public interface IShape { }
            public interface IRound { }
            public interface ILabelled { }
            public interface IUnused { }

            [Persistent]
            public abstract partial class Figure : IShape { }

            [Persistent]
            public partial class Circle : Figure, IRound, ILabelled
            {
                public partial double Radius { get; set; }
            }

            [Persistent]
            public partial class Square : Figure
            {
                public partial double Side { get; set; }
            }

            [Persistent]
            public partial class Note : ILabelled
            {
                public partial string Text { get; set; }
            }

            [Persistent]
            public partial class Drawing
            {
                {{property}}
            }
            """),
            message + Supported);

    [Theory]
    [MemberData(nameof(Unstorable))]
    public async Task Reports_the_type_and_what_can_be_stored(string property, string message) =>
        await Expect.DiagnosticsAsync(Id, Sources.Wrap($$"""
            public record Address(string Street);
            public class Plain { }
            public class Box<T> { }
            public abstract class Shape { }

            [Persistent]
            public partial class Customer
            {
                public partial string Name { get; set; }
                {{property}}
            }
            """),
            message + Supported);

    [Fact]
    public async Task Reports_a_value_type_the_generator_cannot_complete_where_it_is_used() =>
        await Expect.DiagnosticsAsync(Id, Sources.Wrap("""
            [PersistentValue]
            public struct Money
            {
                public decimal Amount { get; set; }
            }

            [Persistent]
            public partial class Customer
            {
                public partial [|Money|] Balance { get; set; }
                public partial [|List<Money>?|] History { get; set; }
            }
            """),
            "'Customer.Balance' cannot be stored: its type 'Money' is a [PersistentValue] type the generator cannot complete (see the diagnostic on 'Money')" + Supported,
            "'Customer.History' cannot be stored: its type 'List<Money>' holds 'Money', which is a [PersistentValue] type the generator cannot complete (see the diagnostic on 'Money')" + Supported);

    [Fact]
    public async Task Reports_a_stored_member_of_a_value_that_cannot_be_stored() =>
        await Expect.DiagnosticsAsync(Id, Sources.Wrap("""
            [PersistentValue]
            public partial record struct Contact(string Name, [|object|] Extra);
            """),
            "'Contact.Extra' cannot be stored: its type 'object' is not a type Persistence can store" + Supported);

    [Fact]
    public async Task Suggests_only_what_a_value_can_hold_for_a_member_of_a_value() =>
        await Expect.DiagnosticsAsync(Id, Sources.Wrap("""
            public class Plain { }

            [Persistent]
            public partial class Customer
            {
                public partial string Name { get; set; }
            }

            [PersistentValue]
            public partial record struct Tags([|HashSet<string>|] Names, [|Plain|] Extra, [|List<Customer>|] Owners);
            """),
            "'Tags.Names' cannot be stored: its type 'HashSet<string>' is not a type Persistence can store; store a List<string> (stored inline) instead" + Supported,
            "'Tags.Extra' cannot be stored: its type 'Plain' is not a type Persistence can store; mark 'Plain' [PersistentValue] to store it inline" + Supported,
            "'Tags.Owners' cannot be stored: its type 'List<Customer>' holds the persistent type 'Customer', but lists, arrays, dictionaries, nullables and values can only hold values; a value cannot hold persistent objects, not even in a persistent collection: keep them in a [Persistent] class" + Supported);

    [Fact]
    public async Task Leaves_the_type_parameters_of_a_generic_class_to_PERSIST002()
    {
        // A generic [Persistent] class gets PERSIST002 ("declare a non-generic class"); its properties of
        // the class's type parameters are not each reported again, other unstorable ones still are.
        static string Pair(string className, string tagType) => Sources.Wrap($$"""
            [Persistent]
            public partial class {{className}}<T>
            {
                public partial T First { get; set; }
                public partial List<T>? Rest { get; set; }
                public partial PersistentList<T>? Items { get; set; }
                public partial {{tagType}} Tag { get; set; }
            }
            """);
        var found = await Expect.DiagnosticsAsync(Id, Pair("Pair", "[|object|]"),
            "'Pair<T>.Tag' cannot be stored: its type 'object' is not a type Persistence can store" + Supported);
        Assert.Single(found);
        await Expect.DiagnosticsAsync("PERSIST002", Pair("[|Pair|]", "object"));

        // The same for a generic [PersistentValue] type, which PERSIST012 reports.
        static string Value(string typeName, string tagType) => Sources.Wrap($$"""
            [PersistentValue]
            public partial record struct {{typeName}}<T>(T First, List<T> Rest, {{tagType}} Tag);
            """);
        found = await Expect.DiagnosticsAsync(Id, Value("Duo", "[|object|]"),
            "'Duo<T>.Tag' cannot be stored: its type 'object' is not a type Persistence can store" + Supported);
        Assert.Single(found);
        await Expect.DiagnosticsAsync("PERSIST012", Value("[|Duo|]", "object"));
    }

    [Fact]
    public async Task Ignores_transient_properties_and_members_that_are_not_stored() =>
        await Expect.CleanAsync(Sources.Wrap("""
            [Persistent]
            public partial class Customer
            {
                public partial string Name { get; set; }

                [Transient]
                public partial object? Cache { get; set; }

                public object Computed => Name;
            }

            [PersistentValue]
            public partial record Contact(string Name)
            {
                [Transient]
                public object? Scratch { get; set; }

                public object Shown => Name;

                internal object? Internal { get; set; }
            }
            """));

    [Fact]
    public async Task Accepts_every_storable_type() =>
        await Expect.CleanAsync(Sources.Wrap("""
            public enum Tier : byte { Basic, Gold }

            [PersistentValue]
            public partial record struct Money(decimal Amount, string Currency);

            [PersistentValue]
            public partial record Address(string Street, int Zip);

            [Persistent]
            public partial class Everything
            {
                public partial bool Bool { get; set; }
                public partial byte Byte { get; set; }
                public partial sbyte SByte { get; set; }
                public partial short Int16 { get; set; }
                public partial ushort UInt16 { get; set; }
                public partial int Int32 { get; set; }
                public partial uint UInt32 { get; set; }
                public partial long Int64 { get; set; }
                public partial ulong UInt64 { get; set; }
                public partial nint NInt { get; set; }
                public partial nuint NUInt { get; set; }
                public partial char Char { get; set; }
                public partial Half Half { get; set; }
                public partial float Single { get; set; }
                public partial double Double { get; set; }
                public partial decimal Decimal { get; set; }
                public partial string? String { get; set; }
                public partial DateTime DateTime { get; set; }
                public partial DateTimeOffset DateTimeOffset { get; set; }
                public partial DateOnly DateOnly { get; set; }
                public partial TimeOnly TimeOnly { get; set; }
                public partial TimeSpan TimeSpan { get; set; }
                public partial Guid Guid { get; set; }
                public partial Tier Tier { get; set; }
                public partial Tier? MaybeTier { get; set; }
                public partial int? NullableInt { get; set; }
                public partial byte[]? Bytes { get; set; }
                public partial string[]? Strings { get; set; }
                public partial List<int?>? Ints { get; set; }
                public partial Dictionary<string, List<Money>>? Nested { get; set; }
                public partial Money Money { get; set; }
                public partial Money? MaybeMoney { get; set; }
                public partial Address? Address { get; set; }
                public partial Everything? Next { get; set; }
                public partial PersistentObject? Anything { get; set; }
                public partial PersistentList<Everything>? Children { get; set; }
                public partial PersistentDictionary<string, Address?>? Addresses { get; set; }
                public partial PersistentCounter? Counter { get; set; }
            }
            """));
}
