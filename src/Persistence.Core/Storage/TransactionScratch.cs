namespace Persistence.Storage;

/// <summary>
/// The collections a transaction fills between begin and finish. A storage hands the scratch of an
/// ended transaction to the next one, so a stream of large commits does not regrow them every time.
/// </summary>
internal sealed class TransactionScratch
{
    // Collections grown beyond this by one huge transaction are dropped rather than kept for the next.
    private const int MaxKeptCapacity = 1 << 16;

    /// <summary>The records stored, in store order.</summary>
    public List<PendingStore> Stores { get; } = [];

    /// <summary>The objects to check at vote.</summary>
    public List<PendingCheck> Checks { get; } = [];

    /// <summary>The oids stored, to refuse a second store of one.</summary>
    public HashSet<ulong> StoredOids { get; } = [];

    /// <summary>
    /// Takes <paramref name="scratch"/> back into <paramref name="spare"/> (the storage's single spare)
    /// emptied, unless it grew too large to keep.
    /// </summary>
    public static void Recycle(ref TransactionScratch? spare, TransactionScratch scratch)
    {
        if (scratch.Stores.Capacity > MaxKeptCapacity || scratch.Checks.Capacity > MaxKeptCapacity) return;
        // Clearing drops the references to the callers' record bytes.
        scratch.Stores.Clear();
        scratch.Checks.Clear();
        scratch.StoredOids.Clear();
        Volatile.Write(ref spare, scratch);
    }

    /// <summary>Takes the spare scratch, or a new one if another transaction has it.</summary>
    public static TransactionScratch Take(ref TransactionScratch? spare) => Interlocked.Exchange(ref spare, null) ?? new TransactionScratch();
}
