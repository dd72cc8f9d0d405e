using System.ComponentModel;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;
using System.Text.Json.Serialization;
using Persistence.Serialization;

namespace Persistence;

/// <summary>
/// The base of every persistent class. The source generator derives <c>[Persistent]</c> classes from
/// it and writes their property bodies: a read calls <see cref="ActivateIfGhost"/> (one field compare
/// when the object is loaded), a write calls <see cref="BeforeWrite"/>, which loads a ghost and
/// registers the object with its connection once per transaction.
/// </summary>
public abstract class PersistentObject
{
    // The oid in the low 48 bits and the number of the object's connection in the high 16 (see
    // ConnectionNumbers): one field for the two, as a reference to the connection would cost every
    // object 8 bytes (a person is 72 bytes so, 80 with the reference).
    private ulong _identity;
    // The transaction epoch in which the object was last touched (a multiple of 4; 0 for a ghost, see
    // TransactionEpoch), with the object's PersistentState in the two low bits: the two in one field,
    // as a field of their own would cost every object 8 bytes (the runtime rounds a base class's fields
    // up to 8 bytes).
    private long _stamp;

    private const int OwnerShift = 48;

    /// <summary>The largest oid an object can have (2^48 - 1): the bits above hold its connection's number.</summary>
    internal const ulong LargestOid = (1UL << OwnerShift) - 1;

    /// <summary>The object's oid; null while it is new.</summary>
    internal Oid ObjectOid
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => new(_identity & LargestOid);
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        set
        {
            if (value.Value > LargestOid) throw OidTooLarge(value);
            _identity = (_identity & ~LargestOid) | value.Value;
        }
    }

    private static PersistenceException OidTooLarge(Oid oid) =>
        new($"{oid} is beyond the largest oid an object can have ({LargestOid}); the database was written by another program, or is damaged.");

    /// <summary>The number of the object's connection: 0 while it is new, <see cref="ConnectionNumbers.Released"/> once its connection was let go of.</summary>
    internal int OwnerNumber
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => (int)(_identity >> OwnerShift);
        set => _identity = (_identity & LargestOid) | ((ulong)value << OwnerShift);
    }

    private const long StateBits = 3;

    /// <summary>Whether the object is new, a ghost, loaded or changed (kept in <see cref="_stamp"/>).</summary>
    internal PersistentState State
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => (PersistentState)(_stamp & StateBits);
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        set => _stamp = (_stamp & ~StateBits) | (long)value;
    }

    /// <summary>The transaction epoch in which the object was last touched; 0 for a ghost (kept in <see cref="_stamp"/>).</summary>
    internal long Touched
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => _stamp & ~StateBits;
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        set => _stamp = value | (_stamp & StateBits);
    }

    /// <summary>Creates a new object: it has no oid until a commit reaches it from a stored object.</summary>
    protected PersistentObject()
    {
    }

    /// <summary>Creates a ghost; only the library calls this, through generated code.</summary>
    protected PersistentObject(GhostToken token)
    {
        _ = token;
        State = PersistentState.Ghost;
    }

    /// <summary>The object's oid, or <see cref="Oid.Null"/> while it is new.</summary>
    [EditorBrowsable(EditorBrowsableState.Advanced)]
    [JsonIgnore]
    public Oid PersistentOid => ObjectOid;

    /// <summary>Whether the object is new, a ghost, loaded, or changed.</summary>
    [EditorBrowsable(EditorBrowsableState.Advanced)]
    [JsonIgnore]
    public PersistentState PersistentState => State;

    /// <summary>
    /// The connection the object belongs to (closed, pooled ones included); null while it is new, and
    /// once its connection was let go of (closed when its database's pool was full, or its database disposed).
    /// </summary>
    [EditorBrowsable(EditorBrowsableState.Advanced)]
    [JsonIgnore]
    public Connection? PersistentConnection => ConnectionNumbers.Find(OwnerNumber);

    /// <summary>
    /// The tid of the committed revision the object's state comes from (0 while it is new, and once its
    /// connection was let go of). Objects do not keep it: their connection looks it up in the storage.
    /// </summary>
    [EditorBrowsable(EditorBrowsableState.Advanced)]
    [JsonIgnore]
    public long PersistentSerial => ConnectionNumbers.Find(OwnerNumber) is { } connection && State != PersistentState.New ? connection.SerialOf(this) : 0;

    /// <summary>The description of the object's class (generated).</summary>
    /// <exception cref="InvalidOperationException">The object's class derives from a <c>[Persistent]</c> class without being one.</exception>
    [EditorBrowsable(EditorBrowsableState.Advanced)]
    [JsonIgnore]
    public abstract PersistentTypeInfo PersistentType { get; }

    /// <summary>
    /// For generated code: the error for an object whose class derives from the <c>[Persistent]</c>
    /// class <paramref name="storedName"/> without being <c>[Persistent]</c> itself. Stored, it would
    /// load as that class, without its own properties.
    /// </summary>
    [EditorBrowsable(EditorBrowsableState.Never)]
    protected InvalidOperationException NotPersistentClass(string storedName)
    {
        var type = GetType();
        var generic = type.IsGenericType;
        // A generic class's full name carries its arguments' assembly-qualified names: name it as C# does.
        var name = generic ? type.Name[..type.Name.IndexOf('`')] + "<…>" : type.FullName;
        return new(
            $"{name} derives from the [Persistent] class {storedName} but is not [Persistent] itself, so it cannot be stored: it would load as its base class {storedName}, without its own properties. "
            + (generic
                ? "A generic class cannot be [Persistent]: derive a non-generic [Persistent] class, and hold what varies in a persistent collection."
                : $"Mark {type.Name} [Persistent] (and partial, with partial properties for what it stores)."));
    }

    /// <summary>
    /// Loads the object's state if it is a ghost, and notes the first read in each transaction for
    /// conflict checks. Generated getters call this first; when the object is loaded and already read
    /// in this transaction it costs one field compare.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    protected void ActivateIfGhost()
    {
        if (Touched != TransactionEpoch.Current) Touch();
    }

    /// <summary>
    /// The object a reference property's field holds, checked to be a <typeparamref name="T"/>; generated
    /// getters call this. The field is read from the record without the check (see
    /// <see cref="RecordReader.ReadReference()"/>), which would read the object referenced; here the
    /// caller is about to use it anyway, and the check is one compare of its class.
    /// </summary>
    /// <exception cref="SchemaMismatchException">The stored reference is to an object of another class (the property's type changed).</exception>
    [EditorBrowsable(EditorBrowsableState.Never)]
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    protected T? Referenced<T>(PersistentObject? target, string property) where T : PersistentObject
    {
        if (target is T || target is null) return Unsafe.As<T?>(target);
        return ReferencedAs<T>(target, property);
    }

    /// <summary>
    /// <see cref="Referenced{T}"/> of an object not of the property's class: a collection stored as one of a class
    /// the program still uses for other properties, which reads as the property's (<see cref="Connection.ReadAs"/>),
    /// or else an error.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private T ReferencedAs<T>(PersistentObject target, string property) where T : PersistentObject
    {
        var expected = ClassNames.Of<T>();
        if (ConnectionNumbers.Find(OwnerNumber)?.ReadAs(target, expected) is T read) return read;
        throw WrongReferenceType(target, property, expected);
    }

    private SchemaMismatchException WrongReferenceType(PersistentObject target, string property, string expected) =>
        RecordReader.WrongReferenceType(target, expected, $"{PersistentType.Name}.{property}", PersistentType.Name, property);

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void Touch()
    {
        if (ConnectionNumbers.Find(OwnerNumber) is { } connection) connection.Touch(this);
        else if (OwnerNumber == ConnectionNumbers.Released) Connection.TouchReleased(this);
        else Touched = TransactionEpoch.Current;
    }

    /// <summary>
    /// Prepares the object for a change: loads it if it is a ghost and registers it with its
    /// connection (once per transaction) so the next commit stores it. Generated setters call this first.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    protected void BeforeWrite()
    {
        var state = State;
        if ((uint)(state - PersistentState.Ghost) <= 1u) MarkChanged();
        else if (state == PersistentState.Changed) CheckWriter();
    }

    /// <summary>
    /// A change of an object already changed in the transaction, which needs no call on the connection:
    /// the writing thread must still be the transaction's (see <see cref="Connection.CheckWriter"/>).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void CheckWriter() => ConnectionNumbers.Find(OwnerNumber)?.CheckWriter();

    /// <summary>Loads the object's state now if it is a ghost (as reading a property would).</summary>
    public void Activate() => ActivateIfGhost();

    /// <summary>
    /// Marks the object as changed so the next commit stores it. Generated setters do this; call it
    /// yourself only after changing state the generator cannot see (for example inside a value you mutated in place).
    /// </summary>
    public void MarkChanged()
    {
        switch (State)
        {
            case PersistentState.New:
                return;
            case PersistentState.Changed:
                CheckWriter();
                return;
            default:
                Connection.OwnerOf(this).Register(this);
                return;
        }
    }

    /// <summary>Writes the stored fields, the base class's first (generated).</summary>
    protected internal abstract void WriteState(ref RecordWriter writer);

    /// <summary>Reads the stored fields, the base class's first (generated).</summary>
    protected internal abstract void ReadState(ref RecordReader reader);

    /// <summary>
    /// Merges a conflicting change instead of failing the commit. Called during a commit when another
    /// transaction committed a newer revision of this object after this transaction loaded it. This
    /// object holds this transaction's state; <paramref name="oldState"/> is the revision this
    /// transaction started from and <paramref name="committedState"/> the newer committed one (both
    /// detached copies: read them, don't keep them). Set this object's properties to the merged state
    /// and return true, or return false to let the commit fail with <see cref="ConflictException"/>.
    /// The default returns false. Not called when the revision this transaction started from is no
    /// longer stored (a pack dropped it): the commit then fails with the conflict.
    /// </summary>
    /// <example>A counter adds the other transaction's increment to its own:
    /// <c>Value = committed.Value + (Value - old.Value)</c>.</example>
    protected internal virtual bool ResolveConflict(PersistentObject? oldState, PersistentObject committedState) => false;

    /// <summary>
    /// Whether a read of this object joins the transaction's read set, which a serializable commit
    /// checks. Only structures whose readers are protected otherwise say no: a BTree's internal nodes,
    /// whose changes always write the buckets whose key ranges they change.
    /// </summary>
    internal virtual bool ChecksReads => true;

    /// <summary>Whether a note this object made at transaction epoch <paramref name="epoch"/> (0: none) belongs to its connection's current transaction.</summary>
    internal bool NotedInThisTransaction(long epoch) => epoch != 0 && ConnectionNumbers.Find(OwnerNumber) is { } connection && connection.NotedInThisTransaction(epoch);

    /// <summary>Whether a merge of this object must keep true what its transaction read of it at epoch <paramref name="epoch"/> (0: nothing), see <see cref="Connection.MergeKeepsReads"/>.</summary>
    internal bool MergeKeepsReads(long epoch) => epoch != 0 && ConnectionNumbers.Find(OwnerNumber) is { } connection && connection.MergeKeepsReads(epoch);

    /// <summary>Resets every stored field to its default, releasing what it referenced (generated; used when the object becomes a ghost).</summary>
    protected internal abstract void ClearState();

    /// <summary>
    /// Whether <see cref="Connection.ReleaseUnchanged()"/> leaves this object loaded: the persistent
    /// collections whose enumerators walk the items they loaded (lists, dictionaries, sets, a BTree's
    /// own object) and counters, whose merges need what the transaction read of them. Each is one
    /// small record or holds the references to the objects that are let go of.
    /// </summary>
    internal virtual bool StaysLoadedOnRelease => false;

    /// <summary>
    /// <see cref="ClearState"/> for <see cref="Connection.ReleaseUnchanged()"/>, which keeps the
    /// transaction: an object that notes its reads for merges keeps those notes (a BTree's buckets).
    /// </summary>
    internal virtual void ClearStateOnRelease() => ClearState();

    /// <summary>
    /// Asks the processor to start fetching the persistent objects this one references (generated for
    /// classes with reference properties; the default does nothing). A commit calls it when a new
    /// object joins the objects it is about to write, some way ahead of writing it, so that writing a
    /// reference, which reads the referenced object's oid, does not wait for memory there: W1's persons
    /// each reference an earlier person at random, a cache miss apiece (W1's rounds on tmpfs 3–9% faster).
    /// </summary>
    [EditorBrowsable(EditorBrowsableState.Never)]
    protected internal virtual void PrefetchReferences()
    {
    }

    /// <summary>
    /// Starts fetching the start of <paramref name="target"/> into the processor's cache, where the
    /// processor has an instruction for it (x86); otherwise nothing. Only a hint: it cannot fault, and
    /// an address the collector made stale in between costs nothing but the hint.
    /// </summary>
    [EditorBrowsable(EditorBrowsableState.Never)]
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    protected static unsafe void Prefetch(PersistentObject? target)
    {
        if (target is null || !Sse.IsSupported) return;
        Sse.Prefetch0(Unsafe.AsPointer(ref Unsafe.As<ObjectData>(target).First));
    }

    /// <summary>The view of any object through which <see cref="Prefetch"/> takes the address of its first field.</summary>
    private sealed class ObjectData
    {
        public byte First = 0;
    }
}
