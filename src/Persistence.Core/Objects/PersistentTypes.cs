using Persistence.Serialization;

namespace Persistence;

/// <summary>
/// The process-wide registry of persistent classes. Generated module initializers register every
/// <c>[Persistent]</c> class and every persistent collection type a program uses; the library looks
/// classes up here by stored name or alias when it reads records.
/// </summary>
public static class PersistentTypes
{
    private static readonly Lock Gate = new();
    private static readonly Dictionary<string, PersistentTypeInfo> ByName = new(StringComparer.Ordinal);
    private static readonly Dictionary<string, PersistentTypeInfo> ByAlias = new(StringComparer.Ordinal);

    /// <summary>
    /// Registers a class. Registering the same name twice with the same layout does nothing (several
    /// assemblies may register one collection type); a different layout under one name is an error.
    /// </summary>
    public static void Register(PersistentTypeInfo type)
    {
        ArgumentNullException.ThrowIfNull(type);
        lock (Gate)
        {
            if (ByName.TryGetValue(type.Name, out var known))
            {
                if (known.Signature != type.Signature)
                    throw new InvalidOperationException(
                        $"Two different persistent classes are registered under the name '{type.Name}'. Rename one, or give it a [PersistentAlias] for its old name.");
                return;
            }
            ByName.Add(type.Name, type);
            foreach (var alias in type.Aliases)
            {
                if (ByName.ContainsKey(alias) || (ByAlias.TryGetValue(alias, out var other) && other != type))
                    throw new InvalidOperationException(
                        $"The alias '{alias}' of '{type.Name}' is already the name or alias of another persistent class. Each stored name must map to one class.");
                ByAlias[alias] = type;
            }
        }
    }

    /// <summary>
    /// Finds a class by its stored name, or by a former name given with <see cref="PersistentAliasAttribute"/>;
    /// a persistent collection also by a name whose type arguments name classes by former names
    /// (<c>Persistence.PersistentList&lt;Shop.Client&gt;</c> for <c>Persistence.PersistentList&lt;Shop.Customer&gt;</c>
    /// when Customer carries <c>[PersistentAlias("Shop.Client")]</c>).
    /// </summary>
    public static PersistentTypeInfo? Find(string storedName)
    {
        lock (Gate)
        {
            if (FindByNameOrAlias(storedName) is { } type) return type;
            return StoredNames.WithCurrentClassNames(storedName, FindByNameOrAlias) is { } current ? ByName.GetValueOrDefault(current) : null;
        }
    }

    /// <summary>The class registered under <paramref name="storedName"/> or with it as an alias; with the lock held.</summary>
    private static PersistentTypeInfo? FindByNameOrAlias(string storedName) =>
        ByName.TryGetValue(storedName, out var type) ? type : ByAlias.GetValueOrDefault(storedName);

    /// <summary>Every registered class.</summary>
    public static IReadOnlyList<PersistentTypeInfo> All
    {
        get
        {
            lock (Gate) return [.. ByName.Values];
        }
    }
}
