using Persistence.Serialization;
using Microsoft.Win32.SafeHandles;
using static Persistence.Storage.FileStorageFormat;

namespace Persistence.Storage;

public sealed partial class FileStorage
{
    /// <summary>
    /// Reads a whole data file and checks every checksum, length, tid and previous-revision link,
    /// reporting every damaged transaction instead of stopping at the first (opening stops there).
    /// Reads only: it may run while processes use the file, and checks what was in it when it started.
    /// </summary>
    /// <param name="path">The data file.</param>
    /// <returns>The counts of what was checked and the list of problems with their offsets.</returns>
    /// <exception cref="PersistenceException">There is no such file, it is a directory, or it is not a Persistence database.</exception>
    public static FileStorageReport Verify(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        // Links followed, as Open follows them: the lock file that says how far the file is durable lies beside the file itself.
        var fullPath = WithLinksResolved(Path.GetFullPath(path));
        // Opening a directory fails as a denied access, whose message would send the user to the permissions.
        if (Directory.Exists(fullPath))
            throw new PersistenceException($"{fullPath} is a directory, not a database file. Give the path of the database file in it.");
        SafeFileHandle file;
        try
        {
            file = File.OpenHandle(fullPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new PersistenceException($"Cannot read {fullPath} to verify it: {e.Message}", e);
        }
        using (file)
        {
            return new Verifier(fullPath, file).Run();
        }
    }

    private sealed class Verifier(string path, SafeFileHandle file)
    {
        private readonly List<FileStorageProblem> _problems = [];
        private readonly Dictionary<ulong, long> _newest = [];
        // Damaged transactions: records after them may link to revisions inside, which cannot be checked.
        private readonly List<(long Start, long End)> _damaged = [];
        // For each oid a record refers to, the offset of the first such record: every one must have a revision (see CheckReferences).
        private readonly Dictionary<ulong, long> _referrers = [];
        private long _lastTid;
        private int _transactions;
        private long _records;

        public FileStorageReport Run()
        {
            var length = RandomAccess.GetLength(file);
            var (databaseId, fileId) = CheckHeader(length);
            long? tail = null;
            using var scanner = new FileStorageScanner(file);
            long position = FileHeaderSize;
            var durableEnd = DurableEnd(databaseId, fileId);
            // Before the end the index checkpoint vouches for, every transaction was whole on disk: one
            // that is not whole now was damaged, even with nothing complete after it.
            var vouchedEnd = FileStorageCheckpoint.VouchedEnd(path, file, length, databaseId, fileId);
            while (position < length)
            {
                var outcome = scanner.ReadTransaction(position, length, RecordBytes.Shared, out var header, out var problem);
                if (outcome == ScanOutcome.Complete)
                {
                    Check(header, position, scanner.Records);
                    position += header.Length;
                    continue;
                }
                if (outcome is ScanOutcome.End) break;
                // Whether the lock file shows it was on disk whole, should it be the last.
                var flushedWhole = FlushedWhole(position, header.Length, length, durableEnd);
                if (outcome is ScanOutcome.Free)
                {
                    // Zeros to the end of the file: free space a writer reserved, not a tail.
                    if (scanner.IsFree(position, length) && !flushedWhole) break;
                    outcome = ScanOutcome.Damaged;
                }
                if (outcome is ScanOutcome.Torn && position >= vouchedEnd && !flushedWhole)
                {
                    tail = position;
                    break;
                }
                // The declared length is worth following only when the header's checksum held (it is 0
                // otherwise) and the length is possible; else the next transaction is searched for byte by byte.
                var trusted = header.Length >= MinimumTransactionSize && header.Length <= length - position;
                var from = trusted ? position + header.Length : position + 1;
                var next = from < length ? scanner.FindCompleteTransaction(from, length, _lastTid + 1) : -1;
                if (outcome is ScanOutcome.Torn or ScanOutcome.Damaged && next < 0 && (position < vouchedEnd || flushedWhole))
                {
                    _problems.Add(new FileStorageProblem(position, "The last transaction fails its checksum or is cut short, yet " + (position < vouchedEnd
                        ? "the index checkpoint shows it was whole on disk when the checkpoint was written"
                        : "the lock file shows it was flushed to disk whole")));
                    break;
                }
                if (outcome == ScanOutcome.Damaged && (next < 0 || position >= durableEnd))
                {
                    // Nothing complete after it, or past the last flush: what an interrupted write or a
                    // system crash leaves, which opening ignores (see FileStorage.ScanTail).
                    tail = position;
                    break;
                }
                _problems.Add(new FileStorageProblem(position, outcome == ScanOutcome.Damaged
                    ? "The transaction fails its checksum or has no commit marker, yet complete transactions follow it" + (problem is null ? "" : $" ({problem})")
                    : problem ?? "The transaction's contents are impossible"));
                if (next < 0) break;
                _damaged.Add((position, next));
                position = next;
            }
            CheckReferences();
            return new FileStorageReport(path, length, _transactions, _records, _lastTid, _problems, tail);
        }

        /// <summary>
        /// Reports references to oids of which the file holds no revision (a reference that dangles: the
        /// referring record or the referred one damaged or lost, or a pack that dropped too much). Skipped
        /// where damaged transactions were found, which may hold the missing revisions.
        /// </summary>
        private void CheckReferences()
        {
            if (_damaged.Count > 0 || _problems.Count > 0) return;
            foreach (var (oid, referrer) in _referrers)
            {
                if (!_newest.ContainsKey(oid))
                    _problems.Add(new FileStorageProblem(referrer, $"The record at offset {referrer} refers to oid {oid}, of which the file holds no revision (the reference dangles)"));
            }
        }

        private void NoteReferences(ScannedRecord record)
        {
            try
            {
                var references = RecordFormat.ReferencesOf(record.Data.Span);
                while (references.MoveNext())
                {
                    if (!references.Current.IsNull) _referrers.TryAdd(references.Current.Value, record.Offset);
                }
            }
            catch (FormatException e)
            {
                _problems.Add(new FileStorageProblem(record.Offset, $"The record of oid {record.Oid} has a damaged reference list ({e.Message})"));
            }
        }

        private (Guid DatabaseId, ulong FileId) CheckHeader(long length)
        {
            Span<byte> bytes = stackalloc byte[FileHeaderSize];
            var read = length >= FileHeaderSize ? RandomAccess.Read(file, bytes, 0) : 0;
            if ((read < FileHeaderSize || !ReadFileHeader(bytes).SignatureMatches) && HeldDataEvidence(path, file) is { } evidence)
            {
                // A database's damaged or cut header: its ids are unknown, so no lock file or checkpoint vouches for anything.
                _problems.Add(new FileStorageProblem(0, read < FileHeaderSize
                    ? $"The file is {length} bytes long, shorter than its header, yet {evidence}"
                    : $"The file header lacks the signature (it is damaged), yet {evidence}"));
                return (Guid.Empty, 0);
            }
            if (read < FileHeaderSize || !ReadFileHeader(bytes).SignatureMatches)
                throw new PersistenceException($"{path} is not a Persistence database (it does not start with a complete file storage header).");
            var header = ReadFileHeader(bytes);
            if (!header.ChecksumMatches || header.HeaderSize != FileHeaderSize)
                _problems.Add(new FileStorageProblem(0, "The file header fails its checksum"));
            else if (header.Version != FormatVersion)
                throw new PersistenceException($"{path} has file format {header.Version}; this version of Persistence verifies format {FormatVersion}.");
            return (header.DatabaseId, ReadFileId(bytes));
        }

        private long DurableEnd(Guid databaseId, ulong fileId)
        {
            using var lockFile = FileStorageLock.TryOpenForReading(path);
            lockFile?.Bind(databaseId, fileId);
            var state = lockFile?.ReadState() ?? LockState.Unknown;
            return state.Valid && state.DurableEnd >= 0 ? state.DurableEnd : long.MaxValue;
        }

        private void Check(TransactionHeader header, long position, List<ScannedRecord> records)
        {
            if (header.Tid <= _lastTid)
            {
                _problems.Add(new FileStorageProblem(position, $"The transaction has tid {header.Tid}, not greater than the previous transaction's {_lastTid}"));
                _damaged.Add((position, position + header.Length));
                return;
            }
            var sound = true;
            foreach (var record in records)
            {
                var newest = _newest.GetValueOrDefault(record.Oid);
                if (record.Previous != newest && !InDamaged(record.Previous) && !InDamaged(newest))
                {
                    _problems.Add(new FileStorageProblem(position,
                        $"The record of oid {record.Oid} at offset {record.Offset} links to a previous revision at offset {record.Previous}, but the object's newest revision is at offset {newest}"));
                    sound = false;
                }
            }
            foreach (var record in records)
            {
                _newest[record.Oid] = record.Offset;
                NoteReferences(record);
            }
            _lastTid = header.Tid;
            if (!sound) return;
            _transactions++;
            _records += records.Count;
        }

        private bool InDamaged(long offset)
        {
            foreach (var (start, end) in _damaged)
                if (offset >= start && offset < end) return true;
            return false;
        }
    }
}
