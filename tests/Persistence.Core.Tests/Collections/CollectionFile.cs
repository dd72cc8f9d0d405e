namespace Persistence.Tests.Collections;

/// <summary>
/// A database file holding one collection under the root key "c". Each step opens the file anew with
/// a cold connection, so what a step sees is what the previous one stored, not a cached object.
/// </summary>
internal sealed class CollectionFile : IDisposable
{
    private readonly TempFolder _folder = new();

    private string Path => _folder.File("collection.db");

    /// <summary>Stores <paramref name="collection"/> under the root.</summary>
    public void Store(PersistentObject collection)
    {
        using var db = Database.Open(Path, TestDatabase.Cold());
        using var connection = db.OpenConnection();
        connection.Root["c"] = collection;
        connection.Commit();
    }

    /// <summary>Runs <paramref name="change"/> on the stored collection, checks that it was marked changed, and commits a new transaction.</summary>
    public void Change<T>(Action<T> change) where T : PersistentObject => Commit(change, writes: true);

    /// <summary>Runs <paramref name="call"/> on the stored collection and checks that it marked nothing changed and the commit wrote nothing.</summary>
    public void WritesNothing<T>(Action<T> call) where T : PersistentObject => Commit(call, writes: false);

    private void Commit<T>(Action<T> call, bool writes) where T : PersistentObject
    {
        using var db = Database.Open(Path, TestDatabase.Cold());
        using var connection = db.OpenConnection();
        var before = db.Storage.LastTid;
        call((T)connection.Root["c"]);
        Assert.True(connection.HasChanges == writes, writes ? "The change did not mark the collection changed." : "A call that changes nothing marked the collection changed.");
        connection.Commit();
        Assert.True(db.Storage.LastTid > before == writes, writes ? "The commit wrote no transaction." : "The commit wrote a transaction.");
    }

    /// <summary>Reads the stored collection in a fresh database and connection.</summary>
    public TResult Read<T, TResult>(Func<T, TResult> read) where T : PersistentObject
    {
        using var db = Database.Open(Path, TestDatabase.Cold());
        using var connection = db.OpenConnection();
        return read((T)connection.Root["c"]);
    }

    public void Dispose() => _folder.Dispose();
}
