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
}

/// <summary>One type declaration header.</summary>
/// <param name="Keyword"><c>class</c>, <c>struct</c>, <c>record</c>, <c>record struct</c> or <c>interface</c>.</param>
/// <param name="Name">The type's name as written in C#.</param>
internal sealed record TypeDeclarationSpec(string Keyword, string Name);
