using System.Text;
using Persistence.Serialization;

namespace Persistence.Storage;

/// <summary>
/// Looks into a database without the program that stored it: the classes its schema catalog names,
/// how much of the file the objects reachable from the root take (what a pack would keep), and any
/// object's fields and history, decoded from the type codes the catalog holds. Reads one snapshot,
/// the newest committed when it was opened; never writes.
/// </summary>
/// <remarks>
/// <see cref="Open(string)"/> opens the file read-only, as <see cref="DatabaseOptions.ReadOnly"/> does,
/// so it can look at a database other processes are using: it sees what they committed before it was
/// opened.
/// </remarks>
public sealed class DatabaseInspector : IDisposable
{
    private readonly IStorage _storage;
    private readonly bool _ownsStorage;
    private readonly SchemaCatalog _catalog;
    private readonly Dictionary<uint, StoredClass> _classes;

    /// <summary>Inspects <paramref name="storage"/>, which stays the caller's to dispose.</summary>
    public DatabaseInspector(IStorage storage) : this(storage, ownsStorage: false)
    {
    }

    private DatabaseInspector(IStorage storage, bool ownsStorage)
    {
        _storage = storage;
        _ownsStorage = ownsStorage;
        SnapshotTid = storage.LastTid;
        try
        {
            _catalog = new SchemaCatalog(storage);
            Classes = _catalog.Describe();
        }
        catch
        {
            if (ownsStorage) storage.Dispose();
            throw;
        }
        _classes = Classes.ToDictionary(static c => c.TypeId);
    }

    /// <summary>Opens the database file at <paramref name="path"/> read-only to inspect it.</summary>
    /// <exception cref="FileNotFoundException">There is no file at <paramref name="path"/>.</exception>
    /// <exception cref="CorruptDatabaseException">The file is not a database, or is damaged where opening reads.</exception>
    public static DatabaseInspector Open(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path)) throw new FileNotFoundException($"There is no database file at '{path}'.", path);
        return new DatabaseInspector(FileStorage.Open(path, new FileStorageOptions { ReadOnly = true }), ownsStorage: true);
    }

    /// <summary>The newest transaction the inspector reads (its snapshot).</summary>
    public long SnapshotTid { get; }

    /// <summary>The file's path, or null for a storage that has none.</summary>
    public string? FilePath => (_storage as FileStorage)?.FilePath;

    /// <summary>The bytes of the file's transactions (without the free space reserved after them), or null for a storage that has no file.</summary>
    public long? FileBytes => (_storage as FileStorage)?.DataEnd;

    /// <summary>How many objects the file holds a revision of, reachable from the root or not; null for a storage that has no file.</summary>
    public long? StoredObjects => (_storage as FileStorage)?.ObjectCount;

    /// <summary>Every class the schema catalog names, by type id, with the field list of each schema version.</summary>
    public IReadOnlyList<StoredClass> Classes { get; }

    /// <summary>The class name the catalog gives <paramref name="typeId"/>, or a placeholder naming the id.</summary>
    public string ClassName(uint typeId) =>
        typeId == RecordFormat.CatalogTypeId ? "(schema catalog)" : _classes.TryGetValue(typeId, out var stored) ? stored.Name : $"(type id {typeId}, not in the catalog)";

    /// <summary>
    /// Walks every object reachable from the root (and the catalog), as a pack does: how many there are
    /// and the bytes of their records, by class, and the references that lead to no object.
    /// </summary>
    /// <param name="cancellationToken">Stops the walk (<see cref="OperationCanceledException"/>).</param>
    public StorageUsage MeasureUsage(CancellationToken cancellationToken = default)
    {
        var byType = new Dictionary<uint, (long Objects, long Bytes)>();
        var missing = new List<(Oid, Oid)>();
        // What a pack that keeps no history writes: each current revision with a header of its own (no previous
        // revision), grouped into transactions by their tids, after the file header.
        var tids = new HashSet<long>();
        long objects = 0, bytes = 0, packed = FileStorageFormat.FileHeaderSize;
        foreach (var (from, oid, record) in Walk(cancellationToken))
        {
            if (record is not { } found)
            {
                missing.Add((from, oid));
                continue;
            }
            var length = found.Data.Length;
            objects++;
            bytes += length;
            packed += FileStorageFormat.DataHeaderSize(oid.Value, found.Tid, 0, 0, length) + length;
            if (tids.Add(found.Tid)) packed += FileStorageFormat.MinimumTransactionSize;
            var typeId = RecordFormat.TypeId(found.Data.Span);
            var (count, total) = byType.GetValueOrDefault(typeId);
            byType[typeId] = (count + 1, total + length);
        }
        var classes = byType
            .Select(pair => new ClassUsage(ClassName(pair.Key), pair.Value.Objects, pair.Value.Bytes))
            .OrderByDescending(static c => c.Bytes)
            .ThenBy(static c => c.ClassName, StringComparer.Ordinal)
            .ToList();
        return new StorageUsage(FileBytes, StoredObjects, objects, bytes, packed, classes, missing);
    }

    /// <summary>
    /// How this program (the persistent classes registered in this process) reads each schema version of each class
    /// the file holds, and how many reachable objects are stored in it: as it writes them, converted, or not at all
    /// (a class it lacks, a field whose type changed in a way that does not convert). Run it on a copy of a
    /// deployed database before a new version of the program goes out, and the layouts it cannot read show up
    /// before the first object fails to load.
    /// </summary>
    /// <param name="cancellationToken">Stops the walk (<see cref="OperationCanceledException"/>).</param>
    public SchemaCheck CheckSchema(CancellationToken cancellationToken = default)
    {
        var objects = new Dictionary<(uint TypeId, ushort Version), long>();
        foreach (var (_, _, record) in Walk(cancellationToken))
        {
            if (record is not { } found) continue;
            RecordFormat.State(found.Data.Span, out var typeId, out var version);
            objects[(typeId, version)] = objects.GetValueOrDefault((typeId, version)) + 1;
        }
        var layouts = new List<StoredLayoutCheck>();
        foreach (var stored in Classes)
        {
            for (var version = 0; version < stored.Versions.Count; version++)
                layouts.Add(CheckLayout(stored, (ushort)version, objects.GetValueOrDefault((stored.TypeId, (ushort)version))));
        }
        return new SchemaCheck(layouts);
    }

    private StoredLayoutCheck CheckLayout(StoredClass stored, ushort version, long objects)
    {
        var binding = _catalog.BindForRead(stored.TypeId, version);
        var type = binding.Type;
        if (type.IsMissing)
            return new(stored.Name, version, null, objects, LayoutReading.ClassMissing, type.MissingReason);
        if (binding.Conversion is not { } conversion)
            return new(stored.Name, version, type.Name, objects, LayoutReading.AsWritten, null);
        FieldMap map;
        try
        {
            map = conversion.Value;
        }
        catch (FormatException e)
        {
            return new(stored.Name, version, type.Name, objects, LayoutReading.Unconvertible, e.Message);
        }
        if (SchemaTranscoder.Refusal(map, type.Name) is { } refusal)
            return new(stored.Name, version, type.Name, objects, LayoutReading.Unconvertible, refusal.Message);
        if (binding.NewerFields is { } newer)
            return new(stored.Name, version, type.Name, objects, LayoutReading.NewerFields,
                $"A newer version of the program stored it with field(s) '{newer}', which this program's class lacks: such objects load, but a change to one holding values there is refused (it would lose them).");
        var added = map.Current.Where((_, i) => map.Sources[i] < 0).Select(static f => f.Name).ToList();
        var dropped = map.Stored.Where((_, i) => map.Targets[i] < 0).Select(static f => f.Name).ToList();
        var converted = map.Current.Select((field, i) => (Stored: map.Sources[i] < 0 ? default : map.Stored[map.Sources[i]], Current: field))
            .Where(static p => p.Stored.Name is not null && (p.Stored.Name != p.Current.Name || p.Stored.Shape.Code != p.Current.Shape.Code))
            .Select(static p => $"'{p.Stored.Name}'"
                + (p.Stored.Name == p.Current.Name ? "" : $" as '{p.Current.Name}'")
                + (p.Stored.Shape.Code == p.Current.Shape.Code ? "" : $" ({p.Stored.Shape.Code} as {p.Current.Shape.Code})"))
            .ToList();
        var detail = string.Join("; ", new[]
        {
            converted.Count == 0 ? null : $"read {string.Join(", ", converted)}",
            added.Count == 0 ? null : $"read with the default of '{string.Join("', '", added)}'",
            dropped.Count == 0 ? null : $"'{string.Join("', '", dropped)}' no longer read",
        }.OfType<string>());
        return new(stored.Name, version, type.Name, objects, LayoutReading.Converted, detail.Length == 0 ? null : detail);
    }

    /// <summary>
    /// The objects reachable from the root whose class is stored as <paramref name="className"/> (as <see cref="Classes"/>
    /// names it), decoded as <see cref="Describe(Oid)"/> does, in the order a walk from the root finds them.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="className"/> is null or empty (thrown at the call, not at the first element).</exception>
    public IEnumerable<StoredObject> ObjectsOf(string className, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(className);
        var typeIds = Classes.Where(c => c.Name == className).Select(static c => c.TypeId).ToHashSet();
        return typeIds.Count == 0 ? [] : Decoded(typeIds, cancellationToken);
    }

    private IEnumerable<StoredObject> Decoded(HashSet<uint> typeIds, CancellationToken cancellationToken)
    {
        foreach (var (_, _, record) in Walk(cancellationToken))
        {
            if (record is { } found && typeIds.Contains(RecordFormat.TypeId(found.Data.Span))) yield return Decode(found);
        }
    }

    /// <summary>
    /// The object <paramref name="oid"/> as of the inspector's snapshot: its class, each field's value
    /// as text (<see cref="StoredFieldValue"/>) and the oids its record references; null if there is no such object.
    /// </summary>
    public StoredObject? Describe(Oid oid) => Describe(oid, SnapshotTid);

    /// <summary>The revision of <paramref name="oid"/> that was current at transaction <paramref name="tid"/> (see <see cref="History"/>); null if the object did not exist then or that revision was packed away.</summary>
    public StoredObject? Describe(Oid oid, long tid) => _storage.LoadBefore(oid, Math.Min(tid, SnapshotTid) + 1) is { } record ? Decode(record) : null;

    /// <summary>
    /// The revisions of <paramref name="oid"/> the file still holds, newest first (a pack keeps only the
    /// current one, unless it was asked to keep history), at most <paramref name="most"/>.
    /// </summary>
    public IReadOnlyList<StoredRevision> History(Oid oid, int most = 100)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(most);
        var revisions = new List<StoredRevision>();
        for (var record = Read(oid); record is { } found && revisions.Count < most; record = _storage.LoadBefore(oid, found.Tid))
        {
            var data = found.Data.Span;
            revisions.Add(new StoredRevision(found.Tid, ClassName(RecordFormat.TypeId(data)), RecordFormat.SchemaVersion(data), data.Length));
        }
        return revisions;
    }

    /// <summary>Closes the file if <see cref="Open(string)"/> opened it.</summary>
    public void Dispose()
    {
        if (_ownsStorage) _storage.Dispose();
    }

    /// <summary>
    /// Every object reachable from the root and the catalog, each once, with the object that referenced it first (null for
    /// the two roots): its record, or null for a referenced object the storage lacks (an absent root is passed over).
    /// </summary>
    private IEnumerable<(Oid From, Oid Oid, StoredRecord? Record)> Walk(CancellationToken cancellationToken)
    {
        var seen = new HashSet<ulong> { Oid.Root.Value, Oid.Catalog.Value };
        var pending = new Stack<(Oid From, Oid Oid)>([(Oid.Null, Oid.Catalog), (Oid.Null, Oid.Root)]);
        var references = new List<Oid>();
        var visited = 0L;
        while (pending.TryPop(out var next))
        {
            if ((visited++ & 1023) == 0) cancellationToken.ThrowIfCancellationRequested();
            var record = Read(next.Oid);
            if (record is null && next.From.IsNull) continue;
            yield return (next.From, next.Oid, record);
            if (record is not { } found) continue;
            references.Clear();
            RecordFormat.References(found.Data.Span, references);
            foreach (var target in references)
                if (seen.Add(target.Value)) pending.Push((next.Oid, target));
        }
    }

    private StoredRecord? Read(Oid oid) => _storage.LoadBefore(oid, SnapshotTid + 1);

    private StoredObject Decode(StoredRecord record)
    {
        var data = record.Data.Span;
        var typeId = RecordFormat.TypeId(data);
        var version = RecordFormat.SchemaVersion(data);
        var referenced = new List<Oid>();
        RecordFormat.References(data, referenced);
        var fields = new List<StoredFieldValue>();
        string? problem = null;
        if (typeId == RecordFormat.CatalogTypeId)
            problem = $"The schema catalog: {Classes.Count} classes (see Classes).";
        else if (!_classes.TryGetValue(typeId, out var stored) || version >= stored.Versions.Count)
            problem = $"The catalog has no schema version {version} of type id {typeId}: the record cannot be decoded.";
        else
            problem = DecodeFields(RecordFormat.State(data), stored.Versions[version], fields);
        return new StoredObject(record.Oid, record.Tid, typeId, ClassName(typeId), version, fields, referenced, data.Length, problem);
    }

    private string? DecodeFields(ReadOnlySpan<byte> state, IReadOnlyList<FieldSchema> schema, List<StoredFieldValue> into)
    {
        var reader = new RecordReader(state, null);
        var text = new StringBuilder();
        try
        {
            foreach (var field in schema)
            {
                text.Clear();
                StoredValueText.Append(TypeShape.Parse(field.TypeCode), ref reader, text, ClassName);
                into.Add(new StoredFieldValue(field.Name, field.TypeCode, text.ToString()));
            }
            return reader.Remaining == 0 ? null : $"{reader.Remaining} bytes follow the last field: the record does not match its schema.";
        }
        catch (FormatException e)
        {
            return $"The fields after the {into.Count} shown cannot be decoded: {e.Message}";
        }
    }
}

/// <summary>A class the schema catalog names.</summary>
/// <param name="TypeId">The number records of the class carry.</param>
/// <param name="Name">The class's stored name.</param>
/// <param name="Versions">The field list of each schema version, oldest (version 0) first.</param>
public sealed record StoredClass(uint TypeId, string Name, IReadOnlyList<IReadOnlyList<FieldSchema>> Versions);

/// <summary>How this program reads a schema version of a stored class (<see cref="DatabaseInspector.CheckSchema"/>).</summary>
public enum LayoutReading
{
    /// <summary>It is the layout this program writes: read as it is.</summary>
    AsWritten,

    /// <summary>Another layout of the class (an older program's, usually): read converted, fields added since with their defaults, fields removed skipped.</summary>
    Converted,

    /// <summary>A newer program's layout, with fields this program's class lacks: read, but a change to an object holding values there is refused.</summary>
    NewerFields,

    /// <summary>This program has no concrete class for it (removed, renamed without an alias, made abstract): its objects do not load.</summary>
    ClassMissing,

    /// <summary>A field was stored as a type that does not convert to the field's type in this program: its objects do not load.</summary>
    Unconvertible,
}

/// <summary>One schema version of a stored class, and how this program reads it (<see cref="DatabaseInspector.CheckSchema"/>).</summary>
/// <param name="StoredName">The class's name in the file.</param>
/// <param name="SchemaVersion">The schema version (0 is the first layout stored).</param>
/// <param name="ProgramClass">The class of this program that reads it, or null if none does.</param>
/// <param name="ReachableObjects">The objects reachable from the root stored with this layout (0: none left, whatever the reading).</param>
/// <param name="Reading">How this program reads it.</param>
/// <param name="Detail">What a conversion does, or why the objects cannot load or be changed (the message a load or commit would give); null for nothing to say.</param>
public sealed record StoredLayoutCheck(string StoredName, int SchemaVersion, string? ProgramClass, long ReachableObjects, LayoutReading Reading, string? Detail)
{
    /// <summary>Whether objects of this layout fail to load in this program.</summary>
    public bool FailsToLoad => Reading is LayoutReading.ClassMissing or LayoutReading.Unconvertible;

    /// <inheritdoc />
    public override string ToString()
    {
        // A layout read as a class of another name (a [PersistentAlias]) says so whether or not it converts:
        // the file takes the new name at the next commit that stores or refers to such an object.
        var renamed = ProgramClass is not null && ProgramClass != StoredName;
        var reading = Reading switch
        {
            LayoutReading.AsWritten => renamed ? $"read as {ProgramClass}, as written" : "read as written",
            LayoutReading.Converted => $"read converted{(renamed ? $" as {ProgramClass}" : "")}",
            LayoutReading.NewerFields => "stored by a newer program",
            LayoutReading.ClassMissing => "CANNOT LOAD: no class",
            _ => "CANNOT LOAD: a field does not convert",
        };
        // A collection's name changes with a class it holds: the alias goes on that class, not on the collection.
        var alias = StoredName.Contains('<', StringComparison.Ordinal)
            ? "a [PersistentAlias] with the new name on the renamed class of its type arguments"
            : $"[PersistentAlias(\"{ProgramClass}\")] on its class";
        var rename = renamed && !FailsToLoad
            ? $". The file names the class '{ProgramClass}' from the next commit that stores one or an object referring to one: a program that should still read it then needs {alias}"
            : "";
        return $"{StoredName} v{SchemaVersion}: {ReachableObjects:N0} reachable object(s), {reading}{(Detail is null ? "" : $". {Detail}")}{rename}";
    }
}

/// <summary>What <see cref="DatabaseInspector.CheckSchema"/> found: every schema version of every stored class.</summary>
/// <param name="Layouts">Each class's schema versions, in the catalog's order.</param>
public sealed record SchemaCheck(IReadOnlyList<StoredLayoutCheck> Layouts)
{
    /// <summary>The layouts whose reachable objects this program cannot load; empty if it loads everything the root reaches.</summary>
    public IReadOnlyList<StoredLayoutCheck> Unreadable => [.. Layouts.Where(static l => l.ReachableObjects > 0 && l.FailsToLoad)];

    /// <summary>The layouts of reachable objects a newer program stored with fields this program lacks (changing such an object may be refused).</summary>
    public IReadOnlyList<StoredLayoutCheck> FromNewerProgram => [.. Layouts.Where(static l => l.ReachableObjects > 0 && l.Reading == LayoutReading.NewerFields)];

    /// <summary>Whether this program loads every object reachable from the root.</summary>
    public bool ReadsEverything => Unreadable.Count == 0;

    /// <summary>One line per layout with reachable objects, those that cannot load first.</summary>
    public override string ToString() => string.Join(Environment.NewLine, Layouts
        .Where(static l => l.ReachableObjects > 0)
        .OrderByDescending(static l => l.FailsToLoad)
        .Select(static l => l.ToString()));
}

/// <summary>What <see cref="DatabaseInspector.MeasureUsage"/> found.</summary>
/// <param name="FileBytes">The bytes of the file's transactions (null without a file).</param>
/// <param name="StoredObjects">The objects the file holds a revision of, reachable or not (null without a file).</param>
/// <param name="ReachableObjects">The objects reachable from the root, with the catalog and the root.</param>
/// <param name="ReachableBytes">The bytes of their current records (a record's header of about 10 bytes not counted).</param>
/// <param name="PackedBytes">The size of the file a pack keeping no history would write now (<see cref="FileStorage.Pack"/>).</param>
/// <param name="Classes">Reachable objects and bytes by class, the most bytes first.</param>
/// <param name="MissingReferences">References (from, to) to objects the database does not hold: damage, see <see cref="FileStorage.Verify(string)"/>.</param>
public sealed record StorageUsage(long? FileBytes, long? StoredObjects, long ReachableObjects, long ReachableBytes, long PackedBytes, IReadOnlyList<ClassUsage> Classes, IReadOnlyList<(Oid From, Oid To)> MissingReferences);

/// <summary>The reachable objects of one class (<see cref="StorageUsage"/>).</summary>
public sealed record ClassUsage(string ClassName, long Objects, long Bytes);

/// <summary>One revision of an object, as <see cref="DatabaseInspector.History"/> lists them.</summary>
public readonly record struct StoredRevision(long Tid, string ClassName, int SchemaVersion, int RecordBytes);

/// <summary>An object as its record holds it (<see cref="DatabaseInspector.Describe(Oid)"/>).</summary>
/// <param name="Oid">The object.</param>
/// <param name="Tid">The transaction that wrote this revision.</param>
/// <param name="TypeId">The class's type id.</param>
/// <param name="ClassName">The class's stored name.</param>
/// <param name="SchemaVersion">The schema version the record was written with.</param>
/// <param name="Fields">The fields decoded, in stored order.</param>
/// <param name="References">The oids the record references (what a pack follows).</param>
/// <param name="RecordBytes">The record's size.</param>
/// <param name="Problem">Why some or all fields could not be decoded, or null.</param>
public sealed record StoredObject(Oid Oid, long Tid, uint TypeId, string ClassName, int SchemaVersion, IReadOnlyList<StoredFieldValue> Fields, IReadOnlyList<Oid> References, int RecordBytes, string? Problem);

/// <summary>A field of a <see cref="StoredObject"/>: its stored name, type code and value as text.</summary>
public readonly record struct StoredFieldValue(string Name, string TypeCode, string Value);
