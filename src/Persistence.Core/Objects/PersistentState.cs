namespace Persistence;

/// <summary>The life-cycle state of a persistent object, as in ZODB.</summary>
public enum PersistentState : byte
{
    /// <summary>Not stored yet: no oid, no connection. Becomes stored when a commit reaches it from the root.</summary>
    New = 0,

    /// <summary>Identity only: the state is not loaded. Reading or writing a property loads it.</summary>
    Ghost = 1,

    /// <summary>Loaded and equal to the revision it was loaded from.</summary>
    UpToDate = 2,

    /// <summary>Loaded and changed in the current transaction; stored at the next commit.</summary>
    Changed = 3,
}
