using Persistence.Storage;

namespace Persistence.Tests;

/// <summary>A storage that passes every call to another; tests override what they observe or change.</summary>
public abstract class DelegatingStorage(IStorage inner) : IStorage
{
    public virtual long LastTid => inner.LastTid;
    public virtual bool IsReadOnly => inner.IsReadOnly;
    public virtual StoredRecord? Load(Oid oid) => inner.Load(oid);
    public virtual StoredRecord? LoadBefore(Oid oid, long tid) => inner.LoadBefore(oid, tid);
    public virtual Oid NewOid() => inner.NewOid();
    public virtual IStorageTransaction Begin() => inner.Begin();
    public virtual StorageChanges Poll(long sinceTid) => inner.Poll(sinceTid);
    public virtual IEnumerable<StoredRecord> Iterate() => inner.Iterate();
    public virtual void Dispose() => inner.Dispose();
}
