using Persistence.Serialization;

namespace Persistence;

/// <summary>
/// Stands for an object of a class this program does not define (deleted, or renamed without an
/// alias): what refers to it still loads, a root or a collection holding it, or an object with a
/// reference property to it, and the reference can be read, removed or replaced, while the object
/// itself cannot load: reading it raises the <see cref="SchemaMismatchException"/> that says which
/// class to add or alias. Written back, a reference to it keeps the type id it was read with (see
/// <see cref="SchemaCatalog.BindForWrite"/>), so an object that still refers to it stores the reference as it was.
/// </summary>
internal sealed class MissingClass : PersistentObject
{
    private readonly PersistentTypeInfo _type;
    private readonly string _reason;

    private MissingClass(GhostToken token, PersistentTypeInfo type, string reason)
        : base(token)
    {
        _type = type;
        _reason = reason;
    }

    /// <summary>
    /// The description of the class stored as <paramref name="storedName"/> under <paramref name="typeId"/>,
    /// whose objects fail to load with <paramref name="reason"/>.
    /// </summary>
    public static PersistentTypeInfo TypeFor(string storedName, uint typeId, string reason)
    {
        PersistentTypeInfo? type = null;
        type = new PersistentTypeInfo(storedName, [], null, [], token => new MissingClass(token, type!, reason)) { MissingTypeId = typeId, MissingReason = reason };
        return type;
    }

    public override PersistentTypeInfo PersistentType => _type;

    // Never loaded: no read to check.
    internal override bool ChecksReads => false;

    protected internal override void ReadState(ref RecordReader reader) => throw Reason();

    protected internal override void WriteState(ref RecordWriter writer) => throw Reason();

    protected internal override void ClearState()
    {
    }

    /// <summary>Why its objects cannot load: also the error of a typed field or a GetOrAdd that meets one, rather than a wrong class's.</summary>
    internal SchemaMismatchException Reason() => new(_reason, _type.Name);
}
