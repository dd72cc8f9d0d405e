namespace Persistence.Storage;

/// <summary>
/// A storage that keeps every revision of every object in memory: for tests, and as a scratch
/// database. It behaves like <see cref="FileStorage"/> (same phases, conflicts, history and errors)
/// but nothing survives <see cref="Dispose"/>.
/// </summary>
/// <remarks>
/// Thread-safe. Every revision is kept (nothing is packed), so <see cref="LoadBefore"/> reaches back
/// to the first revision and memory grows with every commit. The storage copies the bytes it is given.
/// </remarks>
public sealed class MemoryStorage : IStorage
{
    private readonly Lock _lock = new();
    private readonly Dictionary<ulong, Revision> _latest = [];
    private readonly List<CommittedTransaction> _transactions = [];
    private readonly SemaphoreSlim _commitLock = new(1, 1);
    private readonly CancellationTokenSource _disposing = new();
    private TransactionScratch? _spareScratch;
    private long _lastTid;
    private long _lastOid = (long)Oid.FirstUser.Value - 1;
    private volatile bool _disposed;

    /// <summary>Creates an empty storage.</summary>
    public MemoryStorage() { }

    /// <inheritdoc />
    public long LastTid => Volatile.Read(ref _lastTid);

    /// <inheritdoc />
    public bool IsReadOnly => false;

    /// <inheritdoc />
    public StoredRecord? Load(Oid oid)
    {
        ThrowIfDisposed();
        lock (_lock)
        {
            return _latest.TryGetValue(oid.Value, out var revision)
                ? new StoredRecord(oid, revision.Tid, revision.Data)
                : null;
        }
    }

    /// <inheritdoc />
    public StoredRecord? LoadBefore(Oid oid, long tid)
    {
        ThrowIfDisposed();
        lock (_lock)
        {
            _latest.TryGetValue(oid.Value, out var revision);
            while (revision is not null && revision.Tid >= tid)
                revision = revision.Previous;
            return revision is null ? null : new StoredRecord(oid, revision.Tid, revision.Data);
        }
    }

    /// <inheritdoc />
    public Oid NewOid()
    {
        ThrowIfDisposed();
        return new Oid((ulong)Interlocked.Increment(ref _lastOid));
    }

    /// <inheritdoc />
    public IStorageTransaction Begin()
    {
        ThrowIfDisposed();
        return new Transaction(this, TransactionScratch.Take(ref _spareScratch));
    }

    /// <inheritdoc />
    public StorageChanges Poll(long sinceTid)
    {
        ThrowIfDisposed();
        lock (_lock)
        {
            var first = FirstTransactionAfter(sinceTid);
            if (first == _transactions.Count) return new StorageChanges(_lastTid, []);
            var oids = new HashSet<Oid>();
            for (var i = first; i < _transactions.Count; i++)
            {
                foreach (var record in _transactions[i].Records)
                    oids.Add(record.Oid);
            }
            return new StorageChanges(_lastTid, oids.ToArray());
        }
    }

    /// <inheritdoc />
    public IEnumerable<StoredRecord> Iterate()
    {
        ThrowIfDisposed();
        int count;
        lock (_lock) count = _transactions.Count;
        return IterateUpTo(count);
    }

    /// <summary>Forgets every record; later calls throw <see cref="ObjectDisposedException"/>.</summary>
    public void Dispose()
    {
        lock (_lock)
        {
            if (_disposed) return;
            _disposed = true;
            _latest.Clear();
            _transactions.Clear();
        }
        // Wakes the voters waiting for the commit lock; they throw ObjectDisposedException.
        _disposing.Cancel();
    }

    private IEnumerable<StoredRecord> IterateUpTo(int count)
    {
        for (var i = 0; i < count; i++)
        {
            CommittedTransaction transaction;
            lock (_lock)
            {
                ThrowIfDisposed();
                transaction = _transactions[i];
            }
            foreach (var record in transaction.Records)
                yield return record;
        }
    }

    private int FirstTransactionAfter(long tid)
    {
        int lo = 0, hi = _transactions.Count;
        while (lo < hi)
        {
            var mid = (lo + hi) >>> 1;
            if (_transactions[mid].Tid <= tid) lo = mid + 1;
            else hi = mid;
        }
        return lo;
    }

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(_disposed, this);

    private long CurrentSerial(Oid oid)
    {
        lock (_lock)
        {
            ThrowIfDisposed();
            return _latest.TryGetValue(oid.Value, out var revision) ? revision.Tid : 0;
        }
    }

    private long Commit(List<PendingStore> stores)
    {
        // A transaction that only checked objects has nothing to make durable and takes no tid.
        if (stores.Count == 0) return LastTid;
        // One array for the whole transaction: one allocation instead of one per record.
        var total = 0L;
        foreach (var store in stores) total += store.Data.Length;
        if (total > Array.MaxLength)
            throw new PersistenceException(
                $"The transaction holds {total} bytes of records, more than one memory block can hold; commit in smaller batches.");
        var bytes = new byte[total];
        var records = new StoredRecord[stores.Count];
        lock (_lock)
        {
            ThrowIfDisposed();
            var tid = _lastTid + 1;
            var position = 0;
            for (var i = 0; i < stores.Count; i++)
            {
                var store = stores[i];
                store.Data.Span.CopyTo(bytes.AsSpan(position));
                var data = bytes.AsMemory(position, store.Data.Length);
                position += store.Data.Length;
                _latest.TryGetValue(store.Oid.Value, out var previous);
                _latest[store.Oid.Value] = new Revision(tid, data, previous);
                records[i] = new StoredRecord(store.Oid, tid, data);
                OidAllocator.MoveBeyond(ref _lastOid, store.Oid);
            }
            _transactions.Add(new CommittedTransaction(tid, records));
            Volatile.Write(ref _lastTid, tid);
            return tid;
        }
    }

    private sealed class Revision(long tid, ReadOnlyMemory<byte> data, Revision? previous)
    {
        public long Tid { get; } = tid;
        public ReadOnlyMemory<byte> Data { get; } = data;
        public Revision? Previous { get; } = previous;
    }

    private sealed record CommittedTransaction(long Tid, StoredRecord[] Records);

    private sealed class Transaction(MemoryStorage storage, TransactionScratch scratch) : StorageTransactionBase(scratch)
    {
        protected override void ThrowIfStorageDisposed() => storage.ThrowIfDisposed();

        protected override void EnterCommit()
        {
            try
            {
                storage._commitLock.Wait(storage._disposing.Token);
            }
            catch (OperationCanceledException)
            {
                throw new ObjectDisposedException(nameof(MemoryStorage));
            }
        }

        protected override void LeaveCommit() => storage._commitLock.Release();

        protected override void Recycle(TransactionScratch scratch) => TransactionScratch.Recycle(ref storage._spareScratch, scratch);

        protected override long CurrentSerial(Oid oid) => storage.CurrentSerial(oid);

        protected override long CommitCore() => storage.Commit(Stores);
    }
}
