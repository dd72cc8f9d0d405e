using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;

namespace Persistence;

/// <summary>
/// How the persistent collections compare elements and keys: a persistent object by identity (within
/// a connection one oid is one instance, and a ghost is hashed and compared without being loaded),
/// anything else by its own equality (strings ordinally, <c>[PersistentValue]</c> records by value).
/// </summary>
/// <typeparam name="T">The element or key type.</typeparam>
internal sealed class ElementComparer<T> : IEqualityComparer<T>
{
    private ElementComparer()
    {
    }

    /// <summary>
    /// The comparer for <typeparamref name="T"/>: the default one where no element can be a persistent
    /// object (value types and strings), so those keep the runtime's fast paths.
    /// </summary>
    public static IEqualityComparer<T> Instance { get; } =
        default(T) is not null || typeof(T) == typeof(string) ? EqualityComparer<T>.Default : new ElementComparer<T>();

    /// <summary>Whether <see cref="Instance"/> is the default comparer (so <see cref="List{T}.IndexOf(T)"/> and friends agree with it).</summary>
    public static bool IsDefault { get; } = ReferenceEquals(Instance, EqualityComparer<T>.Default);

    /// <inheritdoc />
    public bool Equals(T? x, T? y) =>
        x is PersistentObject || y is PersistentObject ? ReferenceEquals(x, y) : EqualityComparer<T>.Default.Equals(x, y);

    /// <inheritdoc />
    public int GetHashCode([DisallowNull] T obj) =>
        obj is PersistentObject persistent ? RuntimeHelpers.GetHashCode(persistent) : EqualityComparer<T>.Default.GetHashCode(obj);
}
