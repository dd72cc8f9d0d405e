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

    /// <summary>How many reads the set holds, repeats included.</summary>
    public int Count => _noted.Count + _loadedCount;

    /// <summary>The objects loaded before this transaction and read in it.</summary>
    public List<PersistentObject> Noted => _noted;

    /// <summary>The oids of the objects this transaction loaded, in runs.</summary>
    public List<OidRun> Loaded => _loaded;

    /// <summary>Notes the first read, in this transaction, of an object loaded before it.</summary>
    public void Add(PersistentObject obj) => _noted.Add(obj);

    /// <summary>Notes an object this transaction loaded.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void AddLoaded(ulong oid)
    {
        var runs = CollectionsMarshal.AsSpan(_loaded);
        if (runs.Length > 0 && runs[^1] is var last && last.First + (ulong)last.Count == oid && last.Count < int.MaxValue)
            runs[^1] = last with { Count = last.Count + 1 };
        else
            _loaded.Add(new OidRun(oid, 1));
        _loadedCount++;
    }

    /// <summary>Starts a new transaction: empty.</summary>
    public void Clear()
    {
        _noted.Clear();
        _loaded.Clear();
        _loadedCount = 0;
    }
}

/// <summary><paramref name="Count"/> consecutive oids from <paramref name="First"/>.</summary>
internal readonly record struct OidRun(ulong First, int Count);
