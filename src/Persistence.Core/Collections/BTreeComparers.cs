namespace Persistence;

/// <summary>
/// The key orders a BTree or BTreeSet can be created with, by name. A tree stores the name of its
/// order, never code, so a program that loads a tree created with a custom order must register the
/// same comparer under the same name at start-up (before it loads the tree):
/// <code>BTreeComparers.Register("by-length", new ByLengthComparer());</code>
/// Built in: <see cref="Ordinal"/> and <see cref="OrdinalIgnoreCase"/> for strings. A tree created
/// without a name uses the natural order of its keys (ordinal for strings).
/// </summary>
public static class BTreeComparers
{
    /// <summary>Strings compared by their UTF-16 code units (<see cref="StringComparer.Ordinal"/>), the default for string keys.</summary>
    public const string Ordinal = "ordinal";

    /// <summary>Strings compared by code units after simple upper-casing (<see cref="StringComparer.OrdinalIgnoreCase"/>).</summary>
    public const string OrdinalIgnoreCase = "ordinal-ignore-case";

    private static readonly Lock Gate = new();
    private static readonly Dictionary<string, object> ByName = new(StringComparer.Ordinal)
    {
        [Ordinal] = StringComparer.Ordinal,
        [OrdinalIgnoreCase] = StringComparer.OrdinalIgnoreCase,
    };

    /// <summary>
    /// Registers <paramref name="comparer"/> under <paramref name="name"/>. Registering the same comparer
    /// again does nothing; another comparer under a name already taken is an error, since trees stored
    /// with that name would change their order.
    /// </summary>
    /// <exception cref="ArgumentException">The name is empty or already names another comparer.</exception>
    public static void Register<TKey>(string name, IComparer<TKey> comparer)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(comparer);
        lock (Gate)
        {
            if (ByName.TryGetValue(name, out var known))
            {
                if (ReferenceEquals(known, comparer)) return;
                throw new ArgumentException($"Another comparer is already registered as '{name}'. Trees stored with that name must keep one order: give the new comparer its own name.", nameof(name));
            }
            ByName.Add(name, comparer);
        }
    }

    /// <summary>Whether a comparer of <typeparamref name="TKey"/> is registered under <paramref name="name"/>.</summary>
    public static bool IsRegistered<TKey>(string name)
    {
        lock (Gate) return ByName.TryGetValue(name, out var known) && known is IComparer<TKey>;
    }

    /// <summary>Forgets a registration, as a program that never registered the name would (tests only).</summary>
    internal static void Unregister(string name)
    {
        lock (Gate) ByName.Remove(name);
    }

    /// <summary>The order of a tree: the registered comparer for a name, else the keys' natural order.</summary>
    internal static IComparer<TKey> Find<TKey>(string? name, string treeName)
    {
        if (string.IsNullOrEmpty(name)) return Default<TKey>(treeName);
        object? known;
        lock (Gate) ByName.TryGetValue(name, out known);
        return known switch
        {
            IComparer<TKey> comparer => comparer,
            null => throw new SchemaMismatchException(
                $"The {treeName} is ordered by the comparer '{name}', which is not registered in this program. Call BTreeComparers.Register<{CollectionTypes.NameOf(typeof(TKey))}>(\"{name}\", comparer) at start-up, before creating or loading a tree ordered by it (for a stored tree, with the comparer it was created with). " +
                $"The built-in comparers are named by BTreeComparers.Ordinal (\"{Ordinal}\") and BTreeComparers.OrdinalIgnoreCase (\"{OrdinalIgnoreCase}\").",
                treeName),
            _ => throw new SchemaMismatchException(
                $"The {treeName} is ordered by the comparer '{name}', but the comparer registered under that name does not compare {CollectionTypes.NameOf(typeof(TKey))} keys.",
                treeName),
        };
    }

    private static IComparer<TKey> Default<TKey>(string treeName)
    {
        if (typeof(TKey) == typeof(string)) return (IComparer<TKey>)(object)StringComparer.Ordinal;
        // A nullable key (int?) is in its value's order, null first, as the runtime's default comparer has it.
        var ordered = Nullable.GetUnderlyingType(typeof(TKey)) ?? typeof(TKey);
        if (!typeof(IComparable<TKey>).IsAssignableFrom(ordered) && !typeof(IComparable).IsAssignableFrom(ordered))
            throw new InvalidOperationException($"{ordered.Name} keys have no natural order, so a {treeName} of them needs a comparer: register one with BTreeComparers.Register and create the tree with its name.");
        return Comparer<TKey>.Default;
    }
}
