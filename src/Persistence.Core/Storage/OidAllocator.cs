namespace Persistence.Storage;

/// <summary>
/// Keeps a storage's oid counter beyond every oid that was stored, so <see cref="IStorage.NewOid"/>
/// never hands out an oid that already has a record (records may be stored under oids the counter
/// did not allocate, e.g. the root and the catalog, or oids from an imported database).
/// </summary>
internal static class OidAllocator
{
    /// <summary>Raises <paramref name="lastOid"/> (the last oid handed out) to at least <paramref name="stored"/>, atomically.</summary>
    public static void MoveBeyond(ref long lastOid, Oid stored)
    {
        // Oids above long.MaxValue cannot be reached by the counter anyway; clamp rather than wrap.
        var value = stored.Value > long.MaxValue ? long.MaxValue : (long)stored.Value;
        var current = Volatile.Read(ref lastOid);
        while (value > current)
        {
            var seen = Interlocked.CompareExchange(ref lastOid, value, current);
            if (seen == current) return;
            current = seen;
        }
    }
}
