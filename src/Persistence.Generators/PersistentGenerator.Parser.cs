using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Persistence.Generators.Helpers;
using Persistence.Generators.Models;
using Persistence.Rules;

namespace Persistence.Generators;

public sealed partial class PersistentGenerator
{
    /// <summary>Turns symbols into pipeline models. Returns null for anything invalid, or a class with placeholders (<see cref="ClassCompletion"/>): the analyzers explain why.</summary>
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
            // The analyzers report each of these problems with the same rules.
            var problems = ClassRules.Problems(type, compilation, cancellationToken).ToList();
            if (problems.Count > 0 && !(problems.All(HoldsPlaceholders) && RuleSymbols.FindNonPartial(type, cancellationToken) is null)) return null;

            var hierarchy = CreateHierarchy(type);
            var persistentObject = compilation.GetTypeByMetadataName(RuleSymbols.PersistentObjectMetadataName);
            if (hierarchy is null || persistentObject is null || type.BaseType is not { } baseSymbol) return null;

            string? baseType = null;
            var addsBaseClass = baseSymbol.SpecialType == SpecialType.System_Object;
            if (!addsBaseClass && !IsPersistenceType(baseSymbol, KnownNames.PersistentObjectName)) baseType = baseSymbol.ToDisplayString(RuntimeFormat);

            var completion = problems.Count == 0 ? ClassCompletion.Complete : ClassCompletion.PropertiesOnly;
            var properties = new List<PersistentPropertySpec>();
            foreach (var member in type.GetMembers())
            {
                cancellationToken.ThrowIfCancellationRequested();
                // A partial property the user implemented is an ordinary property: not stored.
                if (member is not IPropertySymbol property || !PropertyRules.IsImplementedByGenerator(property)) continue;
                var spec = completion == ClassCompletion.Complete ? ParseProperty(property, type, persistentObject, cancellationToken) : null;
                if (spec is null)
                {
                    if (completion == ClassCompletion.Complete) completion = ClassCompletion.Placeholders;
                    spec = ParsePlaceholder(property, cancellationToken);
                    if (spec is null) continue;
                }
                properties.Add(spec);
            }
            if (completion != ClassCompletion.Complete) properties = properties.Select(static p => p with { Storage = null }).ToList();

            return new PersistentClassSpec(
                hierarchy,
                Aliases(type),
                baseType,
                addsBaseClass,
                StateMethodsAreProtectedInternal(type, persistentObject, compilation),
                type.IsAbstract,
                type.IsSealed,
                type.InstanceConstructors.Any(static c => !c.IsImplicitlyDeclared),
                HasRequiredMembers(type),
                properties.ToEquatableArray(),
                completion,
                IsPublic(type));
        }

        private static bool IsPublic(INamedTypeSymbol type)
        {
            for (INamedTypeSymbol? level = type; level is not null; level = level.ContainingType)
            {
                if (level.DeclaredAccessibility != Accessibility.Public) return false;
            }
            return true;
        }

        /// <summary>
        /// Class problems that still let the generated part declare the class's partial properties:
        /// without them the compiler reports each one unimplemented (CS9248), and a build that fails
        /// to compile never runs the analyzers that say what is wrong.
        /// </summary>
        private static bool HoldsPlaceholders(ClassProblem problem) =>
            problem is ClassProblem.Record or ClassProblem.PrimaryConstructor or ClassProblem.NotAccessible
                or ClassProblem.UnsupportedBase or ClassProblem.AlsoPersistentValue or ClassProblem.Generic or ClassProblem.NestedInGeneric;

        /// <summary>
        /// A partial property the generator cannot implement, as its declaration reads, so that a
        /// placeholder can implement it; null if its shape cannot be repeated (an indexer, a ref return,
        /// an explicit interface implementation, accessors with bodies): the compiler then reports it.
        /// </summary>
        private static PersistentPropertySpec? ParsePlaceholder(IPropertySymbol property, CancellationToken cancellationToken)
        {
            if (property.IsIndexer || property.RefKind != RefKind.None || !property.ExplicitInterfaceImplementations.IsEmpty) return null;
            if (property.Type.TypeKind == TypeKind.Error) return null;
            return Declaration(property, storage: null, cancellationToken);
        }

        private static PersistentPropertySpec? ParseProperty(
            IPropertySymbol property,
            INamedTypeSymbol type,
            INamedTypeSymbol persistentObject,
            CancellationToken cancellationToken)
        {
            if (PropertyRules.Problem(property, type, persistentObject, cancellationToken) != PropertyProblem.None) return null;

            StorageSpec? storage = null;
            if (!HasAttribute(property, KnownNames.TransientAttributeName))
            {
                var visiting = new HashSet<ITypeSymbol>(SymbolEqualityComparer.Default);
                if (StorageRules.Check(property.Type, allowReference: true, visiting, cancellationToken) is not null) return null;
                storage = Storage.Get(property.Type, allowReference: true, AnnotatedFormat, visiting, cancellationToken);
                if (storage is null) return null;
            }
            // A default the property cannot take leaves the class incomplete, as any property problem does.
            if (!TryGetDefault(property, storage is not null, out var defaultValue)) return null;
            return Declaration(property, storage, cancellationToken) is { } declaration
                ? declaration with { Default = defaultValue, Aliases = storage is null ? default : Aliases(property), DefaultDeclared = DefaultRules.Attribute(property) is not null }
                : null;
        }

        /// <summary>The former names <c>[PersistentAlias]</c> gives a class or a property, in the order written (empty ones left out).</summary>
        private static EquatableArray<string> Aliases(ISymbol symbol) =>
            symbol.GetAttributes()
                .Where(static a => IsPersistenceType(a.AttributeClass, KnownNames.PersistentAliasAttributeName))
                .Select(static a => a.ConstructorArguments.Length == 1 ? a.ConstructorArguments[0].Value as string : null)
                .Where(static alias => !string.IsNullOrWhiteSpace(alias))
                .Select(static alias => alias!)
                .ToEquatableArray();

        /// <summary>The property as declared (modifiers, type, accessors) with its storage; null if it is not a plain <c>{ get; set; }</c>/<c>{ get; init; }</c> declaration.</summary>
        private static PersistentPropertySpec? Declaration(IPropertySymbol property, StorageSpec? storage, CancellationToken cancellationToken)
        {
            if (property.DeclaringSyntaxReferences.FirstOrDefault()?.GetSyntax(cancellationToken) is not PropertyDeclarationSyntax { AccessorList: { } accessors } syntax) return null;

            AccessorSpec? getter = null;
            AccessorSpec? setter = null;
            foreach (var accessor in accessors.Accessors)
            {
                if (accessor.Body is not null || accessor.ExpressionBody is not null) return null;
                var spec = new AccessorSpec(accessor.Keyword.Text, JoinModifiers(accessor.Modifiers));
                if (accessor.Keyword.IsKind(SyntaxKind.GetKeyword) && getter is null) getter = spec;
                else if (!accessor.Keyword.IsKind(SyntaxKind.GetKeyword) && setter is null) setter = spec;
                else return null;
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
            // The analyzers report each of these problems with the same rules.
            if (ValueRules.FirstProblem(type, visiting, cancellationToken) != ValueProblem.None) return null;
            var hierarchy = CreateHierarchy(type);
            if (hierarchy is null || !visiting.Add(type)) return null;
            try
            {
                var constructors = ValueRules.Constructors(type);
                var stored = ValueRules.StoredMembers(type, constructors);
                var members = new List<ValueMemberSpec>(stored.Count);
                foreach (var property in stored)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    var storage = Storage.Get(property.Type, allowReference: false, AnnotatedFormat, visiting, cancellationToken);
                    // A default the member cannot take leaves the value without a codec, as any member problem does.
                    if (storage is null || !TryGetDefault(property, stored: true, out var defaultValue)) return null;
                    members.Add(new ValueMemberSpec(
                        EscapeIdentifier(property.Name),
                        property.Name,
                        property.Type.ToDisplayString(AnnotatedFormat),
                        IsNonNullableReference(property.Type),
                        storage,
                        defaultValue,
                        Aliases(property)));
                }

                var constructorArguments = new List<string>();
                var initializedMembers = new List<string>();
                var fromSource = !type.DeclaringSyntaxReferences.IsEmpty;
                if (fromSource && !ValueRules.ChooseConstruction(type, constructors, stored, constructorArguments, initializedMembers))
                {
                    return null;
                }

                var typeCode = "{" + string.Join(",", members.Select(static m => m.StoredName + ":" + m.Storage.TypeCode)) + "}";
                return new PersistentValueSpec(
                    hierarchy,
                    typeCode,
                    members.Sum(static m => m.Storage.MinimumSize),
                    members.ToEquatableArray(),
                    constructorArguments.ToEquatableArray(),
                    initializedMembers.ToEquatableArray());
            }
            finally
            {
                visiting.Remove(type);
            }
        }

        private static bool HasRequiredMembers(INamedTypeSymbol type)
        {
            for (INamedTypeSymbol? current = type; current is not null; current = current.BaseType)
            {
                if (current.GetMembers().Any(static m => m is IPropertySymbol { IsRequired: true } or IFieldSymbol { IsRequired: true })) return true;
            }
            return false;
        }

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
            var storedName = type.MetadataName;
            for (var outer = type.ContainingType; outer is not null; outer = outer.ContainingType)
            {
                containing.Insert(0, new TypeDeclarationSpec(Keyword(outer), DeclaredName(outer)));
                storedName = outer.MetadataName + "+" + storedName;
            }
            var ns = type.ContainingNamespace is { IsGlobalNamespace: false } n ? n.ToDisplayString() : "";
            if (ns.Length > 0) storedName = ns + "." + storedName;
            return new TypeHierarchySpec(
                ns,
                containing.ToEquatableArray(),
                new TypeDeclarationSpec(Keyword(type), DeclaredName(type)),
                type.ToDisplayString(RuntimeFormat),
                storedName);
        }

        /// <summary>The name as a partial declaration repeats it, with its type parameters (only placeholders are generated for generic types).</summary>
        private static string DeclaredName(INamedTypeSymbol type) =>
            type.Arity == 0
                ? EscapeIdentifier(type.Name)
                : EscapeIdentifier(type.Name) + "<" + string.Join(", ", type.TypeParameters.Select(static p => EscapeIdentifier(p.Name))) + ">";

        private static string Keyword(INamedTypeSymbol type) => type.TypeKind switch
        {
            TypeKind.Struct => type.IsRecord ? "record struct" : "struct",
            TypeKind.Interface => "interface",
            _ => type.IsRecord ? "record" : "class",
        };

        internal static bool IsPersistenceType(ITypeSymbol? type, string name) => RuleSymbols.IsPersistenceType(type, name);

        internal static bool HasAttribute(ISymbol symbol, string attributeName) => RuleSymbols.HasAttribute(symbol, attributeName);

        private static bool IsNonNullableReference(ITypeSymbol type) =>
            type.IsReferenceType && type.NullableAnnotation != NullableAnnotation.Annotated;

        private static string JoinModifiers(SyntaxTokenList modifiers) => string.Join(" ", modifiers.Select(static m => m.Text));

        internal static string EscapeIdentifier(string name) =>
            SyntaxFacts.GetKeywordKind(name) != SyntaxKind.None ? "@" + name : name;
    }
}
