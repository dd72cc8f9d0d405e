using System.Globalization;

namespace Persistence;

/// <summary>
/// The identity of a stored object: a dense 64-bit number allocated by the storage.
/// </summary>
/// <param name="Value">The number; 0 is never a stored object (it stands for "no object").</param>
public readonly record struct Oid(ulong Value) : IComparable<Oid>
{
    /// <summary>"No object": the value a null reference is stored as.</summary>
    public static Oid Null => default;

    /// <summary>The root object of every database: a persistent dictionary from string to object.</summary>
    public static Oid Root => new(1);

    /// <summary>The schema catalog of the database (type ids, class names and their field layouts).</summary>
    public static Oid Catalog => new(2);

    /// <summary>The first oid a storage hands out from <see cref="Storage.IStorage.NewOid"/>.</summary>
    public static Oid FirstUser => new(3);

    /// <summary>Whether this is <see cref="Null"/>.</summary>
    public bool IsNull => Value == 0;

    /// <inheritdoc />
    public int CompareTo(Oid other) => Value.CompareTo(other.Value);

    /// <inheritdoc />
    public override string ToString() => "oid " + Value.ToString(CultureInfo.InvariantCulture);
}
