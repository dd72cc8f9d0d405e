using System.Runtime.CompilerServices;
using Persistence.Serialization;

namespace Persistence;

/// <summary>
/// A leaf of a BTree: up to a few hundred entries in key order, stored as one record. Inserting or
/// removing a key writes only this bucket, and two transactions that change different keys of one
/// bucket merge (<see cref="ResolveConflict"/>).
/// </summary>
/// <remarks>
/// A bucket's key range comes from its parent node. Only two things change the range: a split, which
/// moves the keys from a separator up to a new bucket on the right (this bucket keeps its lower end),
/// and removal, when the bucket becomes empty and leaves the tree. Both write this bucket with a new
/// <see cref="BTreeItem{TKey, TValue}._stamp"/>, so a transaction that still routes keys here by an older node conflicts on
/// this bucket; that is why lookups need not recheck the nodes they passed (see <see cref="BTreeNode{TKey,TValue}"/>).
/// </remarks>
internal sealed class BTreeBucket<TKey, TValue> : BTreeItem<TKey, TValue>
{
    internal TValue[] _values;
    // The separator of the last split: keys at or above it left this bucket then. Its range may have
    // grown since (a removed neighbour's range joins it without writing it), so it is a lower estimate.
    internal bool _hasUpper;
    internal TKey _upper = default!;
    // What this transaction read of the entries, for a merge under serializable isolation (see
    // ResolveConflict): the transaction epoch of the last note (0: none), whether it read a run of
    // entries (an enumeration, a range, or lookups of more than MaxReadKeys keys), else the keys it
    // looked up (the first _readKeyCount of _readKeys, an array kept for the bucket's later transactions).
    private const int MaxReadKeys = 8;
    private long _readEpoch;
    private bool _readAll;
    private int _readKeyCount;
    private TKey[]? _readKeys;
    // Values that are references to persistent objects are read as references, and each becomes an
    // object (a ghost, or the one the connection already has) when it is first asked for: a lookup
    // that loads a bucket to return one value makes one object, not one per entry (a new process's
    // 10,000 random lookups over 100,000 persons spent a third of their time making ghosts they never
    // used). While some are pending, _pending[i] is the reference of _values[i] when its oid is not null.
    private ObjectReference[]? _pending;
    private int _pendingCount;
    private IReferenceResolver? _resolver;

    public BTreeBucket(int capacity)
    {
        _keys = new TKey[capacity];
        _values = HasValues ? new TValue[capacity] : [];
    }

    internal BTreeBucket(GhostToken token) : base(token)
    {
        _keys = [];
        _values = [];
    }

    private static bool HasValues => BTreeTypes<TKey, TValue>.ValueCodec is not null;

    public override PersistentTypeInfo PersistentType => BTreeTypes<TKey, TValue>.Bucket ?? throw BTreeTypes<TKey, TValue>.NotRegistered();

    private protected override int FirstKey => 0;

    private protected override string KeysName => "keys";

    /// <summary>Notes that this transaction looked <paramref name="key"/> up here and used what it found (or that it is absent).</summary>
    public void NoteLookup(TKey key)
    {
        StartNotes();
        if (_readAll || ReadKeyIndex(key) >= 0) return;
        if (_readKeyCount == MaxReadKeys)
        {
            _readAll = true;
            return;
        }
        (_readKeys ??= new TKey[MaxReadKeys])[_readKeyCount++] = key;
    }

    /// <summary>Where <paramref name="key"/> is among the keys this transaction looked up here, or -1.</summary>
    private int ReadKeyIndex(TKey key)
    {
        for (var i = 0; i < _readKeyCount; i++)
        {
            if (_comparer!.Compare(_readKeys![i], key) == 0) return i;
        }
        return -1;
    }

    /// <summary>Notes that this transaction read a run of entries here (an enumeration, a range, the first or last entry).</summary>
    public void NoteScan()
    {
        StartNotes();
        _readAll = true;
    }

    /// <summary>Forgets the notes of an earlier transaction before the first note of this one.</summary>
    private void StartNotes()
    {
        var epoch = TransactionEpoch.Current;
        if (_readEpoch == epoch) return;
        if (!NotedInThisTransaction(_readEpoch)) ForgetNotes();
        _readEpoch = epoch;
    }

    private void ForgetNotes()
    {
        _readEpoch = 0;
        _readAll = false;
        if (_readKeyCount > 0) Array.Clear(_readKeys!, 0, _readKeyCount);
        _readKeyCount = 0;
    }

    /// <summary>
    /// Prepares the bucket for a change. Values still waiting as references stay so: they move with their
    /// entries and are written back as they were read. An insert into a bucket loaded from storage made
    /// every value of the bucket an object before (about a hundred ghosts per insert, and as many lookups
    /// in the identity map to write them back): a commit of random inserts into a large index spent most
    /// of its time making and sweeping ghosts it never used.
    /// </summary>
    public void Change() => BeforeWrite();

    /// <summary>Gives entry <paramref name="index"/> the value <paramref name="value"/> (the bucket has values).</summary>
    public void SetValue(int index, TValue value)
    {
        if (_pending is not null && !_pending[index].Oid.IsNull) ForgetPending(index);
        _values[index] = value;
    }

    /// <summary>Whether every value is an object already (none waits in <see cref="_pending"/> to become one).</summary>
    public bool ValuesResolved => _pending is null;

    /// <summary>The array the references of values that are not objects yet wait in (for tests).</summary>
    internal ObjectReference[]? Pending => _pending;

    /// <summary>The value of entry <paramref name="index"/> (the bucket is loaded), or the default where the tree holds no values (a set's).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public TValue EntryValue(int index) => _values.Length == 0 ? default! : ValueAt(index);

    /// <summary>The value of entry <paramref name="index"/> (the bucket is loaded and has values).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public TValue ValueAt(int index)
    {
        if (_pending is not null && !_pending[index].Oid.IsNull) Resolve(index);
        return _values[index];
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Resolve(int index)
    {
        var reference = _pending![index];
        var target = _resolver!.Materialize(reference);
        _values[index] = target is TValue value ? value : throw RecordReader.WrongReferenceType(target, ClassNames.Of<TValue>());
        ForgetPending(index);
    }

    /// <summary>Entry <paramref name="index"/> no longer waits as a reference; the array goes back once none does.</summary>
    private void ForgetPending(int index)
    {
        _pending![index] = default;
        if (--_pendingCount == 0) GiveBackPending();
    }

    /// <summary>No value waits as a reference any more: the array goes back for the next bucket loaded.</summary>
    private void GiveBackPending()
    {
        PendingReferences.Give(_pending!);
        _pending = null;
        _resolver = null;
    }

    /// <summary>
    /// Makes every pending reference an object: before entries move and before a merge compares them.
    /// (An enumeration takes them one by one, see <see cref="BTreeCursor{TKey, TValue}.Value"/>.)
    /// </summary>
    public void ResolveValues()
    {
        for (var i = 0; _pending is not null && i < _count; i++)
        {
            if (!_pending[i].Oid.IsNull) Resolve(i);
        }
    }

    public int Search(TKey key) => BTreeTypes<TKey, TValue>.Search(_keys, 0, _count, key, _comparer!);

    public void InsertAt(int index, TKey key, TValue value)
    {
        if (_count == _keys.Length) Grow();
        if (index < _count)
        {
            Array.Copy(_keys, index, _keys, index + 1, _count - index);
            if (HasValues) Array.Copy(_values, index, _values, index + 1, _count - index);
        }
        if (_pending is { } pending)
        {
            if (pending.Length == _count) Array.Resize(ref _pending, _keys.Length);
            if (index < _count) Array.Copy(_pending, index, _pending, index + 1, _count - index);
            _pending[index] = default;
        }
        _keys[index] = key;
        if (HasValues) _values[index] = value;
        _count++;
    }

    public void RemoveAt(int index)
    {
        _count--;
        if (_pending is { } pending)
        {
            var waited = !pending[index].Oid.IsNull;
            if (index < _count) Array.Copy(pending, index + 1, pending, index, _count - index);
            pending[_count] = default;
            if (waited && --_pendingCount == 0) GiveBackPending();
        }
        if (index < _count)
        {
            Array.Copy(_keys, index + 1, _keys, index, _count - index);
            if (HasValues) Array.Copy(_values, index + 1, _values, index, _count - index);
        }
        BTreeTypes<TKey, TValue>.Clear(_keys, _count, _count + 1);
        if (HasValues) BTreeTypes<TKey, TValue>.Clear(_values, _count, _count + 1);
    }

    /// <summary>Moves the entries from <paramref name="from"/> on into a new bucket, which takes this bucket's upper end.</summary>
    public BTreeBucket<TKey, TValue> SplitOff(int from)
    {
        var moved = _count - from;
        var right = new BTreeBucket<TKey, TValue>(Math.Max(moved + 1, BTreeTypes<TKey, TValue>.BucketCapacity / 2))
        {
            _comparer = _comparer,
            _tree = _tree,
            _hasUpper = _hasUpper,
            _upper = _upper,
        };
        Array.Copy(_keys, from, right._keys, 0, moved);
        BTreeTypes<TKey, TValue>.Clear(_keys, from, _count);
        if (HasValues)
        {
            Array.Copy(_values, from, right._values, 0, moved);
            BTreeTypes<TKey, TValue>.Clear(_values, from, _count);
            if (_pending is not null) MovePending(from, right);
        }
        right._count = moved;
        _count = from;
        return right;
    }

    /// <summary>The references still waiting among the entries from <paramref name="from"/> on go with them to <paramref name="right"/>.</summary>
    private void MovePending(int from, BTreeBucket<TKey, TValue> right)
    {
        var pending = _pending!;
        var moved = 0;
        for (var i = from; i < _count; i++)
        {
            if (!pending[i].Oid.IsNull) moved++;
        }
        if (moved == 0) return;
        right._pending = new ObjectReference[right._keys.Length];
        Array.Copy(pending, from, right._pending, 0, _count - from);
        right._pendingCount = moved;
        right._resolver = _resolver;
        Array.Clear(pending, from, _count - from);
        _pendingCount -= moved;
        if (_pendingCount == 0) GiveBackPending();
    }

    /// <summary>Records a split at <paramref name="separator"/>: keys from it on now belong to the bucket to the right.</summary>
    public void MarkSplit(TKey separator)
    {
        _stamp++;
        _hasUpper = true;
        _upper = separator;
    }

    /// <summary>Records that the bucket left the tree (it became empty).</summary>
    public void MarkRemoved()
    {
        _stamp++;
        _removed = true;
    }

    private void Grow()
    {
        var size = Math.Max(4, Math.Min(_keys.Length * 2, BTreeTypes<TKey, TValue>.BucketCapacity + 1));
        if (size <= _keys.Length) size = _keys.Length + 1;
        Array.Resize(ref _keys, size);
        if (HasValues) Array.Resize(ref _values, size);
    }

    /// <summary>
    /// Three-way merge of the entries: a key changed (added, removed or given another value) on one
    /// side only takes that side's state. Refused when both sides changed one key, when this
    /// transaction split or removed the bucket, when the other removed it, when the other split it and
    /// this transaction changed a key the split moved away, and when the merged bucket would be empty
    /// (its removal would change the parent, which a merge cannot do). Under serializable isolation,
    /// also when the other changed what this transaction read here: the key it looked up, or any key
    /// once it read a run of entries or looked up several (and any split of the range it read), since
    /// the transaction acted on what it read (two transactions that each read a key of one bucket and
    /// wrote another could otherwise both commit, which no order of the two allows).
    /// </summary>
    protected internal override bool ResolveConflict(PersistentObject? oldState, PersistentObject committedState)
    {
        if (oldState is not BTreeBucket<TKey, TValue> old || committedState is not BTreeBucket<TKey, TValue> committed || _comparer is not { } comparer) return false;
        ResolveValues();
        old.ResolveValues();
        committed.ResolveValues();
        if (_stamp != old._stamp || _removed || committed._removed) return false;
        var rangeMoved = committed._stamp != old._stamp;
        var keepsReads = MergeKeepsReads(_readEpoch);
        var readAll = keepsReads && _readAll;
        var readKeys = keepsReads && !_readAll && _readKeyCount > 0;
        if (rangeMoved && (readAll || (readKeys && committed._hasUpper && AnyReadKeyFrom(committed._upper, comparer)))) return false;
        var keys = new TKey[Math.Max(committed._count + _count, 1)];
        var values = HasValues ? new TValue[keys.Length] : [];
        int o = 0, c = 0, m = 0, n = 0;
        while (o < old._count || c < committed._count || m < _count)
        {
            // The smallest key present in any of the three states.
            var (key, inOld, inCommitted, inMine) = BTreeTypes<TKey, TValue>.NextMergeKey(
                old._keys, o, old._count, committed._keys, c, committed._count, _keys, m, _count, comparer);
            var theyChanged = Changed(inOld, old, o, inCommitted, committed, c);
            var iChanged = Changed(inOld, old, o, inMine, this, m);
            if (theyChanged && (iChanged || readAll || (readKeys && ReadKeyIndex(key) >= 0))) return false;
            if (iChanged && rangeMoved && committed._hasUpper && comparer.Compare(key, committed._upper) >= 0) return false;
            var (source, index, present) = iChanged ? (this, m, inMine) : (committed, c, inCommitted);
            if (present)
            {
                keys[n] = source._keys[index];
                if (HasValues) values[n] = source._values[index];
                n++;
            }
            if (inOld) o++;
            if (inCommitted) c++;
            if (inMine) m++;
        }
        if (n == 0) return false;
        _keys = keys;
        _values = values;
        _count = n;
        _stamp = committed._stamp;
        _hasUpper = committed._hasUpper;
        _upper = committed._upper;
        // The entries changed under this transaction's enumerations, as a reload would change them.
        _tree?.NoteReload();
        return true;
    }

    /// <summary>Whether a key this transaction looked up here lies at or above <paramref name="bound"/> (in the range a split moved away).</summary>
    private bool AnyReadKeyFrom(TKey bound, IComparer<TKey> comparer)
    {
        for (var i = 0; i < _readKeyCount; i++)
        {
            if (comparer.Compare(_readKeys![i], bound) >= 0) return true;
        }
        return false;
    }

    private static bool Changed(bool inOld, BTreeBucket<TKey, TValue> old, int o, bool inNew, BTreeBucket<TKey, TValue> now, int n)
    {
        if (inOld != inNew) return true;
        return inOld && HasValues && !BTreeTypes<TKey, TValue>.ValuesEqual(old._values[o], now._values[n]);
    }

    protected internal override void WriteState(ref RecordWriter writer)
    {
        writer.WriteInt64(_stamp);
        writer.WriteBoolean(_removed);
        writer.WriteBoolean(_hasUpper);
        if (_hasUpper) BTreeTypes<TKey, TValue>.KeyCodec.Write(ref writer, _upper);
        BTreeTypes<TKey, TValue>.WriteKeys(ref writer, _keys, 0, _count);
        if (HasValues) BTreeTypes<TKey, TValue>.WriteValues(ref writer, _values, _pending, _count);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    protected internal override void ReadState(ref RecordReader reader)
    {
        _stamp = reader.ReadInt64();
        _removed = reader.ReadBoolean();
        _hasUpper = reader.ReadBoolean();
        _upper = _hasUpper ? BTreeTypes<TKey, TValue>.KeyCodec.Read(ref reader) : default!;
        // One spare slot, so the first insert after loading does not reallocate.
        _keys = BTreeTypes<TKey, TValue>.ReadKeys(ref reader, 0, 1, out _count);
        KeysLoaded();
        _pending = null;
        _pendingCount = 0;
        _resolver = null;
        if (!HasValues) return;
        int values;
        if (BTreeTypes<TKey, TValue>.LazyValues && reader.Resolver is { } resolver)
        {
            var pending = BTreeTypes<TKey, TValue>.ReadReferences(ref reader, out values, out var notNull);
            _values = new TValue[values + 1];
            if (notNull != 0)
            {
                _pending = pending;
                _pendingCount = notNull;
                _resolver = resolver;
            }
        }
        else
        {
            _values = BTreeTypes<TKey, TValue>.ReadValues(ref reader, 1, out values);
        }
        if (values != _count) throw ValuesMismatch(_count, values);
    }

    // Built apart from ReadState, which is compiled optimized on first use.
    private static FormatException ValuesMismatch(int keys, int values) =>
        new($"A record is damaged: a BTree bucket holds {keys} keys and {values} values.");

    protected internal override void ClearState()
    {
        ClearKeys();
        ForgetNotes();
        ClearEntries();
    }

    // What the transaction noted of its reads here stays: a merge at commit must keep them true.
    internal override void ClearStateOnRelease()
    {
        ClearKeys(released: true);
        ClearEntries();
    }

    private void ClearEntries()
    {
        _values = [];
        _pending = null;
        _pendingCount = 0;
        _resolver = null;
        _hasUpper = false;
        _upper = default!;
    }
}
