namespace Persistence.Storage;

/// <summary>
/// Where the newest revision of each object starts in a file storage's data file (the offset of its
/// data record header); older revisions are reached through the records' previous-revision offsets.
/// </summary>
/// <remarks>
/// Not thread-safe: the storage guards it. A seam of its own so a denser structure (oids are
/// dense, so an offset array by oid would do) can replace the dictionary without touching the storage.
/// </remarks>
internal sealed class FileStorageIndex
{
    private readonly Dictionary<ulong, long> _offsets = [];

    /// <summary>The number of objects that have a revision.</summary>
    public int Count => _offsets.Count;

    /// <summary>Every object that has a revision.</summary>
    public IEnumerable<ulong> Oids => _offsets.Keys;

    /// <summary>The offset of the newest revision of <paramref name="oid"/>, or 0 if it has none.</summary>
    public long Find(ulong oid) => _offsets.TryGetValue(oid, out var offset) ? offset : 0;

    /// <summary>Makes <paramref name="offset"/> the newest revision of <paramref name="oid"/>.</summary>
    public void Set(ulong oid, long offset) => _offsets[oid] = offset;
}
