using System.Diagnostics.Metrics;
using Persistence.Storage;
using Persistence.Tests.Models;

namespace Persistence.Tests.Connections;

public sealed class DatabaseMetricsTests
{
    /// <summary>Listens to the instruments of the database whose tag is <c>name</c>, keeping each one's last value (observable counters report totals).</summary>
    private sealed class Listener : IDisposable
    {
        private readonly MeterListener _listener = new();
        private readonly Dictionary<string, long> _values = [];
        private readonly List<double> _durations = [];

        public Listener(string name)
        {
            // Published a second after the first database opens otherwise.
            MeterPublisher.Publish();
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == DatabaseMetrics.MeterName) listener.EnableMeasurementEvents(instrument);
            };
            _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
            {
                if (Ours(tags, name)) _values[instrument.Name] = value;
            });
            _listener.SetMeasurementEventCallback<double>((instrument, value, tags, _) =>
            {
                if (Ours(tags, name)) lock (_durations) _durations.Add(value);
            });
            _listener.Start();
        }

        private static bool Ours(ReadOnlySpan<KeyValuePair<string, object?>> tags, string name)
        {
            foreach (var tag in tags)
            {
                if (tag.Key == DatabaseMetrics.DatabaseTag && Equals(tag.Value, name)) return true;
            }
            return false;
        }

        public long this[string instrument]
        {
            get
            {
                _values.Remove(instrument);
                _listener.RecordObservableInstruments();
                return _values[instrument];
            }
        }

        public IReadOnlyList<double> CommitDurations
        {
            get { lock (_durations) return [.. _durations]; }
        }

        public void Dispose() => _listener.Dispose();
    }

    [Fact]
    public void A_databases_meter_counts_its_commits_conflicts_merges_loads_connections_and_flushes()
    {
        using var folder = new TempFolder();
        var path = folder.File("data.persist");
        using var listener = new Listener(Path.GetFullPath(path));
        using var other = Database.Open(folder.File("other.persist"));
        using var db = Database.Open(path, new DatabaseOptions { ConnectionPoolSize = 0, RecordCacheBytes = 0 });

        using (var writer = db.OpenConnection())
        {
            for (var i = 0; i < 3; i++)
            {
                writer.Root[$"node {i}"] = new Node { Label = $"node {i}" };
                writer.Commit();
            }
            writer.Root["counter"] = new PersistentCounter();
            writer.Commit();
        }
        using (var elsewhere = other.OpenConnection())
        {
            elsewhere.Root["not counted"] = new Node();
            elsewhere.Commit();
        }
        Assert.Equal(4, listener["persistence.commits"]);
        Assert.Equal(4, listener.CommitDurations.Count);
        Assert.All(listener.CommitDurations, seconds => Assert.InRange(seconds, 0, 60));

        // Loads: a new connection reads the root and the three nodes.
        var loadedBefore = listener["persistence.objects.loaded"];
        using (var reader = db.OpenConnection())
        {
            Assert.Equal(1, listener["persistence.connections.open"]);
            _ = reader.Root.Count;
            for (var i = 0; i < 3; i++) Assert.Equal($"node {i}", ((Node)reader.Root[$"node {i}"]).Label);
        }
        Assert.Equal(loadedBefore + 4, listener["persistence.objects.loaded"]);
        Assert.Equal(0, listener["persistence.connections.open"]);

        // A conflict, and a merge of two increments of one counter.
        using (var a = db.OpenConnection())
        using (var b = db.OpenConnection())
        {
            ((Node)a.Root["node 0"]).Label = "a";
            ((Node)b.Root["node 0"]).Label = "b";
            ((PersistentCounter)a.Root["counter"]).Increment();
            ((PersistentCounter)b.Root["counter"]).Increment();
            a.Commit();
            Assert.Throws<ConflictException>(b.Commit);
            b.Abort();
            ((PersistentCounter)b.Root["counter"]).Increment();
            ((PersistentCounter)a.Root["counter"]).Increment();
            a.Commit();
            b.Commit();
            Assert.Equal(3, ((PersistentCounter)b.Root["counter"]).Value);
        }
        Assert.Equal(1, listener["persistence.conflicts"]);
        Assert.Equal(1, listener["persistence.merges"]);
        Assert.Equal(7, listener["persistence.commits"]);

        // A read conflict: a reader's revision packed away by a pack that keeps no history.
        using (var reader = db.OpenConnection())
        {
            _ = reader.Root.Count;
            using (var writer = db.OpenConnection())
            {
                ((Node)writer.Root["node 1"]).Label = "changed";
                writer.Commit();
            }
            ((FileStorage)db.Storage).Pack();
            Assert.Throws<ReadConflictException>(() => ((Node)reader.Root["node 1"]).Label);
        }
        Assert.Equal(1, listener["persistence.read_conflicts"]);

        var file = (FileStorage)db.Storage;
        Assert.Equal(file.FlushCount, listener["persistence.storage.flushes"]);
        Assert.True(file.FlushCount >= 8, $"{file.FlushCount} flushes for 8 durable commits");
        Assert.Equal(file.DataEnd, listener["persistence.storage.size"]);
        Assert.Equal(0, listener["persistence.record_cache.size"]);

        db.Dispose();
        Assert.Throws<KeyNotFoundException>(() => listener["persistence.commits"]);
    }
}
