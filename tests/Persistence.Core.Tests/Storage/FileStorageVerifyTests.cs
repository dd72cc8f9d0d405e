using System.Buffers.Binary;
using Persistence.Storage;
using static Persistence.Tests.Storage.TestRecords;

namespace Persistence.Tests.Storage;

public sealed class FileStorageVerifyTests : IDisposable
{
    private readonly TempDirectory _directory = new();
    private readonly string _path;

    public FileStorageVerifyTests() => _path = _directory.File("data.persist");

    public void Dispose() => _directory.Dispose();

    /// <summary>Six transactions of two records each; returns where each starts, plus the end.</summary>
    private long[] SixTransactions()
    {
        var starts = new List<long>();
        using var storage = FileStorage.Open(_path);
        var shared = storage.NewOid();
        var serial = 0L;
        for (var i = 0; i < 6; i++)
        {
            starts.Add(new FileInfo(_path).Length);
            using var transaction = storage.Begin();
            transaction.Store(shared, serial, Make($"shared {i}"));
            transaction.Store(storage.NewOid(), 0, Make($"object {i}"));
            transaction.Vote();
            serial = transaction.Finish();
        }
        starts.Add(new FileInfo(_path).Length);
        return [.. starts];
    }

    private void Damage(params long[] offsets)
    {
        var bytes = File.ReadAllBytes(_path);
        foreach (var offset in offsets) bytes[offset] ^= 0x08;
        File.WriteAllBytes(_path, bytes);
    }

    [Fact]
    public void ASoundFileReportsWhatItChecked()
    {
        var starts = SixTransactions();

        var report = FileStorage.Verify(_path);

        Assert.True(report.IsValid, report.ToString());
        Assert.Empty(report.Problems);
        Assert.Equal(6, report.TransactionCount);
        Assert.Equal(12, report.RecordCount);
        Assert.Equal(6, report.LastTid);
        Assert.Equal(starts[6], report.FileLength);
        Assert.Null(report.IncompleteTailOffset);
        Assert.Contains("no damage", report.ToString());
    }

    [Fact]
    public void EveryDamagedTransactionIsReportedWithItsOffsetNotJustTheFirst()
    {
        var starts = SixTransactions();
        // A flipped bit in a record of the second transaction, another in the header of the fifth.
        Damage(starts[1] + 32 + DataHeaderSizeAt(_path, starts[1] + 32) + 3, starts[4] + 9);

        var report = FileStorage.Verify(_path);

        Assert.False(report.IsValid);
        Assert.Equal([starts[1], starts[4]], report.Problems.Select(p => p.Offset));
        Assert.Contains($"offset {starts[1] + 32}", report.Problems[0].Description); // the record that fails its checksum
        Assert.Equal(4, report.TransactionCount);
        Assert.Equal(6, report.LastTid);
        Assert.Contains($"at offset {starts[1]}:", report.ToString());
        Assert.Contains($"at offset {starts[4]}:", report.ToString());
        // Opening stops at the first.
        Assert.Equal(starts[1], Assert.Throws<CorruptDatabaseException>(() => FileStorage.Open(_path)).Offset);
    }

    [Fact]
    public void ATransactionWithAnImpossibleLengthIsReportedOnceAndTheRestChecked()
    {
        var starts = SixTransactions();
        var bytes = File.ReadAllBytes(_path);
        var header = bytes.AsSpan((int)starts[2], 32);
        BinaryPrimitives.WriteInt64LittleEndian(header[16..], 20);
        BinaryPrimitives.WriteUInt32LittleEndian(header[28..], Crc32C.Compute(header[..28]));
        File.WriteAllBytes(_path, bytes);

        var report = FileStorage.Verify(_path);

        var problem = Assert.Single(report.Problems);
        Assert.Equal(starts[2], problem.Offset);
        Assert.Contains("impossible", problem.Description);
        Assert.Equal(5, report.TransactionCount);
    }

    [Fact]
    public void AnIncompleteTransactionAtTheEndIsNotDamage()
    {
        var starts = SixTransactions();
        File.WriteAllBytes(_path, File.ReadAllBytes(_path)[..(int)(starts[5] + 50)]);

        var report = FileStorage.Verify(_path);

        Assert.True(report.IsValid, report.ToString());
        Assert.Equal(starts[5], report.IncompleteTailOffset);
        Assert.Equal(5, report.TransactionCount);
    }

    [Fact]
    public void VerifyingADirectorySaysItIsOneNotThatAccessIsDenied()
    {
        var directory = _directory.File("folder");
        Directory.CreateDirectory(directory);

        var error = Assert.Throws<PersistenceException>(() => FileStorage.Verify(directory));
        Assert.Contains("is a directory", error.Message);
        Assert.DoesNotContain("denied", error.Message);
    }

    [Fact]
    public void AFileHeaderZeroedWholeIsDamageNotAnotherProgramsFile()
    {
        var starts = SixTransactions();
        var bytes = File.ReadAllBytes(_path);
        bytes.AsSpan(0, 64).Clear();
        File.WriteAllBytes(_path, bytes);

        foreach (var readOnly in new[] { true, false })
        {
            var error = Assert.Throws<CorruptDatabaseException>(() => FileStorage.Open(_path, new FileStorageOptions { ReadOnly = readOnly }));
            Assert.Equal(0, error.Offset);
            Assert.Contains("header", error.Message);
        }
        // Kept: it is this database's (a file that is not a database has its lock file removed).
        Assert.True(File.Exists(_path + ".lock"));
        var report = FileStorage.Verify(_path);
        Assert.Equal(0, Assert.Single(report.Problems).Offset);
        Assert.Equal(6, report.TransactionCount);
        Assert.Equal(starts[6], report.FileLength);
    }

    [Fact]
    public void ADamagedFileHeaderIsReportedAndTheTransactionsStillChecked()
    {
        SixTransactions();
        Damage(20);

        var report = FileStorage.Verify(_path);

        Assert.Equal(0, Assert.Single(report.Problems).Offset);
        Assert.Equal(6, report.TransactionCount);
    }

    [Fact]
    public void VerifyingSomethingElseIsRefused()
    {
        File.WriteAllText(_path, "not a database, just text that is long enough to hold a header...........");
        Assert.Contains("not a Persistence database", Assert.Throws<PersistenceException>(() => FileStorage.Verify(_path)).Message);
        Assert.Throws<PersistenceException>(() => FileStorage.Verify(_directory.File("missing.persist")));
    }
}
