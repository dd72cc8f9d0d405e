namespace Persistence.Serialization;

/// <summary>
/// A growable buffer that records are written into one after another (a commit writes all of its
/// records into one buffer). Reuse it with <see cref="Clear"/>; memory handed out for earlier
/// records stays valid after the buffer grows. It grows by chunks: a record that does not fit the
/// chunk being written moves to a new one, twice as large up to 16 MiB, and the records before it stay
/// where they are; so a commit of many records holds about their size, not an array twice as large
/// and a copy of it.
/// </summary>
public sealed class RecordBuffer
{
    // The largest chunk the buffer grows to for records that fit one (a larger record gets a chunk of its size).
    private const int ChunkBytes = 16 << 20;
    private readonly int _initialCapacity;
    // The chunk being written.
    private byte[] _bytes;
    // The bytes of the completed records in _bytes.
    private int _length;
    // Where _bytes[0] lies among all the buffer's records (a RecordSlice's Start counts from the first record).
    private int _base;
    // The chunks written before _bytes, in order, with where each one's first byte lies.
    private List<(int Base, byte[] Bytes)>? _earlier;
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

    /// <summary>The bytes the buffer holds room for now, in all its chunks.</summary>
    internal long Capacity
    {
        get
        {
            long bytes = _bytes.Length;
            if (_earlier is not null) foreach (var (_, chunk) in _earlier) bytes += chunk.Length;
            return bytes;
        }
    }

    /// <summary>The bytes of one completed record.</summary>
    public ReadOnlyMemory<byte> Memory(RecordSlice slice)
    {
        if (slice.Start >= _base) return _bytes.AsMemory(slice.Start - _base, slice.Length);
        var earlier = _earlier!;
        // The last chunk that starts at or before the record (every chunk holds at least one record).
        int low = 0, high = earlier.Count - 1;
        while (low < high)
        {
            var middle = (low + high + 1) >> 1;
            if (earlier[middle].Base <= slice.Start) low = middle;
            else high = middle - 1;
        }
        var (start, bytes) = earlier[low];
        return bytes.AsMemory(slice.Start - start, slice.Length);
    }

    /// <summary>Forgets every record written so far (the memory handed out for them may be overwritten).</summary>
    public void Clear()
    {
        _length = 0;
        _base = 0;
        _earlier = null;
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
        var (start, position) = (_length, _length);
        EnsureRoom(ref start, ref position, 2 * VarInt.MaxLength);
        position += VarInt.Write(_bytes.AsSpan(position), typeId);
        position += VarInt.Write(_bytes.AsSpan(position), schemaVersion);
        return new RecordWriter(this, resolver, start, position);
    }

    internal void AddReference(Oid oid)
    {
        if (_referenceCount == _references.Length) Array.Resize(ref _references, _references.Length * 2);
        _references[_referenceCount++] = oid.Value;
    }

    internal RecordSlice CompleteRecord(int start, int position)
    {
        if (!_writing) throw new InvalidOperationException("No record is being written to this buffer.");
        EnsureRoom(ref start, ref position, VarInt.MaxLength * _referenceCount + 5);
        _length = position + RecordFormat.WriteReferences(_bytes.AsSpan(position), _references.AsSpan(0, _referenceCount));
        _referenceCount = 0;
        _writing = false;
        return new RecordSlice(_base + start, _length - start);
    }

    /// <summary>Makes room for <paramref name="needed"/> bytes at <paramref name="position"/> of the record begun at <paramref name="start"/>, which may move it (both are updated).</summary>
    internal void Grow(ref int start, ref int position, int needed) => EnsureRoom(ref start, ref position, needed);

    private void EnsureRoom(ref int start, ref int position, int needed)
    {
        var end = (long)position + needed;
        if (end <= _bytes.Length) return;
        if (_base + end > Array.MaxLength) throw TooLarge(end - start);
        var record = position - start;
        if (start == 0)
        {
            // The record alone fills the chunk: a larger one, with the record copied.
            var bigger = new byte[Math.Min(Math.Max(Math.Max((long)_bytes.Length * 2, _initialCapacity), end), Array.MaxLength)];
            _bytes.AsSpan(0, position).CopyTo(bigger);
            _bytes = bigger;
            return;
        }
        // The records before it stay in this chunk; the record moves to the start of a new one.
        var chunk = new byte[Math.Max(Math.Min((long)_bytes.Length * 2, ChunkBytes), record + needed)];
        _bytes.AsSpan(start, record).CopyTo(chunk);
        (_earlier ??= []).Add((_base, _bytes));
        _base += start;
        _bytes = chunk;
        _length = 0;
        (start, position) = (0, record);
    }

    // The records of a commit are numbered by one int offset, which an array's length bounds.
    private PersistenceException TooLarge(long recordBytes) => recordBytes > Array.MaxLength
        ? new($"A record cannot be larger than {Array.MaxLength} bytes (about 2 GB); split the object's state into several persistent objects.")
        : new($"The records of one commit cannot together be larger than {Array.MaxLength} bytes (about 2 GB), and this one's reach that with a record of {recordBytes} bytes. " +
              "Commit the work in parts (a commit every few hundred MB of objects). Nothing was stored; Abort() drops the changes.");
}

/// <summary>Where one completed record lies in a <see cref="RecordBuffer"/>.</summary>
/// <param name="Start">The offset of its first byte.</param>
/// <param name="Length">Its size in bytes.</param>
public readonly record struct RecordSlice(int Start, int Length);
