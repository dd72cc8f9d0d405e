namespace Persistence;

/// <summary>Which changes by others make a commit fail.</summary>
public enum TransactionIsolation
{
    /// <summary>
    /// The default, as in Durus: a commit fails if any object the transaction read or wrote was
    /// committed by someone else after the transaction's snapshot. Every committed history is then
    /// equivalent to running the transactions one at a time. Read-only transactions never fail.
    /// </summary>
    Serializable,

    /// <summary>
    /// As in ZODB: only objects the transaction wrote are checked. Cheaper, and allows write skew
    /// (two transactions that each read what the other writes may both commit).
    /// </summary>
    Snapshot,
}
