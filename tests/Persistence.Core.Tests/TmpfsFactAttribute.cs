using System.Diagnostics;

namespace Persistence.Tests;

/// <summary>
/// A test that fills a small file system of its own (a tmpfs it mounts): skipped where this process
/// may not mount one (not Linux, not root, or a container without the right to mount).
/// </summary>
public sealed class TmpfsFactAttribute : FactAttribute
{
    private static readonly Lazy<string?> Refusal = new(Probe);

    /// <summary>Skips the test unless a tmpfs can be mounted here.</summary>
    public TmpfsFactAttribute()
    {
        if (Refusal.Value is { } reason) Skip = $"Needs a tmpfs of its own, and {reason}.";
    }

    /// <summary>Mounts a tmpfs of <paramref name="kilobytes"/> KB at <paramref name="directory"/>; the error output of mount if it failed.</summary>
    public static string? Mount(string directory, int kilobytes) => Run("mount", "-t", "tmpfs", "-o", $"size={kilobytes}k", "tmpfs", directory);

    /// <summary>Unmounts what <see cref="Mount"/> mounted.</summary>
    public static void Unmount(string directory) => Run("umount", directory);

    /// <summary>Why no tmpfs can be mounted here (null if one can): mounts one and unmounts it.</summary>
    private static string? Probe()
    {
        if (!OperatingSystem.IsLinux()) return "only Linux is tested";
        if (Environment.UserName != "root") return "mounting needs root";
        var directory = Path.Combine(Path.GetTempPath(), "persistence-tests", "tmpfs-probe-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
        try
        {
            if (Mount(directory, 64) is { } error) return $"mount was refused here ({error})";
            Unmount(directory);
            return null;
        }
        finally
        {
            Directory.Delete(directory);
        }
    }

    private static string? Run(string program, params string[] arguments)
    {
        try
        {
            var info = new ProcessStartInfo(program) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
            foreach (var argument in arguments) info.ArgumentList.Add(argument);
            using var process = Process.Start(info)!;
            var error = process.StandardError.ReadToEnd();
            process.WaitForExit();
            return process.ExitCode == 0 ? null : error.Trim();
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            return $"{program} could not be run: {e.Message}";
        }
    }
}
