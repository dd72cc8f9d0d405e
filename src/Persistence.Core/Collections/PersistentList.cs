using System.Collections;
using Persistence.Serialization;

namespace Persistence;

/// <summary>
/// A list stored as one record: every change is tracked, and the whole list is rewritten when it
/// changes. Elements are inline values or persistent references. Use it for small lists (up to a
/// few thousand elements); use a BTree for large collections, whose changes write one bucket.
/// </summary>
/// <typeparam name="T">The element type.</typeparam>
public sealed class PersistentList<T> : PersistentObject, IList<T>, IReadOnlyList<T>
{
    private static PersistentTypeInfo? s_type;
    private static ValueCodec<T>? s_codec;

    private List<T> _items;

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
            static token => new PersistentList<T>(token));
        PersistentTypes.Register(type);
        s_codec = elementCodec;
        s_type = type;
    }

    /// <inheritdoc />
    public override PersistentTypeInfo PersistentType => s_type ?? throw CollectionTypes.NotRegistered("PersistentList", typeof(T).Name);

    /// <inheritdoc cref="IList{T}.this" />
    public T this[int index]
    {
        get
        {
            ActivateIfGhost();
            return _items[index];
        }
        set
        {
            BeforeWrite();
            _items[index] = value;
        }
    }

    /// <inheritdoc />
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

    /// <summary>Adds every element of <paramref name="items"/> at the end.</summary>
    public void AddRange(IEnumerable<T> items)
    {
        BeforeWrite();
        _items.AddRange(items);
    }

    /// <inheritdoc />
    public void Insert(int index, T item)
    {
        BeforeWrite();
        _items.Insert(index, item);
    }

    /// <inheritdoc />
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
        BeforeWrite();
        _items.RemoveAt(index);
    }

    /// <inheritdoc />
    public void Clear()
    {
        ActivateIfGhost();
        if (_items.Count == 0) return;
        BeforeWrite();
        _items.Clear();
    }

    /// <inheritdoc />
    public int IndexOf(T item)
    {
        ActivateIfGhost();
        return _items.IndexOf(item);
    }

    /// <inheritdoc />
    public bool Contains(T item) => IndexOf(item) >= 0;

    /// <inheritdoc />
    public void CopyTo(T[] array, int arrayIndex)
    {
        ActivateIfGhost();
        _items.CopyTo(array, arrayIndex);
    }

    /// <inheritdoc />
    public IEnumerator<T> GetEnumerator()
    {
        ActivateIfGhost();
        return _items.GetEnumerator();
    }

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
        var count = reader.ReadCount(codec.MinimumSize);
        var items = new List<T>(Math.Max(count, 0));
        for (var i = 0; i < count; i++) items.Add(codec.Read(ref reader));
        _items = items;
    }

    /// <inheritdoc />
    protected internal override void ClearState() => _items = [];
}
