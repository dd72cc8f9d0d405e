using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Operations;

namespace Persistence.Analyzers;

/// <summary>
/// What an in-place change changes: at the root, the stored property of a persistent object or an element of a persistent
/// collection, and the path from it to the collection or value whose contents change, through <c>[PersistentValue]</c>
/// members and collection elements.
/// </summary>
internal sealed class ChangedPath(IOperation root, string below, bool inPersistentCollection)
{
    /// <summary>
    /// What the change is saved with: a stored property (its object is the one to mark changed, it the one to assign), or the
    /// indexer of a persistent collection (the collection is the one to mark, the element the one to assign), also called
    /// for an index from the end (<c>list[^1]</c>).
    /// </summary>
    public IOperation Root { get; } = root;

    /// <summary>The object whose property <see cref="Root"/> is, or the collection whose element it is.</summary>
    public IOperation? Instance => Root switch
    {
        IPropertyReferenceOperation property => property.Instance,
        IImplicitIndexerReferenceOperation element => element.Instance,
        _ => null,
    };

    /// <summary>The stored property, or the collection's indexer.</summary>
    public IPropertySymbol Property => Root is IPropertyReferenceOperation property ? property.Property : (IPropertySymbol)((IImplicitIndexerReferenceOperation)Root).IndexerSymbol;

    /// <summary>The path below <see cref="Root"/> as written in messages (<c>.Geo.Tags</c>, <c>[].Lines</c>), empty when the root's own contents change.</summary>
    public string Below { get; } = below;

    /// <summary>Whether <see cref="Root"/> is an element of a persistent collection.</summary>
    public bool InPersistentCollection { get; } = inPersistentCollection;

    /// <summary>Whether the change is inside a value held by the root (a member of a value, or an element that is a value), not in the root's own contents.</summary>
    public bool ThroughValue => Below.Length > 0;
}
