using Persistence.Storage;

namespace Persistence.Tests;

/// <summary>
/// A storage that hands out chosen bytes for chosen oids, as a damaged disk or a hostile file would,
/// so tests can prove how the layers above the storage react to bad records.
/// </summary>
public sealed class TamperingStorage(IStorage inner) : IStorage
{
    public Dictionary<Oid, byte[]> Replacements { get; } = [];

    public long LastTid => inner.LastTid;
    public bool IsReadOnly => inner.IsReadOnly;
    public StoredRecord? Load(Oid oid) => Tamper(inner.Load(oid));
    public StoredRecord? LoadBefore(Oid oid, long tid) => Tamper(inner.LoadBefore(oid, tid));
    public Oid NewOid() => inner.NewOid();
    public IStorageTransaction Begin() => inner.Begin();
    public StorageChanges Poll(long sinceTid) => inner.Poll(sinceTid);
    public IEnumerable<StoredRecord> Iterate() => inner.Iterate();
    public void Dispose() => inner.Dispose();

    private StoredRecord? Tamper(StoredRecord? record) =>
        record is { } r && Replacements.TryGetValue(r.Oid, out var bytes) ? r with { Data = bytes } : record;
}
