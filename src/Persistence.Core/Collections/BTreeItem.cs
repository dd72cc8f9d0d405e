using System.Runtime.CompilerServices;

namespace Persistence;

/// <summary>
/// What a BTree's buckets and nodes share: their keys in order, the stamp that splits and removal
/// change, the tree whose walks reach them, and the check of a loaded record's key order.
/// </summary>
internal abstract class BTreeItem<TKey, TValue> : PersistentObject
{
    internal TKey[] _keys = [];
    internal int _count;
    // Changed by every split and by removal; a merge refuses when this transaction changed it.
    internal long _stamp;
    internal bool _removed;
    // The tree's order, set whenever the tree reaches this item (used by merges).
    internal IComparer<TKey>? _comparer;
    // The tree whose walks reached this item: its enumerators learn when the item turns back into a
    // ghost or a merge changes it (see BTreeCore.NoteReload), as what they keep of it would be stale.
    internal BTreeCore<TKey, TValue>? _tree;
    // Loaded and not checked yet: keys in order (see CheckOrder).
    private bool _orderUnchecked;
    // What the load found of the keys' natural order (int and long keys; null for others), see BTreeTypes.RiseNaturally.
    private bool? _risesNaturally;

    protected BTreeItem()
    {
    }

    protected BTreeItem(GhostToken token) : base(token)
    {
    }

    /// <summary>The index of the first key (a node's first child has none).</summary>
    private protected abstract int FirstKey { get; }

    /// <summary>What the keys are called in errors.</summary>
    private protected abstract string KeysName { get; }

    /// <summary>Loads the item if it is a ghost (a walk of <paramref name="tree"/> reached it).</summary>
    public void Read(BTreeCore<TKey, TValue> tree)
    {
        ActivateIfGhost();
        if (!ReferenceEquals(_tree, tree)) SetTree(tree);
        if (_orderUnchecked) CheckOrder();
    }

    private void SetTree(BTreeCore<TKey, TValue> tree)
    {
        _tree = tree;
        _comparer = tree.Comparer;
    }

    /// <summary>
    /// Called by ReadState once the keys are read: the order is checked at the next read, against the
    /// tree's order (a load does not know it). Inlined into ReadState, which is compiled optimized on
    /// first use, so the natural-order loop runs optimized in a new process (see BTreeTypes.RiseNaturally).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private protected void KeysLoaded()
    {
        _risesNaturally = BTreeTypes<TKey, TValue>.RiseNaturally(_keys, FirstKey, _count);
        _orderUnchecked = true;
    }

    /// <summary>
    /// Part of ClearState: tells the tree's enumerators, and clears the shared fields. A release within the
    /// transaction (<paramref name="released"/>) does not tell them: the item reloads the same state, and
    /// the enumerators read it again (see BTreeCursor).
    /// </summary>
    private protected void ClearKeys(bool released = false)
    {
        if (!released) _tree?.NoteReload();
        _keys = [];
        _count = 0;
        _stamp = 0;
        _removed = false;
    }

    /// <summary>Refuses the item, every time it is read, when the keys just loaded are out of order.</summary>
    private void CheckOrder()
    {
        if (!BTreeTypes<TKey, TValue>.InOrder(_keys, FirstKey, _count, _comparer!, _risesNaturally)) throw BTreeTypes<TKey, TValue>.OutOfOrder(this, KeysName);
        _orderUnchecked = false;
    }
}
