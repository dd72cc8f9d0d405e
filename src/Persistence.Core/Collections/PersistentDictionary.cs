using System.Collections;
using System.Diagnostics.CodeAnalysis;
using Persistence.Serialization;

namespace Persistence;

/// <summary>
/// A dictionary stored as one record: every change is tracked, and the whole dictionary is rewritten
/// when it changes. Keys and values are inline values or persistent references. Use it for small
/// maps (up to a few thousand entries); use a BTree for large ones, whose changes write one bucket.
/// </summary>
/// <typeparam name="TKey">The key type (a value the serializer supports; strings compare ordinally).</typeparam>
/// <typeparam name="TValue">The value type.</typeparam>
public sealed class PersistentDictionary<TKey, TValue> : PersistentObject, IDictionary<TKey, TValue>, IReadOnlyDictionary<TKey, TValue>
    where TKey : notnull
{
    private static PersistentTypeInfo? s_type;
    private static ValueCodec<TKey>? s_keyCodec;
    private static ValueCodec<TValue>? s_valueCodec;

    private Dictionary<TKey, TValue> _items;

    /// <summary>Creates an empty dictionary.</summary>
    public PersistentDictionary() => _items = [];

    /// <summary>Creates a dictionary holding the given entries.</summary>
    public PersistentDictionary(IEnumerable<KeyValuePair<TKey, TValue>> entries) => _items = new Dictionary<TKey, TValue>(entries);

    private PersistentDictionary(GhostToken token) : base(token) => _items = [];

    /// <summary>
    /// Registers this closed dictionary type with its key and value codecs. Generated code does
    /// this for every dictionary type a program mentions; call it yourself only for a type built
    /// at run time from generic code.
    /// </summary>
    /// <param name="keyCodec">The codec of the keys.</param>
    /// <param name="keyName">The stored name of the key type (a type code such as <c>str</c>, or a persistent class name).</param>
    /// <param name="valueCodec">The codec of the values.</param>
    /// <param name="valueName">The stored name of the value type.</param>
    public static void Register(ValueCodec<TKey> keyCodec, string keyName, ValueCodec<TValue> valueCodec, string valueName)
    {
        ArgumentNullException.ThrowIfNull(keyCodec);
        ArgumentNullException.ThrowIfNull(valueCodec);
        if (s_type is not null) return;
        var type = new PersistentTypeInfo(
            $"Persistence.PersistentDictionary<{keyName},{valueName}>",
            [],
            null,
            [new FieldSchema("Items", $"dict<{keyCodec.TypeCode},{valueCodec.TypeCode}>")],
            static token => new PersistentDictionary<TKey, TValue>(token));
        PersistentTypes.Register(type);
        s_keyCodec = keyCodec;
        s_valueCodec = valueCodec;
        s_type = type;
    }

    /// <inheritdoc />
    public override PersistentTypeInfo PersistentType => s_type ?? throw CollectionTypes.NotRegistered("PersistentDictionary", typeof(TKey).Name + ", " + typeof(TValue).Name);

    /// <inheritdoc cref="IDictionary{TKey, TValue}.this" />
    public TValue this[TKey key]
    {
        get
        {
            ActivateIfGhost();
            return _items[key];
        }
        set
        {
            BeforeWrite();
            _items[key] = value;
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

    /// <inheritdoc />
    public ICollection<TKey> Keys
    {
        get
        {
            ActivateIfGhost();
            return _items.Keys;
        }
    }

    /// <inheritdoc />
    public ICollection<TValue> Values
    {
        get
        {
            ActivateIfGhost();
            return _items.Values;
        }
    }

    IEnumerable<TKey> IReadOnlyDictionary<TKey, TValue>.Keys => Keys;

    IEnumerable<TValue> IReadOnlyDictionary<TKey, TValue>.Values => Values;

    bool ICollection<KeyValuePair<TKey, TValue>>.IsReadOnly => false;

    /// <inheritdoc />
    public void Add(TKey key, TValue value)
    {
        BeforeWrite();
        _items.Add(key, value);
    }

    /// <summary>Returns the value under <paramref name="key"/>, adding the one <paramref name="create"/> makes if there is none.</summary>
    public T GetOrAdd<T>(TKey key, Func<T> create) where T : TValue
    {
        ArgumentNullException.ThrowIfNull(create);
        ActivateIfGhost();
        if (_items.TryGetValue(key, out var existing))
        {
            return existing is T typed
                ? typed
                : throw new InvalidCastException($"The entry '{key}' holds a {existing?.GetType().Name ?? "null"}, not a {typeof(T).Name}.");
        }
        var created = create();
        BeforeWrite();
        _items.Add(key, created);
        return created;
    }

    /// <inheritdoc />
    public bool ContainsKey(TKey key)
    {
        ActivateIfGhost();
        return _items.ContainsKey(key);
    }

    /// <inheritdoc />
    public bool Remove(TKey key)
    {
        ActivateIfGhost();
        if (!_items.ContainsKey(key)) return false;
        BeforeWrite();
        return _items.Remove(key);
    }

    /// <inheritdoc />
    public bool TryGetValue(TKey key, [MaybeNullWhen(false)] out TValue value)
    {
        ActivateIfGhost();
        return _items.TryGetValue(key, out value);
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
    public IEnumerator<KeyValuePair<TKey, TValue>> GetEnumerator()
    {
        ActivateIfGhost();
        return _items.GetEnumerator();
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    void ICollection<KeyValuePair<TKey, TValue>>.Add(KeyValuePair<TKey, TValue> item) => Add(item.Key, item.Value);

    bool ICollection<KeyValuePair<TKey, TValue>>.Contains(KeyValuePair<TKey, TValue> item)
    {
        ActivateIfGhost();
        return ((ICollection<KeyValuePair<TKey, TValue>>)_items).Contains(item);
    }

    void ICollection<KeyValuePair<TKey, TValue>>.CopyTo(KeyValuePair<TKey, TValue>[] array, int arrayIndex)
    {
        ActivateIfGhost();
        ((ICollection<KeyValuePair<TKey, TValue>>)_items).CopyTo(array, arrayIndex);
    }

    bool ICollection<KeyValuePair<TKey, TValue>>.Remove(KeyValuePair<TKey, TValue> item)
    {
        ActivateIfGhost();
        if (!((ICollection<KeyValuePair<TKey, TValue>>)_items).Contains(item)) return false;
        BeforeWrite();
        return ((ICollection<KeyValuePair<TKey, TValue>>)_items).Remove(item);
    }

    /// <inheritdoc />
    protected internal override void WriteState(ref RecordWriter writer)
    {
        var keys = s_keyCodec!;
        var values = s_valueCodec!;
        writer.WriteCount(_items.Count);
        foreach (var (key, value) in _items)
        {
            keys.Write(ref writer, key);
            values.Write(ref writer, value);
        }
    }

    /// <inheritdoc />
    protected internal override void ReadState(ref RecordReader reader)
    {
        var keys = s_keyCodec!;
        var values = s_valueCodec!;
        var count = reader.ReadCount(keys.MinimumSize + values.MinimumSize);
        var items = new Dictionary<TKey, TValue>(Math.Max(count, 0));
        for (var i = 0; i < count; i++)
        {
            var key = keys.Read(ref reader);
            if (key is null || !items.TryAdd(key, values.Read(ref reader)))
                throw new FormatException("A record is damaged: a dictionary key is null or repeated.");
        }
        _items = items;
    }

    /// <inheritdoc />
    protected internal override void ClearState() => _items = [];
}
