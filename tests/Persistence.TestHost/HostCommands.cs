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
        ["crash-writer"] = CrashWriter,
        ["crash-check"] = CrashCheck,
        ["slots-setup"] = SlotsSetup,
        ["slots-work"] = SlotsWork,
        ["slots-check"] = SlotsCheck,
        ["hold-commit"] = HoldCommit,
        ["set-cell"] = SetCell,
        ["watch-cell"] = WatchCell,
        ["new-oids"] = NewOids,
        ["ro-read"] = ReadOnlyRead,
        ["rw-open"] = ReadWriteOpen,
        ["bench-commits"] = BenchCommits,
        ["fsync-latency"] = FsyncLatency,
        ["as-user"] = AsUser,
        ["pack-loop"] = PackLoop,
        ["change-and-pack"] = ChangeAndPack,
        ["btree-insert"] = BTreeInserts,
        ["read-widened"] = ReadWidened,
        ["widen-names"] = WidenNames,
    };
}
