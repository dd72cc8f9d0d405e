using System;
using System.Globalization;
using System.Linq;
using Microsoft.CodeAnalysis;

namespace Persistence.Rules;

/// <summary>
/// The rules for a stored property's default, the value it reads as in records stored before the
/// property existed: the value of a <c>[PersistentDefault]</c> attribute, converted to the property's
/// type, or <c>""</c> for a <c>string</c> the nullable annotations say is never null.
/// </summary>
internal static class DefaultRules
{
    public const string PersistentDefaultAttribute = "PersistentDefaultAttribute";

    /// <summary>The property's <c>[PersistentDefault]</c> attribute, or null.</summary>
    public static AttributeData? Attribute(IPropertySymbol property) =>
        property.GetAttributes().FirstOrDefault(static a => RuleSymbols.IsPersistenceType(a.AttributeClass, PersistentDefaultAttribute));

    /// <summary>
    /// The attribute's value as a value of <paramref name="type"/>, which holds it exactly: true with the
    /// converted value (a boxed value of the type, or for an enum of its underlying type; null for null),
    /// false if the value does not convert or the attribute does not bind.
    /// </summary>
    /// <remarks>
    /// A value converts when the type holds it exactly: an integer to any integer type whose range holds
    /// it, to <c>decimal</c>, and to <c>float</c> or <c>double</c> up to 2^24 or 2^53 (where every integer
    /// is one of theirs); a <c>float</c> to <c>double</c>; a <c>double</c> to <c>float</c> when it is a
    /// <c>float</c> value; a floating-point number to <c>decimal</c> as it is written (0.1 is 0.1m); a
    /// <c>string</c>, <c>bool</c>, <c>char</c> or enum value to its own type; null to a type that takes
    /// null (a nullable value type, a <c>string?</c>, a reference type outside nullable annotations).
    /// A nullable value type takes what its underlying type takes.
    /// </remarks>
    public static bool TryConvert(AttributeData attribute, ITypeSymbol type, out object? value)
    {
        value = null;
        if (attribute.ConstructorArguments.Length != 1) return false;
        var constant = attribute.ConstructorArguments[0];
        if (constant.Kind is TypedConstantKind.Error or TypedConstantKind.Array or TypedConstantKind.Type) return false;
        var wrapped = NullableUnderlying(type);
        var nullable = wrapped is not null;
        var target = wrapped ?? type;
        if (constant.IsNull) return nullable || (type.IsReferenceType && type.NullableAnnotation != NullableAnnotation.NotAnnotated);
        if (constant.Kind == TypedConstantKind.Enum)
        {
            value = constant.Value;
            return SymbolEqualityComparer.Default.Equals(constant.Type, target);
        }
        return TryConvertPrimitive(constant.Value!, target.SpecialType, out value);
    }

    /// <summary>
    /// Whether a property has a default without the attribute: a <c>string</c> declared without <c>?</c>
    /// where nullable annotations are enabled reads as <c>""</c>, not null, in records stored before it existed.
    /// </summary>
    public static bool IsNonNullableString(ITypeSymbol type) =>
        type.SpecialType == SpecialType.System_String && type.NullableAnnotation == NullableAnnotation.NotAnnotated;

    /// <summary>The <c>T</c> of a <c>T?</c> value type, or null.</summary>
    public static ITypeSymbol? NullableUnderlying(ITypeSymbol type) =>
        type is INamedTypeSymbol { OriginalDefinition.SpecialType: SpecialType.System_Nullable_T } nullable ? nullable.TypeArguments[0] : null;

    private static bool TryConvertPrimitive(object constant, SpecialType target, out object? value)
    {
        value = null;
        switch (constant)
        {
            case string or bool or char:
                value = constant;
                return target == (constant switch { string => SpecialType.System_String, bool => SpecialType.System_Boolean, _ => SpecialType.System_Char });
            case float or double:
                var real = Convert.ToDouble(constant, CultureInfo.InvariantCulture);
                switch (target)
                {
                    case SpecialType.System_Double:
                        value = real;
                        return true;
                    case SpecialType.System_Single:
                        value = (float)real;
                        return double.IsNaN(real) || (double)(float)real == real;
                    case SpecialType.System_Decimal:
                        // As written: the shortest text that reads back as the same number.
                        var text = constant is float single ? single.ToString("R", CultureInfo.InvariantCulture) : real.ToString("R", CultureInfo.InvariantCulture);
                        if (!decimal.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var number)) return false;
                        value = number;
                        return true;
                    default:
                        return false;
                }
            default:
                // An integer of any type: decimal holds them all exactly.
                var integer = Convert.ToDecimal(constant, CultureInfo.InvariantCulture);
                value = target switch
                {
                    SpecialType.System_SByte when integer is >= sbyte.MinValue and <= sbyte.MaxValue => (sbyte)integer,
                    SpecialType.System_Byte when integer is >= byte.MinValue and <= byte.MaxValue => (byte)integer,
                    SpecialType.System_Int16 when integer is >= short.MinValue and <= short.MaxValue => (short)integer,
                    SpecialType.System_UInt16 when integer is >= ushort.MinValue and <= ushort.MaxValue => (ushort)integer,
                    SpecialType.System_Int32 when integer is >= int.MinValue and <= int.MaxValue => (int)integer,
                    SpecialType.System_UInt32 when integer is >= uint.MinValue and <= uint.MaxValue => (uint)integer,
                    SpecialType.System_Int64 when integer is >= long.MinValue and <= long.MaxValue => (long)integer,
                    SpecialType.System_UInt64 when integer is >= ulong.MinValue and <= ulong.MaxValue => (ulong)integer,
                    SpecialType.System_Single when Math.Abs(integer) <= 1 << 24 => (float)integer,
                    SpecialType.System_Double when Math.Abs(integer) <= 1L << 53 => (double)integer,
                    SpecialType.System_Decimal => integer,
                    _ => null,
                };
                return value is not null;
        }
    }
}
