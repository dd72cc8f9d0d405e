using System.Collections.Immutable;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Persistence.Generators.Helpers;
using Persistence.Generators.Models;

namespace Persistence.Generators;

/// <summary>
/// Completes <c>[Persistent]</c> classes (base class, partial property bodies, state serialization,
/// ghost constructor, type description) and <c>[PersistentValue]</c> types (an inline codec), and
/// writes one module initializer that registers the project's persistent classes and the closed
/// persistent collection types it mentions, after running the initializers of the referenced
/// assemblies that have persistent classes. Invalid declarations get nothing, or placeholders that
/// throw (<see cref="ClassCompletion"/>); the analyzers report what is wrong.
/// </summary>
[Generator(LanguageNames.CSharp)]
public sealed partial class PersistentGenerator : IIncrementalGenerator
{
    /// <summary>Tracking names of the pipeline steps (used by the incremental tests).</summary>
    internal static class Steps
    {
        public const string PersistentClasses = nameof(PersistentClasses);
        public const string PersistentValues = nameof(PersistentValues);
        public const string CollectionUses = nameof(CollectionUses);
        public const string Registration = nameof(Registration);
    }

    /// <inheritdoc />
    public void Initialize(IncrementalGeneratorInitializationContext context)
    {
        var classes = context.SyntaxProvider
            .ForAttributeWithMetadataName(
                KnownNames.PersistentAttribute,
                // Records too, so that a [Persistent] record's partial properties get placeholders (see ClassCompletion).
                static (node, _) => node is ClassDeclarationSyntax || node is RecordDeclarationSyntax record && !record.ClassOrStructKeyword.IsKind(SyntaxKind.StructKeyword),
                static (context, cancellationToken) => Parser.ParsePersistentClass(context, cancellationToken))
            .Where(static spec => spec is not null)
            .Select(static (spec, _) => spec!)
            .WithTrackingName(Steps.PersistentClasses);

        // Placeholders only where the build runs the analyzers, whose error then stops it: with them
        // switched off (RunAnalyzers or RunAnalyzersDuringBuild false, made visible by Persistence.targets)
        // a class the generator cannot complete gets nothing, and the compiler's CS9248 stops the build.
        var analyzersRun = context.AnalyzerConfigOptionsProvider
            .Select(static (options, _) => !IsFalse(options.GlobalOptions, "build_property.RunAnalyzers") &&
                                           !IsFalse(options.GlobalOptions, "build_property.RunAnalyzersDuringBuild"));

        var values = context.SyntaxProvider
            .ForAttributeWithMetadataName(
                KnownNames.PersistentValueAttribute,
                static (node, _) => node is ClassDeclarationSyntax or StructDeclarationSyntax or RecordDeclarationSyntax,
                static (context, cancellationToken) => Parser.ParsePersistentValue(context, cancellationToken))
            .Where(static spec => spec is not null)
            .Select(static (spec, _) => spec!)
            .WithTrackingName(Steps.PersistentValues);

        // The stored names that differ from another only in case (a class Customer beside a class
        // customer is legal C#): hint names must differ ignoring case, so those get a suffix. Usually
        // empty, so a change to one type does not regenerate the others.
        var caseTwins = classes.Select(static (spec, _) => spec.Hierarchy.StoredName).Collect()
            .Combine(values.Select(static (spec, _) => spec.Hierarchy.StoredName).Collect())
            .Select(static (pair, _) => TypeHierarchySpec.CaseTwins(pair.Left.AddRange(pair.Right)));

        context.RegisterSourceOutput(classes.Combine(analyzersRun).Combine(caseTwins), static (context, input) =>
        {
            var ((spec, placeholdersAllowed), twins) = input;
            if (spec.Completion != ClassCompletion.Complete && !placeholdersAllowed) return;
            context.AddSource(spec.Hierarchy.HintNameAmong(twins), Emitter.EmitPersistentClass(spec));
        });

        context.RegisterSourceOutput(values.Combine(caseTwins), static (context, pair) =>
            context.AddSource(pair.Left.Hierarchy.HintNameAmong(pair.Right), Emitter.EmitPersistentValue(pair.Left)));

        var collections = context.SyntaxProvider
            .CreateSyntaxProvider(
                static (node, _) => Parser.IsCollectionName(node),
                static (context, cancellationToken) => Parser.ParseCollectionUse(context, cancellationToken))
            .Where(static use => use is not null)
            .Select(static (use, _) => use!)
            .WithTrackingName(Steps.CollectionUses);

        // Runs on every compilation, but looks only into referenced assemblies compiled against
        // Persistence.Core; its result changes only with the references, so the registration is cached.
        var referencedClasses = context.CompilationProvider
            .Select(static (compilation, cancellationToken) => Parser.ParseReferencedClasses(compilation, cancellationToken));

        var registration = classes
            .Where(static spec => spec.Completion == ClassCompletion.Complete)
            .Select(static (spec, _) => new RegisteredClassSpec(spec.Hierarchy.FullyQualifiedName, spec.BaseType, spec.IsPublic))
            .Collect()
            .Combine(collections.Collect())
            .Combine(referencedClasses)
            .Combine(context.CompilationProvider.Select(static (compilation, _) => compilation.AssemblyName ?? ""))
            .Select(static (input, _) => CreateRegistration(input.Left.Left.Left, input.Left.Left.Right, input.Left.Right, input.Right))
            .WithTrackingName(Steps.Registration);

        context.RegisterSourceOutput(registration, static (context, spec) =>
        {
            if (spec.Classes.IsEmpty && spec.Collections.IsEmpty && spec.ReferencedClasses.IsEmpty) return;
            context.AddSource(KnownNames.RegistrationHintName, Emitter.EmitRegistration(spec));
        });
    }

    private static bool IsFalse(Microsoft.CodeAnalysis.Diagnostics.AnalyzerConfigOptions options, string key) =>
        options.TryGetValue(key, out var value) && string.Equals(value.Trim(), "false", System.StringComparison.OrdinalIgnoreCase);

    private static RegistrationSpec CreateRegistration(
        ImmutableArray<RegisteredClassSpec> classes,
        ImmutableArray<CollectionUseSpec> collections,
        EquatableArray<string> referencedClasses,
        string assemblyName)
    {
        var ordered = Parser.OrderBaseFirst(classes);
        var distinctCollections = collections
            .GroupBy(static use => use.Type)
            .Select(static group => group.First())
            .OrderBy(static use => use.Type, System.StringComparer.Ordinal);
        return new RegistrationSpec(ordered.ToEquatableArray(), distinctCollections.ToEquatableArray(), referencedClasses, assemblyName);
    }
}
