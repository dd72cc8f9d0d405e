using Persistence.Storage;

namespace Persistence.Tests;

/// <summary>
/// A storage that hands out chosen bytes for chosen oids, as a damaged disk or a hostile file would,
/// so tests can prove how the layers above the storage react to bad records.
/// </summary>
public sealed class TamperingStorage(IStorage inner) : DelegatingStorage(inner)
{
    public Dictionary<Oid, byte[]> Replacements { get; } = [];

    /// <summary>Oids whose records the storage no longer holds, as a lost record would leave them.</summary>
    public HashSet<Oid> Hidden { get; } = [];

    public override StoredRecord? Load(Oid oid) => Hidden.Contains(oid) ? null : Tamper(base.Load(oid));

    public override StoredRecord? LoadBefore(Oid oid, long tid) => Hidden.Contains(oid) ? null : Tamper(base.LoadBefore(oid, tid));

    private StoredRecord? Tamper(StoredRecord? record) =>
        record is { } r && Replacements.TryGetValue(r.Oid, out var bytes) ? r with { Data = bytes } : record;
}
