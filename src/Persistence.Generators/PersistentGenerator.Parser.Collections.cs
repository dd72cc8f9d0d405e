using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Persistence.Generators.Helpers;
using Persistence.Generators.Models;
using Persistence.Rules;

namespace Persistence.Generators;

public sealed partial class PersistentGenerator
{
    internal static partial class Parser
    {
        /// <summary>A cheap syntactic filter: a generic name that may be a persistent collection type.</summary>
        public static bool IsCollectionName(SyntaxNode node) =>
            node is GenericNameSyntax name &&
            !name.IsUnboundGenericName &&
            KnownNames.CollectionNames.Contains(name.Identifier.ValueText);

        /// <summary>
        /// Reads a mention of a closed persistent collection type (<c>PersistentList&lt;T&gt;</c>,
        /// <c>PersistentDictionary&lt;TKey,TValue&gt;</c>, and any other generic collection of
        /// Persistence.Core with the same registration method): its arguments must be storable and
        /// the type must be nameable from outside any class.
        /// </summary>
        public static CollectionUseSpec? ParseCollectionUse(GeneratorSyntaxContext context, CancellationToken cancellationToken)
        {
            if (context.SemanticModel.GetSymbolInfo(context.Node, cancellationToken).Symbol is not INamedTypeSymbol type) return null;
            if (!IsRegistrableCollection(type.OriginalDefinition)) return null;
            if (Storage.ContainsTypeParameterOrError(type)) return null;

            var compilation = context.SemanticModel.Compilation;
            if (!compilation.IsSymbolAccessibleWithin(type, compilation.Assembly)) return null;

            var arguments = new List<CollectionArgumentSpec>();
            foreach (var argument in type.TypeArguments)
            {
                var storage = Storage.Get(argument, allowReference: true, RuntimeFormat, new HashSet<ITypeSymbol>(SymbolEqualityComparer.Default), cancellationToken);
                if (storage is null) return null;
                var name = storage.TypeCode == "ref" ? ReferenceName((INamedTypeSymbol)argument, cancellationToken) : storage.TypeCode;
                if (name is null) return null;
                arguments.Add(new CollectionArgumentSpec(Storage.Suppress(storage.Codec, argument), name));
            }
            return new CollectionUseSpec(type.ToDisplayString(RuntimeFormat), arguments.ToEquatableArray());
        }

        private static bool IsRegistrableCollection(INamedTypeSymbol definition) => CollectionRules.IsRegistrableCollection(definition);

        /// <summary>
        /// The stored name of a persistent type used as a collection element: a class's full name
        /// (nested types joined with '+'), and for a generic persistent type its name followed by its
        /// arguments' names, e.g. <c>Persistence.PersistentList&lt;i32&gt;</c>, as the collections name themselves.
        /// </summary>
        private static string? ReferenceName(INamedTypeSymbol type, CancellationToken cancellationToken)
        {
            var name = type.Name;
            for (var outer = type.ContainingType; outer is not null; outer = outer.ContainingType)
            {
                if (outer.Arity != 0) return null;
                name = outer.Name + "+" + name;
            }
            if (type.ContainingNamespace is { IsGlobalNamespace: false } ns) name = ns.ToDisplayString() + "." + name;
            if (type.Arity == 0) return name;

            var arguments = new List<string>();
            foreach (var argument in type.TypeArguments)
            {
                var storage = Storage.Get(argument, allowReference: true, RuntimeFormat, new HashSet<ITypeSymbol>(SymbolEqualityComparer.Default), cancellationToken);
                if (storage is null) return null;
                var argumentName = storage.TypeCode == "ref" ? ReferenceName((INamedTypeSymbol)argument, cancellationToken) : storage.TypeCode;
                if (argumentName is null) return null;
                arguments.Add(argumentName);
            }
            return name + "<" + string.Join(",", arguments) + ">";
        }

        /// <summary>Orders classes by name, each after its base when the base is in the same project.</summary>
        public static IEnumerable<RegisteredClassSpec> OrderBaseFirst(ImmutableArray<RegisteredClassSpec> classes)
        {
            var byName = new Dictionary<string, RegisteredClassSpec>();
            foreach (var spec in classes) byName[spec.FullyQualifiedName] = spec;
            var done = new HashSet<string>();
            var ordered = new List<RegisteredClassSpec>(byName.Count);
            foreach (var name in byName.Keys.OrderBy(static n => n, System.StringComparer.Ordinal)) Visit(name);
            return ordered;

            void Visit(string name)
            {
                if (!byName.TryGetValue(name, out var spec) || !done.Add(name)) return;
                if (spec.BaseType is not null) Visit(spec.BaseType);
                ordered.Add(spec);
            }
        }
    }
}
