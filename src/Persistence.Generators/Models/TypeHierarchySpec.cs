using System;
using System.Collections.Immutable;
using System.Globalization;
using System.Linq;
using Persistence.Generators.Helpers;

namespace Persistence.Generators.Models;

/// <summary>Where a type is declared, so its generated part can reproduce the same partial declarations.</summary>
/// <param name="Namespace">The namespace, or an empty string for the global namespace.</param>
/// <param name="ContainingTypes">The containing types, outermost first.</param>
/// <param name="Declaration">The type itself.</param>
/// <param name="FullyQualifiedName">The name to use in code: <c>global::Shop.Outer.Customer</c>.</param>
/// <param name="StoredName">The stored name: <c>Shop.Outer+Customer</c>.</param>
internal sealed record TypeHierarchySpec(
    string Namespace,
    EquatableArray<TypeDeclarationSpec> ContainingTypes,
    TypeDeclarationSpec Declaration,
    string FullyQualifiedName,
    string StoredName)
{
    /// <summary>The generated file's name.</summary>
    public string HintName => StoredName + ".g.cs";

    /// <summary>
    /// The generated file's name where <paramref name="caseTwins"/> are the stored names that differ
    /// from another only in case: those get a suffix from their exact spelling (hint names are compared
    /// ignoring case, and two alike would fail the whole generator).
    /// </summary>
    public string HintNameAmong(EquatableArray<string> caseTwins) =>
        caseTwins.Contains(StoredName) ? StoredName + "." + Spelling(StoredName) + ".g.cs" : HintName;

    /// <summary>The names among <paramref name="names"/> equal to another ignoring case but not exactly.</summary>
    public static EquatableArray<string> CaseTwins(ImmutableArray<string> names) =>
        names.Distinct(StringComparer.Ordinal)
            .GroupBy(static name => name, StringComparer.OrdinalIgnoreCase)
            .Where(static group => group.Count() > 1)
            .SelectMany(static group => group)
            .OrderBy(static name => name, StringComparer.Ordinal)
            .ToEquatableArray();

    /// <summary>An FNV-1a hash of <paramref name="name"/>'s exact characters, in hexadecimal (stable across runs).</summary>
    private static string Spelling(string name)
    {
        var hash = 2166136261u;
        foreach (var c in name)
        {
            hash = (hash ^ c) * 16777619u;
        }
        return hash.ToString("x8", CultureInfo.InvariantCulture);
    }
}

/// <summary>One type declaration header.</summary>
/// <param name="Keyword"><c>class</c>, <c>struct</c>, <c>record</c>, <c>record struct</c> or <c>interface</c>.</param>
/// <param name="Name">The type's name as written in C#.</param>
internal sealed record TypeDeclarationSpec(string Keyword, string Name);
