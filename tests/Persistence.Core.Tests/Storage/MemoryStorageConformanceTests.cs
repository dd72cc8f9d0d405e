using Persistence.Storage;

namespace Persistence.Tests.Storage;

public sealed class MemoryStorageConformanceTests : StorageConformanceTests
{
    protected override IStorage CreateStorage() => new MemoryStorage();

    protected override IStorage ReopenStorage(IStorage storage) => storage;
}
