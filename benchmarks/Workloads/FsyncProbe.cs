using System.Diagnostics;

namespace Persistence.Workloads;

/// <summary>
/// The physical floor of a durable commit: small appends to a file in the databases' directory, each
/// followed by <see cref="RandomAccess.FlushToDisk"/> (fsync), timed together: the median of 200, and
/// their mean (what back-to-back commits pay on average, outliers from other I/O on the disk included).
/// </summary>
internal static class FsyncProbe
{
    public const int Samples = 200;
    private const int Warmup = 10;

    public static (double Median, double Mean) Milliseconds(string directory)
    {
        System.IO.Directory.CreateDirectory(directory);
        var path = Path.Combine(directory, "fsync.probe");
        var times = new double[Samples];
        try
        {
            using var file = File.OpenHandle(path, FileMode.Create, FileAccess.ReadWrite, FileShare.None);
            var bytes = new byte[64];
            long offset = 0;
            for (var i = -Warmup; i < Samples; i++)
            {
                bytes[0] = (byte)i;
                var started = Stopwatch.GetTimestamp();
                RandomAccess.Write(file, bytes, offset);
                RandomAccess.FlushToDisk(file);
                var elapsed = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
                offset += bytes.Length;
                if (i >= 0) times[i] = elapsed;
            }
        }
        finally
        {
            File.Delete(path);
        }
        return (Stats.Median(times), times.Average());
    }
}
