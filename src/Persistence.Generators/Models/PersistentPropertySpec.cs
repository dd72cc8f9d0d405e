using Persistence.Generators.Helpers;

namespace Persistence.Generators.Models;

/// <summary>A partial property of a persistent class that the generator implements.</summary>
/// <param name="Name">The property name as written in C# (escaped with <c>@</c> if it is a keyword).</param>
/// <param name="StoredName">The field name in the schema.</param>
/// <param name="Type">The property type, fully qualified, with nullable annotations.</param>
/// <param name="IsNonNullableReference">Whether the type is a reference type not annotated nullable (needs <c>default!</c>).</param>
/// <param name="Modifiers">The declaration's modifiers as written, e.g. <c>public partial</c>.</param>
/// <param name="Getter">The get accessor, if declared.</param>
/// <param name="Setter">The set or init accessor, if declared.</param>
/// <param name="Storage">How the value is stored, or null for a <c>[Transient]</c> property.</param>
/// <param name="Default">
/// The C# expression of the value the property reads as in records stored before it existed (<c>""</c> for a
/// non-nullable string, a <c>[PersistentDefault]</c> value), or null for its type's default.
/// </param>
/// <param name="Aliases">The property's former names, from <c>[PersistentAlias]</c>.</param>
/// <param name="DefaultDeclared">Whether <paramref name="Default"/> comes from <c>[PersistentDefault]</c>: then it is also
/// the value of a new object's property until the constructor or the program sets it.</param>
internal sealed record PersistentPropertySpec(
    string Name,
    string StoredName,
    string Type,
    bool IsNonNullableReference,
    string Modifiers,
    AccessorSpec? Getter,
    AccessorSpec? Setter,
    StorageSpec? Storage,
    string? Default = null,
    EquatableArray<string> Aliases = default,
    bool DefaultDeclared = false)
{
    public string FieldName => "__" + StoredName;

    public string CodecFieldName => "__" + StoredName + "_Codec";

    public bool IsTransient => Storage is null;

    /// <summary>
    /// Whether the property is a stored reference, whose field holds any persistent object and whose
    /// getter checks its class (so loading the object that holds it does not read the one referenced).
    /// </summary>
    public bool IsReferenceField => Storage is { Kind: StorageKind.Inline, ReferencedType.Length: > 0 };

    /// <summary>The backing field's type: the property's, or any persistent object for a stored reference.</summary>
    public string FieldType => IsReferenceField ? KnownNames.PersistentObject + "?" : Type;
}

/// <summary>One accessor of a partial property.</summary>
/// <param name="Keyword"><c>get</c>, <c>set</c> or <c>init</c>.</param>
/// <param name="Modifiers">Its modifiers as written (e.g. <c>private</c>), or an empty string.</param>
internal sealed record AccessorSpec(string Keyword, string Modifiers);
