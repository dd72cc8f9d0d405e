using Persistence.Generators.Helpers;

namespace Persistence.Generators.Models;

/// <summary>A <c>[Persistent]</c> class: everything its generated part needs.</summary>
/// <param name="Hierarchy">Where the class is declared.</param>
/// <param name="Aliases">Former stored names from <c>[PersistentAlias]</c>.</param>
/// <param name="BaseType">The fully qualified <c>[Persistent]</c> base class, or null if the class derives from <c>PersistentObject</c>.</param>
/// <param name="AddsBaseClass">Whether the generated part must declare <c>PersistentObject</c> as the base (the user wrote no base).</param>
/// <param name="StateMethodsAreProtectedInternal">Whether the state method overrides are <c>protected internal</c> (the assembly sees Persistence.Core's internals) rather than <c>protected</c>.</param>
/// <param name="IsAbstract">Whether the class is abstract (no ghost can be made of it).</param>
/// <param name="IsSealed">Whether the class is sealed (its ghost constructor is private).</param>
/// <param name="DeclaresConstructor">Whether the user declared an instance constructor (else a public one is added).</param>
/// <param name="HasRequiredMembers">Whether the class or a base class has <c>required</c> members (the ghost constructor then says it sets them).</param>
/// <param name="Properties">The partial properties, in declaration order.</param>
/// <param name="Completion">Whether the class is completed, or only given placeholders (its properties then have no storage).</param>
/// <param name="IsPublic">Whether other assemblies can name the class (it and every class it is nested in are public).</param>
internal sealed record PersistentClassSpec(
    TypeHierarchySpec Hierarchy,
    EquatableArray<string> Aliases,
    string? BaseType,
    bool AddsBaseClass,
    bool StateMethodsAreProtectedInternal,
    bool IsAbstract,
    bool IsSealed,
    bool DeclaresConstructor,
    bool HasRequiredMembers,
    EquatableArray<PersistentPropertySpec> Properties,
    ClassCompletion Completion,
    bool IsPublic);

/// <summary>What the generated part of a <c>[Persistent]</c> class holds.</summary>
internal enum ClassCompletion
{
    /// <summary>Everything: stored properties, state methods, ghost constructor, type description; the class is registered.</summary>
    Complete,

    /// <summary>
    /// The class is valid but a partial property is not (its type cannot be stored, or its name or
    /// shape is not allowed): the same members as a complete class, so that code using the class
    /// still compiles, but every property and state method throws. The analyzers report the error;
    /// the placeholders only keep the compiler from hiding it behind "no implementation" errors.
    /// </summary>
    Placeholders,

    /// <summary>The class itself breaks a rule the generated part can live with (a record, a primary constructor, a base that is not persistent…): only its partial properties, each throwing.</summary>
    PropertiesOnly,
}
