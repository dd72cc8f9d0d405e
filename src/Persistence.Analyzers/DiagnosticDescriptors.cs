using Microsoft.CodeAnalysis;

namespace Persistence.Analyzers;

/// <summary>Every diagnostic the Persistence analyzers report. Ids are tracked in AnalyzerReleases.*.md.</summary>
internal static class DiagnosticDescriptors
{
    private const string Category = "Persistence";
    private const string HelpLinkBase = "https://github.com/persistence-dotnet/persistence/blob/main/docs/diagnostics/";

    /// <summary>PERSIST001: a [Persistent] class, or a type that contains one, is not partial.</summary>
    public static readonly DiagnosticDescriptor PersistentClassMustBePartial = new(
        id: "PERSIST001",
        title: "A persistent class and the types containing it must be partial",
        messageFormat: "'{0}' is not partial: add the 'partial' modifier so the source generator can complete the [Persistent] class '{1}'",
        category: Category,
        defaultSeverity: DiagnosticSeverity.Error,
        isEnabledByDefault: true,
        description: "The source generator writes the rest of every [Persistent] class (its base class, property bodies, serialization and registration) in another part of the same class, which needs the class and every type around it to be declared partial.",
        helpLinkUri: HelpLinkBase + "PERSIST001.md");
}
