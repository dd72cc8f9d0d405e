using Microsoft.CodeAnalysis.Operations;

namespace Persistence.Analyzers;

/// <summary>
/// What an in-place change changes: at the root, the stored property of a persistent object or an element of a persistent
/// collection, and the path from it to the collection or value whose contents change, through <c>[PersistentValue]</c>
/// members and collection elements.
/// </summary>
internal sealed class ChangedPath(IPropertyReferenceOperation root, string below, bool inPersistentCollection)
{
    /// <summary>
    /// What the change is saved with: a stored property (its object is the one to mark changed, it the one to assign), or the
    /// indexer of a persistent collection (the collection is the one to mark, the element the one to assign).
    /// </summary>
    public IPropertyReferenceOperation Root { get; } = root;

    /// <summary>The path below <see cref="Root"/> as written in messages (<c>.Geo.Tags</c>, <c>[].Lines</c>), empty when the root's own contents change.</summary>
    public string Below { get; } = below;

    /// <summary>Whether <see cref="Root"/> is an element of a persistent collection.</summary>
    public bool InPersistentCollection { get; } = inPersistentCollection;

    /// <summary>Whether the change is inside a value held by the root (a member of a value, or an element that is a value), not in the root's own contents.</summary>
    public bool ThroughValue => Below.Length > 0;
}
