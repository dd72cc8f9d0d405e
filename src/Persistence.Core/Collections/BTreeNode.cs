using System.Runtime.CompilerServices;
using Persistence.Serialization;

namespace Persistence;

/// <summary>
/// An internal node of a BTree: up to <see cref="BTreeTypes{TKey,TValue}.NodeCapacity"/> children
/// (all buckets or all nodes) and the separators between them. Child <c>i</c> holds the keys from
/// separator <c>i</c> (none for the first child) up to separator <c>i + 1</c>.
/// </summary>
/// <remarks>
/// Nodes change only when a child splits or leaves the tree, so ordinary inserts never write them.
/// Reads of a node are not checked at commit (<see cref="ChecksReads"/>): a node that changed after
/// this transaction's snapshot routes each key either to the same bucket as before or through a
/// bucket that the change wrote, and this transaction's use of that bucket conflicts. Two
/// transactions that change different children of one node merge (<see cref="ResolveConflict"/>).
/// </remarks>
internal sealed class BTreeNode<TKey, TValue> : BTreeItem<TKey, TValue>
{
    // _keys[0] is unused: the first child has no lower separator. A split or the node's removal
    // changes _stamp, and merges refuse any such change.
    internal PersistentObject[] _children;

    public BTreeNode(int capacity, IComparer<TKey> comparer)
    {
        _keys = new TKey[capacity];
        _children = new PersistentObject[capacity];
        _comparer = comparer;
    }

    internal BTreeNode(GhostToken token) : base(token)
    {
        _keys = [];
        _children = [];
    }

    public override PersistentTypeInfo PersistentType => BTreeTypes<TKey, TValue>.Node ?? throw BTreeTypes<TKey, TValue>.NotRegistered();

    internal override bool ChecksReads => false;

    private protected override int FirstKey => 1;

    private protected override string KeysName => "separators";

    /// <summary>Prepares the node for a change.</summary>
    public void Change() => BeforeWrite();

    /// <summary>The index of the child whose range holds <paramref name="key"/>.</summary>
    public int ChildIndex(TKey key)
    {
        var found = BTreeTypes<TKey, TValue>.Search(_keys, 1, _count, key, _comparer!);
        return found >= 0 ? found : ~found - 1;
    }

    /// <summary>Inserts <paramref name="child"/>, whose keys start at <paramref name="separator"/>, at <paramref name="index"/> (at least 1).</summary>
    public void InsertAt(int index, TKey separator, PersistentObject child)
    {
        if (_count == _children.Length)
        {
            var size = Math.Max(4, _children.Length * 2);
            Array.Resize(ref _keys, size);
            Array.Resize(ref _children, size);
        }
        Array.Copy(_keys, index, _keys, index + 1, _count - index);
        Array.Copy(_children, index, _children, index + 1, _count - index);
        _keys[index] = separator;
        _children[index] = child;
        _count++;
    }

    /// <summary>Removes the child at <paramref name="index"/>; its range joins a neighbour's.</summary>
    public void RemoveAt(int index)
    {
        _count--;
        Array.Copy(_children, index + 1, _children, index, _count - index);
        _children[_count] = null!;
        // Removing the first child drops the separator of the second, which becomes the first.
        var key = Math.Max(index, 1);
        if (key <= _count) Array.Copy(_keys, key + 1, _keys, key, _count - key);
        BTreeTypes<TKey, TValue>.Clear(_keys, Math.Max(_count, 1), _count + 1);
        if (_count > 0) _keys[0] = default!;
    }

    /// <summary>Moves the children from <paramref name="from"/> (at least 1) on into a new node; returns it and its lower separator.</summary>
    public (BTreeNode<TKey, TValue> Node, TKey Separator) SplitOff(int from)
    {
        var moved = _count - from;
        var right = new BTreeNode<TKey, TValue>(Math.Max(moved + 1, BTreeTypes<TKey, TValue>.NodeCapacity / 2), _comparer!);
        right._tree = _tree;
        var separator = _keys[from];
        Array.Copy(_keys, from, right._keys, 0, moved);
        Array.Copy(_children, from, right._children, 0, moved);
        right._keys[0] = default!;
        right._count = moved;
        BTreeTypes<TKey, TValue>.Clear(_keys, from, _count);
        Array.Clear(_children, from, moved);
        _count = from;
        _stamp++;
        return (right, separator);
    }

    public void MarkRemoved()
    {
        _stamp++;
        _removed = true;
    }

    /// <summary>
    /// Three-way merge of the (separator, child) entries, the first child counting as the entry of the
    /// lowest separator: an entry added, removed or repointed on one side only takes that side's state.
    /// Refused when both sides changed one entry, when either side split or removed the node, or when
    /// nothing would be left.
    /// </summary>
    protected internal override bool ResolveConflict(PersistentObject? oldState, PersistentObject committedState)
    {
        if (oldState is not BTreeNode<TKey, TValue> old || committedState is not BTreeNode<TKey, TValue> committed || _comparer is not { } comparer) return false;
        if (_stamp != old._stamp || committed._stamp != old._stamp || _removed || committed._removed) return false;
        if (old._count == 0 || committed._count == 0 || _count == 0) return false;
        var capacity = committed._count + _count;
        var keys = new TKey[capacity];
        var children = new PersistentObject[capacity];

        // The first child.
        var theyChangedFirst = committed._children[0] != old._children[0];
        var iChangedFirst = _children[0] != old._children[0];
        if (theyChangedFirst && iChangedFirst) return false;
        children[0] = iChangedFirst ? _children[0] : committed._children[0];
        var n = 1;

        int o = 1, c = 1, m = 1;
        while (o < old._count || c < committed._count || m < _count)
        {
            var (key, inOld, inCommitted, inMine) = BTreeTypes<TKey, TValue>.NextMergeKey(
                old._keys, o, old._count, committed._keys, c, committed._count, _keys, m, _count, comparer);
            var theyChanged = inOld != inCommitted || (inOld && old._children[o] != committed._children[c]);
            var iChanged = inOld != inMine || (inOld && old._children[o] != _children[m]);
            if (theyChanged && iChanged) return false;
            var (source, index, present) = iChanged ? (this, m, inMine) : (committed, c, inCommitted);
            if (present)
            {
                keys[n] = source._keys[index];
                children[n] = source._children[index];
                n++;
            }
            if (inOld) o++;
            if (inCommitted) c++;
            if (inMine) m++;
        }
        _keys = keys;
        _children = children;
        _count = n;
        // The children changed under this transaction's enumerations, as a reload would change them.
        _tree?.NoteReload();
        return true;
    }

    protected internal override void WriteState(ref RecordWriter writer)
    {
        writer.WriteInt64(_stamp);
        writer.WriteBoolean(_removed);
        BTreeTypes<TKey, TValue>.WriteKeys(ref writer, _keys, 1, Math.Max(_count - 1, 0));
        writer.WriteCount(_count);
        for (var i = 0; i < _count; i++) writer.WriteReference(_children[i]);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    protected internal override void ReadState(ref RecordReader reader)
    {
        _stamp = reader.ReadInt64();
        _removed = reader.ReadBoolean();
        _keys = BTreeTypes<TKey, TValue>.ReadKeys(ref reader, 1, 1, out var separators);
        var count = reader.ReadCount(1);
        if (count != separators + 1 && !(count == 0 && separators == 0)) throw ChildrenMismatch(count, separators);
        var children = new PersistentObject[count + 1];
        for (var i = 0; i < count; i++)
        {
            var child = reader.ReadReference();
            if (!BTreeTypes<TKey, TValue>.IsPart(child)) throw BTreeTypes<TKey, TValue>.NotAPart(child, root: false);
            children[i] = child;
        }
        _children = children;
        _count = count;
        KeysLoaded();
    }

    // Built apart from ReadState, which is compiled optimized on first use.
    private static FormatException ChildrenMismatch(int count, int separators) =>
        new($"A record is damaged: a BTree node has {count} children and {separators} separators.");

    protected internal override void ClearState()
    {
        ClearKeys();
        _children = [];
    }

    internal override void ClearStateOnRelease()
    {
        ClearKeys(released: true);
        _children = [];
    }
}
