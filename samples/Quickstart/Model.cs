using Persistence;

namespace Quickstart;

// The classes this program stores. [Persistent] classes are ordinary partial classes with partial
// properties: the source generator writes the property bodies (lazy loading, change tracking) and
// the serializer. No base class, no mapping, no reflection.

/// <summary>Everything the program keeps, in one object under the database root.</summary>
[Persistent]
public partial class Inventory
{
    /// <summary>The items, by name.</summary>
    public partial PersistentDictionary<string, Item> Items { get; set; }

    /// <summary>The shelves, by name. Items point at them.</summary>
    public partial PersistentDictionary<string, Shelf> Shelves { get; set; }

    /// <summary>One line per change, oldest first.</summary>
    public partial PersistentList<string> History { get; set; }

    /// <summary>How many times the demo has run against this file.</summary>
    public partial int DemoRuns { get; set; }
}

/// <summary>A thing on a shelf.</summary>
[Persistent]
public partial class Item
{
    public partial string Name { get; set; }

    public partial int Quantity { get; set; }

    /// <summary>A persistent reference: several items share one <see cref="Shelf"/> object.</summary>
    public partial Shelf? Shelf { get; set; }

    /// <summary>A value stored inline in the item's record (no identity of its own).</summary>
    public partial Price? UnitPrice { get; set; }

    public partial DateTime Added { get; set; }
}

/// <summary>Where items are kept.</summary>
[Persistent]
public partial class Shelf
{
    public partial string Name { get; set; }

    public partial string Room { get; set; }
}

/// <summary>A price: a value type stored inside the object that holds it.</summary>
[PersistentValue]
public partial record struct Price(decimal Amount, string Currency)
{
    public override readonly string ToString() =>
        string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{Amount:0.00} {Currency}");
}
