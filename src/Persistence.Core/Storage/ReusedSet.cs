namespace Persistence.Storage;

/// <summary>
/// Sets kept from one transaction (or poll) to the next and cleared before each use, so the small ones
/// that are the rule allocate nothing; one grown by a single large transaction is let go of instead.
/// </summary>
internal static class ReusedSet
{
    /// <summary>The most entries a kept set may have held: a set that held more is replaced by an empty one.</summary>
    public const int MaxKept = 4096;

    /// <summary>Replaces <paramref name="set"/> with a new empty set if it held more than <see cref="MaxKept"/> entries.</summary>
    public static void DropIfLarge<T>(ref HashSet<T> set)
    {
        if (set.Count > MaxKept) set = [];
    }
}
