using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using Persistence.Serialization;

namespace Persistence;

/// <summary>
/// The algorithms and stored fields shared by <see cref="BTree{TKey,TValue}"/> and
/// <see cref="BTreeSet{T}"/>: the root (a bucket, or a node once the first bucket split), the length
/// counter and the name of the key order. The owning tree object loads itself before each call.
/// </summary>
/// <remarks>
/// Splits: a full bucket that receives a key above all of its keys (an append, as with increasing
/// ids or timestamps) stays full and a new bucket starts with the new key; any other full bucket
/// splits in half. Nodes split the same way. The left part keeps the object, so a bucket's lower
/// end never moves up. Removal: a bucket that becomes empty leaves its parent (and a node left
/// without children leaves its own); a root node left with one child gives way to that child.
/// </remarks>
internal sealed class BTreeCore<TKey, TValue>
{
    private readonly PersistentObject _owner;
    // The path of the last descent: the nodes passed and the child index taken in each.
    private BTreeNode<TKey, TValue>[] _path = new BTreeNode<TKey, TValue>[8];
    private int[] _pathIndex = new int[8];

    public BTreeCore(PersistentObject owner) => _owner = owner;

    // The transaction epoch in which this tree was last noted as to be found unchanged (see BucketsChanging).
    private long _unchangedNotedAt;

    /// <summary>
    /// Before the transaction writes a bucket. A Clear committed meanwhile replaces the buckets, and
    /// only the tree's own object tells of it: serializable isolation checks that object as read at
    /// the commit, snapshot isolation checks written objects only, so it is asked to check this one
    /// (once a transaction). Without it, an insert into a bucket a concurrent Clear had let go of was
    /// committed, and lost.
    /// </summary>
    private void BucketsChanging()
    {
        if (ConnectionNumbers.Find(_owner.OwnerNumber) is not { } connection || connection.NotedInThisTransaction(_unchangedNotedAt)) return;
        connection.RequireUnchanged(_owner);
        _unchangedNotedAt = TransactionEpoch.Current;
    }

    public PersistentObject? Root { get; private set; }
    public PersistentCounter? Length { get; private set; }
    public string? ComparerName { get; private set; }
    public IComparer<TKey> Comparer { get; private set; } = null!;

    /// <summary>Changes with every insert and removal in this process, and with every reload (see <see cref="Reloads"/>), so enumerators notice them.</summary>
    public int Version { get; private set; }

    /// <summary>
    /// Rises whenever the tree object or one of its buckets or nodes that a walk reached turns back into
    /// a ghost (a commit, abort or eviction let it go): an enumerator's path and entries would be stale.
    /// </summary>
    public int Reloads { get; private set; }

    /// <summary>Records that the tree object, or one of its buckets or nodes, turned back into a ghost or was loaded again.</summary>
    public void NoteReload()
    {
        Reloads++;
        Version++;
    }

    /// <summary>Makes a new, empty tree ordered by the comparer registered as <paramref name="comparerName"/> (null: the natural order).</summary>
    public void Initialize(string? comparerName, string treeName)
    {
        ComparerName = string.IsNullOrEmpty(comparerName) ? null : comparerName;
        Comparer = BTreeComparers.Find<TKey>(ComparerName, treeName);
        Root = new BTreeBucket<TKey, TValue>(4);
        Length = new PersistentCounter();
    }

    /// <summary>The number of entries, from the length counter; a value no tree can hold is damage (see <see cref="MostEntries"/>).</summary>
    public long Count
    {
        get
        {
            var count = Length!.ExactValue;
            // Within an int, the counter is taken as it is (a copy of the entries finds a wrong one).
            return (ulong)count <= int.MaxValue ? count : LargeCount(count);
        }
    }

    /// <summary>A length counter above int.MaxValue (or below 0): the value if a tree of this depth can hold that many entries, else damage.</summary>
    private long LargeCount(long count)
    {
        if (count >= 0 && count <= MostEntries()) return count;
        throw new CorruptDatabaseException(
            $"The tree's length counter says it holds {count} entries, " +
            (count < 0 ? "fewer than none" : $"more than a tree of its depth can hold (at most {MostEntries():0} entries)") +
            ": the counter's record is damaged", -1, _owner.PersistentOid);
    }

    /// <summary>
    /// The most entries a tree as deep as this one can hold: every node and bucket full, twice over
    /// (a merge may leave a bucket over its capacity until its next split). Walks down the first
    /// children, loading one node a level.
    /// </summary>
    private double MostEntries()
    {
        var most = 2.0 * Math.Max(BTreeTypes<TKey, TValue>.BucketCapacity, 512);
        var current = Root!;
        for (var depth = 0; current is BTreeNode<TKey, TValue> node; depth++)
        {
            if (depth >= MaxDepth) throw TooDeep(node);
            node.Read(this);
            most *= 2.0 * Math.Max(BTreeTypes<TKey, TValue>.NodeCapacity, 128);
            current = node._count > 0 && node._children[0] is { } child ? child : throw NoChild(node);
        }
        return most;
    }

    // The lookup path (this, FindBucket, the binary search, the ReadState of buckets and nodes, the
    // reading of their arrays, a bucket's reference resolution) is compiled optimized on first use, as
    // the load path is (see Connection): a new process's 10,000 random lookups are over in about 60 ms,
    // before the runtime would promote these from unoptimized code (W5 child, 8 interleaved runs:
    // 77.8 -> 63.1 ms median).
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public bool TryGetValue(TKey key, [MaybeNullWhen(false)] out TValue value)
    {
        var bucket = FindBucket(key, out _);
        bucket.NoteLookup(key);
        var index = bucket.Search(key);
        if (index < 0)
        {
            value = default;
            return false;
        }
        value = bucket.EntryValue(index);
        return true;
    }

    public bool ContainsKey(TKey key)
    {
        var bucket = FindBucket(key, out _);
        bucket.NoteLookup(key);
        return bucket.Search(key) >= 0;
    }

    /// <summary>
    /// Stores <paramref name="value"/> under <paramref name="key"/>. Returns true when the key was new;
    /// an existing key keeps its value unless <paramref name="overwrite"/>.
    /// </summary>
    public bool Set(TKey key, TValue value, bool overwrite)
    {
        var bucket = FindBucket(key, out var depth);
        var index = bucket.Search(key);
        if (index >= 0)
        {
            if (!overwrite)
            {
                // Nothing written: what the caller learns is that the key is there.
                bucket.NoteLookup(key);
                return false;
            }
            BucketsChanging();
            bucket.Change();
            if (bucket._values.Length != 0) bucket.SetValue(index, value);
            Version++;
            return false;
        }
        index = ~index;
        BucketsChanging();
        bucket.Change();
        if (bucket._count < BTreeTypes<TKey, TValue>.BucketCapacity) bucket.InsertAt(index, key, value);
        else SplitAndInsert(bucket, index, key, value, depth);
        Length!.Add(1);
        Version++;
        return true;
    }

    public bool Remove(TKey key, [MaybeNullWhen(false)] out TValue value)
    {
        var bucket = FindBucket(key, out var depth);
        var index = bucket.Search(key);
        if (index < 0)
        {
            // Nothing written: what the caller learns is that the key is absent.
            bucket.NoteLookup(key);
            value = default;
            return false;
        }
        value = bucket.EntryValue(index);
        BucketsChanging();
        bucket.Change();
        bucket.RemoveAt(index);
        if (bucket._count == 0 && depth > 0)
        {
            bucket.MarkRemoved();
            RemoveChild(depth - 1);
        }
        Length!.Add(-1);
        Version++;
        return true;
    }

    /// <summary>
    /// Empties the tree: a new root bucket and a new length counter. Every transaction that used the
    /// tree concurrently read the tree object, so it conflicts with this change.
    /// </summary>
    public void Clear()
    {
        _owner.MarkChanged();
        Root = new BTreeBucket<TKey, TValue>(4);
        Length = new PersistentCounter();
        Version++;
    }

    /// <summary>The first (or last) entry in key order, loading only the buckets on the way.</summary>
    public bool TryGetEdge(bool last, out TKey key, out TValue value)
    {
        var cursor = new BTreeCursor<TKey, TValue>(this, default, last);
        if (cursor.MoveNext())
        {
            key = cursor.Key;
            value = cursor.Value;
            return true;
        }
        key = default!;
        value = default!;
        return false;
    }

    /// <summary>
    /// Takes the first (or last) entry out: what <see cref="TryGetEdge"/> then <see cref="Remove"/> read and change,
    /// so it merges and conflicts as they do (BTree's and BTreeSet's TryRemoveFirst and TryRemoveLast).
    /// </summary>
    public bool TryRemoveEdge(bool last, out TKey key, out TValue value)
    {
        if (!TryGetEdge(last, out key, out value)) return false;
        Remove(key, out _);
        return true;
    }

    /// <summary>The bucket whose range holds <paramref name="key"/>, loaded (for tests of what buckets hold).</summary>
    internal BTreeBucket<TKey, TValue> BucketOf(TKey key) => FindBucket(key, out _);

    /// <summary>Descends to the bucket whose range holds <paramref name="key"/>, recording the path.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private BTreeBucket<TKey, TValue> FindBucket(TKey key, out int depth)
    {
        var current = Root!;
        depth = 0;
        while (current is BTreeNode<TKey, TValue> node)
        {
            node.Read(this);
            var index = node.ChildIndex(key);
            if (depth == _path.Length)
            {
                if (depth >= MaxDepth) throw TooDeep(node);
                Array.Resize(ref _path, depth * 2);
                Array.Resize(ref _pathIndex, depth * 2);
            }
            _path[depth] = node;
            _pathIndex[depth] = index;
            depth++;
            current = node._children[index] ?? throw NoChild(node);
        }
        var bucket = (BTreeBucket<TKey, TValue>)current;
        bucket.Read(this);
        return bucket;
    }

    /// <summary>
    /// More levels than any tree can have (each node has two children at least, so 64 levels hold more
    /// than 2^63 entries): only damage (a node that is its own descendant) leads a walk this deep.
    /// </summary>
    internal const int MaxDepth = 64;

    /// <summary>Marks each bucket of the tree that is loaded as changed (see BTree.MarkChanged); ghosts are not loaded for it.</summary>
    public void MarkLoadedBucketsChanged()
    {
        var pending = new Stack<PersistentObject>();
        if (Root is { } root) pending.Push(root);
        while (pending.TryPop(out var item))
        {
            if (item.State == PersistentState.Ghost) continue;
            if (item is BTreeNode<TKey, TValue> node)
            {
                for (var i = 0; i < node._count; i++) pending.Push(node._children[i]);
            }
            else
            {
                item.MarkChanged();
            }
        }
    }

    /// <summary>The error of a walk down the tree that went <see cref="MaxDepth"/> levels deep.</summary>
    internal static CorruptDatabaseException TooDeep(BTreeNode<TKey, TValue> node) => new(
        $"The tree is more than {MaxDepth} levels deep at this node: its nodes form a cycle, so its records are damaged. Restore the database from a backup, or pack it from a copy after removing the tree.",
        -1, node.PersistentOid);

    /// <summary>The error of a node, on a walk down the tree, without the child the walk needs (an empty node).</summary>
    internal static CorruptDatabaseException NoChild(BTreeNode<TKey, TValue> node) => new(
        $"A tree node on the way from the tree's root has no child there ({node._count} children): its record is damaged. Restore the database from a backup.",
        -1, node.PersistentOid);

    private void SplitAndInsert(BTreeBucket<TKey, TValue> bucket, int index, TKey key, TValue value, int depth)
    {
        BTreeBucket<TKey, TValue> right;
        if (index == bucket._count)
        {
            // An append: leave the full bucket as it is and start the next one with the new key.
            right = bucket.SplitOff(bucket._count);
            right.InsertAt(0, key, value);
        }
        else
        {
            var middle = bucket._count / 2;
            right = bucket.SplitOff(middle);
            if (index <= middle) bucket.InsertAt(index, key, value);
            else right.InsertAt(index - middle, key, value);
        }
        var separator = right._keys[0];
        bucket.MarkSplit(separator);
        AddChild(depth, separator, right);
    }

    /// <summary>Adds <paramref name="child"/> right after the child taken at path level <paramref name="depth"/> − 1 (or above the root).</summary>
    private void AddChild(int depth, TKey separator, PersistentObject child)
    {
        if (depth == 0)
        {
            var root = new BTreeNode<TKey, TValue>(4, Comparer);
            root._children[0] = Root!;
            root._keys[1] = separator;
            root._children[1] = child;
            root._count = 2;
            Root = root;
            _owner.MarkChanged();
            return;
        }
        var parent = _path[depth - 1];
        var position = _pathIndex[depth - 1] + 1;
        parent.Change();
        parent.InsertAt(position, separator, child);
        if (parent._count <= BTreeTypes<TKey, TValue>.NodeCapacity) return;
        // A full node: after an append only the new child moves to a new node, else half the children do.
        var (right, rightSeparator) = parent.SplitOff(position == parent._count - 1 ? position : parent._count / 2);
        AddChild(depth - 1, rightSeparator, right);
    }

    /// <summary>Removes the child taken at path level <paramref name="level"/>; removes the node too when it becomes empty.</summary>
    private void RemoveChild(int level)
    {
        var node = _path[level];
        node.Change();
        node.RemoveAt(_pathIndex[level]);
        if (node._count == 0)
        {
            node.MarkRemoved();
            if (level > 0)
            {
                RemoveChild(level - 1);
                return;
            }
            Root = new BTreeBucket<TKey, TValue>(4);
            _owner.MarkChanged();
            return;
        }
        if (level > 0) return;
        // The root node: while it has one child, that child becomes the root.
        var root = node;
        while (root._count == 1)
        {
            root.Change();
            root.MarkRemoved();
            Root = root._children[0];
            _owner.MarkChanged();
            if (Root is not BTreeNode<TKey, TValue> next) break;
            next.Read(this);
            root = next;
        }
    }

    /// <summary>
    /// Checks the whole structure (loading every bucket): keys in order and inside the range their
    /// parents give them, every bucket at one depth, no empty bucket but an empty root, the length
    /// counter equal to the entries. Returns the depth (1 for a root bucket) and the bucket count.
    /// </summary>
    /// <exception cref="InvalidOperationException">The structure is broken; the message says where.</exception>
    internal (int Depth, int Buckets) Verify()
    {
        var depth = -1;
        var buckets = 0;
        long entries = 0;
        Walk(Root!, 1, false, default!, false, default!);
        if (entries != Count) throw new InvalidOperationException($"The length counter says {Count} but the buckets hold {entries} entries.");
        return (depth, buckets);

        void Walk(PersistentObject item, int level, bool hasLow, TKey low, bool hasHigh, TKey high)
        {
            if (item is BTreeNode<TKey, TValue> node)
            {
                node.Read(this);
                if (node._count == 0 || node._removed) throw new InvalidOperationException($"{node.PersistentOid}: a node in the tree is empty or removed.");
                for (var i = 0; i < node._count; i++)
                {
                    if (i >= 2 && Comparer.Compare(node._keys[i - 1], node._keys[i]) >= 0) throw new InvalidOperationException($"{node.PersistentOid}: separators out of order.");
                    var childHasLow = i > 0 || hasLow;
                    var childLow = i > 0 ? node._keys[i] : low;
                    var childHasHigh = i + 1 < node._count || hasHigh;
                    var childHigh = i + 1 < node._count ? node._keys[i + 1] : high;
                    Walk(node._children[i], level + 1, childHasLow, childLow, childHasHigh, childHigh);
                }
                return;
            }
            var bucket = (BTreeBucket<TKey, TValue>)item;
            bucket.Read(this);
            if (depth == -1) depth = level;
            else if (depth != level) throw new InvalidOperationException($"{bucket.PersistentOid}: buckets at depths {depth} and {level}.");
            if (bucket._removed) throw new InvalidOperationException($"{bucket.PersistentOid}: a removed bucket is still in the tree.");
            if (bucket._count == 0 && item != Root) throw new InvalidOperationException($"{bucket.PersistentOid}: an empty bucket below the root.");
            for (var i = 0; i < bucket._count; i++)
            {
                var key = bucket._keys[i];
                if (i > 0 && Comparer.Compare(bucket._keys[i - 1], key) >= 0) throw new InvalidOperationException($"{bucket.PersistentOid}: keys out of order.");
                if ((hasLow && Comparer.Compare(key, low) < 0) || (hasHigh && Comparer.Compare(key, high) >= 0))
                    throw new InvalidOperationException($"{bucket.PersistentOid}: the key {key} is outside the bucket's range.");
            }
            buckets++;
            entries += bucket._count;
        }
    }

    // ---- State of the tree object ----

    public void WriteState(ref RecordWriter writer)
    {
        writer.WriteReference(Root);
        writer.WriteReference(Length);
        writer.WriteString(ComparerName);
    }

    public void ReadState(ref RecordReader reader, string treeName)
    {
        var root = reader.ReadReference();
        if (!BTreeTypes<TKey, TValue>.IsPart(root)) throw BTreeTypes<TKey, TValue>.NotAPart(root, root: true);
        var length = reader.ReadReference<PersistentCounter>() ?? throw new FormatException($"A record is damaged: a {treeName} has no length counter.");
        var name = reader.ReadString();
        Comparer = BTreeComparers.Find<TKey>(name, treeName);
        ComparerName = string.IsNullOrEmpty(name) ? null : name;
        Root = root;
        Length = length;
        NoteReload();
    }

    public void ClearState()
    {
        Root = null;
        Length = null;
        Array.Clear(_path);
        NoteReload();
    }
}
