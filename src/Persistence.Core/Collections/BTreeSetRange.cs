using System.Collections;

namespace Persistence;

/// <summary>
/// Elements of a <see cref="BTreeSet{T}"/> between two bounds, in order or in reverse. Enumerating it
/// loads only the buckets the range covers, one at a time.
/// </summary>
/// <typeparam name="T">The element type.</typeparam>
public readonly struct BTreeSetRange<T> : IEnumerable<T>
{
    private readonly BTreeSet<T> _set;
    private readonly BTreeBounds<T> _bounds;
    private readonly bool _reverse;

    internal BTreeSetRange(BTreeSet<T> set, BTreeBounds<T> bounds, bool reverse)
    {
        _set = set;
        _bounds = bounds;
        _reverse = reverse;
    }

    /// <summary>The same elements in the opposite order.</summary>
    public BTreeSetRange<T> Reverse() => new(_set, _bounds, !_reverse);

    /// <summary>Returns an enumerator that walks the range without allocating per element.</summary>
    public BTreeSetEnumerator<T> GetEnumerator() => _set.Enumerate(_bounds, _reverse);

    IEnumerator<T> IEnumerable<T>.GetEnumerator() => GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}

/// <summary>Walks the elements of a <see cref="BTreeSet{T}"/> or of one of its ranges.</summary>
/// <typeparam name="T">The element type.</typeparam>
public struct BTreeSetEnumerator<T> : IEnumerator<T>
{
    private BTreeCursor<T, BTreeNoValue> _cursor;

    internal BTreeSetEnumerator(BTreeCursor<T, BTreeNoValue> cursor) => _cursor = cursor;

    /// <summary>The current element.</summary>
    public readonly T Current => _cursor.Key;

    readonly object? IEnumerator.Current => Current;

    /// <summary>Moves to the next element, loading the next bucket when needed.</summary>
    /// <exception cref="InvalidOperationException">The set was changed in this process since the enumeration began.</exception>
    public bool MoveNext() => _cursor.MoveNext();

    /// <summary>Not supported: start a new enumeration instead.</summary>
    public readonly void Reset() => throw new NotSupportedException("A BTreeSet enumerator cannot be reset; enumerate the set again.");

    /// <summary>Does nothing: the enumerator holds no resources.</summary>
    public readonly void Dispose()
    {
    }
}

/// <summary>The value of a set's entries: nothing (a set's buckets store keys only).</summary>
internal readonly struct BTreeNoValue;
