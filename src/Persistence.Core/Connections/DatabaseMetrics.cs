using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Persistence;

/// <summary>
/// What the databases of a process measure, as instruments of the meter <see cref="MeterName"/>, a
/// measurement for each open <see cref="Database"/>, tagged <see cref="DatabaseTag"/> with its file's
/// path (or its storage's class): <c>dotnet-counters monitor --counters Persistence -p &lt;pid&gt;</c>
/// shows them, and OpenTelemetry collects them with <c>AddMeter("Persistence")</c>. The meter is
/// published a second after the first database opens (so that opening does not wait for the metrics
/// code to load).
/// </summary>
/// <remarks>
/// The counters are read only when a listener collects them: the database counts in plain fields
/// (a connection its own loads), so measuring costs next to nothing while no one listens. Only the commit
/// duration is recorded as it happens, and only while a listener has that instrument enabled.
/// <list type="table">
/// <listheader><term>instrument</term><description>what it counts</description></listheader>
/// <item><term><c>persistence.commits</c></term><description>transactions committed that stored changes (counter, {transaction})</description></item>
/// <item><term><c>persistence.commit.duration</c></term><description>how long Commit took, from the call to durable and visible, for commits that stored changes (histogram, s)</description></item>
/// <item><term><c>persistence.conflicts</c></term><description>commits refused with a <see cref="ConflictException"/> (counter, {conflict})</description></item>
/// <item><term><c>persistence.merges</c></term><description>changed objects merged with another transaction's newer change of them instead of a conflict, in commits that went through: counters, BTree buckets, <see cref="PersistentObject.ResolveConflict"/> overrides (counter, {object})</description></item>
/// <item><term><c>persistence.read_conflicts</c></term><description><see cref="ReadConflictException"/>s: a revision a snapshot needs was packed away (counter, {conflict})</description></item>
/// <item><term><c>persistence.objects.loaded</c></term><description>objects loaded from records, ghosts activated and objects reloaded (counter, {object})</description></item>
/// <item><term><c>persistence.connections.open</c></term><description>connections open now (up-down counter, {connection})</description></item>
/// <item><term><c>persistence.connections.pooled</c></term><description>closed connections kept for reuse, with their caches (up-down counter, {connection})</description></item>
/// <item><term><c>persistence.record_cache.size</c></term><description>the bytes the shared record cache holds (up-down counter, By)</description></item>
/// <item><term><c>persistence.storage.flushes</c></term><description>flushes of the data file to disk (fsync; a group commit's one flush makes many commits durable; FileStorage only) (counter, {flush})</description></item>
/// <item><term><c>persistence.storage.size</c></term><description>the end of the data in the file (FileStorage only) (up-down counter, By)</description></item>
/// </list>
/// </remarks>
public static class DatabaseMetrics
{
    /// <summary>The name of the meter every database's instruments belong to.</summary>
    public const string MeterName = "Persistence";

    /// <summary>The tag naming the database a meter measures: its file's full path, or its storage's class.</summary>
    public const string DatabaseTag = "persistence.database";
}

/// <summary>
/// The counts of one database, read by the meter when a listener collects (see <see cref="DatabaseMetrics"/>).
/// No metrics type is named here: a process that never publishes the meter does not load that code.
/// </summary>
internal sealed class DatabaseCounts : IDisposable
{
    private readonly Database _database;
    private long _commits;
    private long _conflicts;
    private long _merges;
    private long _readConflicts;
    // Objects loaded by connections let go of; those open or pooled count their own (see Connection.LoadsCounted).
    private long _loadedByGone;

    public DatabaseCounts(Database database, string name)
    {
        _database = database;
        Tag = new(DatabaseMetrics.DatabaseTag, name);
        LiveDatabases.Add(this);
    }

    /// <summary>The tag of this database's measurements.</summary>
    public KeyValuePair<string, object?> Tag { get; }

    public long Commits => Volatile.Read(ref _commits);
    public long Conflicts => Volatile.Read(ref _conflicts);
    public long Merges => Volatile.Read(ref _merges);
    public long ReadConflicts => Volatile.Read(ref _readConflicts);
    public long Loaded => Volatile.Read(ref _loadedByGone) + _database.LoadedByConnections();
    public (int Open, int Pooled) Connections => _database.ConnectionCounts();
    public long RecordCacheBytes => _database.RecordCacheBytes;
    public long? Flushes => _database.File?.FlushCount;
    public long? DataEnd => _database.File?.DataEnd;

    public void Committed() => Interlocked.Increment(ref _commits);

    public void Conflicted() => Interlocked.Increment(ref _conflicts);

    public void Merged(int objects) => Interlocked.Add(ref _merges, objects);

    /// <summary>Counts <paramref name="conflict"/>, a read conflict about to be raised, and returns it.</summary>
    public ReadConflictException ReadConflicted(ReadConflictException conflict)
    {
        Interlocked.Increment(ref _readConflicts);
        return conflict;
    }

    public void LoadedByGone(long count) => Interlocked.Add(ref _loadedByGone, count);

    /// <summary>A timestamp to pass to <see cref="CommitEnded"/>, or 0 when no listener wants commit durations.</summary>
    public long CommitStarted() => LiveDatabases.DurationsWanted is { } wanted && wanted() ? Stopwatch.GetTimestamp() : 0;

    public void CommitEnded(long started)
    {
        if (started != 0) LiveDatabases.RecordDuration?.Invoke(Stopwatch.GetElapsedTime(started).TotalSeconds, Tag);
    }

    public void Dispose() => LiveDatabases.Remove(this);
}

/// <summary>
/// The databases open in the process, for the meter. The meter is published a second after the first
/// database opens, from the thread pool: making it loads and compiles the metrics code (10-15 ms on
/// the benchmarks' machine), which opening a database, often the first thing a program does, should
/// not wait for.
/// </summary>
internal static class LiveDatabases
{
    private static readonly TimeSpan PublishAfter = TimeSpan.FromSeconds(1);
    private static readonly Lock Gate = new();
    private static readonly List<DatabaseCounts> Live = [];
    private static Timer? s_publish;

    /// <summary>Whether a listener wants commit durations; set once the meter is published.</summary>
    public static Func<bool>? DurationsWanted;

    /// <summary>Records a commit's duration in seconds; set once the meter is published.</summary>
    public static Action<double, KeyValuePair<string, object?>>? RecordDuration;

    public static void Add(DatabaseCounts counts)
    {
        lock (Gate)
        {
            Live.Add(counts);
            s_publish ??= new Timer(static _ => MeterPublisher.Publish(), null, PublishAfter, Timeout.InfiniteTimeSpan);
        }
    }

    public static void Remove(DatabaseCounts counts)
    {
        lock (Gate) Live.Remove(counts);
    }

    public static DatabaseCounts[] All()
    {
        lock (Gate) return [.. Live];
    }
}

/// <summary>The meter <see cref="DatabaseMetrics.MeterName"/>: one for the process, a measurement for each open database.</summary>
internal static class MeterPublisher
{
    private static readonly Lock Gate = new();
    private static Meter? s_meter;

    /// <summary>Publishes the meter, if not yet (tests call it rather than wait for the timer).</summary>
    public static void Publish()
    {
        lock (Gate)
        {
            if (s_meter is not null) return;
            var meter = new Meter(DatabaseMetrics.MeterName);
            Observe(meter, "persistence.commits", static counts => counts.Commits, "{transaction}", "Transactions committed that stored changes");
            Observe(meter, "persistence.conflicts", static counts => counts.Conflicts, "{conflict}", "Commits refused with a ConflictException");
            Observe(meter, "persistence.merges", static counts => counts.Merges, "{object}", "Changed objects merged with another transaction's change instead of a conflict");
            Observe(meter, "persistence.read_conflicts", static counts => counts.ReadConflicts, "{conflict}", "Reads of a revision packed away (ReadConflictException)");
            Observe(meter, "persistence.objects.loaded", static counts => counts.Loaded, "{object}", "Objects loaded from records");
            Observe(meter, "persistence.storage.flushes", static counts => counts.Flushes, "{flush}", "Flushes of the data file to disk");
            Observe(meter, "persistence.connections.open", static counts => counts.Connections.Open, "{connection}", "Connections open", upDown: true);
            Observe(meter, "persistence.connections.pooled", static counts => counts.Connections.Pooled, "{connection}", "Closed connections kept for reuse", upDown: true);
            Observe(meter, "persistence.record_cache.size", static counts => counts.RecordCacheBytes, "By", "Bytes the shared record cache holds", upDown: true);
            Observe(meter, "persistence.storage.size", static counts => counts.DataEnd, "By", "The end of the data in the file", upDown: true);
            var duration = meter.CreateHistogram<double>("persistence.commit.duration", "s", "How long Commit took, for commits that stored changes");
            LiveDatabases.RecordDuration = (seconds, tag) => duration.Record(seconds, tag);
            LiveDatabases.DurationsWanted = () => duration.Enabled;
            s_meter = meter;
        }
    }

    private static void Observe(Meter meter, string name, Func<DatabaseCounts, long?> read, string unit, string description, bool upDown = false)
    {
        if (upDown) meter.CreateObservableUpDownCounter(name, Measure, unit, description);
        else meter.CreateObservableCounter(name, Measure, unit, description);

        IEnumerable<Measurement<long>> Measure()
        {
            foreach (var counts in LiveDatabases.All())
            {
                if (read(counts) is { } value) yield return new(value, counts.Tag);
            }
        }
    }
}
