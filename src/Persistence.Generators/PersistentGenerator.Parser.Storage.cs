using System.Collections.Generic;
using System.Linq;
using System.Threading;
using Microsoft.CodeAnalysis;
using Persistence.Generators.Models;
using Persistence.Rules;

namespace Persistence.Generators;

public sealed partial class PersistentGenerator
{
    internal static partial class Parser
    {
        /// <summary>Decides how a type is stored (docs/FORMAT.md), or that it cannot be.</summary>
        internal static class Storage
        {
            private const string Codecs = KnownNames.ValueCodecs;

            /// <summary>
            /// Returns how values of <paramref name="type"/> are stored, or null if they cannot be.
            /// </summary>
            /// <param name="type">The declared type.</param>
            /// <param name="allowReference">Whether a persistent reference is allowed here (a class property or a persistent collection's element; not inside values).</param>
            /// <param name="format">How type names are written in codec expressions.</param>
            /// <param name="visiting">The <c>[PersistentValue]</c> types being read, to refuse a value that contains itself.</param>
            /// <param name="cancellationToken">Cancels the work.</param>
            public static StorageSpec? Get(
                ITypeSymbol type,
                bool allowReference,
                SymbolDisplayFormat format,
                HashSet<ITypeSymbol> visiting,
                CancellationToken cancellationToken)
            {
                switch (type.SpecialType)
                {
                    case SpecialType.System_Boolean: return Primitive("bool", 1, "Boolean");
                    case SpecialType.System_Byte: return Primitive("u8", 1, "Byte");
                    case SpecialType.System_SByte: return Primitive("i8", 1, "SByte");
                    case SpecialType.System_Int16: return Primitive("i16", 2, "Int16");
                    case SpecialType.System_UInt16: return Primitive("u16", 2, "UInt16");
                    case SpecialType.System_Char: return Primitive("char", 2, "Char");
                    case SpecialType.System_Int32: return Primitive("i32", 4, "Int32");
                    case SpecialType.System_UInt32: return Primitive("u32", 4, "UInt32");
                    case SpecialType.System_Int64: return Primitive("i64", 8, "Int64");
                    case SpecialType.System_UInt64: return Primitive("u64", 8, "UInt64");
                    case SpecialType.System_Single: return Primitive("f32", 4, "Single");
                    case SpecialType.System_Double: return Primitive("f64", 8, "Double");
                    case SpecialType.System_Decimal: return Primitive("dec", 16, "Decimal");
                    case SpecialType.System_DateTime: return Primitive("datetime", 8, "DateTime");
                    case SpecialType.System_String: return Primitive("str", 1, "String", readsNull: true);
                    // Native integers are stored as 64 bits; reading checks that the value fits this process.
                    case SpecialType.System_IntPtr: return new StorageSpec(StorageKind.Codec, "i64", 8, Codecs + ".IntPtr");
                    case SpecialType.System_UIntPtr: return new StorageSpec(StorageKind.Codec, "u64", 8, Codecs + ".UIntPtr");
                }

                switch (type)
                {
                    case IArrayTypeSymbol { IsSZArray: true, ElementType.SpecialType: SpecialType.System_Byte }:
                        return new StorageSpec(StorageKind.Inline, "bytes", 1, Codecs + ".Bytes", "WriteBytes", "", "ReadBytes", "", ReadsNull: true);
                    case IArrayTypeSymbol { IsSZArray: true } array:
                        return Collection("array", "Array", array.ElementType, array.ElementType, format, visiting, cancellationToken);
                    case INamedTypeSymbol named:
                        return GetNamed(named, allowReference, format, visiting, cancellationToken);
                    default:
                        return null;
                }
            }

            private static StorageSpec? GetNamed(
                INamedTypeSymbol type,
                bool allowReference,
                SymbolDisplayFormat format,
                HashSet<ITypeSymbol> visiting,
                CancellationToken cancellationToken)
            {
                if (type.TypeKind == TypeKind.Error) return null;

                if (type.TypeKind == TypeKind.Enum)
                {
                    if (type.EnumUnderlyingType is not { } underlyingType) return null;
                    var underlying = Get(underlyingType, false, format, visiting, cancellationToken);
                    if (underlying is not { Kind: StorageKind.Inline }) return null;
                    var enumName = type.ToDisplayString(RuntimeFormat);
                    var keyword = underlyingType.ToDisplayString(RuntimeFormat);
                    return new StorageSpec(
                        StorageKind.Inline,
                        underlying.TypeCode,
                        underlying.MinimumSize,
                        $"{Codecs}.Enum<{enumName}, {keyword}>({underlying.Codec})",
                        underlying.WriteMethod,
                        keyword,
                        underlying.ReadMethod,
                        enumName);
                }

                if (type.OriginalDefinition.SpecialType == SpecialType.System_Nullable_T)
                {
                    var innerType = type.TypeArguments[0];
                    var inner = Get(innerType, false, format, visiting, cancellationToken);
                    if (inner is null) return null;
                    var codec = $"{Codecs}.Nullable<{innerType.ToDisplayString(format)}>({inner.Codec})";
                    return inner.Kind == StorageKind.Inline
                        ? inner with { Kind = StorageKind.NullableInline, TypeCode = inner.TypeCode + "?", MinimumSize = 1, Codec = codec }
                        : new StorageSpec(StorageKind.Codec, inner.TypeCode + "?", 1, codec);
                }

                if (IsSystemType(type))
                {
                    switch (type.Name)
                    {
                        case "Half": return Primitive("f16", 2, "Half");
                        case "DateTimeOffset": return Primitive("dto", 10, "DateTimeOffset");
                        case "DateOnly": return Primitive("date", 4, "DateOnly");
                        case "TimeOnly": return Primitive("time", 8, "TimeOnly");
                        case "TimeSpan": return Primitive("timespan", 8, "TimeSpan");
                        case "Guid": return Primitive("guid", 16, "Guid");
                        default: return null;
                    }
                }

                if (IsGenericCollectionType(type, "List", 1))
                {
                    return Collection("list", "List", type.TypeArguments[0], type.TypeArguments[0], format, visiting, cancellationToken);
                }

                if (IsGenericCollectionType(type, "Dictionary", 2))
                {
                    var keyType = type.TypeArguments[0];
                    var valueType = type.TypeArguments[1];
                    var key = Get(keyType, false, format, visiting, cancellationToken);
                    var value = Get(valueType, false, format, visiting, cancellationToken);
                    if (key is null || value is null) return null;
                    return new StorageSpec(
                        StorageKind.Codec,
                        $"dict<{key.TypeCode},{value.TypeCode}>",
                        1,
                        $"{Codecs}.Dictionary<{keyType.ToDisplayString(format)}, {valueType.ToDisplayString(format)}>({Suppress(key.Codec, keyType)}, {Suppress(value.Codec, valueType)})");
                }

                if (HasAttribute(type, KnownNames.PersistentValueAttributeName))
                {
                    var value = ParseValueType(type, visiting, cancellationToken);
                    if (value is null) return null;
                    var codec = type.ToDisplayString(RuntimeFormat) + "." + KnownNames.ValueCodecProperty;
                    return type.IsValueType
                        ? new StorageSpec(StorageKind.Codec, value.TypeCode, value.MinimumSize, codec)
                        : new StorageSpec(StorageKind.Codec, value.TypeCode + "?", 1, $"{Codecs}.NullableReference<{type.ToDisplayString(RuntimeFormat)}>({codec})");
                }

                if (allowReference && IsPersistentReference(type) && StorageRules.IsCompletedReference(type, cancellationToken))
                {
                    var name = type.WithNullableAnnotation(NullableAnnotation.NotAnnotated).ToDisplayString(format);
                    return new StorageSpec(StorageKind.Inline, "ref", 1, $"{Codecs}.Reference<{name}>()", "WriteReference", "", $"ReadReference<{name}>", "", ReadsNull: true, ReferencedType: name);
                }

                return null;
            }

            internal static bool IsPersistentReference(INamedTypeSymbol type) => RuleSymbols.IsPersistentReference(type);

            internal static bool ContainsTypeParameterOrError(ITypeSymbol type) => RuleSymbols.ContainsTypeParameterOrError(type);

            /// <summary>
            /// Adds <c>!</c> to a codec expression whose inferred nullability may differ from the
            /// declared type's (e.g. <c>ValueCodecs.String</c> is a <c>ValueCodec&lt;string?&gt;</c>).
            /// </summary>
            internal static string Suppress(string codec, ITypeSymbol type) => ContainsReferenceType(type) ? codec + "!" : codec;

            internal static bool ContainsReferenceType(ITypeSymbol type) => type switch
            {
                { IsReferenceType: true } => true,
                INamedTypeSymbol named => named.TypeArguments.Any(ContainsReferenceType),
                _ => false,
            };

            private static StorageSpec? Collection(
                string code,
                string factory,
                ITypeSymbol elementType,
                ITypeSymbol typeArgument,
                SymbolDisplayFormat format,
                HashSet<ITypeSymbol> visiting,
                CancellationToken cancellationToken)
            {
                var element = Get(elementType, false, format, visiting, cancellationToken);
                if (element is null) return null;
                return new StorageSpec(
                    StorageKind.Codec,
                    $"{code}<{element.TypeCode}>",
                    1,
                    $"{Codecs}.{factory}<{typeArgument.ToDisplayString(format)}>({Suppress(element.Codec, elementType)})");
            }

            private static StorageSpec Primitive(string code, int size, string name, bool readsNull = false) =>
                new(StorageKind.Inline, code, size, Codecs + "." + name, "Write" + name, "", "Read" + name, "", readsNull);

            private static bool IsSystemType(INamedTypeSymbol type) =>
                type.ContainingType is null &&
                type.Arity == 0 &&
                type.ContainingNamespace is { Name: "System", ContainingNamespace.IsGlobalNamespace: true };

            private static bool IsGenericCollectionType(INamedTypeSymbol type, string name, int arity) =>
                StorageRules.IsGenericCollection(type, name, arity);
        }
    }
}
