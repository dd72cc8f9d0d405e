using System.Collections;
using System.Diagnostics.CodeAnalysis;
using Persistence.Serialization;

namespace Persistence;

/// <summary>
/// A dictionary stored as one record: every change is tracked, and the whole dictionary is rewritten
/// when it changes (a call that leaves it as it was writes nothing). Keys and values are inline values
/// or persistent references; string keys compare ordinally, persistent-object keys by identity. Use it
/// for small maps (up to a few thousand entries); use a BTree for large ones, whose changes write one bucket.
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
    // Rises whenever the state is replaced (loaded or cleared), so enumerators notice a reload.
    private int _generation;

    /// <summary>Creates an empty dictionary.</summary>
    public PersistentDictionary() => _items = new Dictionary<TKey, TValue>(ElementComparer<TKey>.Instance);

    /// <summary>Creates a dictionary holding the given entries.</summary>
    /// <exception cref="ArgumentException">Two entries have the same key.</exception>
    public PersistentDictionary(IEnumerable<KeyValuePair<TKey, TValue>> entries) =>
        _items = new Dictionary<TKey, TValue>(entries, ElementComparer<TKey>.Instance);

    private PersistentDictionary(GhostToken token) : base(token) => _items = new Dictionary<TKey, TValue>(ElementComparer<TKey>.Instance);

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
            static token => new PersistentDictionary<TKey, TValue>(token)) { IsCollectionType = true };
        PersistentTypes.Register(type);
        s_keyCodec = keyCodec;
        s_valueCodec = valueCodec;
        s_type = type;
    }

    /// <inheritdoc />
    public override PersistentTypeInfo PersistentType => s_type ?? throw CollectionTypes.NotRegistered("PersistentDictionary", CollectionTypes.NameOf(typeof(TKey)) + ", " + CollectionTypes.NameOf(typeof(TValue)));

    /// <summary>
    /// The value under <paramref name="key"/>. Assigning the value already there (the same object,
    /// string or integer) writes nothing.
    /// </summary>
    /// <exception cref="KeyNotFoundException">Reading a key the dictionary does not hold.</exception>
    public TValue this[TKey key]
    {
        get
        {
            ActivateIfGhost();
            return _items[key];
        }
        set
        {
            ActivateIfGhost();
            if (_items.TryGetValue(key, out var existing) && CollectionTypes.Unchanged(existing, value)) return;
            BeforeWrite();
            _items[key] = value;
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

    /// <summary>The keys: a read-only view that follows the dictionary (changing it throws <see cref="NotSupportedException"/>).</summary>
    public ICollection<TKey> Keys => new View<TKey>(this, nameof(Keys), static entry => entry.Key, ContainsKey);

    /// <summary>The values: a read-only view that follows the dictionary (changing it throws <see cref="NotSupportedException"/>).</summary>
    public ICollection<TValue> Values => new View<TValue>(this, nameof(Values), static entry => entry.Value, ContainsValue);

    IEnumerable<TKey> IReadOnlyDictionary<TKey, TValue>.Keys => Keys;

    IEnumerable<TValue> IReadOnlyDictionary<TKey, TValue>.Values => Values;

    bool ICollection<KeyValuePair<TKey, TValue>>.IsReadOnly => false;

    /// <summary>Adds an entry.</summary>
    /// <exception cref="ArgumentException">The dictionary already holds <paramref name="key"/>.</exception>
    public void Add(TKey key, TValue value)
    {
        if (!TryAdd(key, value)) throw new ArgumentException($"The dictionary already holds the key '{key}'.", nameof(key));
    }

    /// <summary>Adds an entry unless the dictionary holds <paramref name="key"/> already; returns whether it was added (nothing is written if not).</summary>
    public bool TryAdd(TKey key, TValue value)
    {
        ActivateIfGhost();
        if (_items.ContainsKey(key)) return false;
        BeforeWrite();
        return _items.TryAdd(key, value);
    }

    /// <summary>Returns the value under <paramref name="key"/>, adding the one <paramref name="create"/> makes if there is none.</summary>
    public T GetOrAdd<T>(TKey key, Func<T> create) where T : TValue
    {
        ArgumentNullException.ThrowIfNull(create);
        return GetOrAdd(key, static (_, create) => create(), create);
    }

    /// <summary>Returns the value under <paramref name="key"/>, adding the one <paramref name="create"/> makes of the key if there is none.</summary>
    public T GetOrAdd<T>(TKey key, Func<TKey, T> create) where T : TValue
    {
        ArgumentNullException.ThrowIfNull(create);
        return GetOrAdd(key, static (key, create) => create(key), create);
    }

    /// <summary>
    /// Returns the value under <paramref name="key"/>, adding the one <paramref name="create"/> makes of the key and
    /// <paramref name="argument"/> if there is none (a static lambda and an argument allocate no closure).
    /// </summary>
    public T GetOrAdd<T, TArg>(TKey key, Func<TKey, TArg, T> create, TArg argument) where T : TValue
    {
        ArgumentNullException.ThrowIfNull(create);
        ActivateIfGhost();
        if (_items.TryGetValue(key, out var existing))
        {
            return existing is T typed
                ? typed
                : existing is MissingClass missing
                    ? throw missing.Reason()
                    : throw new InvalidCastException($"The entry '{key}' holds a {existing?.GetType().Name ?? "null"}, not a {typeof(T).Name}.");
        }
        var created = create(key, argument);
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

    /// <summary>Whether some entry holds <paramref name="value"/> (a persistent object by identity); reads every value.</summary>
    public bool ContainsValue(TValue value)
    {
        ActivateIfGhost();
        var comparer = ElementComparer<TValue>.Instance;
        foreach (var existing in _items.Values)
        {
            if (comparer.Equals(existing, value)) return true;
        }
        return false;
    }

    /// <summary>Removes the entry under <paramref name="key"/>; returns false (and writes nothing) if there is none.</summary>
    public bool Remove(TKey key) => Remove(key, out _);

    /// <summary>Removes the entry under <paramref name="key"/> and returns its value; returns false (and writes nothing) if there is none.</summary>
    public bool Remove(TKey key, [MaybeNullWhen(false)] out TValue value)
    {
        ActivateIfGhost();
        if (!_items.ContainsKey(key))
        {
            value = default;
            return false;
        }
        BeforeWrite();
        return _items.Remove(key, out value);
    }

    /// <inheritdoc />
    public bool TryGetValue(TKey key, [MaybeNullWhen(false)] out TValue value)
    {
        ActivateIfGhost();
        return _items.TryGetValue(key, out value);
    }

    /// <summary>The value under <paramref name="key"/>, or the default value of <typeparamref name="TValue"/> if there is none.</summary>
    public TValue? GetValueOrDefault(TKey key) => GetValueOrDefault(key, default!);

    /// <summary>The value under <paramref name="key"/>, or <paramref name="defaultValue"/> if there is none.</summary>
    public TValue GetValueOrDefault(TKey key, TValue defaultValue) => TryGetValue(key, out var value) ? value : defaultValue;

    /// <inheritdoc cref="ICollection{T}.Clear" />
    public void Clear()
    {
        ActivateIfGhost();
        if (_items.Count == 0) return;
        BeforeWrite();
        _items.Clear();
    }

    /// <summary>
    /// Returns an enumerator over the entries, which fails if the dictionary changes during the
    /// enumeration (removing entries is allowed, as with <see cref="Dictionary{TKey, TValue}"/>).
    /// </summary>
    public Enumerator GetEnumerator()
    {
        ActivateIfGhost();
        return new Enumerator(this);
    }

    IEnumerator<KeyValuePair<TKey, TValue>> IEnumerable<KeyValuePair<TKey, TValue>>.GetEnumerator() => GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    void ICollection<KeyValuePair<TKey, TValue>>.Add(KeyValuePair<TKey, TValue> item) => Add(item.Key, item.Value);

    bool ICollection<KeyValuePair<TKey, TValue>>.Contains(KeyValuePair<TKey, TValue> item) =>
        TryGetValue(item.Key, out var value) && ElementComparer<TValue>.Instance.Equals(value, item.Value);

    void ICollection<KeyValuePair<TKey, TValue>>.CopyTo(KeyValuePair<TKey, TValue>[] array, int arrayIndex)
    {
        ActivateIfGhost();
        ((ICollection<KeyValuePair<TKey, TValue>>)_items).CopyTo(array, arrayIndex);
    }

    bool ICollection<KeyValuePair<TKey, TValue>>.Remove(KeyValuePair<TKey, TValue> item) =>
        ((ICollection<KeyValuePair<TKey, TValue>>)this).Contains(item) && Remove(item.Key);

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
        var count = CollectionTypes.StoredCount(reader.ReadCount(keys.MinimumSize + values.MinimumSize), "dictionary");
        var items = new Dictionary<TKey, TValue>(count, ElementComparer<TKey>.Instance);
        for (var i = 0; i < count; i++)
        {
            var key = keys.Read(ref reader);
            if (key is null || !items.TryAdd(key, values.Read(ref reader)))
                throw new FormatException("A record is damaged: a dictionary key is null or repeated.");
        }
        _items = items;
        _generation++;
    }

    internal override bool StaysLoadedOnRelease => true;

    /// <inheritdoc />
    protected internal override void ClearState()
    {
        _items = new Dictionary<TKey, TValue>(ElementComparer<TKey>.Instance);
        _generation++;
    }

    /// <summary>Enumerates the entries of a <see cref="PersistentDictionary{TKey, TValue}"/>; fails if it changes (other than by removals) or is reloaded meanwhile.</summary>
    public struct Enumerator : IEnumerator<KeyValuePair<TKey, TValue>>
    {
        private readonly PersistentDictionary<TKey, TValue> _dictionary;
        private readonly int _generation;
        private Dictionary<TKey, TValue>.Enumerator _inner;

        internal Enumerator(PersistentDictionary<TKey, TValue> dictionary)
        {
            _dictionary = dictionary;
            _generation = dictionary._generation;
            _inner = dictionary._items.GetEnumerator();
        }

        /// <inheritdoc />
        public readonly KeyValuePair<TKey, TValue> Current => _inner.Current;

        readonly object IEnumerator.Current => Current;

        /// <inheritdoc />
        public bool MoveNext()
        {
            _dictionary.ActivateIfGhost();
            if (_dictionary._generation != _generation) throw CollectionTypes.ReloadedDuringEnumeration();
            return _inner.MoveNext();
        }

        void IEnumerator.Reset()
        {
            if (_dictionary._generation != _generation) throw CollectionTypes.ReloadedDuringEnumeration();
            IEnumerator inner = _inner;
            inner.Reset();
            _inner = (Dictionary<TKey, TValue>.Enumerator)inner;
        }

        /// <inheritdoc />
        public void Dispose() => _inner.Dispose();
    }

    /// <summary>A read-only view of the keys or the values that follows the dictionary, also across reloads.</summary>
    private sealed class View<TItem>(
        PersistentDictionary<TKey, TValue> dictionary,
        string name,
        Func<KeyValuePair<TKey, TValue>, TItem> select,
        Func<TItem, bool> contains) : ICollection<TItem>, IReadOnlyCollection<TItem>
    {
        public int Count => dictionary.Count;

        public bool IsReadOnly => true;

        public bool Contains(TItem item) => contains(item);

        public void CopyTo(TItem[] array, int arrayIndex)
        {
            ArgumentNullException.ThrowIfNull(array);
            ArgumentOutOfRangeException.ThrowIfNegative(arrayIndex);
            if (array.Length - arrayIndex < Count)
                throw new ArgumentException($"The array has room for {array.Length - arrayIndex} elements from index {arrayIndex}, not {Count}.", nameof(array));
            foreach (var entry in dictionary) array[arrayIndex++] = select(entry);
        }

        public IEnumerator<TItem> GetEnumerator()
        {
            foreach (var entry in dictionary) yield return select(entry);
        }

        IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

        public void Add(TItem item) => throw CollectionTypes.ReadOnlyView(name);

        public void Clear() => throw CollectionTypes.ReadOnlyView(name);

        public bool Remove(TItem item) => throw CollectionTypes.ReadOnlyView(name);
    }
}
