using Persistence.Generators.Helpers;

namespace Persistence.Generators.Models;

/// <summary>A valid <c>[Persistent]</c> class: everything its generated part needs.</summary>
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
    EquatableArray<PersistentPropertySpec> Properties);
