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

    /// <summary>
    /// Copies <paramref name="items"/> into <paramref name="array"/> from <paramref name="arrayIndex"/> on,
    /// as <see cref="ICollection{T}.CopyTo"/> does (and so <c>ToList()</c> and <c>ToArray()</c>), checking
    /// that the tree holds as many entries as its length counter says: otherwise the copy would run past
    /// the room made for it, or leave part of it empty.
    /// </summary>
    public static void CopyTo(IReadOnlyCollection<T> items, T[] array, int arrayIndex)
    {
        ArgumentNullException.ThrowIfNull(array);
        ArgumentOutOfRangeException.ThrowIfNegative(arrayIndex);
        var count = items.Count;
        if (array.Length - arrayIndex < count)
            throw new ArgumentException("The array is too small for the collection.", nameof(array));
        var end = arrayIndex + count;
        foreach (var item in items)
        {
            if (arrayIndex == end) throw CountMismatch(count, "more");
            array[arrayIndex++] = item;
        }
        if (arrayIndex != end) throw CountMismatch(count, "fewer");
    }

    private static CorruptDatabaseException CountMismatch(int count, string more) => new(
        $"A tree's length counter says it holds {count} entries, but its buckets hold {more}. If a commit of this connection just failed, abort it first (a failed commit leaves the state it merged until then); otherwise the tree's records are damaged: restore the database from a backup.");

    private static NotSupportedException ReadOnly() => new("This view of a tree is read-only; change the tree itself.");
}
