namespace Persistence.Storage;

/// <summary>
/// The writer lock of a data file: held by the one <see cref="FileStorage"/> that may write it, in
/// this process or any other, for as long as that storage is open.
/// </summary>
/// <remarks>
/// <para>The lock is taken on a sidecar file (<c>data file + ".lock"</c>) rather than on the data file,
/// so that readers can open the data file whatever locks the writer holds. It is held three ways,
/// because each covers a gap in another: opening with <see cref="FileShare.None"/> (an exclusive
/// <c>flock</c> on Unix, a share mode on Windows; both also stop a second open in the same process),
/// a byte-range lock via <see cref="FileStream.Lock"/> (an <c>fcntl</c> lock on Unix, which other
/// programs and network file systems honour where they ignore <c>flock</c>), and a set of the paths
/// this process holds (which still works if .NET's file locking is switched off with
/// <c>DOTNET_SYSTEM_IO_DISABLEFILELOCKING</c>).</para>
/// <para>The lock file is left in place when the storage closes: deleting it could remove a file
/// another process has just opened and locked.</para>
/// </remarks>
internal sealed class FileStorageLock : IDisposable
{
    private static readonly Lock HeldLock = new();
    private static readonly HashSet<string> Held = new(OperatingSystem.IsWindows() ? StringComparer.OrdinalIgnoreCase : StringComparer.Ordinal);

    private readonly string _dataPath;
    private FileStream? _stream;

    private FileStorageLock(string dataPath, FileStream stream)
    {
        _dataPath = dataPath;
        _stream = stream;
    }

    /// <summary>Takes the writer lock of the data file at <paramref name="dataPath"/> (a full path).</summary>
    /// <exception cref="StorageLockedException">Another instance or process holds it.</exception>
    public static FileStorageLock Acquire(string dataPath)
    {
        lock (HeldLock)
        {
            if (!Held.Add(dataPath)) throw Locked(dataPath, null);
        }
        FileStream? stream = null;
        try
        {
            stream = new FileStream(dataPath + ".lock", FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            // .NET has no byte-range locks on macOS; the exclusive open above still holds there.
            if (!OperatingSystem.IsMacOS())
                stream.Lock(0, 1);
            return new FileStorageLock(dataPath, stream);
        }
        catch (UnauthorizedAccessException e)
        {
            Release(dataPath, stream);
            throw new PersistenceException(
                $"Cannot create or open the lock file {dataPath}.lock, so {dataPath} cannot be opened for writing ({e.Message}). " +
                "Make the directory writable, or open the database with FileStorageOptions { ReadOnly = true }.", e);
        }
        catch (DirectoryNotFoundException e)
        {
            Release(dataPath, stream);
            throw new PersistenceException($"The directory of {dataPath} does not exist. Create it first, or check the path.", e);
        }
        catch (IOException e)
        {
            Release(dataPath, stream);
            throw Locked(dataPath, e);
        }
        catch
        {
            Release(dataPath, stream);
            throw;
        }
    }

    /// <summary>Releases the lock.</summary>
    public void Dispose()
    {
        var stream = Interlocked.Exchange(ref _stream, null);
        if (stream is null) return;
        stream.Dispose();
        lock (HeldLock) Held.Remove(_dataPath);
    }

    private static void Release(string dataPath, FileStream? stream)
    {
        stream?.Dispose();
        lock (HeldLock) Held.Remove(dataPath);
    }

    private static StorageLockedException Locked(string dataPath, Exception? inner) => new(
        $"The database {dataPath} is already open for writing by another process or another FileStorage instance in this process. " +
        "Close that one first, or open this one with FileStorageOptions { ReadOnly = true }.", inner);
}
