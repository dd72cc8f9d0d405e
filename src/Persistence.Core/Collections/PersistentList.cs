using System.Collections;
using Persistence.Serialization;

namespace Persistence;

/// <summary>
/// A list stored as one record: every change is tracked, and the whole list is rewritten when it
/// changes (a call that leaves the list as it was writes nothing). Elements are inline values or
/// persistent references; searches compare persistent objects by identity (a ghost is compared
/// without being loaded) and other values by their own equality. Use it for small lists (up to a few
/// thousand elements); use a BTree for large collections, whose changes write one bucket.
/// </summary>
/// <typeparam name="T">The element type.</typeparam>
public sealed class PersistentList<T> : PersistentObject, IList<T>, IReadOnlyList<T>
{
    private static PersistentTypeInfo? s_type;
    private static ValueCodec<T>? s_codec;

    private List<T> _items;
    // Rises whenever the state is replaced (loaded or cleared), so enumerators notice a reload.
    private int _generation;

    /// <summary>Creates an empty list.</summary>
    public PersistentList() => _items = [];

    /// <summary>Creates a list holding the given elements.</summary>
    public PersistentList(IEnumerable<T> items) => _items = [.. items];

    private PersistentList(GhostToken token) : base(token) => _items = [];

    /// <summary>
    /// Registers this closed list type with its element codec. Generated code does this for every
    /// list type a program mentions; call it yourself only for a type built at run time from generic code.
    /// </summary>
    /// <param name="elementCodec">The codec of the elements.</param>
    /// <param name="elementName">The stored name of the element type (a type code such as <c>i32</c>, or a persistent class name).</param>
    public static void Register(ValueCodec<T> elementCodec, string elementName)
    {
        ArgumentNullException.ThrowIfNull(elementCodec);
        if (s_type is not null) return;
        var type = new PersistentTypeInfo(
            $"Persistence.PersistentList<{elementName}>",
            [],
            null,
            [new FieldSchema("Items", $"list<{elementCodec.TypeCode}>")],
            static token => new PersistentList<T>(token)) { IsCollectionType = true };
        PersistentTypes.Register(type);
        s_codec = elementCodec;
        s_type = type;
    }

    /// <inheritdoc />
    public override PersistentTypeInfo PersistentType => s_type ?? throw CollectionTypes.NotRegistered("PersistentList", CollectionTypes.NameOf(typeof(T)));

    /// <summary>The element at <paramref name="index"/>. Assigning the element already there (the same object, string or integer) writes nothing.</summary>
    public T this[int index]
    {
        get
        {
            ActivateIfGhost();
            CollectionTypes.CheckIndex(index, _items.Count);
            return _items[index];
        }
        set
        {
            ActivateIfGhost();
            CollectionTypes.CheckIndex(index, _items.Count);
            if (CollectionTypes.Unchanged(_items[index], value)) return;
            BeforeWrite();
            _items[index] = value;
        }
    }

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

    /// <inheritdoc />
    public void Add(T item)
    {
        BeforeWrite();
        _items.Add(item);
    }

    /// <summary>Adds every element of <paramref name="items"/> at the end; writes nothing if there are none.</summary>
    public void AddRange(IEnumerable<T> items) => InsertRange(Count, items);

    /// <inheritdoc />
    public void Insert(int index, T item)
    {
        ActivateIfGhost();
        CollectionTypes.CheckIndex(index, _items.Count, allowEnd: true);
        BeforeWrite();
        _items.Insert(index, item);
    }

    /// <summary>Inserts every element of <paramref name="items"/> at <paramref name="index"/>; writes nothing if there are none.</summary>
    public void InsertRange(int index, IEnumerable<T> items)
    {
        ArgumentNullException.ThrowIfNull(items);
        ActivateIfGhost();
        CollectionTypes.CheckIndex(index, _items.Count, allowEnd: true);
        // A copy first: items may be this list, or a sequence that can be read only once.
        T[] added = [.. items];
        if (added.Length == 0) return;
        BeforeWrite();
        _items.InsertRange(index, added);
    }

    /// <summary>Removes the first occurrence of <paramref name="item"/>; returns false (and writes nothing) if the list does not hold it.</summary>
    public bool Remove(T item)
    {
        var index = IndexOf(item);
        if (index < 0) return false;
        RemoveAt(index);
        return true;
    }

    /// <inheritdoc />
    public void RemoveAt(int index)
    {
        ActivateIfGhost();
        CollectionTypes.CheckIndex(index, _items.Count);
        BeforeWrite();
        _items.RemoveAt(index);
    }

    /// <summary>Removes <paramref name="count"/> elements from <paramref name="index"/> on; writes nothing if <paramref name="count"/> is 0.</summary>
    public void RemoveRange(int index, int count)
    {
        ActivateIfGhost();
        CollectionTypes.CheckRange(index, count, _items.Count);
        if (count == 0) return;
        BeforeWrite();
        _items.RemoveRange(index, count);
    }

    /// <summary>
    /// Removes every element that matches <paramref name="match"/> (called once per element, in order)
    /// and returns how many were removed; writes nothing if none matches.
    /// </summary>
    public int RemoveAll(Predicate<T> match)
    {
        ArgumentNullException.ThrowIfNull(match);
        ActivateIfGhost();
        var items = _items;
        var first = items.FindIndex(match);
        if (first < 0) return 0;
        BeforeWrite();
        // Marking the list changed is a safe point: an autocommit there may have reloaded the elements.
        if (!ReferenceEquals(items, _items)) return _items.RemoveAll(match);
        var kept = first;
        for (var i = first + 1; i < items.Count; i++)
        {
            if (!match(items[i])) items[kept++] = items[i];
        }
        var removed = items.Count - kept;
        items.RemoveRange(kept, removed);
        return removed;
    }

    /// <inheritdoc cref="ICollection{T}.Clear" />
    public void Clear()
    {
        ActivateIfGhost();
        if (_items.Count == 0) return;
        BeforeWrite();
        _items.Clear();
    }

    /// <summary>Sorts the elements by their default order; writes nothing if they are in order already.</summary>
    public void Sort() => Sort(Comparer<T>.Default);

    /// <summary>Sorts the elements by <paramref name="comparison"/>; writes nothing if they are in order already.</summary>
    public void Sort(Comparison<T> comparison)
    {
        ArgumentNullException.ThrowIfNull(comparison);
        Sort(Comparer<T>.Create(comparison));
    }

    /// <summary>
    /// Sorts the elements by <paramref name="comparer"/> (the default order if null); writes nothing,
    /// and leaves even equal elements where they are, if they are in order already. The sort is not stable.
    /// </summary>
    public void Sort(IComparer<T>? comparer)
    {
        comparer ??= Comparer<T>.Default;
        ActivateIfGhost();
        var items = _items;
        var sorted = true;
        for (var i = 1; i < items.Count && sorted; i++) sorted = comparer.Compare(items[i - 1], items[i]) <= 0;
        if (sorted) return;
        BeforeWrite();
        _items.Sort(comparer);
    }

    /// <summary>Reverses the order of the elements; writes nothing if that leaves every element as it was.</summary>
    public void Reverse() => Reverse(0, Count);

    /// <summary>
    /// Reverses the order of <paramref name="count"/> elements from <paramref name="index"/> on; writes
    /// nothing if that leaves every element as it was (fewer than two, or a run that reads the same both ways).
    /// </summary>
    public void Reverse(int index, int count)
    {
        ActivateIfGhost();
        CollectionTypes.CheckRange(index, count, _items.Count);
        var items = _items;
        var same = true;
        for (int low = index, high = index + count - 1; low < high && same; low++, high--) same = CollectionTypes.Unchanged(items[low], items[high]);
        if (same) return;
        BeforeWrite();
        _items.Reverse(index, count);
    }

    /// <inheritdoc />
    public int IndexOf(T item) => IndexOf(item, 0);

    /// <summary>The index of the first occurrence of <paramref name="item"/> at or after <paramref name="index"/>, or -1.</summary>
    public int IndexOf(T item, int index)
    {
        ActivateIfGhost();
        CollectionTypes.CheckIndex(index, _items.Count, allowEnd: true);
        if (ElementComparer<T>.IsDefault) return _items.IndexOf(item, index);
        var comparer = ElementComparer<T>.Instance;
        for (var i = index; i < _items.Count; i++)
        {
            if (comparer.Equals(_items[i], item)) return i;
        }
        return -1;
    }

    /// <summary>The index of the last occurrence of <paramref name="item"/>, or -1.</summary>
    public int LastIndexOf(T item)
    {
        ActivateIfGhost();
        if (ElementComparer<T>.IsDefault) return _items.LastIndexOf(item);
        var comparer = ElementComparer<T>.Instance;
        for (var i = _items.Count - 1; i >= 0; i--)
        {
            if (comparer.Equals(_items[i], item)) return i;
        }
        return -1;
    }

    /// <inheritdoc cref="ICollection{T}.Contains" />
    public bool Contains(T item) => IndexOf(item) >= 0;

    /// <summary>Whether some element matches <paramref name="match"/>.</summary>
    public bool Exists(Predicate<T> match) => FindIndex(match) >= 0;

    /// <summary>Whether every element matches <paramref name="match"/> (true for an empty list).</summary>
    public bool TrueForAll(Predicate<T> match)
    {
        ArgumentNullException.ThrowIfNull(match);
        ActivateIfGhost();
        return _items.TrueForAll(match);
    }

    /// <summary>The first element that matches <paramref name="match"/>, or the default value.</summary>
    public T? Find(Predicate<T> match)
    {
        ArgumentNullException.ThrowIfNull(match);
        ActivateIfGhost();
        return _items.Find(match);
    }

    /// <summary>The last element that matches <paramref name="match"/>, or the default value.</summary>
    public T? FindLast(Predicate<T> match)
    {
        ArgumentNullException.ThrowIfNull(match);
        ActivateIfGhost();
        return _items.FindLast(match);
    }

    /// <summary>The index of the first element that matches <paramref name="match"/>, or -1.</summary>
    public int FindIndex(Predicate<T> match)
    {
        ArgumentNullException.ThrowIfNull(match);
        ActivateIfGhost();
        return _items.FindIndex(match);
    }

    /// <summary>The index of the last element that matches <paramref name="match"/>, or -1.</summary>
    public int FindLastIndex(Predicate<T> match)
    {
        ArgumentNullException.ThrowIfNull(match);
        ActivateIfGhost();
        return _items.FindLastIndex(match);
    }

    /// <summary>Every element that matches <paramref name="match"/>, in order, as a new (not persistent) list.</summary>
    public List<T> FindAll(Predicate<T> match)
    {
        ArgumentNullException.ThrowIfNull(match);
        ActivateIfGhost();
        return _items.FindAll(match);
    }

    /// <summary>A copy of <paramref name="count"/> elements from <paramref name="index"/> on, as a new (not persistent) list.</summary>
    public List<T> GetRange(int index, int count)
    {
        ActivateIfGhost();
        return _items.GetRange(index, count);
    }

    /// <summary>A copy of the elements in an array.</summary>
    public T[] ToArray()
    {
        ActivateIfGhost();
        return _items.ToArray();
    }

    /// <inheritdoc />
    public void CopyTo(T[] array, int arrayIndex)
    {
        ActivateIfGhost();
        _items.CopyTo(array, arrayIndex);
    }

    /// <summary>Returns an enumerator over the elements, which fails if the list changes during the enumeration.</summary>
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
        var count = CollectionTypes.StoredCount(reader.ReadCount(codec.MinimumSize), "list");
        var items = new List<T>(count);
        for (var i = 0; i < count; i++) items.Add(codec.Read(ref reader));
        _items = items;
        _generation++;
    }

    internal override bool StaysLoadedOnRelease => true;

    /// <inheritdoc />
    protected internal override void ClearState()
    {
        _items = [];
        _generation++;
    }

    /// <summary>Enumerates the elements of a <see cref="PersistentList{T}"/>; fails if the list changes or is reloaded meanwhile.</summary>
    public struct Enumerator : IEnumerator<T>
    {
        private readonly PersistentList<T> _list;
        private readonly int _generation;
        private List<T>.Enumerator _inner;

        internal Enumerator(PersistentList<T> list)
        {
            _list = list;
            _generation = list._generation;
            _inner = list._items.GetEnumerator();
        }

        /// <inheritdoc />
        public readonly T Current => _inner.Current;

        readonly object? IEnumerator.Current => Current;

        /// <inheritdoc />
        public bool MoveNext()
        {
            _list.ActivateIfGhost();
            if (_list._generation != _generation) throw CollectionTypes.ReloadedDuringEnumeration();
            return _inner.MoveNext();
        }

        void IEnumerator.Reset()
        {
            if (_list._generation != _generation) throw CollectionTypes.ReloadedDuringEnumeration();
            IEnumerator inner = _inner;
            inner.Reset();
            _inner = (List<T>.Enumerator)inner;
        }

        /// <inheritdoc />
        public void Dispose() => _inner.Dispose();
    }
}
