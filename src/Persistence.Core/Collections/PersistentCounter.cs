using Persistence.Serialization;

namespace Persistence;

/// <summary>
/// A 64-bit counter that many transactions (threads or processes) can change at once without
/// conflicts: when two commits race, the later one adds its own change to the committed value
/// instead of failing (<see cref="PersistentObject.ResolveConflict"/>). Use it for totals and
/// statistics; use a plain property when the exact value read must not change before the commit. It
/// does not hand out unique numbers: two transactions that increment at once both get the same value
/// from <see cref="Increment"/> and both commit, so ids taken from it collide (use a <see cref="Guid"/>).
/// </summary>
public sealed class PersistentCounter : PersistentObject
{
    internal static readonly PersistentTypeInfo TypeInfo = new(
        "Persistence.PersistentCounter",
        [],
        null,
        [new FieldSchema("Value", "i64")],
        static token => new PersistentCounter(token));

    private long _value;
    // The transaction epoch of the last read through ExactValue (0: none), whose transaction's merge keeps the value read true.
    private long _exactReadEpoch;

    /// <summary>Creates a counter at <paramref name="initial"/>.</summary>
    public PersistentCounter(long initial = 0) => _value = initial;

    private PersistentCounter(GhostToken token) : base(token)
    {
    }

    /// <inheritdoc />
    public override PersistentTypeInfo PersistentType => TypeInfo;

    /// <summary>The current value (as of this connection's snapshot plus its own changes).</summary>
    public long Value
    {
        get
        {
            ActivateIfGhost();
            return _value;
        }
    }

    /// <summary>
    /// The current value, which a merge of this transaction's change under serializable isolation must
    /// keep true (it refuses when the other commit changed the value). A BTree's length reads it, so a
    /// transaction that decides by the tree's count conflicts with concurrent inserts and removals.
    /// </summary>
    internal long ExactValue
    {
        get
        {
            ActivateIfGhost();
            _exactReadEpoch = TransactionEpoch.Current;
            return _value;
        }
    }

    /// <summary>
    /// Adds <paramref name="amount"/> (which may be negative) and returns the new value as this transaction
    /// sees it: a transaction adding at the same time may see the same value, and both commit.
    /// </summary>
    public long Add(long amount)
    {
        BeforeWrite();
        return _value += amount;
    }

    /// <summary>Adds one.</summary>
    public long Increment() => Add(1);

    /// <summary>Subtracts one.</summary>
    public long Decrement() => Add(-1);

    /// <inheritdoc />
    protected internal override bool ResolveConflict(PersistentObject? oldState, PersistentObject committedState)
    {
        // Without the revision this transaction started from there is no telling its own increment.
        if (oldState is not PersistentCounter old) return false;
        var committed = ((PersistentCounter)committedState)._value;
        if (committed != old._value && MergeKeepsReads(_exactReadEpoch)) return false;
        _value = committed + (_value - old._value);
        return true;
    }

    /// <inheritdoc />
    protected internal override void WriteState(ref RecordWriter writer) => writer.WriteInt64(_value);

    /// <inheritdoc />
    protected internal override void ReadState(ref RecordReader reader) => _value = reader.ReadInt64();

    internal override bool StaysLoadedOnRelease => true;

    /// <inheritdoc />
    protected internal override void ClearState()
    {
        _value = 0;
        _exactReadEpoch = 0;
    }

    /// <inheritdoc />
    public override string ToString() => Value.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
