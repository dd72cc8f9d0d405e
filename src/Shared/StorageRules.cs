using System.Collections.Generic;
using System.Threading;
using Microsoft.CodeAnalysis;

namespace Persistence.Rules;

/// <summary>Why a type cannot be stored.</summary>
internal enum StorageProblemKind
{
    /// <summary>Not one of the types docs/FORMAT.md lists.</summary>
    NotSupported,
    /// <summary>A persistent class (a reference) where only values may be: inside a list, array, dictionary, nullable or <c>[PersistentValue]</c>.</summary>
    ReferenceNotAllowed,
    /// <summary>A <c>[PersistentValue]</c> type the generator cannot complete (see <see cref="ValueRules"/>).</summary>
    InvalidValue,
    /// <summary>A <c>[Persistent]</c> class the generator cannot complete (see <see cref="ClassRules.IsCompletable"/>).</summary>
    InvalidClass,
    /// <summary>The type does not bind (the compiler reports it).</summary>
    ErrorType,
}

/// <summary>The type that cannot be stored (the declared type, or one inside it) and why.</summary>
internal sealed class StorageProblem
{
    public StorageProblem(ITypeSymbol type, StorageProblemKind kind)
    {
        Type = type;
        Kind = kind;
    }

    /// <summary>The innermost type that cannot be stored.</summary>
    public ITypeSymbol Type { get; }

    /// <summary>Why.</summary>
    public StorageProblemKind Kind { get; }
}

/// <summary>Which types can be stored (docs/FORMAT.md): the decision the generator's storage mapping follows.</summary>
internal static class StorageRules
{
    /// <summary>Returns null if values of <paramref name="type"/> can be stored, else the first type inside it that cannot be.</summary>
    /// <param name="type">The declared type.</param>
    /// <param name="allowReference">Whether a persistent reference is allowed here (a class property or a persistent collection's element; not inside values).</param>
    /// <param name="visiting">The <c>[PersistentValue]</c> types being checked, to refuse a value that contains itself.</param>
    /// <param name="cancellationToken">Cancels the work.</param>
    public static StorageProblem? Check(ITypeSymbol type, bool allowReference, HashSet<ITypeSymbol> visiting, CancellationToken cancellationToken)
    {
        switch (type.SpecialType)
        {
            case SpecialType.System_Boolean:
            case SpecialType.System_Byte:
            case SpecialType.System_SByte:
            case SpecialType.System_Int16:
            case SpecialType.System_UInt16:
            case SpecialType.System_Char:
            case SpecialType.System_Int32:
            case SpecialType.System_UInt32:
            case SpecialType.System_Int64:
            case SpecialType.System_UInt64:
            case SpecialType.System_Single:
            case SpecialType.System_Double:
            case SpecialType.System_Decimal:
            case SpecialType.System_DateTime:
            case SpecialType.System_String:
            case SpecialType.System_IntPtr:
            case SpecialType.System_UIntPtr:
                return null;
        }

        switch (type)
        {
            case IArrayTypeSymbol { IsSZArray: true, ElementType.SpecialType: SpecialType.System_Byte }:
                return null;
            case IArrayTypeSymbol { IsSZArray: true } array:
                return Check(array.ElementType, false, visiting, cancellationToken);
            case INamedTypeSymbol named:
                return CheckNamed(named, allowReference, visiting, cancellationToken);
            default:
                return new StorageProblem(type, StorageProblemKind.NotSupported);
        }
    }

    private static StorageProblem? CheckNamed(INamedTypeSymbol type, bool allowReference, HashSet<ITypeSymbol> visiting, CancellationToken cancellationToken)
    {
        if (type.TypeKind == TypeKind.Error) return new StorageProblem(type, StorageProblemKind.ErrorType);

        if (type.TypeKind == TypeKind.Enum)
        {
            return type.EnumUnderlyingType is { } underlying
                ? Check(underlying, false, visiting, cancellationToken)
                : new StorageProblem(type, StorageProblemKind.NotSupported);
        }

        if (type.OriginalDefinition.SpecialType == SpecialType.System_Nullable_T)
        {
            return Check(type.TypeArguments[0], false, visiting, cancellationToken);
        }

        if (type.ContainingType is null && type.Arity == 0 && type.ContainingNamespace is { Name: "System", ContainingNamespace.IsGlobalNamespace: true })
        {
            return type.Name is "Half" or "DateTimeOffset" or "DateOnly" or "TimeOnly" or "TimeSpan" or "Guid"
                ? null
                : new StorageProblem(type, StorageProblemKind.NotSupported);
        }

        if (IsGenericCollection(type, "List", 1))
        {
            return Check(type.TypeArguments[0], false, visiting, cancellationToken);
        }

        if (IsGenericCollection(type, "Dictionary", 2))
        {
            return Check(type.TypeArguments[0], false, visiting, cancellationToken) ??
                   Check(type.TypeArguments[1], false, visiting, cancellationToken);
        }

        if (RuleSymbols.HasAttribute(type, RuleSymbols.PersistentValueAttribute))
        {
            return ValueRules.FirstProblem(type, visiting, cancellationToken) == ValueProblem.None
                ? null
                : new StorageProblem(type, StorageProblemKind.InvalidValue);
        }

        if (RuleSymbols.IsPersistentReference(type))
        {
            if (!IsCompletedReference(type, cancellationToken)) return new StorageProblem(type, StorageProblemKind.InvalidClass);
            return allowReference ? null : new StorageProblem(type, StorageProblemKind.ReferenceNotAllowed);
        }

        return new StorageProblem(type, StorageProblemKind.NotSupported);
    }

    /// <summary>Whether a persistent reference type (<see cref="RuleSymbols.IsPersistentReference"/>) is a persistent object: not a <c>[Persistent]</c> class the generator cannot complete.</summary>
    public static bool IsCompletedReference(INamedTypeSymbol type, CancellationToken cancellationToken) =>
        !RuleSymbols.HasAttribute(type, RuleSymbols.PersistentAttribute) || ClassRules.IsCompletable(type, cancellationToken);

    /// <summary>A <c>System.Collections.Generic</c> type of the given name and arity.</summary>
    public static bool IsGenericCollection(INamedTypeSymbol type, string name, int arity) =>
        type.Arity == arity &&
        type.Name == name &&
        type.ContainingType is null &&
        type.ContainingNamespace.ToDisplayString() == "System.Collections.Generic";
}
