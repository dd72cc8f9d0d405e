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
