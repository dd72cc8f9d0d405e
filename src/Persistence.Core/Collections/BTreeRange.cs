using System.Runtime.CompilerServices;
using System.Collections;

namespace Persistence;

/// <summary>
/// Entries of a <see cref="BTree{TKey,TValue}"/> between two keys, in key order or in reverse.
/// Enumerating it loads only the buckets the range covers, one at a time.
/// </summary>
/// <typeparam name="TKey">The key type.</typeparam>
/// <typeparam name="TValue">The value type.</typeparam>
public readonly struct BTreeRange<TKey, TValue> : IEnumerable<KeyValuePair<TKey, TValue>>
{
    private readonly BTree<TKey, TValue> _tree;
    private readonly BTreeBounds<TKey> _bounds;
    private readonly bool _reverse;

    internal BTreeRange(BTree<TKey, TValue> tree, BTreeBounds<TKey> bounds, bool reverse)
    {
        _tree = tree;
        _bounds = bounds;
        _reverse = reverse;
    }

    /// <summary>The same entries in the opposite order.</summary>
    public BTreeRange<TKey, TValue> Reverse() => new(_tree, _bounds, !_reverse);

    /// <summary>Returns an enumerator that walks the range without allocating per entry.</summary>
    public BTreeEnumerator<TKey, TValue> GetEnumerator() => _tree.Enumerate(_bounds, _reverse);

    IEnumerator<KeyValuePair<TKey, TValue>> IEnumerable<KeyValuePair<TKey, TValue>>.GetEnumerator() => GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}

/// <summary>Walks the entries of a <see cref="BTree{TKey,TValue}"/> or of one of its ranges.</summary>
/// <typeparam name="TKey">The key type.</typeparam>
/// <typeparam name="TValue">The value type.</typeparam>
public struct BTreeEnumerator<TKey, TValue> : IEnumerator<KeyValuePair<TKey, TValue>>
{
    private BTreeCursor<TKey, TValue> _cursor;

    internal BTreeEnumerator(BTreeCursor<TKey, TValue> cursor) => _cursor = cursor;

    /// <summary>The current entry.</summary>
    public readonly KeyValuePair<TKey, TValue> Current => new(_cursor.Key, _cursor.Value);

    readonly object IEnumerator.Current => Current;

    /// <summary>Moves to the next entry, loading the next bucket when needed.</summary>
    /// <exception cref="InvalidOperationException">The tree was changed in this process since the enumeration began.</exception>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool MoveNext() => _cursor.MoveNext();

    /// <summary>Not supported: start a new enumeration instead.</summary>
    public readonly void Reset() => throw new NotSupportedException("A BTree enumerator cannot be reset; enumerate the tree again.");

    /// <summary>Does nothing: the enumerator holds no resources.</summary>
    public readonly void Dispose()
    {
    }
}
