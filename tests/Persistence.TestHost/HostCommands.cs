namespace Persistence.TestHost;

/// <summary>The commands this program runs, by name. Each command file adds itself here.</summary>
internal static partial class HostCommands
{
    public static readonly Dictionary<string, Func<string[], int>> All = new(StringComparer.Ordinal)
    {
        ["ping"] = _ =>
        {
            Console.WriteLine("pong");
            return 0;
        },
        ["counter"] = CounterIncrements,
        ["transfer"] = BankTransfers,
        ["wait-state"] = WaitForState,
        ["commit-numbers"] = CommitNumbers,
        ["snapshot-reader"] = SnapshotReader,
    };
}
