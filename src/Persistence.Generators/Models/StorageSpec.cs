namespace Persistence.Generators.Models;

/// <summary>How a stored value is written.</summary>
internal enum StorageKind
{
    /// <summary>One <c>RecordWriter</c>/<c>RecordReader</c> call (a primitive, string, byte[], enum or reference).</summary>
    Inline,

    /// <summary>A nullable primitive or enum: a presence byte, then the inline value.</summary>
    NullableInline,

    /// <summary>A <c>ValueCodec</c> held in a static field (collections, values, everything else).</summary>
    Codec,
}

/// <summary>How one type is stored: its type code and the code that writes and reads it.</summary>
/// <param name="Kind">Which form the generated code takes.</param>
/// <param name="TypeCode">The type code of docs/FORMAT.md, e.g. <c>i32</c>, <c>list&lt;str&gt;</c>.</param>
/// <param name="MinimumSize">The fewest bytes a value takes.</param>
/// <param name="Codec">An expression for the value's <c>ValueCodec</c>.</param>
/// <param name="WriteMethod">For inline kinds: the <c>RecordWriter</c> method, e.g. <c>WriteInt32</c>.</param>
/// <param name="WriteCast">For enums: the underlying type the value is cast to before writing.</param>
/// <param name="ReadMethod">For inline kinds: the <c>RecordReader</c> method, e.g. <c>ReadInt32</c> or <c>ReadReference&lt;global::Shop.Customer&gt;</c>.</param>
/// <param name="ReadCast">For enums: the enum type the read integer is cast to.</param>
/// <param name="ReadsNull">Whether the read method returns a nullable reference (strings, byte arrays, references).</param>
/// <param name="ReferencedType">For references: the class referenced, fully qualified, without a nullable annotation; else empty.</param>
internal sealed record StorageSpec(
    StorageKind Kind,
    string TypeCode,
    int MinimumSize,
    string Codec,
    string WriteMethod = "",
    string WriteCast = "",
    string ReadMethod = "",
    string ReadCast = "",
    bool ReadsNull = false,
    string ReferencedType = "");
