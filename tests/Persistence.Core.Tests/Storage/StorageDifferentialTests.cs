using FsCheck;
using FsCheck.Fluent;
using Persistence.Storage;
using static Persistence.Tests.Storage.TestRecords;

namespace Persistence.Tests.Storage;

/// <summary>
/// Random sequences of commits, conflicts, aborts and reopenings applied to a <see cref="MemoryStorage"/>
/// and a <see cref="FileStorage"/> side by side: both must answer every question the same way.
/// </summary>
public sealed class StorageDifferentialTests : IDisposable
{
    private readonly TempDirectory _directory = new();
    private int _runs;

    public void Dispose() => _directory.Dispose();

    [Fact]
    public void MemoryAndFileStoragesBehaveAlike() =>
        Prop.ForAll<byte[]>(operations => Run(operations)).Check(Config.QuickThrowOnFailure.WithMaxTest(40));

    private bool Run(byte[] operations)
    {
        var path = _directory.File($"run{++_runs}.persist");
        using var memory = new MemoryStorage();
        var file = FileStorage.Open(path);
        try
        {
            var oids = new List<Oid>();
            var step = 0;
            foreach (var operation in operations.Take(25))
            {
                step++;
                var pick = oids.Count == 0 ? Oid.Null : oids[operation % oids.Count];
                switch (operation % 6)
                {
                    case 0 or 1:
                    {
                        // A commit of a new object, plus an update of an existing one from its current serial.
                        var created = memory.NewOid();
                        Assert.Equal(created, file.NewOid());
                        oids.Add(created);
                        var stores = new List<(Oid, long, byte[])> { (created, 0, Make($"new {step}", pick)) };
                        if (!pick.IsNull) stores.Add((pick, memory.Load(pick)!.Value.Tid, Make($"update {step}")));
                        Assert.Equal(Commit(memory, stores), Commit(file, stores));
                        break;
                    }
                    case 2 when !pick.IsNull:
                    {
                        // An update from a serial that is not current (0, or one tid too old).
                        var serial = memory.Load(pick)!.Value.Tid - 1;
                        List<(Oid, long, byte[])> stores = [(pick, serial, Make($"stale {step}"))];
                        Assert.Equal(
                            Assert.Throws<ConflictException>(() => Commit(memory, stores)).Oids,
                            Assert.Throws<ConflictException>(() => Commit(file, stores)).Oids);
                        break;
                    }
                    case 3:
                        foreach (var storage in new IStorage[] { memory, file })
                        {
                            using var transaction = storage.Begin();
                            transaction.Store(new Oid(1000 + (ulong)step), 0, Make("aborted"));
                            if (operation % 2 == 0) transaction.Vote();
                            transaction.Abort();
                        }
                        break;
                    case 4:
                        file.Dispose();
                        file = FileStorage.Open(path);
                        break;
                    default:
                        if (pick.IsNull) break;
                        var before = operation % (memory.LastTid + 2);
                        Assert.Equal(Describe(memory.LoadBefore(pick, before)), Describe(file.LoadBefore(pick, before)));
                        break;
                }
                Assert.Equal(memory.LastTid, file.LastTid);
            }

            foreach (var oid in oids)
                Assert.Equal(Describe(memory.Load(oid)), Describe(file.Load(oid)));
            Assert.Equal(memory.Iterate().Select(r => Describe(r)), file.Iterate().Select(r => Describe(r)));
            for (var tid = 0L; tid <= memory.LastTid; tid++)
                Assert.Subset(file.Poll(tid).ChangedOids.ToHashSet(), memory.Poll(tid).ChangedOids.ToHashSet());
            return true;
        }
        finally
        {
            file.Dispose();
        }
    }

    private static long Commit(IStorage storage, List<(Oid Oid, long Serial, byte[] Data)> stores)
    {
        using var transaction = storage.Begin();
        foreach (var (oid, serial, data) in stores)
            transaction.Store(oid, serial, data);
        transaction.Vote();
        return transaction.Finish();
    }

    private static string Describe(StoredRecord? record) =>
        record is { } r ? $"{r.Oid}@{r.Tid}:{Convert.ToHexString(r.Data.Span)}" : "none";
}
