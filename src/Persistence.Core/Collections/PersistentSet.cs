using System.Collections;
using System.Diagnostics.CodeAnalysis;
using Persistence.Serialization;

namespace Persistence;

/// <summary>
/// A set stored as one record: every change is tracked, and the whole set is rewritten when it
/// changes (a call that leaves the set as it was writes nothing). Elements are inline values or
/// persistent references; strings compare ordinally, persistent objects by identity (a ghost is
/// compared without being loaded), other values by their own equality. Use it for small sets (up to a
/// few thousand elements); use a BTreeSet for large ones, whose changes write one bucket.
/// </summary>
/// <typeparam name="T">The element type.</typeparam>
public sealed class PersistentSet<T> : PersistentObject, ISet<T>, IReadOnlySet<T>
{
    private static PersistentTypeInfo? s_type;
    private static ValueCodec<T>? s_codec;

    private HashSet<T> _items;
    // Rises whenever the state is replaced (loaded or cleared), so enumerators notice a reload.
    private int _generation;

    /// <summary>Creates an empty set.</summary>
    public PersistentSet() => _items = new HashSet<T>(ElementComparer<T>.Instance);

    /// <summary>Creates a set holding the distinct elements of <paramref name="items"/>.</summary>
    public PersistentSet(IEnumerable<T> items) => _items = new HashSet<T>(items, ElementComparer<T>.Instance);

    private PersistentSet(GhostToken token) : base(token) => _items = new HashSet<T>(ElementComparer<T>.Instance);

    /// <summary>
    /// Registers this closed set type with its element codec. Generated code does this for every set
    /// type a program mentions; call it yourself only for a type built at run time from generic code.
    /// </summary>
    /// <param name="elementCodec">The codec of the elements.</param>
    /// <param name="elementName">The stored name of the element type (a type code such as <c>str</c>, or a persistent class name).</param>
    public static void Register(ValueCodec<T> elementCodec, string elementName)
    {
        ArgumentNullException.ThrowIfNull(elementCodec);
        if (s_type is not null) return;
        var type = new PersistentTypeInfo(
            $"Persistence.PersistentSet<{elementName}>",
            [],
            null,
            // Encoded exactly as a list: a count, then the distinct elements.
            [new FieldSchema("Items", $"list<{elementCodec.TypeCode}>")],
            static token => new PersistentSet<T>(token)) { IsCollectionType = true };
        PersistentTypes.Register(type);
        s_codec = elementCodec;
        s_type = type;
    }

    /// <inheritdoc />
    public override PersistentTypeInfo PersistentType => s_type ?? throw CollectionTypes.NotRegistered("PersistentSet", CollectionTypes.NameOf(typeof(T)));

    /// <inheritdoc cref="ICollection{T}.Count" />
    public int Count
    {
        get
        {
            ActivateIfGhost();
            return _items.Count;
        }
    }

    bool ICollection<T>.IsReadOnly => false;

    /// <summary>Adds <paramref name="item"/>; returns false (and writes nothing) if the set already holds it.</summary>
    public bool Add(T item)
    {
        ActivateIfGhost();
        if (_items.Contains(item)) return false;
        BeforeWrite();
        return _items.Add(item);
    }

    void ICollection<T>.Add(T item) => Add(item);

    /// <summary>Removes <paramref name="item"/>; returns false (and writes nothing) if the set does not hold it.</summary>
    public bool Remove(T item)
    {
        ActivateIfGhost();
        if (!_items.Contains(item)) return false;
        BeforeWrite();
        return _items.Remove(item);
    }

    /// <summary>Removes every element that matches <paramref name="match"/> and returns how many were removed.</summary>
    public int RemoveWhere(Predicate<T> match)
    {
        ArgumentNullException.ThrowIfNull(match);
        ActivateIfGhost();
        List<T>? doomed = null;
        foreach (var item in _items)
        {
            if (match(item)) (doomed ??= []).Add(item);
        }
        return RemoveAll(doomed);
    }

    /// <inheritdoc cref="ICollection{T}.Clear" />
    public void Clear()
    {
        ActivateIfGhost();
        if (_items.Count == 0) return;
        BeforeWrite();
        _items.Clear();
    }

    /// <inheritdoc cref="ICollection{T}.Contains" />
    public bool Contains(T item)
    {
        ActivateIfGhost();
        return _items.Contains(item);
    }

    /// <summary>Finds the element of the set equal to <paramref name="equalValue"/> (the instance the set holds).</summary>
    public bool TryGetValue(T equalValue, [MaybeNullWhen(false)] out T actualValue)
    {
        ActivateIfGhost();
        return _items.TryGetValue(equalValue, out actualValue);
    }

    /// <inheritdoc />
    public void CopyTo(T[] array, int arrayIndex)
    {
        ActivateIfGhost();
        _items.CopyTo(array, arrayIndex);
    }

    /// <summary>Adds every element of <paramref name="other"/>; writes nothing if the set already holds them all.</summary>
    public void UnionWith(IEnumerable<T> other)
    {
        ArgumentNullException.ThrowIfNull(other);
        ActivateIfGhost();
        if (ReferenceEquals(other, this)) return;
        List<T>? missing = null;
        foreach (var item in other)
        {
            if (!_items.Contains(item)) (missing ??= []).Add(item);
        }
        if (missing is null) return;
        BeforeWrite();
        foreach (var item in missing) _items.Add(item);
    }

    /// <summary>Keeps only the elements that <paramref name="other"/> also holds; writes nothing if it holds them all.</summary>
    public void IntersectWith(IEnumerable<T> other)
    {
        ArgumentNullException.ThrowIfNull(other);
        ActivateIfGhost();
        if (ReferenceEquals(other, this) || _items.Count == 0) return;
        var keep = Distinct(other);
        List<T>? doomed = null;
        foreach (var item in _items)
        {
            if (!keep.Contains(item)) (doomed ??= []).Add(item);
        }
        RemoveAll(doomed);
    }

    /// <summary>Removes every element of <paramref name="other"/>; writes nothing if the set holds none of them.</summary>
    public void ExceptWith(IEnumerable<T> other)
    {
        ArgumentNullException.ThrowIfNull(other);
        ActivateIfGhost();
        if (ReferenceEquals(other, this))
        {
            Clear();
            return;
        }
        List<T>? doomed = null;
        foreach (var item in other)
        {
            if (_items.Contains(item)) (doomed ??= []).Add(item);
        }
        RemoveAll(doomed);
    }

    /// <summary>
    /// Keeps the elements that are in this set or in <paramref name="other"/> but not in both; writes
    /// nothing if <paramref name="other"/> is empty.
    /// </summary>
    public void SymmetricExceptWith(IEnumerable<T> other)
    {
        ArgumentNullException.ThrowIfNull(other);
        ActivateIfGhost();
        if (ReferenceEquals(other, this))
        {
            Clear();
            return;
        }
        var toggled = Distinct(other);
        if (toggled.Count == 0) return;
        BeforeWrite();
        foreach (var item in toggled)
        {
            if (!_items.Remove(item)) _items.Add(item);
        }
    }

    /// <inheritdoc cref="ISet{T}.IsSubsetOf" />
    public bool IsSubsetOf(IEnumerable<T> other)
    {
        ArgumentNullException.ThrowIfNull(other);
        ActivateIfGhost();
        return _items.IsSubsetOf(Comparable(other));
    }

    /// <inheritdoc cref="ISet{T}.IsProperSubsetOf" />
    public bool IsProperSubsetOf(IEnumerable<T> other)
    {
        ArgumentNullException.ThrowIfNull(other);
        ActivateIfGhost();
        return _items.IsProperSubsetOf(Comparable(other));
    }

    /// <inheritdoc cref="ISet{T}.IsSupersetOf" />
    public bool IsSupersetOf(IEnumerable<T> other)
    {
        ArgumentNullException.ThrowIfNull(other);
        ActivateIfGhost();
        return _items.IsSupersetOf(Comparable(other));
    }

    /// <inheritdoc cref="ISet{T}.IsProperSupersetOf" />
    public bool IsProperSupersetOf(IEnumerable<T> other)
    {
        ArgumentNullException.ThrowIfNull(other);
        ActivateIfGhost();
        return _items.IsProperSupersetOf(Comparable(other));
    }

    /// <inheritdoc cref="ISet{T}.Overlaps" />
    public bool Overlaps(IEnumerable<T> other)
    {
        ArgumentNullException.ThrowIfNull(other);
        ActivateIfGhost();
        return _items.Overlaps(Comparable(other));
    }

    /// <inheritdoc cref="ISet{T}.SetEquals" />
    public bool SetEquals(IEnumerable<T> other)
    {
        ArgumentNullException.ThrowIfNull(other);
        ActivateIfGhost();
        return _items.SetEquals(Comparable(other));
    }

    /// <summary>Returns an enumerator over the elements, which fails if the set changes during the enumeration.</summary>
    public Enumerator GetEnumerator()
    {
        ActivateIfGhost();
        return new Enumerator(this);
    }

    IEnumerator<T> IEnumerable<T>.GetEnumerator() => GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <inheritdoc />
    protected internal override void WriteState(ref RecordWriter writer)
    {
        var codec = s_codec!;
        writer.WriteCount(_items.Count);
        foreach (var item in _items) codec.Write(ref writer, item);
    }

    /// <inheritdoc />
    protected internal override void ReadState(ref RecordReader reader)
    {
        var codec = s_codec!;
        var count = CollectionTypes.StoredCount(reader.ReadCount(codec.MinimumSize), "set");
        var items = new HashSet<T>(count, ElementComparer<T>.Instance);
        for (var i = 0; i < count; i++)
        {
            if (!items.Add(codec.Read(ref reader)))
                throw new FormatException("A record is damaged: a set holds the same element twice.");
        }
        _items = items;
        _generation++;
    }

    internal override bool StaysLoadedOnRelease => true;

    /// <inheritdoc />
    protected internal override void ClearState()
    {
        _items = new HashSet<T>(ElementComparer<T>.Instance);
        _generation++;
    }

    /// <summary>Removes <paramref name="doomed"/> (elements the set holds), writing only if there are any.</summary>
    private int RemoveAll(List<T>? doomed)
    {
        if (doomed is null) return 0;
        BeforeWrite();
        var removed = 0;
        foreach (var item in doomed)
        {
            if (_items.Remove(item)) removed++;
        }
        return removed;
    }

    /// <summary>The distinct elements of <paramref name="other"/>, compared as this set compares them.</summary>
    private static HashSet<T> Distinct(IEnumerable<T> other) =>
        other is PersistentSet<T> set ? set.Snapshot() : new HashSet<T>(other, ElementComparer<T>.Instance);

    /// <summary>
    /// <paramref name="other"/> as the set algebra of <see cref="HashSet{T}"/> reads it fastest: another
    /// persistent set as its loaded elements (same comparer), anything else as it is.
    /// </summary>
    private static IEnumerable<T> Comparable(IEnumerable<T> other) => other is PersistentSet<T> set ? set.Snapshot() : other;

    private HashSet<T> Snapshot()
    {
        ActivateIfGhost();
        return _items;
    }

    /// <summary>Enumerates the elements of a <see cref="PersistentSet{T}"/>; fails if the set changes or is reloaded meanwhile.</summary>
    public struct Enumerator : IEnumerator<T>
    {
        private readonly PersistentSet<T> _set;
        private readonly int _generation;
        private HashSet<T>.Enumerator _inner;

        internal Enumerator(PersistentSet<T> set)
        {
            _set = set;
            _generation = set._generation;
            _inner = set._items.GetEnumerator();
        }

        /// <inheritdoc />
        public readonly T Current => _inner.Current;

        readonly object? IEnumerator.Current => Current;

        /// <inheritdoc />
        public bool MoveNext()
        {
            _set.ActivateIfGhost();
            if (_set._generation != _generation) throw CollectionTypes.ReloadedDuringEnumeration();
            return _inner.MoveNext();
        }

        void IEnumerator.Reset()
        {
            if (_set._generation != _generation) throw CollectionTypes.ReloadedDuringEnumeration();
            IEnumerator inner = _inner;
            inner.Reset();
            _inner = (HashSet<T>.Enumerator)inner;
        }

        /// <inheritdoc />
        public void Dispose() => _inner.Dispose();
    }
}
