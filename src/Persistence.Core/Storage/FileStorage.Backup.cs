namespace Persistence.Storage;

public sealed partial class FileStorage
{
    private const int BackupChunkSize = 1 << 20;

    /// <summary>Called after each chunk a backup copies (for tests: a pack can replace the file there).</summary>
    internal Action? BackupChunkCopied { get; set; }

    /// <summary>
    /// Copies the database, while it is in use, to <paramref name="destinationPath"/>: every
    /// transaction committed when the backup starts (by any process), nothing of what is committed
    /// meanwhile. The copy is written beside the destination under a temporary name, flushed to disk
    /// and then renamed, so the destination is either the previous file or the complete backup.
    /// </summary>
    /// <remarks>
    /// No lock is taken: committed transactions are never rewritten (the file is append-only), so the
    /// bytes up to the end of the last committed transaction stay what they are while they are copied.
    /// (Copying the file with <c>cp</c> works too if its writers reserve no free space
    /// (<see cref="FileStorageOptions.ReserveFreeSpace"/>): a transaction that was half written when
    /// the copy reached it is then an incomplete tail that opening ignores.)
    /// <para>A pack, by this process or another, that replaces the file while it is copied makes the copy
    /// start over from the packed file once this instance switches to it (the old file may stay open for
    /// the snapshots of connections from before), and the copy holds what was committed until it
    /// started over too (three copies at most).</para>
    /// </remarks>
    /// <param name="destinationPath">Where the backup goes; an existing database file there (an earlier backup) is replaced, an empty file too.</param>
    /// <returns>The tid of the last transaction in the backup.</returns>
    /// <exception cref="ArgumentException">The destination is the data file itself (or a file the database keeps beside it: its lock
    /// file, index checkpoint, or a pack's new file and its checkpoint), by
    /// whatever path, symbolic links followed; a database that a program has open for writing (where
    /// that can be told: on Linux); or an existing file that is not a database.</exception>
    /// <exception cref="PersistenceException">The copy could not be written, or the file was packed during
    /// each of three copies (the message says why).</exception>
    public long Backup(string destinationPath)
    {
        ThrowIfDisposed();
        // The refusals below name no parameter: the runtime would end each message with "(Parameter 'destinationPath')",
        // the name of this method's parameter, which a program that shows the message to its user (Database.Backup's
        // caller, the command-line tool) never mentioned. The path and the reason are in the message.
        if (destinationPath is null) throw new ArgumentNullException(NoDestination, innerException: null);
        if (destinationPath.Length == 0) throw new ArgumentException(NoDestination);
        var destination = Path.GetFullPath(destinationPath);
        var comparison = OperatingSystem.IsWindows() || OperatingSystem.IsMacOS() ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal;
        // Compared with symbolic links followed: through a linked directory (or a link to the file) the
        // rename below would put the copy in place of the open data file, and later commits, which go
        // to the old file, would be lost on reopen. FilePath had its links followed when it was opened;
        // it and the lock file are resolved again, as a link may have been put in their place since.
        var resolved = WithLinksResolved(destination);
        if (string.Equals(resolved, WithLinksResolved(FilePath), comparison))
            throw new ArgumentException($"The backup of {FilePath} cannot be written over the database itself; choose another path.");
        // The files the database keeps beside it: their owners write, rename over or delete them (a
        // checkpoint renames over the index, the next pack deletes a pack's leftovers), losing a backup there.
        foreach (var (companion, what) in CompanionFiles())
        {
            if (string.Equals(resolved, WithLinksResolved(companion), comparison))
                throw new ArgumentException($"The backup of {FilePath} cannot be written to {companion}: that is the database's {what}, which the database writes or deletes itself, losing a backup there; choose another path.");
        }
        ThrowIfInUse(destination);
        ThrowIfNotADatabase(destination);
        DeleteBackupLeftovers(destination);

        for (var attempt = 1; ; attempt++)
        {
            if (TryBackup(destination, attempt == MaxBackupAttempts, out var tid)) return tid;
        }
    }

    /// <summary>
    /// Removes the temporary copies that backups to <paramref name="destination"/> killed part-way left
    /// beside it (<c>destination.xxxxxxxx.partial</c>, as large as the copy had got). A copy that a backup
    /// still writes is kept: its writer holds it open exclusively, and writes it without pause.
    /// </summary>
    private static void DeleteBackupLeftovers(string destination)
    {
        try
        {
            var directory = Path.GetDirectoryName(destination)!;
            var name = Path.GetFileName(destination);
            foreach (var path in Directory.EnumerateFiles(directory, name + ".*.partial"))
            {
                var middle = Path.GetFileName(path)[(name.Length + 1)..^".partial".Length];
                if (middle.Length != 8 || !middle.All(char.IsAsciiHexDigitLower)) continue;
                if (File.GetLastWriteTimeUtc(path) > DateTime.UtcNow.AddSeconds(-LeftoverBackupQuietSeconds)) continue;
                try
                {
                    // Open exclusively: a backup under way (in any process) holds its copy so, and a killed one no longer does.
                    using var probe = File.OpenHandle(path, FileMode.Open, FileAccess.ReadWrite, FileShare.None);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    continue;
                }
                TryDelete(path);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Only tidying: the backup goes on.
        }
    }

    // A copy not written for this long, and held by no one, was left by a backup that was killed.
    private const int LeftoverBackupQuietSeconds = 10;

    /// <summary>The files the database keeps beside its data file, each with what it is.</summary>
    private (string Path, string What)[] CompanionFiles() =>
    [
        (FilePath + ".lock", "lock file"),
        (FileStorageCheckpoint.PathOf(FilePath), "index checkpoint"),
        (PackPath, "new file while it is packed"),
        (PackCheckpointPath, "packed file's index checkpoint"),
    ];

    // A pack that replaces the file while it is copied makes the copy start over from the packed file, this many times at most.
    private const int MaxBackupAttempts = 3;

    /// <summary>One copy; false if a pack replaced the file while it was copied (unless <paramref name="last"/>, which throws then).</summary>
    private bool TryBackup(string destination, bool last, out long tid)
    {
        // From the newest file: a pack by another process may have replaced it since this instance last
        // looked (its commits after that pack are in the new file only).
        CatchUp(judge: true);
        SwitchIfReplaced(thorough: true);
        long end;
        // The file with its end: a pack may replace the file meanwhile (see FileStorage.Switch.cs).
        Microsoft.Win32.SafeHandles.SafeFileHandle file;
        lock (_stateLock)
        {
            end = _end;
            tid = _lastTid;
            file = _file;
        }
        var temporary = destination + "." + Guid.NewGuid().ToString("N")[..8] + ".partial";
        try
        {
            var overtaken = false;
            using (var output = File.OpenHandle(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                var buffer = new byte[(int)Math.Min(BackupChunkSize, end)];
                for (long position = 0; position < end;)
                {
                    // Switched to a packed file: the old one may stay open for old snapshots (FileStorage.Replaced.cs), but the copy starts over from the new one.
                    overtaken = !ReferenceEquals(file, Volatile.Read(ref _file));
                    if (overtaken) break;
                    var chunk = buffer.AsSpan(0, (int)Math.Min(buffer.Length, end - position));
                    var read = ReadAt(file, position, chunk);
                    if (read < chunk.Length)
                        throw new PersistenceException($"{FilePath} ended at {position + read} while it was backed up up to {end}: it was truncated or replaced outside Persistence.");
                    RandomAccess.Write(output, chunk, position);
                    position += read;
                    BackupChunkCopied?.Invoke();
                }
                if (!overtaken) RandomAccess.FlushToDisk(output);
            }
            if (overtaken) return StartOver(temporary, last);
            ThrowIfInUse(destination);
            File.Move(temporary, destination, overwrite: true);
            FileSystemSync.FlushDirectoryOf(destination);
            return true;
        }
        catch (ObjectDisposedException) when (!_disposed)
        {
            return StartOver(temporary, last);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            TryDelete(temporary);
            throw new PersistenceException($"Could not write the backup of {FilePath} to {destination}: {PersistenceException.Sentence(e)} Check the path, its permissions and free space.", e);
        }
        catch
        {
            TryDelete(temporary);
            throw;
        }
    }

    /// <summary>A copy that a pack overtook: deleted, to start over from the packed file (false), unless it was the <paramref name="last"/> attempt.</summary>
    private bool StartOver(string temporary, bool last)
    {
        TryDelete(temporary);
        if (!last) return false;
        throw new PersistenceException($"{FilePath} was packed each of the {MaxBackupAttempts} times it was being backed up, and the copy started over each time. Back it up again when it is packed less often.");
    }

    // As many links as Linux follows in one path (MAXSYMLINKS) before it gives up with ELOOP.
    private const int MaxLinksFollowed = 40;

    /// <summary>
    /// The path that <paramref name="fullPath"/> (a full path) reaches with the symbolic links in
    /// every component followed, through links to links, as the file system follows them when the
    /// path is opened: a relative link target is taken from the link's directory, and a <c>..</c> in a
    /// target from where the path has led so far (the kernel's way, not the text's). A component that
    /// does not exist is kept as it is, so a file that does not exist yet gets its directory resolved;
    /// after <see cref="MaxLinksFollowed"/> links (a loop) the rest is kept as it is too.
    /// </summary>
    internal static string WithLinksResolved(string fullPath)
    {
        var resolved = Path.GetPathRoot(fullPath)!;
        var pending = new Stack<string>();
        PushComponents(pending, fullPath[resolved.Length..]);
        var followed = 0;
        while (pending.TryPop(out var component))
        {
            if (component == ".") continue;
            if (component == "..")
            {
                resolved = Path.GetDirectoryName(resolved) ?? resolved;
                continue;
            }
            var path = Path.Join(resolved, component);
            var target = followed < MaxLinksFollowed ? LinkTargetOf(path) : null;
            if (target is null)
            {
                resolved = path;
                continue;
            }
            followed++;
            if (Path.IsPathRooted(target))
            {
                // "\dir" or "C:dir" on Windows are rooted, not complete: completed from the link's directory.
                if (!Path.IsPathFullyQualified(target)) target = Path.GetFullPath(target, resolved);
                resolved = Path.GetPathRoot(target)!;
                target = target[resolved.Length..];
            }
            PushComponents(pending, target);
        }
        return resolved;

        static void PushComponents(Stack<string> pending, string relative)
        {
            var components = relative.Split([Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar], StringSplitOptions.RemoveEmptyEntries);
            for (var i = components.Length - 1; i >= 0; i--)
                pending.Push(components[i]);
        }

        static string? LinkTargetOf(string path)
        {
            // Null for a path that is not a link or does not exist; a component that cannot be examined
            // (a directory this process may not search) is taken as it is, as one that is no link.
            try
            {
                return new FileInfo(path).LinkTarget;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                return null;
            }
        }
    }

    private const string NoDestination = "A backup needs the path of the file to write it to; none was given.";

    /// <summary>
    /// Refuses a destination that is a database other writers have open: the rename would put the copy
    /// in place of their file while they go on committing to the old one, and everything they commit
    /// after it would be lost (checked before the copy and again right before the rename).
    /// </summary>
    private static void ThrowIfInUse(string destination)
    {
        if (FileStorageLock.HasWriters(destination))
            throw new ArgumentException(
                $"{destination} is a database that a program has open for writing: a backup would replace it under that program, and what it commits after would be lost. " +
                "Close that program first, or choose another path.");
    }

    /// <summary>
    /// Refuses to replace a file that is not a database (an earlier backup is one): a mistyped path must not
    /// cost the file that is there. An empty file may be replaced (see <see cref="StartsWithSignature"/>).
    /// </summary>
    private static void ThrowIfNotADatabase(string destination)
    {
        if (!File.Exists(destination)) return;
        bool database;
        try
        {
            using var existing = File.OpenHandle(destination, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            database = StartsWithSignature(existing);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ArgumentException($"{destination} exists and cannot be read ({e.Message}), so whether it is a database a backup may replace is not known. Choose another path, or delete the file first.", e);
        }
        if (!database)
            throw new ArgumentException(
                $"{destination} exists and is not a Persistence database: a backup replaces only a database file (an earlier backup). Choose another path, or delete the file first if it is to go.");
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Leaving a partial copy behind is harmless: its name says what it is.
        }
    }
}
