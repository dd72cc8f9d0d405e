namespace Persistence.Tests.Models;

public enum Tier : byte { Basic, Silver, Gold }

[Flags]
public enum Permissions : long { None = 0, Read = 1, Write = 2, Admin = 1L << 40 }

[PersistentValue]
public partial record struct Address(string Street, int Zip);

[PersistentValue]
public partial record Money(decimal Amount, string Currency);

[Persistent]
public partial class Customer
{
    public partial string Name { get; set; }
    public partial int Orders { get; set; }
    public partial Customer? ReferredBy { get; set; }
    public partial PersistentList<Invoice>? Invoices { get; set; }
    public partial Address Home { get; set; }
    public partial Tier Tier { get; set; }
}

[Persistent]
public partial class Invoice
{
    public partial int Number { get; set; }
    public partial Money? Total { get; set; }
    public partial Customer? Customer { get; set; }
}

[Persistent]
public partial class Node
{
    public partial string? Label { get; set; }
    public partial Node? Next { get; set; }
}

[Persistent]
public partial class Animal
{
    public partial string Name { get; set; }
}

[Persistent]
public partial class Dog : Animal
{
    public partial bool GoodBoy { get; set; }
}

[Persistent]
public partial class Kennel
{
    public partial string? Name { get; set; }
    public partial Animal? Resident { get; set; }
}

/// <summary>
/// Holds a list of the base class beside one of the derived class: a list stored as a
/// <c>PersistentList&lt;Dog&gt;</c> is one of those here, and reads as a <c>PersistentList&lt;Animal&gt;</c> for Animals (SchemaEvolutionTests).
/// </summary>
[Persistent]
public partial class Shelter
{
    public partial PersistentList<Animal>? Animals { get; set; }
    public partial PersistentList<Dog>? Dogs { get; set; }
    /// <summary>Stored as a PersistentList&lt;int&gt; by the tests, which this program also uses.</summary>
    public partial PersistentList<long>? Weights { get; set; }
}

public partial class Outer
{
    [Persistent]
    public partial class Inner
    {
        public partial int Value { get; set; }
    }
}

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
    public partial char Char { get; set; }
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
    public partial Permissions Permissions { get; set; }
    public partial int? NullableInt { get; set; }
    public partial DateTime? NullableDateTime { get; set; }
    public partial byte[]? Bytes { get; set; }
    public partial int[]? Ints { get; set; }
    public partial List<string>? Strings { get; set; }
    public partial Dictionary<string, long>? Map { get; set; }
    public partial List<int?>? NullableInts { get; set; }
    public partial Address Address { get; set; }
    public partial Address? MaybeAddress { get; set; }
    public partial Money? Money { get; set; }
    public partial PersistentDictionary<string, Node>? Nodes { get; set; }
}

/// <summary>An object with a reference of any persistent class (the schema tests store one of a class the program does not define).</summary>
[Persistent]
public partial class AnyHolder
{
    public partial string? Label { get; set; }
    public partial PersistentObject? Held { get; set; }
}

/// <summary>The current version of a class whose older versions the schema tests write by hand.</summary>
[Persistent]
public partial class EvolvingItem
{
    public partial string? Name { get; set; }
    public partial long Count { get; set; }
    public partial double Weight { get; set; }
    public partial int? Rating { get; set; }
    public partial List<long>? Sizes { get; set; }
    public partial string? AddedLater { get; set; }
}

/// <summary>
/// The current version of a class first stored with <see cref="Name"/> alone (the schema tests write that
/// version by hand): the properties added since read as their defaults from its records.
/// </summary>
[Persistent]
public partial class EvolvingContact
{
    public EvolvingContact(string name, string email)
    {
        Name = name;
        Email = email;
        Country = "NZ";
    }

    public partial string Name { get; set; }
    public partial string Email { get; set; }
    public partial string? Nickname { get; set; }
    public partial List<string> Tags { get; set; }
    [PersistentDefault("unknown")] public partial string Country { get; set; }
    [PersistentDefault(3)] public partial int Level { get; set; }
    [PersistentDefault(Tier.Silver)] public partial Tier Tier { get; set; }
    [PersistentDefault(true)] public partial bool Active { get; set; }
    [PersistentDefault(2.5)] public partial double Weight { get; set; }
    [PersistentDefault(7)] public partial long? Limit { get; set; }
}

/// <summary>
/// The current version of a class whose properties were renamed (the schema tests write its first
/// version, with Name, Age, Handle and Email, by hand): each reads its former field through its aliases.
/// </summary>
[Persistent]
public partial class RenamedContact
{
    [PersistentAlias("Name")] public partial string FullName { get; set; }
    // Renamed and widened (int to long) at once.
    [PersistentAlias("Age")] public partial long Years { get; set; }
    // Renamed twice: Handle, then Nickname, then Nick.
    [PersistentAlias("Nickname"), PersistentAlias("Handle")] public partial string? Nick { get; set; }
    public partial string Email { get; set; }
}

/// <summary>A derived class whose property renames one of the first version's fields of its own.</summary>
[Persistent]
public partial class RenamedVipContact : RenamedContact
{
    [PersistentDefault(1)][PersistentAlias("Level")] public partial int Tier { get; set; }
}

/// <summary>
/// The current version of an inline value first stored with Weight alone (the schema tests write that version
/// by hand): Weight was renamed Kilograms, and the members added since read as their defaults.
/// </summary>
[PersistentValue]
public partial record struct Parcel(
    [property: PersistentAlias("Weight")] double Kilograms,
    string Label,
    [property: PersistentDefault("NZ")] string Country,
    string? Note,
    [property: PersistentDefault(1)] int Count);

/// <summary>Holds <see cref="Parcel"/> values, alone and in a list.</summary>
[Persistent]
public partial class Shipment
{
    public partial string? Name { get; set; }
    public partial Parcel Parcel { get; set; }
    public partial List<Parcel>? Extra { get; set; }
}

/// <summary>A class with an inline value, whose newer versions the schema tests write by hand.</summary>
[Persistent]
public partial class HomeOwner
{
    public partial string? Name { get; set; }
    public partial Address Home { get; set; }
}

/// <summary>Uses a persistent list of inline values (the schema tests store a newer program's version of it).</summary>
[Persistent]
public partial class HomeList
{
    public partial PersistentList<Address>? Homes { get; set; }
}

[Persistent]
[PersistentAlias("Persistence.Tests.Models.OldName")]
public partial class NewName
{
    public partial string? Text { get; set; }
}

[Persistent]
public partial class IncompatibleItem
{
    public partial int Value { get; set; }
}

[Persistent]
public partial class Account
{
    public partial string? Name { get; set; }
    public partial long Balance { get; set; }
}

/// <summary>Derives from a [Persistent] class without being one: it cannot be stored (it would load as its base class Customer).</summary>
#pragma warning disable PERSIST016 // The mistake the runtime check is tested with.
public class UnmarkedCustomer : Customer
{
    public int Extra { get; set; }
}

public class UnmarkedBox<T> : Customer
{
    public T? Content { get; set; }
}
#pragma warning restore PERSIST016

/// <summary>A class made abstract after objects of it were stored (SchemaEvolutionTests stores those by hand).</summary>
[Persistent]
public abstract partial class AbstractShape
{
    public partial string? Label { get; set; }
}

[Persistent]
public partial class SquareShape : AbstractShape
{
    public partial int Side { get; set; }
}

/// <summary>Holds collections of a base class only (this program uses none of <see cref="SquareShape"/>).</summary>
[Persistent]
public partial class ShapeYard
{
    public partial PersistentList<AbstractShape>? Shapes { get; set; }
    public partial PersistentDictionary<string, AbstractShape>? ByName { get; set; }
}
