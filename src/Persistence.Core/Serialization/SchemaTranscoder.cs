namespace Persistence.Serialization;

/// <summary>
/// Converts the state of a record written under an old schema of a class into the layout of the
/// class's current schema, field by field and by name or former name (docs/FORMAT.md, "Schema evolution"):
/// added fields get their default (the field's own, <see cref="FieldSchema.WithDefault{T}"/>, else their
/// type's), removed fields are skipped, safe widenings convert, anything else is a
/// <see cref="SchemaMismatchException"/>. Works only on bytes and type codes, never on objects.
/// </summary>
internal static class SchemaTranscoder
{
    /// <summary>Returns the state bytes in the current layout.</summary>
    public static byte[] Convert(ReadOnlySpan<byte> storedState, IReadOnlyList<FieldSchema> storedFields, IReadOnlyList<FieldSchema> currentFields, string className) =>
        Convert(storedState, FieldMap.Of(storedFields, currentFields), new RecordBuffer(storedState.Length + 64), className).ToArray();

    /// <summary>
    /// Writes the state in the layout <paramref name="map"/> reads it as into <paramref name="buffer"/>
    /// (cleared first) and returns it; it stays valid until the buffer's next use.
    /// </summary>
    public static ReadOnlySpan<byte> Convert(ReadOnlySpan<byte> storedState, FieldMap map, RecordBuffer buffer, string className)
    {
        buffer.Clear();
        var reader = new RecordReader(storedState, null);
        var writer = buffer.BeginRecord(0, 0, null);
        CopyFields(map, ref reader, ref writer, className, "");
        if (reader.Remaining != 0)
            throw new FormatException($"A record of '{className}' has {reader.Remaining} bytes after its last field.");
        return RecordFormat.State(buffer.Memory(writer.Complete()).Span);
    }

    private static void CopyFields(FieldMap map, ref RecordReader reader, ref RecordWriter writer, string className, string path)
    {
        var (stored, current, sources) = (map.Stored, map.Current, map.Sources);
        // Refuse an incompatible change whatever the data: an empty list of strings must not pass as a list of ints.
        if (Refusal(map, className, path) is { } refusal) throw refusal;
        // Find where each stored field starts (and the last one ends), then write the current fields in their order.
        Span<int> starts = stored.Length < 32 ? stackalloc int[32] : new int[stored.Length + 1];
        var all = reader;
        var before = reader.Remaining;
        for (var i = 0; i < stored.Length; i++)
        {
            starts[i] = before - reader.Remaining;
            Skip(stored[i].Shape, ref reader);
        }
        starts[stored.Length] = before - reader.Remaining;
        var consumed = all.ReadSpan(starts[stored.Length]);
        for (var i = 0; i < current.Length; i++)
        {
            var source = sources[i];
            if (source < 0)
            {
                if (map.Defaults?[i] is { } value) writer.WriteRawBytes(value);
                else WriteDefault(current[i].Shape, ref writer);
                continue;
            }
            var bytes = consumed[starts[source]..starts[source + 1]];
            if (map.Copied[i])
            {
                writer.WriteRawBytes(bytes);
                continue;
            }
            var field = new RecordReader(bytes, null);
            Copy(stored[source].Shape, current[i].Shape, ref field, ref writer, className, path + current[i].Name);
        }
    }

    /// <summary>Why records of the map's stored layout cannot be read as its current one (a field whose values do not convert), or null if they can.</summary>
    internal static SchemaMismatchException? Refusal(FieldMap map, string className, string path = "")
    {
        if (map.Mismatched is not (var wrong and >= 0)) return null;
        var (from, to, field) = (map.Stored[map.Sources[wrong]].Shape, map.Current[wrong].Shape, path + map.Current[wrong].Name);
        return map.StoredByNewerProgram ? ChangedByNewerProgram(from, to, className, field) : Mismatch(from, to, className, field);
    }

    private static void Copy(TypeShape from, TypeShape to, ref RecordReader reader, ref RecordWriter writer, string className, string field)
    {
        if (from.Code == to.Code)
        {
            var probe = reader;
            var before = probe.Remaining;
            Skip(from, ref probe);
            writer.WriteRawBytes(reader.ReadSpan(before - probe.Remaining));
            return;
        }
        switch (from.Kind, to.Kind)
        {
            case (ShapeKind.Nullable, ShapeKind.Nullable):
                var present = reader.ReadBoolean();
                writer.WriteBoolean(present);
                if (present) Copy(from.Arguments[0], to.Arguments[0], ref reader, ref writer, className, field);
                return;
            case (_, ShapeKind.Nullable):
                writer.WriteBoolean(true);
                Copy(from, to.Arguments[0], ref reader, ref writer, className, field);
                return;
            case (ShapeKind.Primitive, ShapeKind.Primitive) when Widens(from.Name, to.Name):
                WidenPrimitive(from.Name, to.Name, ref reader, ref writer);
                return;
            case (ShapeKind.Collection, ShapeKind.Collection)
                when from.Arguments.Length == to.Arguments.Length && (from.Name == to.Name || from.Name != "dict" && to.Name != "dict"):
                var count = reader.ReadCount(Math.Max(1, MinimumSize(from.Arguments[0])));
                writer.WriteCount(count);
                for (var i = 0; i < count; i++)
                    for (var a = 0; a < from.Arguments.Length; a++)
                        Copy(from.Arguments[a], to.Arguments[a], ref reader, ref writer, className, field);
                return;
            case (ShapeKind.Value, ShapeKind.Value):
                CopyFields(FieldMap.Of(from, to), ref reader, ref writer, className, field + ".");
                return;
            case (ShapeKind.Packed, _) or (_, ShapeKind.Packed) when Convertible(from, to):
                var values = from.Kind == ShapeKind.Packed
                    ? PackedIntegers.ReadInt64s(ref reader, from.Arguments[0].Name)
                    : ReadIntegers(ref reader, from.Arguments[0].Name);
                if (to.Kind == ShapeKind.Packed) PackedIntegers.WriteInt64s(ref writer, values, to.Arguments[0].Name);
                else WriteIntegers(ref writer, values, to.Arguments[0]);
                return;
            default:
                throw Mismatch(from, to, className, field);
        }
    }

    /// <summary>
    /// The stored fields that reading a record of <paramref name="storedFields"/> as <paramref name="currentFields"/>
    /// skips, by path (<c>Home.Country</c> for a field of an inline value), or an empty list.
    /// </summary>
    public static List<string> SkippedFields(IReadOnlyList<FieldSchema> storedFields, IReadOnlyList<FieldSchema> currentFields)
    {
        var skipped = new List<string>();
        AddSkipped(FieldMap.Of(storedFields, currentFields), "", skipped);
        return skipped;
    }

    private static void AddSkipped(FieldMap map, string path, List<string> skipped)
    {
        for (var i = 0; i < map.Stored.Length; i++)
        {
            var (name, shape) = map.Stored[i];
            if (map.Targets[i] is var at and >= 0) AddSkipped(shape, map.Current[at].Shape, path + name, skipped);
            else skipped.Add(path + name);
        }
    }

    // The fields of inline values a stored value has and the current one lacks, inside nullables and collections too.
    private static void AddSkipped(TypeShape from, TypeShape to, string path, List<string> skipped)
    {
        if (from.Kind == ShapeKind.Value && to.Kind == ShapeKind.Value) AddSkipped(FieldMap.Of(from, to), path + ".", skipped);
        else if (to.Kind == ShapeKind.Nullable && from.Kind != ShapeKind.Nullable) AddSkipped(from, to.Arguments[0], path, skipped);
        else if (from.Arguments.Length == to.Arguments.Length)
            for (var i = 0; i < from.Arguments.Length; i++) AddSkipped(from.Arguments[i], to.Arguments[i], path, skipped);
    }

    /// <summary>
    /// Of the fields <see cref="SkippedFields"/> names, those whose value in <paramref name="storedState"/> is not
    /// the default it reads back as without the field (the field's own as the catalog keeps it, else its type's;
    /// a field of an inline value held in a collection counts when the collection is not null):
    /// what writing the state back in the current layout would lose. An empty list if nothing would be.
    /// </summary>
    public static List<string> SkippedValues(ReadOnlySpan<byte> storedState, FieldMap map)
    {
        var lost = new List<string>();
        var reader = new RecordReader(storedState, null);
        AddSkippedValues(map, ref reader, "", lost);
        return lost;
    }

    private static void AddSkippedValues(FieldMap map, ref RecordReader reader, string path, List<string> lost)
    {
        for (var i = 0; i < map.Stored.Length; i++)
        {
            var (name, shape) = map.Stored[i];
            var to = map.Targets[i] is var at and >= 0 ? map.Current[at].Shape : null;
            var (from, into) = (shape, to);
            if (to is not null && from.Kind == ShapeKind.Nullable && to.Kind == ShapeKind.Nullable)
            {
                if (!reader.ReadBoolean()) continue;
                (from, into) = (from.Arguments[0], to.Arguments[0]);
            }
            else if (to is { Kind: ShapeKind.Nullable } && from.Kind != ShapeKind.Nullable)
            {
                into = to.Arguments[0];
            }
            if (into is not null && from.Kind == ShapeKind.Value && into.Kind == ShapeKind.Value)
            {
                AddSkippedValues(FieldMap.Of(from, into), ref reader, path + name + ".", lost);
                continue;
            }
            var probe = reader;
            var before = probe.Remaining;
            Skip(from, ref probe);
            var bytes = reader.ReadSpan(before - probe.Remaining);
            if (into is null)
            {
                // Dropped, the field reads back as the default of the program that added it: its own where
                // the catalog keeps one (false for a [PersistentDefault(true)] bool would read back true).
                var readsBack = map.StoredDefaults?[i] is { } own ? bytes.SequenceEqual(own) : IsDefault(from, bytes);
                if (!readsBack) lost.Add(path + name);
                continue;
            }
            // Fields of inline values held in a collection: lost unless the collection is null.
            var skipped = new List<string>();
            AddSkipped(from, into, path + name, skipped);
            if (skipped.Count > 0 && !IsDefault(from, bytes)) lost.AddRange(skipped);
        }
    }

    /// <summary>Whether <paramref name="bytes"/> are the encoding of <paramref name="shape"/>'s default value.</summary>
    private static bool IsDefault(TypeShape shape, ReadOnlySpan<byte> bytes)
    {
        var buffer = new RecordBuffer(bytes.Length + 16);
        var writer = buffer.BeginRecord(0, 0, null);
        WriteDefault(shape, ref writer);
        var state = RecordFormat.State(buffer.Memory(writer.Complete()).Span);
        return state.SequenceEqual(bytes);
    }

    /// <summary>Whether every value stored as <paramref name="from"/> converts to <paramref name="to"/>.</summary>
    internal static bool Convertible(TypeShape from, TypeShape to) => (from.Kind, to.Kind) switch
    {
        _ when from.Code == to.Code => true,
        (ShapeKind.Nullable, ShapeKind.Nullable) => Convertible(from.Arguments[0], to.Arguments[0]),
        (_, ShapeKind.Nullable) => Convertible(from, to.Arguments[0]),
        (ShapeKind.Primitive, ShapeKind.Primitive) => Widens(from.Name, to.Name),
        (ShapeKind.Collection, ShapeKind.Collection) =>
            from.Arguments.Length == to.Arguments.Length
            && (from.Name == to.Name || (from.Name != "dict" && to.Name != "dict"))
            && from.Arguments.Zip(to.Arguments).All(pair => Convertible(pair.First, pair.Second)),
        (ShapeKind.Packed, ShapeKind.Packed) => IntegerWidens(from.Arguments[0], to.Arguments[0]),
        (ShapeKind.Collection, ShapeKind.Packed) => from.Name != "dict" && IntegerWidens(from.Arguments[0], to.Arguments[0]),
        (ShapeKind.Packed, ShapeKind.Collection) => to.Name != "dict" && Convertible(from.Arguments[0], to.Arguments[0]),
        // Another value type that reads no field of the stored one (by its name or a former one) is not an evolution
        // of it (an Address property made a Money would read every stored address as an empty Money, and the next
        // write lose it).
        (ShapeKind.Value, ShapeKind.Value) => FieldMap.Of(from, to) is var map
            && (from.Fields.Length == 0 || Array.Exists(map.Sources, static source => source >= 0))
            && map.Mismatched < 0,
        _ => false,
    };

    /// <summary>Whether both are integer types and every value of <paramref name="from"/> is one of <paramref name="to"/>.</summary>
    private static bool IntegerWidens(TypeShape from, TypeShape to) =>
        PackedIntegers.IsElementCode(from.Code) && PackedIntegers.IsElementCode(to.Code) && (from.Code == to.Code || Widens(from.Code, to.Code));

    /// <summary>Reads an array or list of integers of type <paramref name="code"/> as 64-bit values (null if it was stored as null).</summary>
    private static long[]? ReadIntegers(ref RecordReader reader, string code)
    {
        var size = TypeShape.Parse(code).FixedSize;
        var count = reader.ReadCount(size);
        if (count < 0) return null;
        var values = new long[count];
        for (var i = 0; i < count; i++) values[i] = ReadInteger(code, ref reader);
        return values;
    }

    /// <summary>
    /// Writes 64-bit integers as an array or list of <paramref name="element"/>, a type each of them converts to:
    /// an integer type they fit, <c>f64</c>, or a nullable of one of these.
    /// </summary>
    private static void WriteIntegers(ref RecordWriter writer, long[]? values, TypeShape element)
    {
        if (values is null)
        {
            writer.WriteCount(-1);
            return;
        }
        writer.WriteCount(values.Length);
        foreach (var value in values) WriteIntegerAs(element, value, ref writer);
    }

    private static void WriteIntegerAs(TypeShape to, long value, ref RecordWriter writer)
    {
        if (to.Kind == ShapeKind.Nullable)
        {
            writer.WriteBoolean(true);
            WriteIntegerAs(to.Arguments[0], value, ref writer);
        }
        else if (PackedIntegers.IsElementCode(to.Name))
        {
            WriteInteger(to.Name, value, ref writer);
        }
        else
        {
            WriteReal(to.Name, value, ref writer);
        }
    }

    /// <summary>Reads one integer of type <paramref name="code"/> (<c>i8</c> … <c>u64</c>) as its 64-bit value (a u64 above the i64 range wraps).</summary>
    private static long ReadInteger(string code, ref RecordReader reader) => code switch
    {
        "i8" => reader.ReadSByte(),
        "u8" => reader.ReadByte(),
        "i16" => reader.ReadInt16(),
        "u16" => reader.ReadUInt16(),
        "i32" => reader.ReadInt32(),
        "u32" => reader.ReadUInt32(),
        "i64" => reader.ReadInt64(),
        "u64" => (long)reader.ReadUInt64(),
        _ => throw new InvalidOperationException($"'{code}' is not an integer type code."),
    };

    /// <summary>Writes a 64-bit value, known to fit <paramref name="code"/>, as an integer of that type.</summary>
    private static void WriteInteger(string code, long value, ref RecordWriter writer)
    {
        switch (code)
        {
            case "i8": writer.WriteSByte((sbyte)value); break;
            case "u8": writer.WriteByte((byte)value); break;
            case "i16": writer.WriteInt16((short)value); break;
            case "u16": writer.WriteUInt16((ushort)value); break;
            case "i32": writer.WriteInt32((int)value); break;
            case "u32": writer.WriteUInt32((uint)value); break;
            case "i64": writer.WriteInt64(value); break;
            case "u64": writer.WriteUInt64((ulong)value); break;
            default: throw new InvalidOperationException($"'{code}' is not an integer type code.");
        }
    }

    private static SchemaMismatchException Mismatch(TypeShape from, TypeShape to, string className, string field) =>
        new($"Field '{field}' of class '{className}' was stored as {Named(from.Code)} and is now {Named(to.Code)}, which is not a safe widening. Change the field back, or change its type in two versions: keep the property as it was, add one of the new type under a new name and copy the values into it (the objects are then stored with both), then remove the old property and rename the new one back, with [PersistentAlias(\"<new name>\")] on it.",
            className,
            field);

    private static SchemaMismatchException ChangedByNewerProgram(TypeShape from, TypeShape to, string className, string field) =>
        new($"Field '{field}' of class '{className}' was stored as {Named(from.Code)} by a newer version of the program, which changed its type; this program has it as {Named(to.Code)} and cannot read it. Read and change such objects with the newer version of the program: an older one cannot undo a change of type.",
            className,
            field);

    /// <summary>
    /// A type code as a message names it: the code, and the C# type it stores (<see cref="ClassNames.OfStored"/>)
    /// where that reads otherwise; an integer code is an enum's too, stored as its underlying integer.
    /// </summary>
    internal static string Named(string code)
    {
        var type = ClassNames.OfStored(code);
        if (type == code) return $"'{code}'";
        return Numeric(code).Kind is 'i' or 'u' ? $"'{code}' ({type}, or an enum over {type})" : $"'{code}' ({type})";
    }

    private static bool Widens(string from, string to)
    {
        var (fromKind, fromBits) = Numeric(from);
        var (toKind, toBits) = Numeric(to);
        return (fromKind, toKind) switch
        {
            ('i', 'i') or ('u', 'u') or ('f', 'f') => toBits > fromBits,
            ('u', 'i') => toBits > fromBits,
            ('i', 'f') or ('u', 'f') => fromBits <= 32 && toBits == 64,
            _ => false,
        };
    }

    private static (char Kind, int Bits) Numeric(string code) => code switch
    {
        "i8" => ('i', 8), "i16" => ('i', 16), "i32" => ('i', 32), "i64" => ('i', 64),
        "u8" => ('u', 8), "u16" => ('u', 16), "u32" => ('u', 32), "u64" => ('u', 64),
        "f16" => ('f', 16), "f32" => ('f', 32), "f64" => ('f', 64),
        _ => ('-', 0),
    };

    private static void WidenPrimitive(string from, string to, ref RecordReader reader, ref RecordWriter writer)
    {
        if (PackedIntegers.IsElementCode(from))
        {
            var value = ReadInteger(from, ref reader);
            if (PackedIntegers.IsElementCode(to)) WriteInteger(to, value, ref writer);
            else WriteReal(to, value, ref writer);
            return;
        }
        double real = from switch
        {
            "f16" => (double)reader.ReadHalf(),
            "f32" => reader.ReadSingle(),
            _ => throw new InvalidOperationException($"'{from}' does not widen."),
        };
        WriteReal(to, real, ref writer);
    }

    private static void WriteReal(string to, double real, ref RecordWriter writer)
    {
        switch (to)
        {
            case "f32": writer.WriteSingle((float)real); break;
            case "f64": writer.WriteDouble(real); break;
            default: throw new InvalidOperationException($"Nothing widens to '{to}'.");
        }
    }

    /// <summary>Moves the reader past one value of the given shape, checking lengths as it goes.</summary>
    public static void Skip(TypeShape shape, ref RecordReader reader)
    {
        switch (shape.Kind)
        {
            case ShapeKind.Primitive:
                reader.Skip(shape.FixedSize);
                break;
            case ShapeKind.Sized:
                var length = reader.ReadLength();
                if (length > 0) reader.Skip(length);
                break;
            case ShapeKind.Reference:
                reader.ReadObjectReference();
                break;
            case ShapeKind.Nullable:
                if (reader.ReadBoolean()) Skip(shape.Arguments[0], ref reader);
                break;
            case ShapeKind.Collection:
                var count = reader.ReadCount(Math.Max(1, MinimumSize(shape.Arguments[0])));
                for (var i = 0; i < count; i++)
                    foreach (var argument in shape.Arguments)
                        Skip(argument, ref reader);
                break;
            case ShapeKind.Packed:
                PackedIntegers.Skip(ref reader, shape.Arguments[0].FixedSize);
                break;
            case ShapeKind.Value:
                foreach (var (_, field) in shape.Fields) Skip(field, ref reader);
                break;
        }
    }

    private static void WriteDefault(TypeShape shape, ref RecordWriter writer)
    {
        switch (shape.Kind)
        {
            case ShapeKind.Primitive:
                for (var i = 0; i < shape.FixedSize; i++) writer.WriteByte(0);
                break;
            case ShapeKind.Sized:
            case ShapeKind.Collection:
            case ShapeKind.Packed:
                writer.WriteCount(-1);
                break;
            case ShapeKind.Reference:
                writer.WriteReference(null);
                break;
            case ShapeKind.Nullable:
                writer.WriteBoolean(false);
                break;
            case ShapeKind.Value:
                var described = ValueLayouts.Find(shape.Code);
                for (var i = 0; i < shape.Fields.Length; i++)
                {
                    if (described?[i].EncodedDefault is { } value) writer.WriteRawBytes(value);
                    else WriteDefault(shape.Fields[i].Shape, ref writer);
                }
                break;
        }
    }

    internal static int MinimumSize(TypeShape shape) => shape.Kind switch
    {
        ShapeKind.Primitive => shape.FixedSize,
        ShapeKind.Sized or ShapeKind.Collection or ShapeKind.Packed or ShapeKind.Reference or ShapeKind.Nullable => 1,
        _ => shape.Fields.Sum(f => MinimumSize(f.Shape)),
    };
}
