namespace Persistence;

/// <summary>Messages shared by the persistent collections.</summary>
internal static class CollectionTypes
{
    public static InvalidOperationException NotRegistered(string collection, string arguments) =>
        new($"{collection}<{arguments}> is not registered, so it cannot be stored or loaded. The source generator registers every closed collection type it sees in a project that references Persistence; make sure the generator runs for the project that uses this type, or call {collection}<{arguments}>.Register(...) at start-up.");
}
