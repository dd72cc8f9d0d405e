using System.Diagnostics;
using System.Runtime;

namespace Persistence.Workloads;

/// <summary>
/// Warms a child up before its timed work: runs batches of it until it has done at least a given
/// amount and the runtime has compiled no method for a while. .NET first compiles a method quickly,
/// then, once it has been called often (counting starts 100 ms after the last new method), compiles
/// it again optimized in the background; with eight processes on two cores that goes on for about a
/// second, and what is timed after a fixed count of warm-up transactions would still pay for it.
/// </summary>
internal static class WarmUp
{
    private const int BatchSize = 25;

    /// <summary>How long no method may have been compiled.</summary>
    private static readonly TimeSpan Quiet = TimeSpan.FromMilliseconds(400);

    /// <summary>The longest warm-up, whatever the runtime does.</summary>
    private static readonly TimeSpan Longest = TimeSpan.FromSeconds(10);

    /// <summary>Calls <paramref name="batch"/> with a count to run until at least <paramref name="minimum"/> ran and compilation has settled.</summary>
    public static void Run(Func<int, int> batch, int minimum)
    {
        var started = Stopwatch.GetTimestamp();
        var compiled = JitInfo.GetCompiledMethodCount();
        var changed = started;
        for (var done = 0; ; done += BatchSize)
        {
            batch(BatchSize);
            var now = Stopwatch.GetTimestamp();
            var count = JitInfo.GetCompiledMethodCount();
            if (count != compiled)
            {
                compiled = count;
                changed = now;
            }
            if (done + BatchSize >= minimum && Stopwatch.GetElapsedTime(changed, now) >= Quiet) return;
            if (Stopwatch.GetElapsedTime(started, now) >= Longest) return;
        }
    }
}
