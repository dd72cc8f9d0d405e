using System.Collections;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using Persistence.Serialization;

namespace Persistence;

/// <summary>
/// An ordered map for large collections: its entries live in buckets of a few hundred entries under
/// internal nodes, each a persistent object of its own. A lookup loads only the nodes and the bucket
/// on its path; a change writes one small bucket, not the collection; enumeration loads buckets as it
/// reaches them. Transactions that change different keys merge, even in one bucket, so many threads
/// or processes can fill one tree at once.
/// </summary>
/// <remarks>
/// <para><b>Keys</b> are inline values the serializer supports (numbers, strings, Guid, DateTime, enums...),
/// in their natural order (strings ordinal), or in the order of a comparer registered by name with
/// <see cref="BTreeComparers"/>. Keys must not change their order while stored.</para>
/// <para><b>Conflicts.</b> Two transactions that insert, replace or remove different keys both commit:
/// the second merges the first one's bucket into its own. Writing the same key in both, or changing a
/// key that a concurrent split moved to another bucket, raises <see cref="ConflictException"/>; retry
/// (<see cref="Database.Transact(Action{Connection}, int, TransactionIsolation?)"/> does). <see cref="Count"/> is kept by a
/// <see cref="PersistentCounter"/>, so inserts never conflict over it; reading it in a transaction that
/// commits makes the commit conflict with any concurrent insert or removal, as any read does.</para>
/// </remarks>
/// <typeparam name="TKey">The key type.</typeparam>
/// <typeparam name="TValue">The value type: an inline value or a persistent reference.</typeparam>
public sealed class BTree<TKey, TValue> : PersistentObject, IDictionary<TKey, TValue>, IReadOnlyDictionary<TKey, TValue>
{
    private static PersistentTypeInfo? s_type;

    private readonly BTreeCore<TKey, TValue> _core;

    /// <summary>Creates an empty tree ordered by its keys' natural order (ordinal for strings).</summary>
    /// <exception cref="InvalidOperationException">The tree type is not registered, or its keys have no natural order.</exception>
    public BTree() : this(null)
    {
    }

    /// <summary>Creates an empty tree ordered by the comparer registered with <see cref="BTreeComparers"/> under <paramref name="comparerName"/>.</summary>
    /// <param name="comparerName">The registered name of the key order (null for the natural order); stored with the tree.</param>
    /// <exception cref="SchemaMismatchException">No comparer of <typeparamref name="TKey"/> is registered under that name.</exception>
    public BTree(string? comparerName)
    {
        _ = PersistentType;
        _core = new BTreeCore<TKey, TValue>(this);
        _core.Initialize(comparerName, Name);
    }

    private BTree(GhostToken token) : base(token) => _core = new BTreeCore<TKey, TValue>(this);

    private static string Name => s_type?.Name ?? $"BTree<{typeof(TKey).Name},{typeof(TValue).Name}>";

    /// <summary>
    /// Registers this closed tree type (and its bucket and node types) with its key and value codecs.
    /// Generated code does this for every tree type a program mentions; call it yourself only for a
    /// type built at run time from generic code.
    /// </summary>
    /// <param name="keyCodec">The codec of the keys.</param>
    /// <param name="keyName">The stored name of the key type (a type code such as <c>i32</c>).</param>
    /// <param name="valueCodec">The codec of the values.</param>
    /// <param name="valueName">The stored name of the value type (a type code, or a persistent class name).</param>
    public static void Register(ValueCodec<TKey> keyCodec, string keyName, ValueCodec<TValue> valueCodec, string valueName)
    {
        ArgumentNullException.ThrowIfNull(keyCodec);
        ArgumentNullException.ThrowIfNull(valueCodec);
        if (s_type is not null) return;
        var name = $"Persistence.BTree<{keyName},{valueName}>";
        BTreeTypes<TKey, TValue>.Register(name, keyCodec, valueCodec);
        var type = BTreeTypes<TKey, TValue>.TreeType(name, static token => new BTree<TKey, TValue>(token));
        PersistentTypes.Register(type);
        s_type = type;
    }

    /// <inheritdoc />
    public override PersistentTypeInfo PersistentType => s_type ?? throw CollectionTypes.NotRegistered("BTree", CollectionTypes.NameOf(typeof(TKey)) + ", " + CollectionTypes.NameOf(typeof(TValue)));

    /// <summary>The registered name of the tree's key order, or null for the natural order.</summary>
    public string? ComparerName
    {
        get
        {
            ActivateIfGhost();
            return _core.ComparerName;
        }
    }

    /// <summary>The tree's key order.</summary>
    public IComparer<TKey> Comparer
    {
        get
        {
            ActivateIfGhost();
            return _core.Comparer;
        }
    }

    /// <inheritdoc cref="IDictionary{TKey, TValue}.this" />
    public TValue this[TKey key]
    {
        get
        {
            ThrowIfNull(key);
            ActivateIfGhost();
            return _core.TryGetValue(key, out var value) ? value : throw new KeyNotFoundException($"The key '{key}' is not in the tree.");
        }
        set
        {
            ThrowIfNull(key);
            ActivateIfGhost();
            _core.Set(key, value, overwrite: true);
        }
    }

    /// <summary>The number of entries (from the tree's length counter; no bucket is loaded).</summary>
    /// <exception cref="OverflowException">More than <see cref="int.MaxValue"/> entries: read <see cref="LongCount"/>.</exception>
    /// <exception cref="CorruptDatabaseException">The length counter holds a number no tree of this depth can reach (below zero, or beyond every node and bucket full).</exception>
    public int Count => checked((int)LongCount);

    /// <summary>The number of entries, as a 64-bit number.</summary>
    /// <exception cref="CorruptDatabaseException">The length counter holds a number no tree of this depth can reach.</exception>
    public long LongCount
    {
        get
        {
            ActivateIfGhost();
            return _core.Count;
        }
    }

    /// <summary>The keys in order (a read-only view).</summary>
    public ICollection<TKey> Keys => new BTreeView<TKey, KeyValuePair<TKey, TValue>>(this, static entry => entry.Key, ContainsKey);

    /// <summary>The values in key order (a read-only view).</summary>
    public ICollection<TValue> Values => new BTreeView<TValue, KeyValuePair<TKey, TValue>>(this, static entry => entry.Value, value => this.Any(entry => EqualityComparer<TValue>.Default.Equals(entry.Value, value)));

    IEnumerable<TKey> IReadOnlyDictionary<TKey, TValue>.Keys => Keys;

    IEnumerable<TValue> IReadOnlyDictionary<TKey, TValue>.Values => Values;

    bool ICollection<KeyValuePair<TKey, TValue>>.IsReadOnly => false;

    /// <summary>The smallest key.</summary>
    /// <exception cref="InvalidOperationException">The tree is empty.</exception>
    public TKey MinKey => TryGetFirst(out var first) ? first.Key : throw Empty();

    /// <summary>The largest key.</summary>
    /// <exception cref="InvalidOperationException">The tree is empty.</exception>
    public TKey MaxKey => TryGetLast(out var last) ? last.Key : throw Empty();

    /// <summary>Adds an entry.</summary>
    /// <exception cref="ArgumentException">The key is already in the tree.</exception>
    public void Add(TKey key, TValue value)
    {
        if (!TryAdd(key, value)) throw new ArgumentException($"The key '{key}' is already in the tree.", nameof(key));
    }

    /// <summary>Adds an entry if the key is not in the tree yet; returns whether it did.</summary>
    public bool TryAdd(TKey key, TValue value)
    {
        ThrowIfNull(key);
        ActivateIfGhost();
        return _core.Set(key, value, overwrite: false);
    }

    /// <summary>Returns the value under <paramref name="key"/>, adding the one <paramref name="create"/> makes if there is none.</summary>
    public TValue GetOrAdd(TKey key, Func<TValue> create)
    {
        ArgumentNullException.ThrowIfNull(create);
        return GetOrAdd(key, static (_, create) => create(), create);
    }

    /// <summary>Returns the value under <paramref name="key"/>, adding the one <paramref name="create"/> makes of the key if there is none.</summary>
    public TValue GetOrAdd(TKey key, Func<TKey, TValue> create)
    {
        ArgumentNullException.ThrowIfNull(create);
        return GetOrAdd(key, static (key, create) => create(key), create);
    }

    /// <summary>
    /// Returns the value under <paramref name="key"/>, adding the one <paramref name="create"/> makes of the key and
    /// <paramref name="argument"/> if there is none (a static lambda and an argument allocate no closure).
    /// </summary>
    public TValue GetOrAdd<TArg>(TKey key, Func<TKey, TArg, TValue> create, TArg argument)
    {
        ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(create);
        ActivateIfGhost();
        if (_core.TryGetValue(key, out var existing)) return existing;
        var created = create(key, argument);
        _core.Set(key, created, overwrite: false);
        return created;
    }

    /// <inheritdoc />
    public bool ContainsKey(TKey key)
    {
        ThrowIfNull(key);
        ActivateIfGhost();
        return _core.ContainsKey(key);
    }

    /// <summary>The bucket whose range holds <paramref name="key"/>, loaded (for tests of what buckets hold).</summary>
    internal BTreeBucket<TKey, TValue> BucketOf(TKey key)
    {
        ActivateIfGhost();
        return _core.BucketOf(key);
    }

    /// <inheritdoc />
    public bool TryGetValue(TKey key, [MaybeNullWhen(false)] out TValue value)
    {
        ThrowIfNull(key);
        ActivateIfGhost();
        return _core.TryGetValue(key, out value);
    }

    /// <inheritdoc />
    public bool Remove(TKey key) => Remove(key, out _);

    /// <summary>Removes the entry under <paramref name="key"/> and returns its value; false if there is none.</summary>
    public bool Remove(TKey key, [MaybeNullWhen(false)] out TValue value)
    {
        ThrowIfNull(key);
        ActivateIfGhost();
        return _core.Remove(key, out value);
    }

    /// <summary>
    /// Marks the tree, and each of its buckets that is loaded, as changed, so the next commit stores them: call it
    /// after changing a value held in the tree in place (a member of a mutable value, a list inside one), which
    /// the tree cannot see. Such a change can only be in a loaded bucket; buckets not loaded are not read.
    /// Assigning the changed value again (<c>tree[key] = value</c>) stores only the bucket that holds it.
    /// </summary>
    public new void MarkChanged()
    {
        base.MarkChanged();
        _core.MarkLoadedBucketsChanged();
    }

    /// <summary>
    /// Removes every entry (the tree gets a new empty bucket and length counter). Unlike other changes,
    /// this conflicts with every concurrent change of the tree.
    /// </summary>
    public void Clear()
    {
        ActivateIfGhost();
        _core.Clear();
    }

    /// <summary>The entry with the smallest key, if the tree is not empty.</summary>
    public bool TryGetFirst(out KeyValuePair<TKey, TValue> entry) => TryGetEdge(last: false, out entry);

    /// <summary>The entry with the largest key, if the tree is not empty.</summary>
    public bool TryGetLast(out KeyValuePair<TKey, TValue> entry) => TryGetEdge(last: true, out entry);

    /// <summary>
    /// Takes the entry with the smallest key out of the tree, if it is not empty: a queue's claim in one call.
    /// It reads and changes what <see cref="TryGetFirst"/> then <see cref="Remove(TKey)"/> would, so it merges
    /// and conflicts as they do: two transactions that take the same entry conflict, and the retried one takes the next.
    /// </summary>
    public bool TryRemoveFirst(out KeyValuePair<TKey, TValue> entry) => TryRemoveEdge(last: false, out entry);

    /// <summary>Takes the entry with the largest key out of the tree, if it is not empty (see <see cref="TryRemoveFirst"/>).</summary>
    public bool TryRemoveLast(out KeyValuePair<TKey, TValue> entry) => TryRemoveEdge(last: true, out entry);

    /// <summary>The entries with keys from <paramref name="from"/> to <paramref name="to"/>, both included, in key order.</summary>
    public BTreeRange<TKey, TValue> Range(TKey from, TKey to) => new(this, BTreeBounds<TKey>.Between(from, to), reverse: false);

    /// <summary>The entries with keys from <paramref name="from"/> (included) on, in key order.</summary>
    public BTreeRange<TKey, TValue> RangeFrom(TKey from) => new(this, BTreeBounds<TKey>.From(from), reverse: false);

    /// <summary>The entries with keys up to <paramref name="to"/> (included), in key order.</summary>
    public BTreeRange<TKey, TValue> RangeTo(TKey to) => new(this, BTreeBounds<TKey>.To(to), reverse: false);

    /// <summary>Every entry, largest key first.</summary>
    public BTreeRange<TKey, TValue> Reverse() => new(this, default, reverse: true);

    /// <summary>Returns an enumerator over every entry in key order that loads buckets as it reaches them.</summary>
    public BTreeEnumerator<TKey, TValue> GetEnumerator() => Enumerate(default, reverse: false);

    IEnumerator<KeyValuePair<TKey, TValue>> IEnumerable<KeyValuePair<TKey, TValue>>.GetEnumerator() => GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    internal BTreeEnumerator<TKey, TValue> Enumerate(BTreeBounds<TKey> bounds, bool reverse)
    {
        ActivateIfGhost();
        return new BTreeEnumerator<TKey, TValue>(new BTreeCursor<TKey, TValue>(_core, bounds, reverse));
    }

    private bool TryGetEdge(bool last, out KeyValuePair<TKey, TValue> entry)
    {
        ActivateIfGhost();
        var found = _core.TryGetEdge(last, out var key, out var value);
        entry = new KeyValuePair<TKey, TValue>(key, value);
        return found;
    }

    private bool TryRemoveEdge(bool last, out KeyValuePair<TKey, TValue> entry)
    {
        ActivateIfGhost();
        var found = _core.TryRemoveEdge(last, out var key, out var value);
        entry = new KeyValuePair<TKey, TValue>(key, value);
        return found;
    }

    private static InvalidOperationException Empty() => new("The tree is empty.");

    /// <summary>Refuses a null key, as a dictionary does (a check the runtime drops for a key of a value type).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void ThrowIfNull(TKey key)
    {
        if (key is null) throw NullKey();
    }

    private static ArgumentNullException NullKey() => new("key", "A BTree's keys cannot be null, as a dictionary's cannot.");

    void ICollection<KeyValuePair<TKey, TValue>>.Add(KeyValuePair<TKey, TValue> item) => Add(item.Key, item.Value);

    bool ICollection<KeyValuePair<TKey, TValue>>.Contains(KeyValuePair<TKey, TValue> item) =>
        TryGetValue(item.Key, out var value) && EqualityComparer<TValue>.Default.Equals(value, item.Value);

    void ICollection<KeyValuePair<TKey, TValue>>.CopyTo(KeyValuePair<TKey, TValue>[] array, int arrayIndex) => BTreeView<KeyValuePair<TKey, TValue>, KeyValuePair<TKey, TValue>>.CopyTo(this, array, arrayIndex);

    bool ICollection<KeyValuePair<TKey, TValue>>.Remove(KeyValuePair<TKey, TValue> item) =>
        ((ICollection<KeyValuePair<TKey, TValue>>)this).Contains(item) && Remove(item.Key);

    /// <summary>The tree's algorithms and stored fields (for structure checks in tests).</summary>
    internal BTreeCore<TKey, TValue> Core
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
