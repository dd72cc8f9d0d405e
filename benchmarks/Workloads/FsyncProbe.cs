using System.Runtime.InteropServices;
using System.Diagnostics;

namespace Persistence.Workloads;

/// <summary>
/// The physical floor of a durable commit, measured in the databases' directory three ways, 200 times
/// each (the median, and the mean of the appends: what back-to-back commits pay on average, outliers
/// from other I/O included): small appends, each followed by <see cref="RandomAccess.FlushToDisk"/>
/// (fsync), which also put the file's new size on disk; small writes over bytes the file already
/// has, each followed by an fsync, which need not (a database that writes its commits over reserved
/// space, as both SQLite's WAL and Persistence's free space do, pays this one); and on Linux the same
/// overwrites each followed by fdatasync, which does not put the file's times on disk either (what
/// SQLite's and Persistence's commits call there). The lowest is the floor.
/// </summary>
internal static class FsyncProbe
{
    public const int Samples = 200;
    private const int Warmup = 10;
    private const int WriteSize = 64;

    public static (double AppendMedian, double AppendMean, double OverwriteMedian, double OverwriteDataMedian) Milliseconds(string directory)
    {
        System.IO.Directory.CreateDirectory(directory);
        var path = Path.Combine(directory, "fsync.probe");
        try
        {
            using var file = File.OpenHandle(path, FileMode.Create, FileAccess.ReadWrite, FileShare.None);
            var appends = Time(file, 0, dataOnly: false);
            // The same bytes written again, in place: the file's size and blocks stay as they are.
            var overwrites = Time(file, 0, dataOnly: false);
            var dataOnly = OperatingSystem.IsLinux() ? Stats.Median(Time(file, 0, dataOnly: true)) : double.NaN;
            return (Stats.Median(appends), appends.Average(), Stats.Median(overwrites), dataOnly);
        }
        finally
        {
            File.Delete(path);
        }
    }

    private static double[] Time(Microsoft.Win32.SafeHandles.SafeFileHandle file, long offset, bool dataOnly)
    {
        var times = new double[Samples];
        var bytes = new byte[WriteSize];
        for (var i = -Warmup; i < Samples; i++)
        {
            bytes[0] = (byte)i;
            var started = Stopwatch.GetTimestamp();
            RandomAccess.Write(file, bytes, offset);
            if (dataOnly) FlushData(file);
            else RandomAccess.FlushToDisk(file);
            var elapsed = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            offset += bytes.Length;
            if (i >= 0) times[i] = elapsed;
        }
        return times;
    }

    /// <summary>Puts the file's bytes on disk with the cheapest call that does: fdatasync on Linux, elsewhere fsync.</summary>
    public static void FlushData(Microsoft.Win32.SafeHandles.SafeFileHandle file)
    {
        if (!OperatingSystem.IsLinux()) RandomAccess.FlushToDisk(file);
        else if (fdatasync(file) != 0) throw new IOException($"fdatasync failed (errno {Marshal.GetLastPInvokeError()})");
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int fdatasync(Microsoft.Win32.SafeHandles.SafeFileHandle fd);
}
