namespace Persistence.Serialization;

/// <summary>
/// A growable buffer that records are written into one after another (a commit writes all of its
/// records into one buffer). Reuse it with <see cref="Clear"/>; memory handed out for earlier
/// records stays valid after the buffer grows, because growing copies into a new array.
/// </summary>
public sealed class RecordBuffer
{
    private byte[] _bytes;
    private int _length;
    private ulong[] _references = new ulong[16];
    private int _referenceCount;
    private bool _writing;

    /// <summary>Creates a buffer with room for <paramref name="capacity"/> bytes before it grows.</summary>
    public RecordBuffer(int capacity = 1024) => _bytes = new byte[Math.Max(capacity, 64)];

    internal byte[] Bytes => _bytes;

    /// <summary>The bytes of every completed record.</summary>
    public ReadOnlyMemory<byte> Written => _bytes.AsMemory(0, _length);

    /// <summary>The bytes of one completed record.</summary>
    public ReadOnlyMemory<byte> Memory(RecordSlice slice) => _bytes.AsMemory(slice.Start, slice.Length);

    /// <summary>Forgets every record written so far (the memory handed out for them may be overwritten).</summary>
    public void Clear()
    {
        _length = 0;
        _referenceCount = 0;
        _writing = false;
    }

    /// <summary>Starts a record: writes its header and returns the writer for its state.</summary>
    /// <param name="typeId">The record's type id.</param>
    /// <param name="schemaVersion">The schema version the state is written with.</param>
    /// <param name="resolver">Resolves references to persistent objects; null if the state has none.</param>
    public RecordWriter BeginRecord(uint typeId, ushort schemaVersion, IReferenceResolver? resolver)
    {
        if (_writing)
            throw new InvalidOperationException("A record is already being written to this buffer; complete it first.");
        _writing = true;
        _referenceCount = 0;
        EnsureRoom(_length, 2 * VarInt.MaxLength);
        var position = _length + VarInt.Write(_bytes.AsSpan(_length), typeId);
        position += VarInt.Write(_bytes.AsSpan(position), schemaVersion);
        return new RecordWriter(this, resolver, _length, position);
    }

    internal void AddReference(Oid oid)
    {
        if (_referenceCount == _references.Length) Array.Resize(ref _references, _references.Length * 2);
        _references[_referenceCount++] = oid.Value;
    }

    internal RecordSlice CompleteRecord(int start, int position)
    {
        if (!_writing) throw new InvalidOperationException("No record is being written to this buffer.");
        EnsureRoom(position, VarInt.MaxLength * _referenceCount + 5);
        _length = position + RecordFormat.WriteReferences(_bytes.AsSpan(position), _references.AsSpan(0, _referenceCount));
        _referenceCount = 0;
        _writing = false;
        return new RecordSlice(start, _length - start);
    }

    internal void Grow(int position, int needed) => EnsureRoom(position, needed);

    private void EnsureRoom(int position, int needed)
    {
        if ((long)position + needed <= _bytes.Length) return;
        var size = Math.Max((long)_bytes.Length * 2, (long)position + needed);
        if (size > Array.MaxLength)
            throw new PersistenceException($"A record cannot be larger than {Array.MaxLength} bytes; split the object's state into several persistent objects.");
        var bigger = new byte[size];
        _bytes.AsSpan(0, position).CopyTo(bigger);
        _bytes = bigger;
    }
}

/// <summary>Where one completed record lies in a <see cref="RecordBuffer"/>.</summary>
/// <param name="Start">The offset of its first byte.</param>
/// <param name="Length">Its size in bytes.</param>
public readonly record struct RecordSlice(int Start, int Length);
