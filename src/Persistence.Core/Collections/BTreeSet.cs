using System.Collections;
using Persistence.Serialization;

namespace Persistence;

/// <summary>
/// An ordered set for large collections, built like <see cref="BTree{TKey,TValue}"/>: buckets of
/// elements under internal nodes, each a persistent object of its own, so a change writes one small
/// bucket and transactions that add or remove different elements merge.
/// </summary>
/// <remarks>Elements are ordered (and compared for equality) by their natural order (ordinal for
/// strings) or by a comparer registered with <see cref="BTreeComparers"/>. Conflicts behave as in
/// <see cref="BTree{TKey,TValue}"/>.</remarks>
/// <typeparam name="T">The element type: an inline value the serializer supports.</typeparam>
public sealed class BTreeSet<T> : PersistentObject, ISet<T>, IReadOnlySet<T>
{
    private static PersistentTypeInfo? s_type;

    private readonly BTreeCore<T, BTreeNoValue> _core;

    /// <summary>Creates an empty set ordered by its elements' natural order (ordinal for strings).</summary>
    /// <exception cref="InvalidOperationException">The set type is not registered, or its elements have no natural order.</exception>
    public BTreeSet() : this(null)
    {
    }

    /// <summary>Creates an empty set ordered by the comparer registered with <see cref="BTreeComparers"/> under <paramref name="comparerName"/>.</summary>
    /// <param name="comparerName">The registered name of the order (null for the natural order); stored with the set.</param>
    /// <exception cref="SchemaMismatchException">No comparer of <typeparamref name="T"/> is registered under that name.</exception>
    public BTreeSet(string? comparerName)
    {
        _ = PersistentType;
        _core = new BTreeCore<T, BTreeNoValue>(this);
        _core.Initialize(comparerName, Name);
    }

    private BTreeSet(GhostToken token) : base(token) => _core = new BTreeCore<T, BTreeNoValue>(this);

    private static string Name => s_type?.Name ?? $"BTreeSet<{typeof(T).Name}>";

    /// <summary>
    /// Registers this closed set type (and its bucket and node types) with its element codec. Generated
    /// code does this for every set type a program mentions; call it yourself only for a type built at
    /// run time from generic code.
    /// </summary>
    /// <param name="elementCodec">The codec of the elements.</param>
    /// <param name="elementName">The stored name of the element type (a type code such as <c>str</c>).</param>
    public static void Register(ValueCodec<T> elementCodec, string elementName)
    {
        ArgumentNullException.ThrowIfNull(elementCodec);
        if (s_type is not null) return;
        var name = $"Persistence.BTreeSet<{elementName}>";
        BTreeTypes<T, BTreeNoValue>.Register(name, elementCodec, null);
        var type = BTreeTypes<T, BTreeNoValue>.TreeType(name, static token => new BTreeSet<T>(token));
        PersistentTypes.Register(type);
        s_type = type;
    }

    /// <inheritdoc />
    public override PersistentTypeInfo PersistentType => s_type ?? throw CollectionTypes.NotRegistered("BTreeSet", CollectionTypes.NameOf(typeof(T)));

    /// <summary>The registered name of the set's order, or null for the natural order.</summary>
    public string? ComparerName
    {
        get
        {
            ActivateIfGhost();
            return _core.ComparerName;
        }
    }

    /// <summary>The set's order.</summary>
    public IComparer<T> Comparer
    {
        get
        {
            ActivateIfGhost();
            return _core.Comparer;
        }
    }

    /// <summary>The number of elements (from the set's length counter; no bucket is loaded).</summary>
    /// <exception cref="OverflowException">More than <see cref="int.MaxValue"/> elements: read <see cref="LongCount"/>.</exception>
    /// <exception cref="CorruptDatabaseException">The length counter holds a number no tree of this depth can reach (below zero, or beyond every node and bucket full).</exception>
    public int Count => checked((int)LongCount);

    /// <summary>The number of elements, as a 64-bit number.</summary>
    /// <exception cref="CorruptDatabaseException">The length counter holds a number no tree of this depth can reach.</exception>
    public long LongCount
    {
        get
        {
            ActivateIfGhost();
            return _core.Count;
        }
    }

    bool ICollection<T>.IsReadOnly => false;

    /// <summary>The smallest element.</summary>
    /// <exception cref="InvalidOperationException">The set is empty.</exception>
    public T Min => TryGetFirst(out var first) ? first : throw Empty();

    /// <summary>The largest element.</summary>
    /// <exception cref="InvalidOperationException">The set is empty.</exception>
    public T Max => TryGetLast(out var last) ? last : throw Empty();

    /// <summary>Adds an element; returns false if the set already holds it.</summary>
    public bool Add(T item)
    {
        ActivateIfGhost();
        return _core.Set(item, default, overwrite: false);
    }

    void ICollection<T>.Add(T item) => Add(item);

    /// <inheritdoc />
    public bool Contains(T item)
    {
        ActivateIfGhost();
        return _core.ContainsKey(item);
    }

    /// <inheritdoc />
    public bool Remove(T item)
    {
        ActivateIfGhost();
        return _core.Remove(item, out _);
    }

    /// <summary>
    /// Removes every element (the set gets a new empty bucket and length counter). Unlike other changes,
    /// this conflicts with every concurrent change of the set.
    /// </summary>
    public void Clear()
    {
        ActivateIfGhost();
        _core.Clear();
    }

    /// <summary>The smallest element, if the set is not empty.</summary>
    public bool TryGetFirst(out T item)
    {
        ActivateIfGhost();
        return _core.TryGetEdge(last: false, out item, out _);
    }

    /// <summary>The largest element, if the set is not empty.</summary>
    public bool TryGetLast(out T item)
    {
        ActivateIfGhost();
        return _core.TryGetEdge(last: true, out item, out _);
    }

    /// <summary>
    /// Takes the smallest element out of the set, if it is not empty: it reads and changes what
    /// <see cref="TryGetFirst"/> then <see cref="Remove"/> would, so two transactions that take the same
    /// element conflict, as with <see cref="BTree{TKey, TValue}.TryRemoveFirst"/>.
    /// </summary>
    public bool TryRemoveFirst(out T item) => TryRemoveEdge(last: false, out item);

    /// <summary>Takes the largest element out of the set, if it is not empty (see <see cref="TryRemoveFirst"/>).</summary>
    public bool TryRemoveLast(out T item) => TryRemoveEdge(last: true, out item);

    private bool TryRemoveEdge(bool last, out T item)
    {
        ActivateIfGhost();
        return _core.TryRemoveEdge(last, out item, out _);
    }

    /// <summary>The elements from <paramref name="from"/> to <paramref name="to"/>, both included, in order.</summary>
    public BTreeSetRange<T> Range(T from, T to) => new(this, BTreeBounds<T>.Between(from, to), reverse: false);

    /// <summary>The elements from <paramref name="from"/> (included) on, in order.</summary>
    public BTreeSetRange<T> RangeFrom(T from) => new(this, BTreeBounds<T>.From(from), reverse: false);

    /// <summary>The elements up to <paramref name="to"/> (included), in order.</summary>
    public BTreeSetRange<T> RangeTo(T to) => new(this, BTreeBounds<T>.To(to), reverse: false);

    /// <summary>Every element, largest first.</summary>
    public BTreeSetRange<T> Reverse() => new(this, default, reverse: true);

    /// <summary>Returns an enumerator over the elements in order that loads buckets as it reaches them.</summary>
    public BTreeSetEnumerator<T> GetEnumerator() => Enumerate(default, reverse: false);

    IEnumerator<T> IEnumerable<T>.GetEnumerator() => GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    internal BTreeSetEnumerator<T> Enumerate(BTreeBounds<T> bounds, bool reverse)
    {
        ActivateIfGhost();
        return new BTreeSetEnumerator<T>(new BTreeCursor<T, BTreeNoValue>(_core, bounds, reverse));
    }

    /// <inheritdoc />
    public void CopyTo(T[] array, int arrayIndex) => BTreeView<T, T>.CopyTo(this, array, arrayIndex);

    /// <inheritdoc />
    public void UnionWith(IEnumerable<T> other)
    {
        ArgumentNullException.ThrowIfNull(other);
        foreach (var item in other) Add(item);
    }

    /// <inheritdoc />
    public void IntersectWith(IEnumerable<T> other)
    {
        var keep = Others(other);
        foreach (var item in this.Where(item => !keep.Contains(item)).ToList()) Remove(item);
    }

    /// <inheritdoc />
    public void ExceptWith(IEnumerable<T> other)
    {
        ArgumentNullException.ThrowIfNull(other);
        // The set less itself is empty (as HashSet does); removing while enumerating itself would throw.
        if (ReferenceEquals(other, this))
        {
            Clear();
            return;
        }
        foreach (var item in other) Remove(item);
    }

    /// <inheritdoc />
    public void SymmetricExceptWith(IEnumerable<T> other)
    {
        foreach (var item in Others(other))
        {
            if (!Remove(item)) Add(item);
        }
    }

    /// <inheritdoc cref="ISet{T}.IsSubsetOf" />
    public bool IsSubsetOf(IEnumerable<T> other)
    {
        var others = Others(other);
        return Count <= others.Count && this.All(others.Contains);
    }

    /// <inheritdoc cref="ISet{T}.IsProperSubsetOf" />
    public bool IsProperSubsetOf(IEnumerable<T> other)
    {
        var others = Others(other);
        return Count < others.Count && this.All(others.Contains);
    }

    /// <inheritdoc cref="ISet{T}.IsSupersetOf" />
    public bool IsSupersetOf(IEnumerable<T> other) => Others(other).All(Contains);

    /// <inheritdoc cref="ISet{T}.IsProperSupersetOf" />
    public bool IsProperSupersetOf(IEnumerable<T> other)
    {
        var others = Others(other);
        return Count > others.Count && others.All(Contains);
    }

    /// <inheritdoc cref="ISet{T}.Overlaps" />
    public bool Overlaps(IEnumerable<T> other) => Others(other).Any(Contains);

    /// <inheritdoc cref="ISet{T}.SetEquals" />
    public bool SetEquals(IEnumerable<T> other)
    {
        var others = Others(other);
        return Count == others.Count && others.All(Contains);
    }

    /// <summary>The other collection's distinct elements by this set's order.</summary>
    private SortedSet<T> Others(IEnumerable<T> other)
    {
        ArgumentNullException.ThrowIfNull(other);
        return new SortedSet<T>(other, Comparer);
    }

    private static InvalidOperationException Empty() => new("The set is empty.");

    /// <summary>The tree's algorithms and stored fields (for structure checks in tests).</summary>
    internal BTreeCore<T, BTreeNoValue> Core
    {
        get
        {
            ActivateIfGhost();
            return _core;
        }
    }

    /// <inheritdoc />
    protected internal override void WriteState(ref RecordWriter writer) => _core.WriteState(ref writer);

    /// <inheritdoc />
    protected internal override void ReadState(ref RecordReader reader) => _core.ReadState(ref reader, Name);

    /// <inheritdoc />
    protected internal override void ClearState() => _core.ClearState();

    internal override bool StaysLoadedOnRelease => true;
}
