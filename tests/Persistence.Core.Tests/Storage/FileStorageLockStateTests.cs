using System.Buffers.Binary;
using Persistence.Storage;
using static Persistence.Tests.Storage.TestRecords;

namespace Persistence.Tests.Storage;

/// <summary>
/// The shared state in the lock file names the data file it speaks of. A pack names its new file
/// there before renaming it over the old one, so a writer that finds its own file named knows no pack
/// replaced it without opening the path; these tests hold the rules that keep that true.
/// </summary>
public sealed class FileStorageLockStateTests : IDisposable
{
    private readonly TempDirectory _directory = new();
    private readonly string _path;

    public FileStorageLockStateTests() => _path = Path.GetFullPath(_directory.File("data.persist"));

    public void Dispose() => _directory.Dispose();


    private (Guid DatabaseId, ulong FileId) Identity()
    {
        var header = File.ReadAllBytes(_path).AsSpan(0, 64);
        return (new Guid(header[16..32]), BinaryPrimitives.ReadUInt64LittleEndian(header[32..]));
    }

    private LockState StateFor(ulong fileId)
    {
        using var lockFile = FileStorageLock.OpenForWriting(_path);
        lockFile.Bind(Identity().DatabaseId, fileId);
        return lockFile.ReadState();
    }

    [Fact]
    public void AWriterBoundToAReplacedFileNeverMakesTheStateNameItAgain()
    {
        using (var storage = FileStorage.Open(_path))
            Commit(storage, (storage.NewOid(), 0, Make("one")));
        var (databaseId, oldFile) = Identity();
        const ulong newFile = 0x5EED;

        using var packer = FileStorageLock.OpenForWriting(_path);
        packer.Bind(databaseId, newFile);
        packer.Claim(durableEnd: 4096);
        var before = StateFor(newFile);

        // A process still bound to the old file flushes, reserves and returns oids, and opens.
        using var stale = FileStorageLock.OpenForWriting(_path);
        stale.Bind(databaseId, oldFile);
        Assert.Equal(LockStateKind.OtherFile, stale.ReadState().Kind);
        stale.RaiseDurableEnd(1 << 20);
        var first = stale.ReserveOids(highestStored: before.OidMark + 10, count: 16);
        stale.ReturnOids(first + 15, first + 4);
        stale.Initialize(-1);
        stale.ForgetDurableEnd();

        var after = StateFor(newFile);
        Assert.True(after.Valid);
        Assert.Equal(newFile, after.FileId);
        Assert.Equal(4096, after.DurableEnd);
        // The oid mark belongs to the database: the stale process's reservation counts, less what it gave back.
        Assert.Equal(first + 3, after.OidMark);
        Assert.False(StateFor(oldFile).Valid);
    }

    [Fact]
    public void ACommitAfterAPackThatDiedBeforeItsRenameMakesTheStateNameTheFileAgain()
    {
        using var storage = FileStorage.Open(_path);
        var oid = storage.NewOid();
        var t1 = Commit(storage, (oid, 0, Make("one")));
        var (databaseId, fileId) = Identity();

        // A pack named its new file in the state, then died before renaming it over the data file.
        using (var packer = FileStorageLock.OpenForWriting(_path))
        {
            packer.Bind(databaseId, fileId ^ 0xFFFF);
            packer.Claim(durableEnd: 64);
        }
        Assert.False(StateFor(fileId).Valid);

        var t2 = Commit(storage, (oid, t1, Make("two")));

        var state = StateFor(fileId);
        Assert.True(state.Valid);
        Assert.Equal(fileId, state.FileId);
        Assert.Equal(0, storage.FileEpoch);
        storage.Dispose();
        using var reopened = FileStorage.Open(_path);
        Assert.Equal(t2, reopened.Load(oid)!.Value.Tid);
        Assert.Equal("two", Text(reopened.Load(oid)));
    }

    private long RawLockFileWord(int offset)
    {
        using var file = File.Open(_path + ".lock", FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        var bytes = new byte[8];
        file.Position = offset;
        file.ReadExactly(bytes);
        return BitConverter.ToInt64(bytes);
    }

    private const int StateDurableEndOffset = 48;
    private const int DurableHintOffset = 104;

    /// <summary>A writer after two durable commits: the second's flush raised the hint after the first's oid reservation rewrote the state.</summary>
    private FileStorage OpenWithTwoCommits()
    {
        var storage = FileStorage.Open(_path);
        Commit(storage, (storage.NewOid(), 0, Make("one")));
        Commit(storage, (storage.NewOid(), 0, Make("two")));
        return storage;
    }

    [Fact]
    public void ADurableEndRaisedWithoutTheStateLockIsSeenByEveryWriterAndMovesIntoTheStateAtItsNextRewrite()
    {
        using var storage = OpenWithTwoCommits();
        var end = storage.DataEnd;

        // The flush raised the hint beside the state, not the state (which its oid reservation wrote last).
        var hint = RawLockFileWord(DurableHintOffset);
        Assert.Equal(end, hint & ((1L << 48) - 1));
        Assert.True(RawLockFileWord(StateDurableEndOffset) < end);
        var (databaseId, fileId) = Identity();
        using (var other = FileStorageLock.OpenForWriting(_path))
        {
            other.Bind(databaseId, fileId);
            Assert.Equal(end, other.ReadState().DurableEnd);
            // Any rewrite of the state under its lock takes the hint in, and clears it.
            other.ReserveOids(highestStored: 0, count: 16);
        }
        Assert.Equal(end, RawLockFileWord(StateDurableEndOffset));
        Assert.Equal(0, RawLockFileWord(DurableHintOffset));
        Assert.Equal(end, StateFor(fileId).DurableEnd);
    }

    [Fact]
    public void ADurableHintOfAnotherFileIsIgnoredAndAWriterBoundToAnotherFileRaisesNone()
    {
        using var storage = OpenWithTwoCommits();
        var (databaseId, fileId) = Identity();
        var hint = RawLockFileWord(DurableHintOffset);
        Assert.NotEqual(0, hint);
        // What the state alone says: a rewrite takes the hint in, so look before one.
        var durable = RawLockFileWord(StateDurableEndOffset);
        Assert.True(durable < (hint & ((1L << 48) - 1)));

        // The same durable end, far beyond the file, under another tag (as a replaced file's would be).
        using (var file = File.Open(_path + ".lock", FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete))
        {
            file.Position = DurableHintOffset;
            file.Write(BitConverter.GetBytes((hint ^ (1L << 48)) | (1L << 40)));
        }
        Assert.Equal(durable, StateFor(fileId).DurableEnd);

        using var stale = FileStorageLock.OpenForWriting(_path);
        stale.Bind(databaseId, fileId + 1);
        stale.RaiseDurableEnd(1L << 30);
        Assert.Equal(durable, StateFor(fileId).DurableEnd);
        Assert.Equal((hint ^ (1L << 48)) | (1L << 40), RawLockFileWord(DurableHintOffset));
    }

    [Fact]
    public void AWriterWithoutTheMappingReadsTheDurableHintAndClearsItWhenItRewritesTheState()
    {
        using var storage = OpenWithTwoCommits();
        var end = storage.DataEnd;
        var (databaseId, fileId) = Identity();
        Assert.NotEqual(0, RawLockFileWord(DurableHintOffset));

        using var unmapped = FileStorageLock.OpenForWriting(_path, map: false);
        Assert.Null(unmapped.Signal);
        unmapped.Bind(databaseId, fileId);
        Assert.Equal(end, unmapped.ReadState().DurableEnd);

        // Told the data file no longer matches its durable end: forgotten in the state and in the hint.
        unmapped.ForgetDurableEnd();
        Assert.Equal(0, RawLockFileWord(DurableHintOffset));
        Assert.Equal(-1, StateFor(fileId).DurableEnd);
        Assert.Equal(-1, unmapped.ReadState().DurableEnd);
    }

    [Fact]
    public void AStateThatNamesThisFileIsReadWithoutItsLockAndAgreesWithTheLockedRead()
    {
        using var storage = FileStorage.Open(_path);
        var oid = storage.NewOid();
        Commit(storage, (oid, 0, Make("one")));
        var (databaseId, fileId) = Identity();
        using var lockFile = FileStorageLock.OpenForWriting(_path);
        lockFile.Bind(databaseId, fileId);

        var state = lockFile.ReadState();

        Assert.True(state.Valid);
        Assert.Equal(new FileInfo(_path).Length, state.DurableEnd);
        Assert.True(state.OidMark >= oid.Value);
    }

    [Fact]
    public void ADamagedStateIsStartedOverByTheNextCommit()
    {
        using var storage = FileStorage.Open(_path);
        var oid = storage.NewOid();
        var t1 = Commit(storage, (oid, 0, Make("one")));
        var lockPath = _path + ".lock";
        var bytes = File.ReadAllBytes(lockPath);
        bytes[44] ^= 0x10;
        File.WriteAllBytes(lockPath, bytes);
        Assert.Equal(LockStateKind.Unknown, StateFor(Identity().FileId).Kind);

        Commit(storage, (oid, t1, Make("two")));

        Assert.True(StateFor(Identity().FileId).Valid);
        Assert.Equal("two", Text(storage.Load(oid)));
    }
}
