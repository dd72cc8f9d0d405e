using System.Diagnostics;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Persistence.Analyzers.Tests.Infrastructure;

namespace Persistence.Analyzers.Tests;

/// <summary>PERSIST004: C# older than 13 (the analyzer), or a compiler older than Roslyn 4.14 (the package's MSBuild targets).</summary>
public sealed class CompilerTooOldTests
{
    private const string Id = "PERSIST004";

    [Fact]
    public async Task Reports_each_persistent_class_when_the_language_version_is_below_13() =>
        await Expect.DiagnosticsAsync(Id, Sources.Wrap("""
            [Persistent]
            public partial class [|Customer|]
            {
                public partial string Name { get; set; }
            }

            [Persistent]
            public partial class [|Invoice|]
            {
            }
            """),
            TestCompiler.ParseOptions.WithLanguageVersion(LanguageVersion.CSharp12),
            options: null,
            "'Customer' needs C# 13 or later for its partial properties, but this project compiles as C# 12.0: set <LangVersion>13</LangVersion> or later in the project file",
            "'Invoice' needs C# 13 or later for its partial properties, but this project compiles as C# 12.0: set <LangVersion>13</LangVersion> or later in the project file");

    [Fact]
    public async Task Is_quiet_from_CSharp_13_on()
    {
        foreach (var version in new[] { LanguageVersion.CSharp13, LanguageVersion.Latest, LanguageVersion.Preview })
        {
            await Expect.DiagnosticsAsync(Id, Sources.Wrap("""
                [Persistent]
                public partial class Customer
                {
                    public partial string Name { get; set; }
                }
                """),
                TestCompiler.ParseOptions.WithLanguageVersion(version),
                options: null);
        }
    }

    [Fact]
    public async Task Targets_report_a_compiler_older_than_Roslyn_4_14_before_compiling()
    {
        var (exitCode, output) = await RunTargetsAsync(compilerVersion: "4.8.0.0");
        Assert.NotEqual(0, exitCode);
        Assert.Contains("error PERSIST004: Persistence needs the C# compiler of Roslyn 4.14 or later (Visual Studio 17.14 or the .NET 9.0.300 SDK), but this build uses Roslyn 4.8.0.0: update Visual Studio or the .NET SDK.", output, StringComparison.Ordinal);
        Assert.DoesNotContain("Analyzers:", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Targets_accept_Roslyn_4_14_and_later()
    {
        foreach (var version in new[] { "4.14.0.0", "5.0.0.0" })
        {
            var (exitCode, output) = await RunTargetsAsync(version);
            Assert.True(exitCode == 0, output);
            Assert.DoesNotContain("PERSIST004", output, StringComparison.Ordinal);
            Assert.Contains("Analyzers: [Persistence.Analyzers.dll;Other.dll]", output, StringComparison.Ordinal);
        }
    }

    /// <summary>Runs build/Persistence.targets in a small project whose compiler directory holds a stand-in task assembly of the given version.</summary>
    private static async Task<(int ExitCode, string Output)> RunTargetsAsync(string compilerVersion)
    {
        var directory = Directory.CreateTempSubdirectory("persist004-");
        try
        {
            var compiler = Path.Combine(directory.FullName, "Roslyn");
            Directory.CreateDirectory(compiler);
            var standIn = CSharpCompilation.Create(
                "Microsoft.Build.Tasks.CodeAnalysis",
                [CSharpSyntaxTree.ParseText($"[assembly: System.Reflection.AssemblyVersion(\"{compilerVersion}\")]")],
                TestCompiler.References,
                new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary));
            Assert.True(standIn.Emit(Path.Combine(compiler, "Microsoft.Build.Tasks.CodeAnalysis.dll")).Success);

            var targets = Path.Combine(RepositoryRoot(), "src", "Persistence.Analyzers", "build", "Persistence.targets");
            var project = Path.Combine(directory.FullName, "check.proj");
            await File.WriteAllTextAsync(project, $"""
                <Project>
                  <PropertyGroup>
                    <CSharpCoreTargetsPath>{Path.Combine(compiler, "Microsoft.CSharp.Core.targets")}</CSharpCoreTargetsPath>
                  </PropertyGroup>
                  <ItemGroup>
                    <Analyzer Include="Persistence.Analyzers.dll" NuGetPackageId="Persistence" />
                    <Analyzer Include="Other.dll" NuGetPackageId="Other" />
                  </ItemGroup>
                  <Import Project="{targets}" />
                  <Target Name="ResolvePackageDependenciesForBuild" />
                  <Target Name="Check" DependsOnTargets="ResolvePackageDependenciesForBuild">
                    <Message Importance="high" Text="Analyzers: [@(Analyzer)]" />
                  </Target>
                </Project>
                """);

            var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                WorkingDirectory = directory.FullName,
            };
            foreach (var argument in new[] { "msbuild", project, "-t:Check", "-nologo", "-nodeReuse:false" }) start.ArgumentList.Add(argument);
            using var process = Process.Start(start)!;
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            await process.WaitForExitAsync();
            return (process.ExitCode, await stdout + await stderr);
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    internal static string RepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Persistence.sln"))) return directory.FullName;
        }
        throw new InvalidOperationException("Persistence.sln not found above " + AppContext.BaseDirectory);
    }
}
