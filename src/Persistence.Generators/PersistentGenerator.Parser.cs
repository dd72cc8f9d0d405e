using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Persistence.Generators.Helpers;
using Persistence.Generators.Models;

namespace Persistence.Generators;

public sealed partial class PersistentGenerator
{
    /// <summary>Turns symbols into pipeline models. Returns null for anything invalid: the generator then emits nothing and the analyzers explain why.</summary>
    internal static partial class Parser
    {
        /// <summary>Fully qualified, with nullable annotations: the types the generated code declares.</summary>
        private static readonly SymbolDisplayFormat AnnotatedFormat =
            SymbolDisplayFormat.FullyQualifiedFormat.AddMiscellaneousOptions(SymbolDisplayMiscellaneousOptions.IncludeNullableReferenceTypeModifier);

        /// <summary>Fully qualified, without nullable reference annotations: runtime types (type arguments, registration).</summary>
        private static readonly SymbolDisplayFormat RuntimeFormat = SymbolDisplayFormat.FullyQualifiedFormat;

        public static PersistentClassSpec? ParsePersistentClass(GeneratorAttributeSyntaxContext context, CancellationToken cancellationToken)
        {
            if (context.TargetSymbol is not INamedTypeSymbol type) return null;
            var compilation = context.SemanticModel.Compilation;
            if (type.TypeKind != TypeKind.Class || type.IsRecord || type.IsStatic || type.IsFileLocal || type.Arity != 0) return null;
            if (CountAttributes(type, KnownNames.PersistentAttributeName) != 1 || HasAttribute(type, KnownNames.PersistentValueAttributeName)) return null;
            if (!IsPartialWithContainers(type, cancellationToken)) return null;
            if (!compilation.IsSymbolAccessibleWithin(type, compilation.Assembly)) return null;
            if (HasPrimaryConstructor(type, cancellationToken)) return null;

            var hierarchy = CreateHierarchy(type);
            if (hierarchy is null) return null;

            var baseSymbol = type.BaseType;
            string? baseType = null;
            var addsBaseClass = false;
            if (baseSymbol is null) return null;
            if (baseSymbol.SpecialType == SpecialType.System_Object) addsBaseClass = true;
            else if (IsPersistenceType(baseSymbol, KnownNames.PersistentObjectName)) { }
            else if (baseSymbol.Arity == 0 && HasAttribute(baseSymbol, KnownNames.PersistentAttributeName)) baseType = baseSymbol.ToDisplayString(RuntimeFormat);
            else return null;

            var persistentObject = compilation.GetTypeByMetadataName("Persistence.PersistentObject");
            if (persistentObject is null) return null;

            var properties = new List<PersistentPropertySpec>();
            foreach (var member in type.GetMembers())
            {
                cancellationToken.ThrowIfCancellationRequested();
                if (member is not IPropertySymbol { IsPartialDefinition: true } property) continue;
                // A partial property the user implemented is an ordinary property: not stored.
                if (property.PartialImplementationPart is not null) continue;
                var spec = ParseProperty(property, type, persistentObject, cancellationToken);
                if (spec is null) return null;
                properties.Add(spec);
            }

            var aliases = type.GetAttributes()
                .Where(static a => IsPersistenceType(a.AttributeClass, KnownNames.PersistentAliasAttributeName))
                .Select(static a => a.ConstructorArguments.Length == 1 ? a.ConstructorArguments[0].Value as string : null)
                .Where(static alias => !string.IsNullOrEmpty(alias))
                .Select(static alias => alias!);

            return new PersistentClassSpec(
                hierarchy,
                aliases.ToEquatableArray(),
                baseType,
                addsBaseClass,
                StateMethodsAreProtectedInternal(type, persistentObject, compilation),
                type.IsAbstract,
                type.IsSealed,
                type.InstanceConstructors.Any(static c => !c.IsImplicitlyDeclared),
                HasRequiredMembers(type),
                properties.ToEquatableArray());
        }

        private static PersistentPropertySpec? ParseProperty(
            IPropertySymbol property,
            INamedTypeSymbol type,
            INamedTypeSymbol persistentObject,
            CancellationToken cancellationToken)
        {
            if (property.IsStatic || property.IsIndexer || property.RefKind != RefKind.None || !property.ExplicitInterfaceImplementations.IsEmpty) return null;
            if (property.Type.TypeKind == TypeKind.Error) return null;
            if (property.DeclaringSyntaxReferences.FirstOrDefault()?.GetSyntax(cancellationToken) is not PropertyDeclarationSyntax { AccessorList: { } accessors } syntax) return null;

            // A name the base classes already use would hide or duplicate a stored field.
            if (!persistentObject.GetMembers(property.Name).IsEmpty) return null;
            for (var baseType = type.BaseType; baseType is not null; baseType = baseType.BaseType)
            {
                if (!baseType.GetMembers(property.Name).IsEmpty) return null;
            }

            AccessorSpec? getter = null;
            AccessorSpec? setter = null;
            foreach (var accessor in accessors.Accessors)
            {
                if (accessor.Body is not null || accessor.ExpressionBody is not null) return null;
                var spec = new AccessorSpec(accessor.Keyword.Text, JoinModifiers(accessor.Modifiers));
                switch (accessor.Keyword.Kind())
                {
                    case SyntaxKind.GetKeyword when getter is null:
                        getter = spec;
                        break;
                    case SyntaxKind.SetKeyword or SyntaxKind.InitKeyword when setter is null:
                        setter = spec;
                        break;
                    default:
                        return null;
                }
            }

            StorageSpec? storage = null;
            if (!HasAttribute(property, KnownNames.TransientAttributeName))
            {
                storage = Storage.Get(property.Type, allowReference: true, AnnotatedFormat, new HashSet<ITypeSymbol>(SymbolEqualityComparer.Default), cancellationToken);
                if (storage is null) return null;
            }

            return new PersistentPropertySpec(
                EscapeIdentifier(property.Name),
                property.Name,
                property.Type.ToDisplayString(AnnotatedFormat),
                IsNonNullableReference(property.Type),
                JoinModifiers(syntax.Modifiers),
                getter,
                setter,
                storage);
        }

        public static PersistentValueSpec? ParsePersistentValue(GeneratorAttributeSyntaxContext context, CancellationToken cancellationToken)
        {
            if (context.TargetSymbol is not INamedTypeSymbol type) return null;
            return ParseValueType(type, new HashSet<ITypeSymbol>(SymbolEqualityComparer.Default), cancellationToken);
        }

        /// <summary>
        /// Reads a <c>[PersistentValue]</c> type, from source (to generate its codec) or from a referenced
        /// assembly (to know its type code). <paramref name="visiting"/> guards against a value that contains itself.
        /// </summary>
        internal static PersistentValueSpec? ParseValueType(INamedTypeSymbol type, HashSet<ITypeSymbol> visiting, CancellationToken cancellationToken)
        {
            if (type.TypeKind is not (TypeKind.Struct or TypeKind.Class)) return null;
            if (type.Arity != 0 || type.IsStatic || type.IsAbstract || type.IsRefLikeType || type.IsFileLocal) return null;
            if (CountAttributes(type, KnownNames.PersistentValueAttributeName) != 1 || HasAttribute(type, KnownNames.PersistentAttributeName)) return null;
            if (type.TypeKind == TypeKind.Class && type.BaseType?.SpecialType != SpecialType.System_Object) return null;

            var fromSource = !type.DeclaringSyntaxReferences.IsEmpty;
            if (fromSource)
            {
                if (!IsPartialWithContainers(type, cancellationToken)) return null;
            }
            else if (!type.GetMembers(KnownNames.ValueCodecProperty).Any(static m => m is IPropertySymbol { IsStatic: true }))
            {
                return null;
            }

            var hierarchy = CreateHierarchy(type);
            if (hierarchy is null) return null;

            if (!visiting.Add(type)) return null;
            try
            {
                var constructors = type.InstanceConstructors.Where(c => !IsCopyConstructor(c, type)).ToList();
                var members = new List<(IPropertySymbol Property, ValueMemberSpec Spec)>();
                foreach (var member in type.GetMembers())
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    if (member is not IPropertySymbol property) continue;
                    if (property.IsStatic || property.IsIndexer || property.DeclaredAccessibility != Accessibility.Public) continue;
                    if (property.GetMethod is null || property.RefKind != RefKind.None || !property.ExplicitInterfaceImplementations.IsEmpty) continue;
                    // Stored: what can be set again, or given back to a constructor (positional records, get-only properties).
                    if (property.SetMethod is null && !constructors.Any(c => c.Parameters.Any(p => Matches(p, property)))) continue;
                    if (HasAttribute(property, KnownNames.TransientAttributeName)) continue;

                    var storage = Storage.Get(property.Type, allowReference: false, AnnotatedFormat, visiting, cancellationToken);
                    if (storage is null) return null;
                    members.Add((property, new ValueMemberSpec(
                        EscapeIdentifier(property.Name),
                        property.Name,
                        property.Type.ToDisplayString(AnnotatedFormat),
                        IsNonNullableReference(property.Type),
                        storage)));
                }
                if (members.Count == 0) return null;

                var constructorArguments = new List<string>();
                var initializedMembers = new List<string>();
                if (fromSource && !ChooseConstruction(type, constructors, members.Select(static m => m.Property).ToList(), constructorArguments, initializedMembers))
                {
                    return null;
                }

                var typeCode = "{" + string.Join(",", members.Select(static m => m.Spec.StoredName + ":" + m.Spec.Storage.TypeCode)) + "}";
                return new PersistentValueSpec(
                    hierarchy,
                    typeCode,
                    members.Sum(static m => m.Spec.Storage.MinimumSize),
                    members.Select(static m => m.Spec).ToEquatableArray(),
                    constructorArguments.ToEquatableArray(),
                    initializedMembers.ToEquatableArray());
            }
            finally
            {
                visiting.Remove(type);
            }
        }

        /// <summary>
        /// Picks how a value is rebuilt when read: the constructor whose parameters all match stored
        /// members by name and type (the one with the most parameters), the rest by object initializer.
        /// </summary>
        private static bool ChooseConstruction(
            INamedTypeSymbol type,
            List<IMethodSymbol> constructors,
            List<IPropertySymbol> members,
            List<string> constructorArguments,
            List<string> initializedMembers)
        {
            IMethodSymbol? best = null;
            List<IPropertySymbol>? bestMembers = null;
            var hasParameterless = type.TypeKind == TypeKind.Struct;
            foreach (var constructor in constructors)
            {
                if (constructor.Parameters.IsEmpty)
                {
                    hasParameterless = true;
                    continue;
                }
                var matched = new List<IPropertySymbol>();
                foreach (var parameter in constructor.Parameters)
                {
                    var member = members.FirstOrDefault(m => Matches(parameter, m));
                    if (member is null || matched.Contains(member, SymbolEqualityComparer.Default))
                    {
                        matched = null;
                        break;
                    }
                    matched.Add(member);
                }
                if (matched is not null && (best is null || matched.Count > bestMembers!.Count))
                {
                    best = constructor;
                    bestMembers = matched;
                }
            }
            if (best is null && !hasParameterless) return false;

            var setsRequiredMembers = best is not null && best.GetAttributes().Any(static a =>
                a.AttributeClass is { Name: "SetsRequiredMembersAttribute" } attribute &&
                attribute.ContainingNamespace.ToDisplayString() == "System.Diagnostics.CodeAnalysis");
            var viaConstructor = bestMembers ?? new List<IPropertySymbol>();
            foreach (var member in viaConstructor) constructorArguments.Add(member.Name);
            foreach (var member in members)
            {
                var passed = viaConstructor.Contains(member, SymbolEqualityComparer.Default);
                if (passed && !(member.IsRequired && !setsRequiredMembers)) continue;
                if (member.SetMethod is null) return false;
                initializedMembers.Add(member.Name);
            }
            return true;
        }

        /// <summary>Whether a constructor parameter gives the value of a property: same name (ignoring case) and type.</summary>
        private static bool Matches(IParameterSymbol parameter, IPropertySymbol property) =>
            parameter.RefKind == RefKind.None &&
            string.Equals(parameter.Name, property.Name, StringComparison.OrdinalIgnoreCase) &&
            SymbolEqualityComparer.Default.Equals(parameter.Type, property.Type);

        /// <summary>A record's generated copy constructor, which is no way to build a value from its fields.</summary>
        private static bool IsCopyConstructor(IMethodSymbol constructor, INamedTypeSymbol type) =>
            constructor.Parameters.Length == 1 && SymbolEqualityComparer.Default.Equals(constructor.Parameters[0].Type, type);

        private static bool HasRequiredMembers(INamedTypeSymbol type)
        {
            for (INamedTypeSymbol? current = type; current is not null; current = current.BaseType)
            {
                if (current.GetMembers().Any(static m => m is IPropertySymbol { IsRequired: true } or IFieldSymbol { IsRequired: true })) return true;
            }
            return false;
        }

        private static bool HasPrimaryConstructor(INamedTypeSymbol type, CancellationToken cancellationToken) =>
            type.DeclaringSyntaxReferences.Any(r => r.GetSyntax(cancellationToken) is TypeDeclarationSyntax { ParameterList: not null });

        /// <summary>
        /// Whether the generated <c>WriteState</c>/<c>ReadState</c>/<c>ClearState</c> overrides must be
        /// <c>protected internal</c>: only when the assembly that declares the overridden methods as
        /// <c>protected internal</c> gives this one access to its internals (InternalsVisibleTo).
        /// </summary>
        private static bool StateMethodsAreProtectedInternal(INamedTypeSymbol type, INamedTypeSymbol persistentObject, Compilation compilation)
        {
            for (var baseType = type.BaseType; baseType is not null; baseType = baseType.BaseType)
            {
                if (baseType.GetMembers("WriteState").FirstOrDefault() is IMethodSymbol declared)
                {
                    return declared.DeclaredAccessibility == Accessibility.ProtectedOrInternal &&
                        (SymbolEqualityComparer.Default.Equals(declared.ContainingAssembly, compilation.Assembly) ||
                         declared.ContainingAssembly.GivesAccessTo(compilation.Assembly));
                }
            }
            // The base chain is still all source classes whose parts are being generated: they follow the rule of PersistentObject.
            return persistentObject.ContainingAssembly.GivesAccessTo(compilation.Assembly);
        }

        private static TypeHierarchySpec? CreateHierarchy(INamedTypeSymbol type)
        {
            var containing = new List<TypeDeclarationSpec>();
            var storedName = type.Name;
            for (var outer = type.ContainingType; outer is not null; outer = outer.ContainingType)
            {
                if (outer.Arity != 0) return null;
                containing.Insert(0, new TypeDeclarationSpec(Keyword(outer), EscapeIdentifier(outer.Name)));
                storedName = outer.Name + "+" + storedName;
            }
            var ns = type.ContainingNamespace is { IsGlobalNamespace: false } n ? n.ToDisplayString() : "";
            if (ns.Length > 0) storedName = ns + "." + storedName;
            return new TypeHierarchySpec(
                ns,
                containing.ToEquatableArray(),
                new TypeDeclarationSpec(Keyword(type), EscapeIdentifier(type.Name)),
                type.ToDisplayString(RuntimeFormat),
                storedName);
        }

        private static string Keyword(INamedTypeSymbol type) => type.TypeKind switch
        {
            TypeKind.Struct => type.IsRecord ? "record struct" : "struct",
            TypeKind.Interface => "interface",
            _ => type.IsRecord ? "record" : "class",
        };

        /// <summary>Whether every declaration of the type and of each containing type says <c>partial</c>.</summary>
        private static bool IsPartialWithContainers(INamedTypeSymbol type, CancellationToken cancellationToken)
        {
            for (INamedTypeSymbol? current = type; current is not null; current = current.ContainingType)
            {
                if (current.Arity != 0 || current.DeclaringSyntaxReferences.IsEmpty) return false;
                foreach (var reference in current.DeclaringSyntaxReferences)
                {
                    if (reference.GetSyntax(cancellationToken) is not TypeDeclarationSyntax declaration ||
                        !declaration.Modifiers.Any(SyntaxKind.PartialKeyword))
                    {
                        return false;
                    }
                }
            }
            return true;
        }

        internal static bool IsPersistenceType(ITypeSymbol? type, string name) =>
            type is INamedTypeSymbol { ContainingType: null } named &&
            named.Name == name &&
            named.ContainingNamespace is { Name: KnownNames.Namespace, ContainingNamespace.IsGlobalNamespace: true };

        internal static bool HasAttribute(ISymbol symbol, string attributeName) => CountAttributes(symbol, attributeName) > 0;

        private static int CountAttributes(ISymbol symbol, string attributeName) =>
            symbol.GetAttributes().Count(a => IsPersistenceType(a.AttributeClass, attributeName));

        private static bool IsNonNullableReference(ITypeSymbol type) =>
            type.IsReferenceType && type.NullableAnnotation != NullableAnnotation.Annotated;

        private static string JoinModifiers(SyntaxTokenList modifiers) => string.Join(" ", modifiers.Select(static m => m.Text));

        internal static string EscapeIdentifier(string name) =>
            SyntaxFacts.GetKeywordKind(name) != SyntaxKind.None ? "@" + name : name;
    }
}
