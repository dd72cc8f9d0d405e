using Persistence.Generators.Helpers;

namespace Persistence.Generators.Models;

/// <summary>What the generated module initializer registers.</summary>
/// <param name="Classes">The persistent classes, each after its base.</param>
/// <param name="Collections">The closed persistent collection types, ordered by name.</param>
/// <param name="ReferencedClasses">One persistent class of each referenced assembly that has any this project can name (e.g. <c>global::Shop.Domain.Customer</c>), ordered by name: registering it runs that assembly's initializer (for an assembly whose persistent classes are not public, the class it declares for this, <see cref="KnownNames.AssemblyRegistrationClass"/>).</param>
/// <param name="AssemblyName">The name of the assembly being compiled (it names the class of <see cref="KnownNames.AssemblyRegistrationClass"/>).</param>
internal sealed record RegistrationSpec(
    EquatableArray<RegisteredClassSpec> Classes,
    EquatableArray<CollectionUseSpec> Collections,
    EquatableArray<string> ReferencedClasses,
    string AssemblyName);

/// <summary>A persistent class to register.</summary>
/// <param name="FullyQualifiedName">The class, e.g. <c>global::Shop.Customer</c>.</param>
/// <param name="BaseType">Its <c>[Persistent]</c> base class, if any (registered first when it is in the same project).</param>
/// <param name="IsPublic">Whether other assemblies can name it (it and every class it is nested in are public).</param>
internal sealed record RegisteredClassSpec(string FullyQualifiedName, string? BaseType, bool IsPublic);

/// <summary>A closed persistent collection type mentioned in the source, e.g. <c>PersistentList&lt;Invoice&gt;</c>.</summary>
/// <param name="Type">The closed type, fully qualified, e.g. <c>global::Persistence.PersistentList&lt;global::Shop.Invoice&gt;</c>.</param>
/// <param name="Arguments">The codec and stored name of each type argument, in order.</param>
internal sealed record CollectionUseSpec(string Type, EquatableArray<CollectionArgumentSpec> Arguments);

/// <summary>One type argument of a persistent collection.</summary>
/// <param name="Codec">An expression for its <c>ValueCodec</c>.</param>
/// <param name="Name">Its stored name: a persistent class name or a type code.</param>
internal sealed record CollectionArgumentSpec(string Codec, string Name);
