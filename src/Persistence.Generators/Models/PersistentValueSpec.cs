using Persistence.Generators.Helpers;

namespace Persistence.Generators.Models;

/// <summary>A valid <c>[PersistentValue]</c> type: the members its codec writes and how it is rebuilt.</summary>
/// <param name="Hierarchy">Where the type is declared.</param>
/// <param name="TypeCode">The type code <c>{Name:code,...}</c> (without the <c>?</c> a class gets where it is used).</param>
/// <param name="MinimumSize">The fewest bytes a value takes.</param>
/// <param name="Members">The stored members, in declaration order.</param>
/// <param name="ConstructorArguments">The members passed to the constructor, in parameter order.</param>
/// <param name="InitializedMembers">The members set with an object initializer.</param>
internal sealed record PersistentValueSpec(
    TypeHierarchySpec Hierarchy,
    string TypeCode,
    int MinimumSize,
    EquatableArray<ValueMemberSpec> Members,
    EquatableArray<string> ConstructorArguments,
    EquatableArray<string> InitializedMembers);

/// <summary>One stored member of a <c>[PersistentValue]</c> type.</summary>
/// <param name="Name">The property name as written in C#.</param>
/// <param name="StoredName">The field name in the type code.</param>
/// <param name="Type">The property type, fully qualified, with nullable annotations.</param>
/// <param name="IsNonNullableReference">Whether the type is a reference type not annotated nullable.</param>
/// <param name="Storage">How the member is stored.</param>
/// <param name="Default">The C# expression of the value it reads as in values stored before it existed, or null for its type's default.</param>
/// <param name="Aliases">Its former names, from <c>[PersistentAlias]</c>.</param>
internal sealed record ValueMemberSpec(
    string Name,
    string StoredName,
    string Type,
    bool IsNonNullableReference,
    StorageSpec Storage,
    string? Default = null,
    EquatableArray<string> Aliases = default)
{
    public string LocalName => "__" + StoredName;

    public string CodecFieldName => "__" + StoredName + "_Codec";
}
