namespace Persistence.Analyzers.Tests.Infrastructure;

/// <summary>Test source helpers.</summary>
internal static class Sources
{
    /// <summary>Puts declarations in namespace Shop with the usings a model file has.</summary>
    public static string Wrap(string declarations) => $$"""
        using System;
        using System.Collections.Generic;
        using Persistence;

        namespace Shop;

        {{declarations}}
        """;
}
