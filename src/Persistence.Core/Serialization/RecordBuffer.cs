namespace Persistence.Serialization;

/// <summary>
/// A growable buffer that records are written into one after another (a commit writes all of its
/// records into one buffer). Reuse it with <see cref="Clear"/>; memory handed out for earlier
/// records stays valid after the buffer grows, because growing copies into a new array.
/// </summary>
public sealed class RecordBuffer
{
    private readonly int _initialCapacity;
    private byte[] _bytes;
    private int _length;
    private ulong[] _references = new ulong[16];
    private int _referenceCount;
    private bool _writing;

    /// <summary>Creates a buffer with room for <paramref name="capacity"/> bytes before it grows, taken when the first record is written.</summary>
    /// <remarks>The room is not taken before a record needs it: a connection that never commits (a reader, one left open) holds no buffer.</remarks>
    public RecordBuffer(int capacity = 1024)
    {
        _initialCapacity = Math.Max(capacity, 64);
        _bytes = [];
    }

    internal byte[] Bytes => _bytes;

    /// <summary>The bytes the buffer holds room for now.</summary>
    internal int Capacity => _bytes.Length;

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

    /// <summary>
    /// Forgets every record written so far and, if they grew the buffer past <paramref name="keepBytes"/>
    /// (a commit of large objects), lets go of its memory, going back to the capacity it was created with.
    /// </summary>
    internal void ClearAndShrink(int keepBytes)
    {
        Clear();
        if (_bytes.Length > keepBytes) _bytes = new byte[_initialCapacity];
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
        var end = (long)position + needed;
        if (end <= _bytes.Length) return;
        if (end > Array.MaxLength) throw TooLarge(end - _length);
        var bigger = new byte[Math.Min(Math.Max(Math.Max((long)_bytes.Length * 2, _initialCapacity), end), Array.MaxLength)];
        _bytes.AsSpan(0, position).CopyTo(bigger);
        _bytes = bigger;
    }

    // The records of a commit are written one after another into one buffer, which an array bounds.
    private PersistenceException TooLarge(long recordBytes) => recordBytes > Array.MaxLength
        ? new($"A record cannot be larger than {Array.MaxLength} bytes (about 2 GB); split the object's state into several persistent objects.")
        : new($"The records of one commit cannot together be larger than {Array.MaxLength} bytes (about 2 GB), and this one's reach that with a record of {recordBytes} bytes. " +
              "Commit the work in parts (a commit every few hundred MB of objects). Nothing was stored; Abort() drops the changes.");
}

/// <summary>Where one completed record lies in a <see cref="RecordBuffer"/>.</summary>
/// <param name="Start">The offset of its first byte.</param>
/// <param name="Length">Its size in bytes.</param>
public readonly record struct RecordSlice(int Start, int Length);
