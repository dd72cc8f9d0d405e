namespace Persistence;

/// <summary>
/// A number that rises at every transaction boundary of every connection in the process. An object
/// remembers the epoch in which it was last touched; a getter compares it (one field, less the two
/// bits of the object's state kept below it) against the current epoch, and only when they differ
/// (first touch in a transaction, or a ghost, whose epoch is 0) does it call into its connection,
/// which loads the object and notes the read for conflict checks.
/// </summary>
/// <remarks>
/// The epoch is process-wide rather than per connection so the check needs no pointer chase: another
/// connection's boundary only makes this connection note a read it already noted (a set ignores it).
/// </remarks>
internal static class TransactionEpoch
{
    // Epochs are multiples of 4: an object keeps its state in the two low bits of its stamp.
    internal static long Current = 4;

    /// <summary>Starts a new epoch; every object must be touched again before its next read is free.</summary>
    public static void Advance() => Interlocked.Add(ref Current, 4);
}
