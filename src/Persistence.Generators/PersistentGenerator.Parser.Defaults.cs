using System.Globalization;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Persistence.Rules;

namespace Persistence.Generators;

public sealed partial class PersistentGenerator
{
    internal static partial class Parser
    {
        /// <summary>
        /// The C# expression of a stored property's default (<see cref="DefaultRules"/>), the value it reads as
        /// in records stored before it existed, or null for its type's default. False for a
        /// <c>[PersistentDefault]</c> the property cannot take: a value that does not convert, or the attribute
        /// on a property that is not stored (the analyzers report both).
        /// </summary>
        private static bool TryGetDefault(IPropertySymbol property, bool stored, out string? expression)
        {
            expression = null;
            if (DefaultRules.Attribute(property) is { } attribute)
            {
                if (!stored || !DefaultRules.TryConvert(attribute, property.Type, out var value)) return false;
                if (value is not null) expression = ConstantLiteral(value, DefaultRules.NullableUnderlying(property.Type) ?? property.Type);
            }
            else if (stored && DefaultRules.IsNonNullableString(property.Type))
            {
                expression = "\"\"";
            }
            return true;
        }

        /// <summary><paramref name="value"/> (of <paramref name="type"/>, or an enum's underlying value) written as C# of that type.</summary>
        private static string ConstantLiteral(object value, ITypeSymbol type)
        {
            if (type.TypeKind != TypeKind.Enum) return ConstantLiteral(value);
            var enumName = type.ToDisplayString(RuntimeFormat);
            var member = type.GetMembers().OfType<IFieldSymbol>().FirstOrDefault(f => f.HasConstantValue && Equals(f.ConstantValue, value));
            return member is not null ? enumName + "." + EscapeIdentifier(member.Name) : $"({enumName})({ConstantLiteral(value)})";
        }

        private static string ConstantLiteral(object value) => value switch
        {
            string text => SymbolDisplay.FormatLiteral(text, quote: true),
            char character => SymbolDisplay.FormatLiteral(character, quote: true),
            bool flag => flag ? "true" : "false",
            sbyte or byte or short or ushort => $"({Keyword(value)}){Invariant(value)}",
            int number => Invariant(number),
            uint number => Invariant(number) + "U",
            long number => Invariant(number) + "L",
            ulong number => Invariant(number) + "UL",
            float number => float.IsNaN(number) ? "float.NaN"
                : float.IsInfinity(number) ? (number > 0 ? "float.PositiveInfinity" : "float.NegativeInfinity")
                : number.ToString("R", CultureInfo.InvariantCulture) + "F",
            double number => double.IsNaN(number) ? "double.NaN"
                : double.IsInfinity(number) ? (number > 0 ? "double.PositiveInfinity" : "double.NegativeInfinity")
                : number.ToString("R", CultureInfo.InvariantCulture) + "D",
            decimal number => Invariant(number) + "M",
            _ => throw new System.ArgumentException("Not a constant of a stored type.", nameof(value)),
        };

        private static string Keyword(object value) => value switch
        {
            sbyte => "sbyte",
            byte => "byte",
            short => "short",
            _ => "ushort",
        };

        private static string Invariant(object value) => System.Convert.ToString(value, CultureInfo.InvariantCulture)!;
    }
}
