using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Persistence;

/// <summary>
/// The objects a transaction read, for the serializable check at commit: the oids of those it loaded,
/// kept as runs of consecutive oids (loads come in oid order more often than not: a bucket's persons),
/// and the objects loaded earlier and read again. An object may appear twice; the check drops repeats.
/// </summary>
internal sealed class ReadSet
{
    private readonly List<PersistentObject> _noted = [];
    private readonly List<OidRun> _loaded = [];
    private int _loadedCount;
    private readonly List<OidRun> _released = [];
    private int _releasedCount;

    /// <summary>How many reads the set holds, repeats included.</summary>
    public int Count => _noted.Count + _loadedCount + _releasedCount;

    /// <summary>The objects loaded before this transaction and read in it.</summary>
    public List<PersistentObject> Noted => _noted;

    /// <summary>The oids of the objects this transaction loaded, in runs.</summary>
    public List<OidRun> Loaded => _loaded;

    /// <summary>Notes the first read, in this transaction, of an object loaded before it.</summary>
    public void Add(PersistentObject obj) => _noted.Add(obj);

    /// <summary>
    /// The oids of objects read in this transaction, each of which needs its check, that
    /// <see cref="Connection.ReleaseUnchanged()"/> turned back into ghosts: the identity map may let go of
    /// them, so they are checked by oid alone.
    /// </summary>
    public List<OidRun> Released => _released;

    /// <summary>Notes an object this transaction loaded.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void AddLoaded(ulong oid) => Append(_loaded, oid, ref _loadedCount);

    /// <summary>Notes the oid of an object read in this transaction, before it is released (see <see cref="Released"/>).</summary>
    public void AddReleased(ulong oid) => Append(_released, oid, ref _releasedCount);

    /// <summary>Forgets the loaded objects, once their oids that need a check are in <see cref="Released"/>.</summary>
    public void ForgetLoaded()
    {
        _loaded.Clear();
        _loadedCount = 0;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Append(List<OidRun> runs, ulong oid, ref int count)
    {
        var span = CollectionsMarshal.AsSpan(runs);
        if (span.Length > 0 && span[^1] is var last && last.First + (ulong)last.Count == oid && last.Count < int.MaxValue)
            span[^1] = last with { Count = last.Count + 1 };
        else
            runs.Add(new OidRun(oid, 1));
        count++;
    }

    /// <summary>Starts a new transaction: empty.</summary>
    public void Clear()
    {
        _noted.Clear();
        ForgetLoaded();
        _released.Clear();
        _releasedCount = 0;
    }
}

/// <summary><paramref name="Count"/> consecutive oids from <paramref name="First"/>.</summary>
internal readonly record struct OidRun(ulong First, int Count);
