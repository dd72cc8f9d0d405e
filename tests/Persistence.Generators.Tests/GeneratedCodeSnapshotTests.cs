using System.Runtime.CompilerServices;
using Persistence.Generators.Tests.Infrastructure;

namespace Persistence.Generators.Tests;

/// <summary>
/// The generated code for representative inputs: it matches the committed baselines in
/// <c>Snapshots/</c> and compiles with the input without a single warning.
/// </summary>
public sealed class GeneratedCodeSnapshotTests
{
    [Fact]
    public void SimpleClass() => VerifyGenerated("""
        using Persistence;

        namespace Shop;

        [Persistent]
        public partial class Customer
        {
            public partial string Name { get; set; }
            public partial int Orders { get; set; }
            public partial string? Nickname { get; set; }
        }
        """);

    [Fact]
    public void ClassWithoutProperties() => VerifyGenerated("""
        namespace Shop;

        [Persistence.Persistent]
        public sealed partial class Marker
        {
        }
        """);

    [Fact]
    public void EverySupportedType() => VerifyGenerated("""
        using System;
        using System.Collections.Generic;
        using Persistence;

        namespace Shop;

        public enum Color { Red, Green }

        [PersistentValue]
        public partial struct Money
        {
            public decimal Amount { get; set; }
            public string Currency { get; set; }
        }

        [PersistentValue]
        public partial record Address(string Street, string City);

        [Persistent]
        public partial class Everything
        {
            public partial bool Bool { get; set; }
            public partial byte Byte { get; set; }
            public partial sbyte SByte { get; set; }
            public partial short Short { get; set; }
            public partial ushort UShort { get; set; }
            public partial int Int { get; set; }
            public partial uint UInt { get; set; }
            public partial long Long { get; set; }
            public partial ulong ULong { get; set; }
            public partial nint NInt { get; set; }
            public partial nuint NUInt { get; set; }
            public partial char Char { get; set; }
            public partial float Float { get; set; }
            public partial double Double { get; set; }
            public partial Half Half { get; set; }
            public partial decimal Decimal { get; set; }
            public partial string String { get; set; }
            public partial string? NullableString { get; set; }
            public partial DateTime DateTime { get; set; }
            public partial DateTimeOffset DateTimeOffset { get; set; }
            public partial DateOnly DateOnly { get; set; }
            public partial TimeOnly TimeOnly { get; set; }
            public partial TimeSpan TimeSpan { get; set; }
            public partial Guid Guid { get; set; }
            public partial Color Color { get; set; }
            public partial int? NullableInt { get; set; }
            public partial Guid? NullableGuid { get; set; }
            public partial Color? NullableColor { get; set; }
            public partial nint? NullableNInt { get; set; }
            public partial byte[] Bytes { get; set; }
            public partial byte[]? NullableBytes { get; set; }
            public partial int[] Ints { get; set; }
            public partial string?[]? Strings { get; set; }
            public partial List<int> IntList { get; set; }
            public partial List<string> StringList { get; set; }
            public partial List<List<double?>>? Nested { get; set; }
            public partial Dictionary<string, int> Counts { get; set; }
            public partial Dictionary<Guid, List<string>> Tags { get; set; }
            public partial Money Price { get; set; }
            public partial Money? Discount { get; set; }
            public partial Address Home { get; set; }
            public partial Address? Work { get; set; }
            public partial List<Money> Payments { get; set; }
            public partial Everything? Next { get; set; }
            public partial PersistentObject? Anything { get; set; }
        }
        """);

    [Fact]
    public void Inheritance() => VerifyGenerated("""
        using Persistence;

        namespace Zoo;

        [Persistent]
        public abstract partial class Animal
        {
            public partial string Name { get; set; }
            public partial Animal? Mother { get; set; }
        }

        // No reference of its own: it keeps the prefetch of the references its base has.
        [Persistent]
        public partial class Dog : Animal
        {
            public partial bool GoodBoy { get; set; }
        }

        [Persistent]
        public sealed partial class Puppy : Dog
        {
            public partial int AgeInWeeks { get; set; }
            public partial Dog? Sibling { get; set; }
        }
        """);

    [Fact]
    public void NestedClass() => VerifyGenerated("""
        using Persistence;

        namespace Shop;

        public static partial class Catalog
        {
            internal partial struct Section
            {
                [Persistent]
                internal partial class Item
                {
                    public partial string Title { get; set; }
                }
            }
        }
        """);

    [Fact]
    public void GlobalNamespace() => VerifyGenerated("""
        [Persistence.Persistent]
        public partial class Note
        {
            public partial string Text { get; set; }
        }
        """);

    [Fact]
    public void ReferencesAndCollections() => VerifyGenerated("""
        using Persistence;

        namespace Shop;

        [Persistent]
        public partial class Customer
        {
            public partial string Name { get; set; }
            public partial Customer? ReferredBy { get; set; }
            public partial Invoice LastInvoice { get; set; }
            public partial PersistentList<Invoice> Invoices { get; set; }
            public partial PersistentDictionary<string, Invoice?>? ByNumber { get; set; }
            public partial PersistentObject? Anything { get; set; }
        }

        [Persistent]
        public partial class Invoice
        {
            public partial decimal Total { get; set; }
            public partial Customer? Customer { get; set; }
        }
        """);

    [Fact]
    public void PersistentValueStruct() => VerifyGenerated("""
        using System.Collections.Generic;
        using Persistence;

        namespace Shop;

        [PersistentValue]
        public partial struct Money
        {
            public decimal Amount { get; set; }
            public string Currency { get; init; }
            public int? Cents { get; private set; }
            public List<string>? Notes { get; set; }
            public decimal Doubled => Amount * 2;
            public static Money Zero => default;
        }

        [PersistentValue]
        public readonly partial record struct Point(int X, int Y);

        [Persistent]
        public partial class Product
        {
            public partial Money Price { get; set; }
            public partial Point? Position { get; set; }
        }
        """);

    [Fact]
    public void PersistentValueRecord() => VerifyGenerated("""
        using System;
        using Persistence;

        namespace Shop;

        [PersistentValue]
        public partial record Address(string Street, string City)
        {
            public string? Zip { get; init; }
        }

        [PersistentValue]
        public sealed partial class Contact
        {
            public Contact(string email) => Email = email;

            public string Email { get; }
            public required string Name { get; set; }
            public DateOnly Since { get; set; }
        }

        [PersistentValue]
        public partial record Route(Address From, Address? To);

        [Persistent]
        public partial class Customer
        {
            public partial Address Home { get; set; }
            public partial Contact? Contact { get; set; }
            public partial Route Route { get; set; }
        }
        """);

    [Fact]
    public void Alias() => VerifyGenerated("""
        using Persistence;

        namespace Shop.Customers;

        [Persistent]
        [PersistentAlias("Shop.Client")]
        [PersistentAlias("OldShop.Client")]
        public partial class Customer
        {
            public partial string Name { get; set; }
        }
        """);

    [Fact]
    public void Enums() => VerifyGenerated("""
        using System;
        using Persistence;

        namespace Shop;

        public enum Color : byte { Red, Green, Blue }

        public enum Size : long { Small = 1L << 40 }

        [Flags]
        public enum Permissions : uint { None = 0, Read = 1, Write = 2 }

        [Persistent]
        public partial class Shirt
        {
            public partial Color Color { get; set; }
            public partial Size? Size { get; set; }
            public partial Permissions Permissions { get; set; }
            public partial ShirtKind Kind { get; set; }

            public enum ShirtKind : short { Plain, Striped }
        }
        """);

    [Fact]
    public void OwnConstructor() => VerifyGenerated("""
        using Persistence;

        namespace Shop;

        [Persistent]
        public partial class Customer
        {
            public Customer(string name)
            {
                Name = name;
            }

            public partial string Name { get; set; }
        }
        """);

    [Fact]
    public void TransientProperty() => VerifyGenerated("""
        using Persistence;

        namespace Shop;

        [Persistent]
        public partial class Basket
        {
            public partial decimal Total { get; set; }

            [Transient]
            public partial string? CachedSummary { get; set; }

            [Transient]
            public partial object Lock { get; set; }
        }
        """);

    [Fact]
    public void PropertyShapes() => VerifyGenerated("""
        using Persistence;

        namespace Shop;

        [Persistent]
        public partial class Account
        {
            public partial string Id { get; init; }
            public partial int Balance { get; private set; }
            public partial long Version { get; }
            internal partial bool Locked { get; set; }
            protected internal virtual partial string? Note { get; set; }
            public required partial string Owner { get; set; }
            public partial int @class { get; set; }

            // Implemented here, so not stored.
            public partial int Computed { get; }
            public partial int Computed => Balance * 2;

            public void Deposit(int amount) => Balance += amount;
        }
        """);

    [Fact]
    public void Registration() => VerifyGenerated("""
        using System.Collections.Generic;
        using Persistence;

        namespace Shop
        {
            [Persistent]
            public partial class Invoice
            {
                public partial decimal Total { get; set; }
            }

            [Persistent]
            public partial class SpecialInvoice : Invoice
            {
                public partial string Reason { get; set; }
            }

            [Persistent]
            public partial class Customer
            {
                public partial PersistentList<Invoice> Invoices { get; set; }
            }

            [PersistentValue]
            public partial record struct Money(decimal Amount, string Currency);
        }

        namespace App
        {
            public static class Setup
            {
                public static object Create()
                {
                    var index = new PersistentDictionary<string, Shop.Customer>();
                    var nested = new PersistentList<PersistentList<int>>();
                    PersistentDictionary<int, List<string?>>? lookup = null;
                    var prices = new Persistence.PersistentList<Shop.Money>();
                    var anything = new PersistentList<PersistentObject>();
                    return (index, nested, lookup, prices, anything);
                }

                // Not registered: open generic, and an element the collection cannot store.
                public static PersistentList<T> Open<T>() => new();
                public static PersistentList<object> Unsupported() => new();
            }
        }
        """);

    /// <summary>
    /// Classes the generator cannot complete: placeholders that throw, so the code compiles without a
    /// word from the compiler and a build shows the analyzers' errors (PERSIST003 on Tag, PERSIST002 on
    /// the record); a valid class deriving from one still compiles; neither is registered.
    /// </summary>
    [Fact]
    public void Placeholders() => VerifyGenerated("""
        using Persistence;

        namespace Shop;

        [Persistent]
        public partial class Customer
        {
            public partial string Name { get; set; }
            public partial object Tag { get; private set; }
            public required partial string Code { get; init; }
        }

        [Persistent]
        public partial class VipCustomer : Customer
        {
            public partial int Level { get; set; }
        }

        [Persistent]
        public partial record Receipt
        {
            public partial decimal Total { get; set; }
        }
        """);

    /// <summary>
    /// The values properties read as in records stored before they existed: "" for a non-nullable string,
    /// each [PersistentDefault] value written as a constant of the property's type; none for a string?. A
    /// [PersistentDefault] also initializes the backing field, so a new object starts with it.
    /// </summary>
    [Fact]
    public void Defaults() => VerifyGenerated("""
        using Persistence;

        namespace Shop;

        public enum Tier : byte { Basic, Silver, Gold }

        [System.Flags]
        public enum Access { None = 0, Read = 1, Write = 2 }

        [Persistent]
        public partial class Account
        {
            public partial string Name { get; set; }
            public partial string? Nickname { get; set; }
            [PersistentDefault("unknown \"x\"")] public partial string Email { get; set; }
            [PersistentDefault(null)] public partial string? Note { get; set; }
            [PersistentDefault(18)] public partial int Age { get; set; }
            [PersistentDefault(-1)] public partial long Balance { get; set; }
            [PersistentDefault(200)] public partial byte Level { get; set; }
            [PersistentDefault(40000)] public partial ushort Port { get; set; }
            [PersistentDefault(3)] public partial int? Limit { get; set; }
            [PersistentDefault(7)] public partial ulong Visits { get; set; }
            [PersistentDefault(1.5)] public partial float Ratio { get; set; }
            [PersistentDefault(0.1)] public partial decimal Rate { get; set; }
            [PersistentDefault(2)] public partial double Weight { get; set; }
            [PersistentDefault(double.NaN)] public partial double Score { get; set; }
            [PersistentDefault(true)] public partial bool Active { get; set; }
            [PersistentDefault('x')] public partial char Mark { get; set; }
            [PersistentDefault(Tier.Silver)] public partial Tier Tier { get; set; }
            [PersistentDefault(Tier.Gold)] public partial Tier? Upgrade { get; set; }
            [PersistentDefault(Access.Read | Access.Write)] public partial Access Access { get; set; }
        }
        """);

    /// <summary>
    /// Renamed properties: each [PersistentAlias] former name in the field's description, in the order
    /// written, beside a default; none for a [Transient] property or a class's own alias.
    /// </summary>
    [Fact]
    public void PropertyAliases() => VerifyGenerated("""
        using Persistence;

        namespace Shop;

        [Persistent, PersistentAlias("Shop.Client")]
        public partial class Customer
        {
            [PersistentAlias("Name")] public partial string FullName { get; set; }
            [PersistentAlias("Nickname"), PersistentAlias("Handle")] public partial string? Nick { get; set; }
            [PersistentAlias("Level"), PersistentDefault(1)] public partial int Tier { get; set; }
            public partial int Orders { get; set; }
        }
        """);

    private static void VerifyGenerated(string source, [CallerMemberName] string testName = "")
    {
        var (result, output) = TestCompiler.Run(TestCompiler.CreateCompilation(source));

        Assert.Null(result.Exception);
        Assert.Empty(result.Diagnostics);
        Assert.NotEmpty(result.GeneratedSources);
        var problems = TestCompiler.Problems(output);
        Assert.True(problems.IsEmpty, "The generated code does not compile cleanly:" + Environment.NewLine + TestCompiler.Format(problems));
        Snapshot.Verify(result, testName);
    }
}
