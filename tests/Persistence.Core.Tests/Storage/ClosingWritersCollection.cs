namespace Persistence.Tests.Storage;

/// <summary>
/// The tests that check what the last writer to close does (writes the checkpoint, cuts off free
/// space) run alone, after the others. A writer tells that it is the last from the lock file's users
/// byte, and a program that another test starts at that moment holds this process's descriptors,
/// with their shares, until the program runs: the writer then leaves that work to a later close.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ClosingWritersCollection
{
    public const string Name = "Closing writers";
}
