using System.Runtime.CompilerServices;
using Persistence.Storage;

namespace Persistence.Serialization;

/// <summary>
/// The database's schema catalog: a type id for every stored class, and for each class the field
/// list of every schema version it was stored with. It is one record (oid 2, type id 0), shared by
/// all connections of a database, and only ever grows: type ids and versions are never reused.
/// </summary>
/// <remarks>
/// Changes (a class stored for the first time, a class whose fields changed, a rename through an
/// alias, a collection whose type arguments were renamed or widened) are committed at once in a small
/// transaction of their own, before the commit that needs them; a type id that ends up unused costs a
/// few bytes and nothing else. Concurrent writers of the catalog (other connections, other processes)
/// are handled by reloading and retrying.
/// <para>
/// The lock guards the catalog as loaded and is never held while a catalog transaction votes: a vote
/// holds the storage's commit lock while it merges a conflicting change (a BTree bucket), and reading
/// the revisions it merges binds their records here. A new entry is written from a copy of the entries,
/// committed without the lock, and published by reloading the catalog; the vote's check of the
/// catalog's serial keeps two writers (threads or processes) from both adding an entry from one
/// version: the loser reloads and finds the winner's.
/// </para>
/// </remarks>
internal sealed class SchemaCatalog
{
    private readonly IStorage _storage;
    private readonly Lock _gate = new();
    private readonly Dictionary<uint, Entry> _byId = [];
    private readonly Dictionary<string, Entry> _byName = new(StringComparer.Ordinal);
    // The stand-ins for classes this program does not define, by type id (see ResolvedOrStandIn).
    private readonly Dictionary<uint, PersistentTypeInfo> _standIns = [];
    // The binding the last read asked for, read without the lock: records of one class come in runs.
    private LastBinding<ulong, ReadBinding>? _lastRead;
    // The binding of each registered class for writing, found once per database, by
    // PersistentTypeInfo.Index and read without the lock (a commit asks for one per object it stores
    // and per reference it writes, classes mixed): the type id in the high 32 bits, the version below
    // it, and bit 0 set once bound (0: not bound yet). Replaced whole, never changed in place but for
    // a slot set from 0.
    private long[] _writeByIndex = [];
    private long _serial;

    public SchemaCatalog(IStorage storage)
    {
        _storage = storage;
        lock (_gate) Reload();
    }

    /// <summary>
    /// Whether this thread's commit is merging inside its vote, holding the commit lock: a class the
    /// catalog would have to add then is refused with <see cref="NeededInVote"/> instead of waiting for
    /// that lock (a merge that links an object of a class the file has never stored). The caller leaves
    /// such a merge to a second vote, after the lock is let go of.
    /// </summary>
    [field: ThreadStatic]
    public static bool Voting { get; set; }

    /// <summary>A class needed a new catalog entry inside a vote (see <see cref="Voting"/>).</summary>
    public sealed class NeededInVote() : Exception("A class needs a catalog entry while the commit lock is held.");

    /// <summary>The type id and schema version to write objects of <paramref name="type"/> with.</summary>
    /// <remarks>
    /// Inlined into its callers (a commit asks once for every object it writes and for every reference):
    /// the lookup alone, without the lock of <see cref="BindForWriteAnew"/>, whose frame cost as much as
    /// the lookup (W1: 5.7% of a bulk insert's samples in this method).
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public WriteBinding BindForWrite(PersistentTypeInfo type) => TryBoundForWrite(type, out var known) ? known : BindForWriteAnew(type);

    /// <summary>
    /// The binding of a class not bound for writing yet: found under the lock, or added to the catalog by
    /// a catalog transaction committed without it (see the remarks on <see cref="SchemaCatalog"/>).
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private WriteBinding BindForWriteAnew(PersistentTypeInfo type)
    {
        // A reference to an object of a class the program does not define keeps the type id it was read with.
        if (type.MissingTypeId is { } stored) return new WriteBinding(stored, 0);
        for (var attempt = 0; ; attempt++)
        {
            ReadOnlyMemory<byte> changed;
            long serial;
            lock (_gate)
            {
                if (TryBoundForWrite(type, out var known)) return known;
                if (Find(type, out var entry, out var version))
                {
                    var binding = new WriteBinding(entry!.TypeId, version);
                    RememberWrite(type, binding);
                    return binding;
                }
                if (_storage.IsReadOnly)
                    throw new StorageLockedException($"Objects of class '{type.Name}' cannot be stored: the database is open read-only.");
                // The catalog's transaction would wait for the commit lock this thread's vote holds.
                if (Voting) throw new NeededInVote();
                changed = WriteChanged(type);
                serial = _serial;
            }
            try
            {
                Save(changed, serial);
            }
            catch (ConflictException) when (attempt < 100)
            {
                // Another connection or process changed the catalog first: start again from its version.
            }
            lock (_gate)
            {
                // Unless another thread has reloaded since (to this save's version or a newer one).
                if (_serial == serial) Reload();
            }
        }
    }

    /// <summary>The binding <see cref="RememberWrite"/> kept for <paramref name="type"/>, if any.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool TryBoundForWrite(PersistentTypeInfo type, out WriteBinding binding)
    {
        var bound = Volatile.Read(ref _writeByIndex);
        var packed = (uint)type.Index < (uint)bound.Length ? Volatile.Read(ref bound[type.Index]) : 0;
        binding = new WriteBinding((uint)(packed >> 32), (ushort)(packed >> 1));
        return packed != 0;
    }

    /// <summary>Keeps <paramref name="binding"/> where <see cref="TryBoundForWrite"/> finds it; with the lock held.</summary>
    private void RememberWrite(PersistentTypeInfo type, WriteBinding binding)
    {
        var bound = _writeByIndex;
        if (type.Index >= bound.Length)
        {
            var grown = new long[Math.Max(type.Index + 1, 2 * bound.Length)];
            bound.CopyTo(grown, 0);
            bound = grown;
        }
        Volatile.Write(ref bound[type.Index], ((long)binding.TypeId << 32) | ((long)binding.Version << 1) | 1);
        Volatile.Write(ref _writeByIndex, bound);
    }

    /// <summary>Finds the registered class and the stored field list for a record's type id and schema version.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public ReadBinding BindForRead(uint typeId, ushort version)
    {
        var key = ((ulong)typeId << 16) | version;
        var last = Volatile.Read(ref _lastRead);
        return last is not null && last.Key == key ? last.Binding : BindForReadAnew(key, typeId, version);
    }

    // BindForRead's path for a record of another class or version than the last, apart from it: a
    // lookup, and now and then a catalog reload, which need not be compiled optimized. Each entry keeps
    // the bindings of its versions (found once per database), in an array rather than a dictionary of
    // their own, which the runtime would compile at first use.
    private ReadBinding BindForReadAnew(ulong key, uint typeId, ushort version)
    {
        lock (_gate)
        {
            var entry = EntryOf(typeId, version);
            if (version < entry.Reads.Length && entry.Reads[version] is { } known)
            {
                Volatile.Write(ref _lastRead, new(key, known));
                return known;
            }
            var type = entry.Resolved ?? ResolvedOrStandIn(entry);
            var fields = entry.Versions[version];
            var isCurrent = FieldSchema.Signature(fields) == type.Signature;
            // A version that came into the catalog after the one this program writes: a newer program stored it.
            var newer = !isCurrent && !type.IsMissing && LastVersionOf(entry, type) is >= 0 and var written && version > written;
            var binding = new ReadBinding(
                type,
                isCurrent ? null : FieldMap.Later(fields, type.Fields, storedByNewerProgram: newer),
                entry.Name,
                newer ? NewerFields(fields, type) : null);
            // A stand-in is not kept: the class may be registered later (a class library's registration
            // runs when the library is first used), and the next binding then finds it.
            if (type.IsMissing) return binding;
            var reads = entry.Reads;
            if (version >= reads.Length) Array.Resize(ref reads, entry.Versions.Count);
            reads[version] = binding;
            entry.Reads = reads;
            Volatile.Write(ref _lastRead, new(key, binding));
            return binding;
        }
    }

    /// <summary>The entry of <paramref name="typeId"/>, holding <paramref name="version"/>; with the lock held.</summary>
    private Entry EntryOf(uint typeId, ushort version)
    {
        if (!_byId.TryGetValue(typeId, out var entry) || version >= entry.Versions.Count)
        {
            // Written by a newer catalog than ours (another connection or process added it).
            Reload();
            if (!_byId.TryGetValue(typeId, out entry)) throw UnknownTypeId(typeId);
            if (version >= entry.Versions.Count) throw UnknownVersion(entry, version);
        }
        return entry;
    }

    /// <summary>
    /// A binding of a record of <paramref name="typeId"/> and <paramref name="version"/> to <paramref name="type"/>,
    /// a collection class it reads as (<see cref="StoredNames.ReadsAs"/>) other than the one its type id stands
    /// for: a collection referenced by a property whose type changed to one of a base class, or of wider type
    /// arguments, while the program still uses the stored collection type for other properties. Not kept: such
    /// records are read until the object is next stored (in its own class's layout).
    /// </summary>
    public ReadBinding BindForReadAs(uint typeId, ushort version, PersistentTypeInfo type)
    {
        lock (_gate)
        {
            var entry = EntryOf(typeId, version);
            var fields = entry.Versions[version];
            var conversion = FieldSchema.Signature(fields) == type.Signature ? null : FieldMap.Later(fields, type.Fields, storedByNewerProgram: false);
            return new ReadBinding(type, conversion, entry.Name, null);
        }
    }

    /// <summary>
    /// The fields a newer program's layout <paramref name="stored"/> has and <paramref name="type"/> lacks: writing
    /// the object back would lose them. Null when there are none. Names joined for a message. (A layout older than
    /// the one this program writes is not asked about: fields removed since are dropped on purpose.)
    /// </summary>
    private static string? NewerFields(IReadOnlyList<FieldSchema> stored, PersistentTypeInfo type)
    {
        var skipped = SchemaTranscoder.SkippedFields(stored, type.Fields);
        return skipped.Count == 0 ? null : string.Join("', '", skipped);
    }

    // BindForReadAnew's errors, built apart from it.
    private static FormatException UnknownTypeId(uint typeId) =>
        new($"A record names type id {typeId}, which the schema catalog does not know.");

    /// <summary>
    /// The registered class <paramref name="entry"/> stands for, kept in it; for a class this program
    /// does not define, a <see cref="MissingClass"/> whose objects fail to load with the reason, so that
    /// the objects referring to them still load (a root holding one used to fail whole, every entry with
    /// it). One stand-in per type id for the catalog's life, across reloads, so the ghosts made before a
    /// reload and after it are of one class. With the lock held.
    /// </summary>
    private PersistentTypeInfo ResolvedOrStandIn(Entry entry)
    {
        var type = StoredNames.TryResolve(entry.Name);
        if (type is { IsAbstract: false })
        {
            _standIns.Remove(entry.TypeId);
            return entry.Resolved = type;
        }
        if (_standIns.TryGetValue(entry.TypeId, out var standIn)) return standIn;
        // A class made abstract since its objects were stored: they stand in as a missing class's do.
        var reason = type is null ? StoredNames.WhyUnresolved(entry.Name) : MadeAbstract(entry.Name, type);
        return _standIns[entry.TypeId] = MissingClass.TypeFor(entry.Name, entry.TypeId, reason);
    }

    private static string MadeAbstract(string storedName, PersistentTypeInfo type) =>
        $"The database holds objects of class '{storedName}', which this program declares abstract{(type.Name == storedName ? "" : $" (as '{type.Name}')")}, so they cannot load. " +
        "Make the class concrete again (remove 'abstract') to read them, and replace them with objects of a concrete class before you make it abstract; until then what refers to them loads, and can let go of them.";

    private static FormatException UnknownVersion(Entry entry, ushort version) =>
        new($"A record of '{entry.Name}' names schema version {version}, which the schema catalog does not know.");

    private bool Find(PersistentTypeInfo type, out Entry? entry, out ushort version)
    {
        version = 0;
        if (!_byName.TryGetValue(type.Name, out entry))
        {
            foreach (var alias in type.Aliases)
                if (_byName.TryGetValue(alias, out entry)) return false; // known under a former name: rename first
            return false;
        }
        var last = LastVersionOf(entry, type);
        if (last < 0) return false;
        version = (ushort)last;
        return true;
    }

    /// <summary>The last version of <paramref name="entry"/> stored in <paramref name="type"/>'s layout, or -1 if none is.</summary>
    private static int LastVersionOf(Entry entry, PersistentTypeInfo type) =>
        entry.Versions.FindLastIndex(v => FieldSchema.Signature(v) == type.Signature);

    /// <summary>
    /// The catalog record with <paramref name="type"/> added, written from a copy of the entries: the
    /// catalog as loaded stays what is stored until the record is committed and reloaded. With the lock held.
    /// </summary>
    private ReadOnlyMemory<byte> WriteChanged(PersistentTypeInfo type)
    {
        var byId = new Dictionary<uint, Entry>(_byId.Count + 1);
        var byName = new Dictionary<string, Entry>(_byName.Count + 1, StringComparer.Ordinal);
        foreach (var entry in _byId.Values)
        {
            var copy = entry.Copy();
            byId.Add(copy.TypeId, copy);
            byName.Add(copy.Name, copy);
        }
        Change(type, byId, byName);
        var buffer = new RecordBuffer();
        return buffer.Memory(Write(buffer, byId.Values));
    }

    private static void Change(PersistentTypeInfo type, Dictionary<uint, Entry> byId, Dictionary<string, Entry> byName)
    {
        if (!byName.TryGetValue(type.Name, out var entry))
        {
            foreach (var alias in type.Aliases)
            {
                if (byName.TryGetValue(alias, out entry)) break;
            }
            // A collection stored under the name it had before a class it holds was renamed, or its
            // element type widened, is renamed as a class is (StoredNames says which name it stands for).
            entry ??= StoredNames.IsGeneric(type.Name)
                ? byName.Values.FirstOrDefault(e => StoredNames.IsGeneric(e.Name) && (e.Resolved ??= StoredNames.TryResolve(e.Name)) == type)
                : null;
            if (entry is not null)
            {
                byName.Remove(entry.Name);
                entry.Name = type.Name;
                entry.Resolved = null;
                byName[type.Name] = entry;
            }
        }
        if (entry is null)
        {
            var id = byId.Count == 0 ? 1u : byId.Keys.Max() + 1;
            entry = new Entry(id, type.Name);
            byId.Add(id, entry);
            byName.Add(type.Name, entry);
        }
        if (LastVersionOf(entry, type) < 0)
        {
            if (entry.Versions.Count == ushort.MaxValue)
                throw new SchemaMismatchException($"Class '{type.Name}' has had {ushort.MaxValue} schema versions, the most a database can hold.", type.Name);
            entry.Versions.Add([.. type.Fields]);
        }
    }

    /// <summary>Every class the catalog names, with the field list of each schema version (for <see cref="DatabaseInspector"/>).</summary>
    public IReadOnlyList<StoredClass> Describe()
    {
        lock (_gate)
            return [.. _byId.Values.OrderBy(static e => e.TypeId).Select(static e => new StoredClass(e.TypeId, e.Name, [.. e.Versions.Select(static v => (IReadOnlyList<FieldSchema>)v)]))];
    }

    /// <summary>Commits the catalog record <paramref name="record"/> over the revision <paramref name="serial"/>; without the lock.</summary>
    private void Save(ReadOnlyMemory<byte> record, long serial)
    {
        using var transaction = _storage.Begin();
        transaction.Store(Oid.Catalog, serial, record);
        transaction.Vote();
        transaction.Finish();
    }

    private static RecordSlice Write(RecordBuffer buffer, IReadOnlyCollection<Entry> entries)
    {
        var writer = buffer.BeginRecord(RecordFormat.CatalogTypeId, 0, null);
        writer.WriteCount(entries.Count);
        foreach (var entry in entries.OrderBy(e => e.TypeId))
        {
            writer.WriteUInt32(entry.TypeId);
            writer.WriteString(entry.Name);
            writer.WriteCount(entry.Versions.Count);
            foreach (var fields in entry.Versions)
            {
                writer.WriteCount(fields.Length);
                foreach (var field in fields)
                {
                    writer.WriteString(field.Name);
                    writer.WriteString(field.TypeCode);
                }
            }
        }
        WriteDefaults(ref writer, entries);
        return writer.Complete();
    }

    /// <summary>
    /// After the entries, when any field has a default of its own (a <see cref="PersistentDefaultAttribute"/>,
    /// <c>""</c> for a non-nullable string): each such field as its type id, version index, field index and
    /// encoded default. An older program reads them to tell whether a field a newer one added holds the value
    /// that the newer one reads where the field is missing (<see cref="SchemaTranscoder.SkippedValues"/>): only
    /// then may it write the object back without the field. Catalogs without such fields end after the
    /// entries, as they always did, and readers that do not know the section stop before it.
    /// </summary>
    private static void WriteDefaults(ref RecordWriter writer, IReadOnlyCollection<Entry> entries)
    {
        var defaults = new List<(uint TypeId, int Version, int Field, byte[] Encoded)>();
        foreach (var entry in entries.OrderBy(e => e.TypeId))
        {
            for (var v = 0; v < entry.Versions.Count; v++)
            {
                var fields = entry.Versions[v];
                for (var f = 0; f < fields.Length; f++)
                {
                    if (fields[f].EncodedDefault is { } encoded) defaults.Add((entry.TypeId, v, f, encoded));
                }
            }
        }
        if (defaults.Count == 0) return;
        writer.WriteCount(defaults.Count);
        foreach (var (typeId, version, field, encoded) in defaults)
        {
            writer.WriteUInt32(typeId);
            writer.WriteCount(version);
            writer.WriteCount(field);
            writer.WriteBytes(encoded);
        }
    }

    private void ReadDefaults(ref RecordReader reader)
    {
        var count = reader.ReadCount(4);
        for (var i = 0; i < count; i++)
        {
            var typeId = reader.ReadUInt32();
            var version = reader.ReadCount(0);
            var field = reader.ReadCount(0);
            var encoded = reader.ReadBytes() ?? throw new FormatException($"The catalog's default of a field of type id {typeId} is null.");
            if (!_byId.TryGetValue(typeId, out var entry) || version < 0 || version >= entry.Versions.Count || field < 0 || field >= entry.Versions[version].Length)
                throw new FormatException($"The catalog holds a default for field {field} of version {version} of type id {typeId}, which it does not list.");
            entry.Versions[version][field] = entry.Versions[version][field].WithEncodedDefault(encoded);
        }
    }

    private void Reload()
    {
        var stored = _storage.Load(Oid.Catalog);
        Volatile.Write(ref _writeByIndex, []);
        Volatile.Write(ref _lastRead, null);
        _byId.Clear();
        _byName.Clear();
        if (stored is not { } record)
        {
            _serial = 0;
            return;
        }
        try
        {
            Read(record.Data.Span);
        }
        catch (FormatException e)
        {
            throw new CorruptDatabaseException("The schema catalog is damaged: " + e.Message, -1, Oid.Catalog, e);
        }
        _serial = record.Tid;
    }

    private void Read(ReadOnlySpan<byte> record)
    {
        var state = RecordFormat.State(record, out var typeId, out _);
        if (typeId != RecordFormat.CatalogTypeId)
            throw new FormatException("The catalog record does not carry the catalog's type id.");
        var reader = new RecordReader(state, null);
        var count = reader.ReadCount(6);
        for (var i = 0; i < count; i++)
        {
            var entry = new Entry(reader.ReadUInt32(), reader.ReadString() ?? throw new FormatException("A catalog entry has no name."));
            var versions = reader.ReadCount(1);
            for (var v = 0; v < versions; v++)
            {
                var fields = new FieldSchema[Math.Max(reader.ReadCount(2), 0)];
                for (var f = 0; f < fields.Length; f++)
                    fields[f] = new FieldSchema(
                        reader.ReadString() ?? throw new FormatException("A catalog field has no name."),
                        reader.ReadString() ?? throw new FormatException("A catalog field has no type code."));
                entry.Versions.Add(fields);
            }
            if (!_byId.TryAdd(entry.TypeId, entry) || !_byName.TryAdd(entry.Name, entry))
                throw new FormatException($"The catalog names type id {entry.TypeId} or class '{entry.Name}' twice.");
        }
        if (reader.Remaining > 0) ReadDefaults(ref reader);
    }

    private sealed class Entry(uint typeId, string name)
    {
        public uint TypeId { get; } = typeId;
        public string Name { get; set; } = name;
        public List<FieldSchema[]> Versions { get; } = [];
        public PersistentTypeInfo? Resolved { get; set; }

        /// <summary>The bindings for reading its versions made so far, by version.</summary>
        public ReadBinding?[] Reads { get; set; } = [];

        /// <summary>A copy to change (a version list of its own; the field lists, never changed, are shared).</summary>
        public Entry Copy()
        {
            var copy = new Entry(TypeId, Name) { Resolved = Resolved };
            copy.Versions.AddRange(Versions);
            return copy;
        }
    }
}

/// <summary>How objects of one class are written in this database.</summary>
internal readonly record struct WriteBinding(uint TypeId, ushort Version);

/// <summary>How a record of one type id and schema version is read in this program.</summary>
/// <param name="Type">The registered class.</param>
/// <param name="Conversion">
/// How the fields as the record was written are read as the class's current fields, or null when they
/// are the same (the record is read directly, no conversion).
/// </param>
/// <param name="StoredName">The class name the catalog holds.</param>
/// <param name="NewerFields">
/// The fields, joined by <c>', '</c>, that a newer program stored in records of this version and this
/// program's class lacks (an object read from one must not be written back), or null.
/// </param>
internal readonly record struct ReadBinding(PersistentTypeInfo Type, Lazy<FieldMap>? Conversion, string StoredName, string? NewerFields);

/// <summary>A binding with the key <see cref="SchemaCatalog"/> found it under.</summary>
internal sealed class LastBinding<TKey, TBinding>(TKey key, TBinding binding)
{
    public TKey Key { get; } = key;

    public TBinding Binding { get; } = binding;
}
