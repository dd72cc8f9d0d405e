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
    /// Registers a class. Registering it again does nothing (an assembly's initializer names a class of
    /// each assembly it references), and nor does a persistent collection type registered under one
    /// name by several assemblies. A second class under a name already taken, as a class's name or as
    /// an alias, is an error: its objects would load as the other class's.
    /// </summary>
    public static void Register(PersistentTypeInfo type)
    {
        ArgumentNullException.ThrowIfNull(type);
        lock (Gate)
        {
            if (ByName.TryGetValue(type.Name, out var known))
            {
                if (known == type) return;
                if (known.Signature != type.Signature)
                    throw new InvalidOperationException(
                        $"Two different persistent classes are registered under the name '{type.Name}'. Rename one, or give it a [PersistentAlias] for its old name.");
                if (known.IsCollectionType && type.IsCollectionType) return;
                throw new InvalidOperationException(
                    $"Two persistent classes are registered under the name '{type.Name}', the full name of both (two assemblies the program loads define it): " +
                    $"the objects of each would load as the other's. Move one to another namespace or rename it, and give it a [PersistentAlias(\"{type.Name}\")] if the database holds objects of it.");
            }
            if (ByAlias.TryGetValue(type.Name, out var aliased))
                throw new InvalidOperationException(
                    $"The name '{type.Name}' is an alias of the persistent class '{aliased.Name}', whose objects stored under it would load as '{type.Name}'. Each stored name must map to one class: rename '{type.Name}', or remove the alias.");
            foreach (var alias in type.Aliases)
            {
                if (ByName.ContainsKey(alias) || ByAlias.ContainsKey(alias))
                    throw new InvalidOperationException(
                        $"The alias '{alias}' of '{type.Name}' is already the name or alias of another persistent class. Each stored name must map to one class.");
            }
            ByName.Add(type.Name, type);
            foreach (var alias in type.Aliases) ByAlias[alias] = type;
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
