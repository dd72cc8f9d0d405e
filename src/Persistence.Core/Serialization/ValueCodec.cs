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

    /// <summary>
    /// For the codec of a <c>[PersistentValue]</c> type: describes its fields (those <see cref="TypeCode"/> lists, in
    /// its order) with what the type code does not hold: the value each reads as in a value stored before the
    /// type had it (<see cref="FieldSchema.WithDefault{T}"/>) and its former names (<see cref="FieldSchema.WithAliases"/>).
    /// Generated codecs call it when they are made, for a type with a default or a former name. A value is found
    /// by its type code, so two value types of one type code described differently read as neither describes.
    /// </summary>
    /// <param name="fields">The fields, as the type code lists them.</param>
    /// <exception cref="ArgumentException">The fields are not those of <see cref="TypeCode"/>.</exception>
    protected void DescribeFields(params FieldSchema[] fields)
    {
        ArgumentNullException.ThrowIfNull(fields);
        ValueLayouts.Describe(TypeCode, fields);
    }

    /// <summary>Whether the values are references to persistent objects (stored as an oid and a type id).</summary>
    internal virtual bool IsReference => false;
}
