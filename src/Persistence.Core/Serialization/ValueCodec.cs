namespace Persistence.Serialization;

/// <summary>
/// Writes and reads one kind of inline value (a number, a string, a list of values, a
/// <c>[PersistentValue]</c> struct, a persistent reference...). Generated code and the persistent
/// collections compose codecs from <see cref="ValueCodecs"/>; none of them uses reflection.
/// </summary>
/// <typeparam name="T">The value type.</typeparam>
public abstract class ValueCodec<T>
{
    /// <summary>The type code stored in the schema for a field of this kind (docs/FORMAT.md).</summary>
    public abstract string TypeCode { get; }

    /// <summary>The fewest bytes one value takes (used to reject damaged collection counts early).</summary>
    public virtual int MinimumSize => 1;

    /// <summary>Writes a value.</summary>
    public abstract void Write(ref RecordWriter writer, T value);

    /// <summary>Reads a value.</summary>
    public abstract T Read(ref RecordReader reader);

    /// <summary>Whether the values are references to persistent objects (stored as an oid and a type id).</summary>
    internal virtual bool IsReference => false;
}
