using Persistence.Storage;

namespace Persistence.Tests.Storage;

public sealed class FileStorageConformanceTests : StorageConformanceTests
{
    private readonly TempDirectory _directory = new();
    private int _count;

    protected override IStorage CreateStorage() => FileStorage.Open(_directory.File($"db{++_count}.persist"));

    protected override IStorage ReopenStorage(IStorage storage)
    {
        var path = ((FileStorage)storage).FilePath;
        storage.Dispose();
        return FileStorage.Open(path);
    }

    public override void Dispose()
    {
        base.Dispose();
        _directory.Dispose();
    }
}
