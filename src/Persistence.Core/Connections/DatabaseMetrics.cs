using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Persistence;

/// <summary>
/// What a database measures, as instruments of the meter <see cref="MeterName"/> (one meter per open
/// <see cref="Database"/>, tagged <c>persistence.database</c> with its file's path, or its storage's
/// class): <c>dotnet-counters monitor --counters Persistence -p &lt;pid&gt;</c> shows them, and
/// OpenTelemetry collects them with <c>AddMeter("Persistence")</c>.
/// </summary>
/// <remarks>
/// The counters are read only when a listener collects them: the database counts in plain fields
/// (a connection its own loads), so measuring costs nothing while no one listens. Only the commit
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

/// <summary>The counts of one database, and its meter, which reads them when a listener collects (see <see cref="DatabaseMetrics"/>).</summary>
internal sealed class DatabaseCounts : IDisposable
{
    private readonly Meter _meter;
    private readonly Histogram<double> _commitDuration;
    private long _commits;
    private long _conflicts;
    private long _merges;
    private long _readConflicts;
    // Objects loaded by connections let go of; those open or pooled count their own (see Connection.LoadsCounted).
    private long _loadedByGone;

    public DatabaseCounts(Database database, string name)
    {
        _meter = new Meter(new MeterOptions(DatabaseMetrics.MeterName) { Tags = [new(DatabaseMetrics.DatabaseTag, name)] });
        _meter.CreateObservableCounter("persistence.commits", () => Volatile.Read(ref _commits), "{transaction}", "Transactions committed that stored changes");
        _commitDuration = _meter.CreateHistogram<double>("persistence.commit.duration", "s", "How long Commit took, for commits that stored changes");
        _meter.CreateObservableCounter("persistence.conflicts", () => Volatile.Read(ref _conflicts), "{conflict}", "Commits refused with a ConflictException");
        _meter.CreateObservableCounter("persistence.merges", () => Volatile.Read(ref _merges), "{object}", "Changed objects merged with another transaction's change instead of a conflict");
        _meter.CreateObservableCounter("persistence.read_conflicts", () => Volatile.Read(ref _readConflicts), "{conflict}", "Reads of a revision packed away (ReadConflictException)");
        _meter.CreateObservableCounter("persistence.objects.loaded", () => Volatile.Read(ref _loadedByGone) + database.LoadedByConnections(), "{object}", "Objects loaded from records");
        _meter.CreateObservableUpDownCounter("persistence.connections.open", () => database.ConnectionCounts().Open, "{connection}", "Connections open");
        _meter.CreateObservableUpDownCounter("persistence.connections.pooled", () => database.ConnectionCounts().Pooled, "{connection}", "Closed connections kept for reuse");
        _meter.CreateObservableUpDownCounter("persistence.record_cache.size", () => database.RecordCacheBytes, "By", "Bytes the shared record cache holds");
        if (database.File is { } file)
        {
            _meter.CreateObservableCounter("persistence.storage.flushes", () => file.FlushCount, "{flush}", "Flushes of the data file to disk");
            _meter.CreateObservableUpDownCounter("persistence.storage.size", () => file.DataEnd, "By", "The end of the data in the file");
        }
    }

    public void Committed() => Interlocked.Increment(ref _commits);

    public void Conflicted() => Interlocked.Increment(ref _conflicts);

    public void Merged(int objects) => Interlocked.Add(ref _merges, objects);

    public void ReadConflicted() => Interlocked.Increment(ref _readConflicts);

    /// <summary>Counts <paramref name="conflict"/>, a read conflict about to be raised, and returns it.</summary>
    public ReadConflictException ReadConflicted(ReadConflictException conflict)
    {
        ReadConflicted();
        return conflict;
    }

    public void LoadedByGone(long count) => Interlocked.Add(ref _loadedByGone, count);

    /// <summary>A timestamp to pass to <see cref="CommitEnded"/>, or 0 when no listener wants commit durations.</summary>
    public long CommitStarted() => _commitDuration.Enabled ? Stopwatch.GetTimestamp() : 0;

    public void CommitEnded(long started)
    {
        if (started != 0) _commitDuration.Record(Stopwatch.GetElapsedTime(started).TotalSeconds);
    }

    public void Dispose() => _meter.Dispose();
}
