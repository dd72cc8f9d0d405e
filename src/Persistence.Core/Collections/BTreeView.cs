using System.Collections;

namespace Persistence;

/// <summary>A read-only view of a tree's entries as another collection (its keys, its values).</summary>
internal sealed class BTreeView<T, TEntry>(IReadOnlyCollection<TEntry> source, Func<TEntry, T> select, Func<T, bool> contains) : ICollection<T>, IReadOnlyCollection<T>
{
    public int Count => source.Count;

    public bool IsReadOnly => true;

    public bool Contains(T item) => contains(item);

    public void CopyTo(T[] array, int arrayIndex) => CopyTo(this, array, arrayIndex);

    public IEnumerator<T> GetEnumerator()
    {
        foreach (var entry in source) yield return select(entry);
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    public void Add(T item) => throw ReadOnly();

    public void Clear() => throw ReadOnly();

    public bool Remove(T item) => throw ReadOnly();

    /// <summary>Copies <paramref name="items"/> into <paramref name="array"/> from <paramref name="arrayIndex"/> on, as <see cref="ICollection{T}.CopyTo"/> does.</summary>
    public static void CopyTo(IReadOnlyCollection<T> items, T[] array, int arrayIndex)
    {
        ArgumentNullException.ThrowIfNull(array);
        ArgumentOutOfRangeException.ThrowIfNegative(arrayIndex);
        if (array.Length - arrayIndex < items.Count)
            throw new ArgumentException("The array is too small for the collection.", nameof(array));
        foreach (var item in items) array[arrayIndex++] = item;
    }

    private static NotSupportedException ReadOnly() => new("This view of a tree is read-only; change the tree itself.");
}
