using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Persistence.Serialization;

namespace Persistence;

/// <summary>
/// What the buckets and nodes of one closed tree type share: their registered types, the key and value
/// codecs, the bucket capacity, and the array encodings. One tree type (a BTree or a BTreeSet) owns
/// one instantiation, registered with its stored name.
/// </summary>
internal static class BTreeTypes<TKey, TValue>
{
    /// <summary>
    /// The most children an internal node holds before it splits. A split rewrites the parent node
    /// whole (each child a reference to resolve and list), so smaller nodes make splits cheaper;
    /// 128 children still keep a tree of a billion small entries four nodes deep.
    /// </summary>
    public static int NodeCapacity { get; private set; } = 128;

    public static PersistentTypeInfo? Bucket { get; private set; }
    public static PersistentTypeInfo? Node { get; private set; }
    public static ValueCodec<TKey> KeyCodec { get; private set; } = null!;
    public static ValueCodec<TValue>? ValueCodec { get; private set; }

    /// <summary>Whether values are references to persistent objects, which a loaded bucket makes into objects one by one as they are asked for (<see cref="BTreeBucket{TKey, TValue}.ValueAt"/>).</summary>
    public static bool LazyValues { get; private set; }

    /// <summary>The most entries a bucket holds before an insert splits it.</summary>
    public static int BucketCapacity { get; private set; } = DefaultBucketCapacity;

    private const int DefaultBucketCapacity = -1;

    private static bool s_rawKeys;
    private static bool s_rawValues;
    // Integer keys and values are stored packed (PackedIntegers): a bucket's sorted keys differ little
    // from their neighbours, and random inserts rewrite whole buckets, so their size is what is written.
    private static bool s_packedKeys;
    private static bool s_packedValues;

    /// <summary>The tree's own stored name, for messages.</summary>
    public static string TreeName { get; private set; } = "";

    /// <summary>
    /// Registers the bucket and node types of the tree type <paramref name="treeName"/>;
    /// <paramref name="valueCodec"/> is null for a set, whose buckets hold keys only.
    /// </summary>
    public static void Register(string treeName, ValueCodec<TKey> keyCodec, ValueCodec<TValue>? valueCodec)
    {
        if (Bucket is not null) return;
        s_packedKeys = PackedIntegers.Supports(keyCodec);
        s_packedValues = valueCodec is not null && PackedIntegers.Supports(valueCodec);
        var keys = ArrayCode(keyCodec, s_packedKeys);
        List<FieldSchema> bucketFields =
        [
            new("Stamp", "i64"),
            new("Removed", "bool"),
            new("Upper", keyCodec.TypeCode + "?"),
            new("Keys", keys),
        ];
        if (valueCodec is not null) bucketFields.Add(new("Values", ArrayCode(valueCodec, s_packedValues)));
        var bucket = new PersistentTypeInfo(treeName + ".Bucket", [], null, bucketFields, static token => new BTreeBucket<TKey, TValue>(token)) { IsCollectionType = true };
        var node = new PersistentTypeInfo(
            treeName + ".Node",
            [],
            null,
            [new("Stamp", "i64"), new("Removed", "bool"), new("Separators", keys), new("Children", "array<ref>")],
            static token => new BTreeNode<TKey, TValue>(token)) { IsCollectionType = true };
        PersistentTypes.Register(bucket);
        PersistentTypes.Register(node);
        KeyCodec = keyCodec;
        ValueCodec = valueCodec;
        LazyValues = valueCodec is { IsReference: true };
        s_rawKeys = IsRaw(keyCodec);
        s_rawValues = valueCodec is not null && IsRaw(valueCodec);
        if (BucketCapacity == DefaultBucketCapacity) BucketCapacity = Capacity(keyCodec, valueCodec);
        TreeName = treeName;
        Node = node;
        Bucket = bucket;
    }

    /// <summary>The fields of a tree object (BTree and BTreeSet alike).</summary>
    public static PersistentTypeInfo TreeType(string name, Func<GhostToken, PersistentObject> createGhost) =>
        new(name, [], null, [new FieldSchema("Root", "ref"), new FieldSchema("Length", "ref"), new FieldSchema("Comparer", "str")], createGhost) { IsCollectionType = true };

    /// <summary>Sets small capacities so tests reach splits and several levels with few entries (tests only).</summary>
    internal static void SetCapacities(int bucket, int node)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(bucket, 2);
        ArgumentOutOfRangeException.ThrowIfLessThan(node, 3);
        BucketCapacity = bucket;
        NodeCapacity = node;
    }

    public static InvalidOperationException NotRegistered() =>
        new($"The buckets of a BTree of {CollectionTypes.NameOf(typeof(TKey))} keys are not registered, so they cannot be stored or loaded. Register the tree type (BTree<,>.Register or BTreeSet<>.Register) at start-up; the source generator does this for every tree type a program mentions.");

    /// <summary>
    /// About 2 KiB of entries per bucket: 170 entries of an int key and a long value, fewer large
    /// ones. Every change rewrites its bucket whole in the append-only file, so a commit of random
    /// inserts writes about one bucket per insert: the bucket size is the write amplification. Smaller
    /// buckets write less but split more often (a split makes concurrent inserts into the bucket
    /// conflict instead of merging) and make more records to store, load and cache. Measured with the
    /// workloads (benchmarks/results, 2026-11-25): 1 KiB buckets made random inserts 30% faster and
    /// wrote 40% fewer bytes, but a new process's random lookups 30% slower (W5, B2) and its cold scans
    /// 20–45% slower (W3, B3), since a bucket load costs about the same whatever its size; so 2 KiB.
    /// Variable-size encodings (strings, arrays) are counted as 16 bytes more than their minimum.
    /// Integer keys and values are stored packed (<see cref="PackedIntegers"/>), so a bucket of them
    /// usually writes fewer bytes than this estimate: increasing int keys take one byte each, not four.
    /// The capacity is still counted in plain sizes, so packing changes what is written, not the shape of the tree.
    /// </summary>
    private static int Capacity(ValueCodec<TKey> keys, ValueCodec<TValue>? values)
    {
        var size = Estimate(keys) + (values is null ? 0 : Estimate(values));
        return Math.Clamp(2048 / Math.Max(size, 1), 32, 512);

        // Sizes as a format with fixed-width lengths and references would write them (the shape of
        // the tree does not follow the encoding).
        static int Estimate<T>(ValueCodec<T> codec) => codec.TypeCode switch
        {
            "ref" => 8,
            "str" or "bytes" => 20,
            var code when code.Contains('<') => 20,
            var code when code.StartsWith('{') => codec.MinimumSize + 16,
            _ => codec.MinimumSize,
        };
    }

    /// <summary>Whether the codec writes values exactly as their little-endian memory (so arrays can be copied whole).</summary>
    private static bool IsRaw<T>(ValueCodec<T> codec) =>
        BitConverter.IsLittleEndian &&
        !RuntimeHelpers.IsReferenceOrContainsReferences<T>() &&
        (codec == (object)ValueCodecs.Int32 || codec == (object)ValueCodecs.Int64 ||
         codec == (object)ValueCodecs.UInt32 || codec == (object)ValueCodecs.UInt64 ||
         codec == (object)ValueCodecs.Int16 || codec == (object)ValueCodecs.UInt16 ||
         codec == (object)ValueCodecs.Byte || codec == (object)ValueCodecs.SByte ||
         codec == (object)ValueCodecs.Char || codec == (object)ValueCodecs.Double ||
         codec == (object)ValueCodecs.Single || codec == (object)ValueCodecs.Guid);

    /// <summary>The type code of a key or value array: packed for the integer types.</summary>
    private static string ArrayCode<T>(ValueCodec<T> codec, bool packed) =>
        packed ? $"packed<{codec.TypeCode}>" : $"array<{codec.TypeCode}>";

    public static void WriteKeys(ref RecordWriter writer, TKey[] keys, int start, int count)
    {
        if (s_packedKeys) PackedIntegers.Write(ref writer, new ReadOnlySpan<TKey>(keys, start, count));
        else WriteArray(ref writer, KeyCodec, s_rawKeys, keys, start, count);
    }

    /// <summary>
    /// Writes a bucket's values; those still waiting as references (<paramref name="pending"/>, of a
    /// bucket that refers to objects, see <see cref="BTreeBucket{TKey, TValue}"/>) are written back as they were read.
    /// </summary>
    public static void WriteValues(ref RecordWriter writer, TValue[] values, ObjectReference[]? pending, int count)
    {
        if (s_packedValues) PackedIntegers.Write(ref writer, new ReadOnlySpan<TValue>(values, 0, count));
        else if (pending is null) WriteArray(ref writer, ValueCodec!, s_rawValues, values, 0, count);
        else
        {
            writer.WriteCount(count);
            for (var i = 0; i < count; i++)
            {
                if (pending[i].Oid.IsNull) ValueCodec!.Write(ref writer, values[i]);
                else writer.WriteStoredReference(pending[i]);
            }
        }
    }

    /// <summary>Reads a key array into a new array of at least <paramref name="extra"/> more slots than entries.</summary>
    public static TKey[] ReadKeys(ref RecordReader reader, int offset, int extra, out int count) =>
        s_packedKeys
            ? PackedIntegers.Read<TKey>(ref reader, offset, extra, out count) ?? throw NullArray()
            : ReadArray(ref reader, KeyCodec, s_rawKeys, offset, extra, out count);

    public static TValue[] ReadValues(ref RecordReader reader, int extra, out int count) =>
        s_packedValues
            ? PackedIntegers.Read<TValue>(ref reader, 0, extra, out count) ?? throw NullArray()
            : ReadArray(ref reader, ValueCodec!, s_rawValues, 0, extra, out count);

    /// <summary>Reads the values of a bucket whose values are references as references (the same bytes as <see cref="ReadValues"/>); <paramref name="notNull"/> counts those that are not null.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static ObjectReference[] ReadReferences(ref RecordReader reader, out int count, out int notNull)
    {
        count = reader.ReadCount(ValueCodec!.MinimumSize);
        if (count < 0) throw NullArray();
        var references = PendingReferences.Take(count);
        notNull = 0;
        for (var i = 0; i < count; i++)
        {
            references[i] = reader.ReadObjectReference();
            if (!references[i].Oid.IsNull) notNull++;
        }
        return references;
    }

    private static FormatException NullArray() => new("A record is damaged: a BTree bucket or node holds a null array.");

    private static void WriteArray<T>(ref RecordWriter writer, ValueCodec<T> codec, bool raw, T[] items, int start, int count)
    {
        writer.WriteCount(count);
        if (count == 0) return;
        if (raw)
        {
            writer.WriteRawBytes(MemoryMarshal.CreateReadOnlySpan(ref Unsafe.As<T, byte>(ref items[start]), count * Unsafe.SizeOf<T>()));
            return;
        }
        for (var i = start; i < start + count; i++) codec.Write(ref writer, items[i]);
    }

    private static T[] ReadArray<T>(ref RecordReader reader, ValueCodec<T> codec, bool raw, int offset, int extra, out int count)
    {
        count = reader.ReadCount(codec.MinimumSize);
        if (count < 0) throw NullArray();
        var items = new T[offset + count + extra];
        if (count == 0) return items;
        if (raw)
        {
            var bytes = reader.ReadSpan(count * Unsafe.SizeOf<T>());
            bytes.CopyTo(MemoryMarshal.CreateSpan(ref Unsafe.As<T, byte>(ref items[offset]), bytes.Length));
            return items;
        }
        for (var i = offset; i < offset + count; i++) items[i] = codec.Read(ref reader);
        return items;
    }

    /// <summary>
    /// Whether int or long keys rise strictly in their natural order; null for other key types. Inlined
    /// into the loads of buckets and nodes, which are compiled optimized on first use, so the check
    /// costs a new process little (W5's first lookups check every bucket they load; a method of its
    /// own ran unoptimized there, or cost its compiling).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool? RiseNaturally(TKey[] keys, int start, int end)
    {
        if (typeof(TKey) == typeof(int)) return KeySearch.RiseStrictly(Unsafe.As<int[]>(keys), start, end);
        if (typeof(TKey) == typeof(long)) return KeySearch.RiseStrictly(Unsafe.As<long[]>(keys), start, end);
        return null;
    }

    /// <summary>
    /// Whether <paramref name="keys"/>[<paramref name="start"/>..<paramref name="end"/>) rise strictly in
    /// the order of <paramref name="comparer"/>; <paramref name="risesNaturally"/> is what
    /// <see cref="RiseNaturally"/> found as they were read, which answers for the natural order.
    /// </summary>
    public static bool InOrder(TKey[] keys, int start, int end, IComparer<TKey> comparer, bool? risesNaturally)
    {
        if (risesNaturally is { } natural && comparer == (object)Comparer<TKey>.Default) return natural;
        for (var i = start + 1; i < end; i++)
        {
            if (comparer.Compare(keys[i - 1], keys[i]) >= 0) return false;
        }
        return true;
    }

    /// <summary>Whether <paramref name="part"/>, a tree's root or a node's child as read, is a bucket or node of this tree type.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool IsPart([NotNullWhen(true)] PersistentObject? part) => part is BTreeBucket<TKey, TValue> or BTreeNode<TKey, TValue>;

    /// <summary>
    /// The error of <paramref name="part"/>, read as the tree's root (or as a node's child, if not
    /// <paramref name="root"/>), which is no bucket or node of this tree type. A part of a tree of the
    /// same kind with other type arguments, which this program does not define (a stand-in) or defines
    /// as another tree type, was stored by a program that declares the tree so: a
    /// <see cref="SchemaMismatchException"/> that says which and what to do, since the file is sound and
    /// a backup would not help. Anything else is damage: a <see cref="FormatException"/>.
    /// </summary>
    public static Exception NotAPart(PersistentObject? part, bool root)
    {
        var where = root ? $"the root of a '{TreeName}'" : $"a child of a node of a '{TreeName}'";
        if (part is not null && StoredNames.WhyNotAPart(part.PersistentType.Name, TreeName) is { } why)
            return new SchemaMismatchException($"{part.ObjectOid}, {where}, {why}", part.PersistentType.Name);
        var what = part is null ? "null" : $"a '{part.PersistentType.Name}' ({part.ObjectOid})";
        return new FormatException($"A record is damaged: {where} is {what}, neither one of its buckets nor one of its nodes.");
    }

    /// <summary>The error of a bucket or node whose keys a load found out of order.</summary>
    public static CorruptDatabaseException OutOfOrder(PersistentObject item, string what) => new(
        $"The {what} of a BTree record are out of order, so lookups in it would miss entries: the record is damaged (it was written by another program, or a bug). Restore the database from a backup.",
        -1, item.PersistentOid);

    /// <summary>
    /// Search of <paramref name="key"/> in <c>keys[start..end)</c>: its index, or the bitwise complement
    /// of the index of the first greater key. Int and long keys in their natural order are searched by
    /// interpolation (<see cref="KeySearch"/>), others by binary search.
    /// </summary>
    /// <remarks>
    /// A key above the last is answered by one comparison before the search: inserts of increasing
    /// keys (ids, timestamps) go to the end of the last bucket through the last child of every node,
    /// and a lookup elsewhere pays one comparison more.
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Search(TKey[] keys, int start, int end, TKey key, IComparer<TKey> comparer)
    {
        if (typeof(TKey).IsValueType && comparer == (object)Comparer<TKey>.Default) return SearchDefault(keys, start, end, key);
        if (end > start && comparer.Compare(keys[end - 1], key) < 0) return ~end;
        var lo = start;
        var hi = end - 1;
        while (lo <= hi)
        {
            var mid = (int)((uint)(lo + hi) >> 1);
            var order = comparer.Compare(keys[mid], key);
            if (order == 0) return mid;
            if (order < 0) lo = mid + 1;
            else hi = mid - 1;
        }
        return ~lo;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static int SearchDefault(TKey[] keys, int start, int end, TKey key)
    {
        if (typeof(TKey) == typeof(int)) return KeySearch.Interpolate(Unsafe.As<int[]>(keys), start, end, Unsafe.As<TKey, int>(ref key));
        if (typeof(TKey) == typeof(long)) return KeySearch.Interpolate(Unsafe.As<long[]>(keys), start, end, Unsafe.As<TKey, long>(ref key));
        if (end > start && Comparer<TKey>.Default.Compare(keys[end - 1], key) < 0) return ~end;
        var lo = start;
        var hi = end - 1;
        while (lo <= hi)
        {
            var mid = (int)((uint)(lo + hi) >> 1);
            var order = Comparer<TKey>.Default.Compare(keys[mid], key);
            if (order == 0) return mid;
            if (order < 0) lo = mid + 1;
            else hi = mid - 1;
        }
        return ~lo;
    }

    /// <summary>
    /// One step of a three-way merge walk over sorted key arrays: the smallest key at positions
    /// <paramref name="o"/>, <paramref name="c"/>, <paramref name="m"/> (each array read up to its end
    /// index) and which of the old, committed and mine arrays hold it there.
    /// </summary>
    public static (TKey Key, bool InOld, bool InCommitted, bool InMine) NextMergeKey(
        TKey[] old, int o, int oldEnd, TKey[] committed, int c, int committedEnd, TKey[] mine, int m, int mineEnd, IComparer<TKey> comparer)
    {
        var hasKey = false;
        TKey key = default!;
        if (o < oldEnd) (key, hasKey) = (old[o], true);
        if (c < committedEnd && (!hasKey || comparer.Compare(committed[c], key) < 0)) (key, hasKey) = (committed[c], true);
        if (m < mineEnd && (!hasKey || comparer.Compare(mine[m], key) < 0)) key = mine[m];
        return (key,
            o < oldEnd && comparer.Compare(old[o], key) == 0,
            c < committedEnd && comparer.Compare(committed[c], key) == 0,
            m < mineEnd && comparer.Compare(mine[m], key) == 0);
    }

    /// <summary>Whether two values are equal: by their equality, else (for mutable inline values such as arrays) by their encoded bytes.</summary>
    public static bool ValuesEqual(TValue a, TValue b)
    {
        if (EqualityComparer<TValue>.Default.Equals(a, b)) return true;
        if (typeof(TValue).IsValueType || a is null || b is null || a is string || a is PersistentObject) return false;
        try
        {
            var buffer = new RecordBuffer(256);
            var first = buffer.BeginRecord(0, 0, null);
            ValueCodec!.Write(ref first, a);
            var one = first.Complete();
            var second = buffer.BeginRecord(0, 0, null);
            ValueCodec.Write(ref second, b);
            var two = second.Complete();
            return buffer.Memory(one).Span.SequenceEqual(buffer.Memory(two).Span);
        }
        catch (InvalidOperationException)
        {
            // A value holding a persistent reference cannot be encoded without a connection: count it as changed.
            return false;
        }
    }

    /// <summary>Clears the slots <c>[from, to)</c> so moved-out entries do not keep objects alive.</summary>
    public static void Clear<T>(T[] items, int from, int to)
    {
        if (RuntimeHelpers.IsReferenceOrContainsReferences<T>() && to > from) Array.Clear(items, from, to - from);
    }
}

/// <summary>
/// The arrays buckets keep the references of their values in until each becomes an object (see
/// <see cref="BTreeBucket{TKey, TValue}"/>): a bucket that made every value an object gives its array
/// back, and the next bucket loaded on the thread takes it, so a pass over a tree does not leave an
/// array of garbage behind each bucket among the objects it loads.
/// </summary>
internal static class PendingReferences
{
    [ThreadStatic]
    private static ObjectReference[]? t_spare;

    /// <summary>An array of at least <paramref name="count"/> references (its entries past them are not used).</summary>
    public static ObjectReference[] Take(int count)
    {
        var spare = t_spare;
        if (spare is null || spare.Length < count || spare.Length > 2 * count + 16) return new ObjectReference[count];
        t_spare = null;
        return spare;
    }

    /// <summary>Gives back an array no one refers to any more.</summary>
    public static void Give(ObjectReference[] references) => t_spare = references;
}
