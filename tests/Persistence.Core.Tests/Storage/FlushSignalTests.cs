using System.Buffers.Binary;
using System.Diagnostics;
using Persistence.Storage;
using static Persistence.Tests.Storage.TestRecords;

namespace Persistence.Tests.Storage;

/// <summary>
/// The flush signal in the lock file (Linux): a flusher wakes every writer that sleeps on it, from any
/// open of the lock file, and a sleeper never needs it to make progress (it looks again after its timeout).
/// </summary>
public sealed class FlushSignalTests : IDisposable
{
    private readonly TempDirectory _directory = new();
    private readonly string _path;

    public FlushSignalTests() => _path = Path.GetFullPath(_directory.File("data.persist"));

    public void Dispose() => _directory.Dispose();

    private static FlushSignal SignalOf(FileStorageLock lockFile) =>
        lockFile.Signal ?? throw new InvalidOperationException("no flush signal on this system");

    /// <summary>Whether <paramref name="task"/> ends within <paramref name="milliseconds"/>.</summary>
    private static async Task<bool> EndsWithin(Task task, int milliseconds) =>
        await Task.WhenAny(task, Task.Delay(milliseconds)) == task;

    /// <summary>Waits (at most 10 s) until the lock file counts a sleeper on the flush count.</summary>
    private static async Task UntilSomeoneSleeps(FlushSignal signal)
    {
        var clock = Stopwatch.StartNew();
        while (signal.Sleepers == 0 && clock.Elapsed < TimeSpan.FromSeconds(10)) await Task.Delay(1);
    }

    [Fact]
    public async Task A_flush_in_one_open_of_the_lock_file_wakes_a_writer_sleeping_in_another()
    {
        if (!OperatingSystem.IsLinux()) return;
        using var flusher = FileStorageLock.OpenForWriting(_path);
        using var sleeper = FileStorageLock.OpenForWriting(_path);
        var seen = SignalOf(sleeper).Count;
        var clock = Stopwatch.StartNew();
        var sleeping = Task.Run(() => SignalOf(sleeper).Wait(seen, 30_000_000));

        Assert.False(await EndsWithin(sleeping, 200), "the sleeper returned before anyone flushed");
        SignalOf(flusher).Raise();
        Assert.True(await EndsWithin(sleeping, 10_000), "the sleeper was not woken");
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20), $"woken after {clock.Elapsed}, not at once");
        Assert.Equal(seen + 1, SignalOf(sleeper).Count);
        Assert.Equal(seen + 1, SignalOf(flusher).Count);
    }

    [Fact]
    public async Task A_flusher_makes_a_wake_up_call_only_while_someone_sleeps_on_the_count()
    {
        if (!OperatingSystem.IsLinux()) return;
        using var flusher = FileStorageLock.OpenForWriting(_path);
        using var sleeper = FileStorageLock.OpenForWriting(_path);
        var signal = SignalOf(flusher);

        // A writer alone: nothing sleeps, so raising the count wakes no one and calls nothing.
        Assert.Equal(0, signal.Sleepers);
        signal.Raise();
        signal.Raise();
        Assert.Equal(0, signal.WakeCalls);

        // A sleeper in another open is counted in the lock file while it sleeps, and woken.
        var seen = SignalOf(sleeper).Count;
        var sleeping = Task.Run(() => SignalOf(sleeper).Wait(seen, 30_000_000));
        await UntilSomeoneSleeps(signal);
        Assert.Equal(1, signal.Sleepers);
        Assert.Equal(1, BitConverter.ToInt32(File.ReadAllBytes(_path + ".lock"), FlushSignal.Offset + (7 * sizeof(int))));
        signal.Raise();
        Assert.Equal(1, signal.WakeCalls);
        Assert.True(await EndsWithin(sleeping, 10_000), "the sleeper was not woken");
        Assert.Equal(0, signal.Sleepers);

        // Once it is awake, raising the count calls nothing again.
        signal.Raise();
        Assert.Equal(1, signal.WakeCalls);
        Assert.Equal(seen + 2, SignalOf(sleeper).Count);
    }

    [Fact]
    public async Task A_waiter_stays_ready_for_its_spin_and_goes_on_without_a_wake_up_call_then_sleeps()
    {
        if (!OperatingSystem.IsLinux()) return;
        using var flusher = FileStorageLock.OpenForWriting(_path);
        using var waiter = FileStorageLock.OpenForWriting(_path);
        var signal = SignalOf(flusher);

        // Within its spin the waiter is not asleep, so the raise makes no call and it goes on.
        var seen = SignalOf(waiter).Count;
        var spinning = Task.Run(() => SignalOf(waiter).Wait(seen, 30_000_000, spinMicroseconds: 20_000_000));
        Assert.False(await EndsWithin(spinning, 200), "the waiter returned before anyone flushed");
        Assert.Equal(0, signal.Sleepers);
        signal.Raise();
        Assert.True(await EndsWithin(spinning, 10_000), "the spinning waiter did not see the count move");
        Assert.Equal(0, signal.WakeCalls);

        // Once its spin is over it sleeps on the count, and the raise wakes it.
        seen = SignalOf(waiter).Count;
        var sleeping = Task.Run(() => SignalOf(waiter).Wait(seen, 30_000_000, spinMicroseconds: 50_000));
        await UntilSomeoneSleeps(signal);
        Assert.Equal(1, signal.Sleepers);
        signal.Raise();
        Assert.Equal(1, signal.WakeCalls);
        Assert.True(await EndsWithin(sleeping, 10_000), "the sleeper was not woken");
    }

    [Fact]
    public void The_state_a_flush_writes_through_the_mapping_is_what_a_read_of_the_lock_file_finds()
    {
        if (!OperatingSystem.IsLinux()) return;
        using var storage = FileStorage.Open(_path);
        using var reader = FileStorageLock.TryOpenForReading(_path)!;
        Assert.Null(reader.Signal);
        var header = File.ReadAllBytes(_path).AsSpan(0, 64);
        reader.Bind(new Guid(header[16..32]), BinaryPrimitives.ReadUInt64LittleEndian(header[32..]));
        var before = File.ReadAllBytes(_path + ".lock").AsSpan(0, FileStorageLock.StateSize).ToArray();

        for (var i = 0; i < 3; i++)
        {
            Commit(storage, (storage.NewOid(), 0, Make($"commit {i}")));
            // Read with a read call, not through a mapping: the durable end the flush just wrote.
            var state = reader.ReadState();
            Assert.True(state.Valid);
            Assert.Equal(storage.DataEnd, state.DurableEnd);
        }
        Assert.NotEqual(before, File.ReadAllBytes(_path + ".lock").AsSpan(0, FileStorageLock.StateSize).ToArray());
    }

    [Fact]
    public void A_writer_alone_flushes_without_reading_the_end_of_the_file_for_others_commits()
    {
        if (!OperatingSystem.IsLinux()) return;
        using var storage = FileStorage.Open(_path);
        var oid = storage.NewOid();
        var serial = Commit(storage, (oid, 0, Make("first")));
        var catchUps = storage.CatchUps;
        var flushes = storage.FlushCount;

        for (var i = 0; i < 5; i++) serial = Commit(storage, (oid, serial, Make($"commit {i}")));

        // One look at the end per commit, under the commit lock; none before each of the five flushes.
        Assert.Equal(flushes + 5, storage.FlushCount);
        Assert.Equal(catchUps + 5, storage.CatchUps);
    }

    [Fact]
    public void A_commit_looks_at_the_end_of_the_file_by_a_headers_bytes_while_the_lock_file_counts_nothing_new()
    {
        if (!OperatingSystem.IsLinux()) return;
        using var storage = FileStorage.Open(_path);
        var oid = storage.NewOid();
        long serial = 0;
        // Enough small durable commits for free space to be reserved after the data: zeros to look at.
        for (var i = 0; i < 40; i++) serial = Commit(storage, (oid, serial, Make($"commit {i}")));
        Assert.True(new FileInfo(_path).Length > storage.DataEnd, "no free space was reserved after the data");
        var catchUps = storage.CatchUps;
        var read = storage.CatchUpBytesRead;

        for (var i = 0; i < 5; i++) serial = Commit(storage, (oid, serial, Make($"alone {i}")));

        // One look per commit, under the commit lock, each reading only where a header would start.
        Assert.Equal(catchUps + 5, storage.CatchUps);
        Assert.Equal(read + (5 * FileStorageFormat.TransactionHeaderSize), storage.CatchUpBytesRead);

        // Another writer's commit, counted in the lock file: the next look reads on and finds it.
        using var other = FileStorage.Open(_path);
        var theirs = other.NewOid();
        Commit(other, (theirs, 0, Make("theirs")));
        read = storage.CatchUpBytesRead;
        Commit(storage, (oid, serial, Make("after theirs")));
        Assert.True(storage.CatchUpBytesRead - read > FileStorageFormat.TransactionHeaderSize, "the look did not read past the header");
        Assert.Equal("theirs", Text(storage.Load(theirs)));
    }

    [Fact]
    public void A_flush_reads_the_end_of_the_file_once_the_lock_file_counts_a_commit_of_another_writer()
    {
        if (!OperatingSystem.IsLinux()) return;
        using var storage = FileStorage.Open(_path, new FileStorageOptions { Durability = Durability.Relaxed });
        using var other = FileStorageLock.OpenForWriting(_path);
        var oid = storage.NewOid();
        // The first relaxed commit flushes (the lock file knew no durable end); the next ones do not.
        var serial = Commit(storage, (oid, 0, Make("first")));
        serial = Commit(storage, (oid, serial, Make("second")));
        var catchUps = storage.CatchUps;

        // Nothing counted since the last look: the flush makes no read for others' commits.
        storage.Flush();
        Assert.Equal(catchUps, storage.CatchUps);

        // A commit another writer counted (it appended it before counting it): the flush looks for it.
        Commit(storage, (oid, serial, Make("third")));
        catchUps = storage.CatchUps;
        SignalOf(other).Committed();
        var flushes = storage.FlushCount;
        storage.Flush();
        Assert.Equal(flushes + 1, storage.FlushCount);
        Assert.Equal(catchUps + 1, storage.CatchUps);
    }

    [Fact]
    public async Task A_writer_alone_flushes_without_the_sync_turn_and_takes_it_once_another_writer_opens()
    {
        if (!OperatingSystem.IsLinux()) return;
        var storage = FileStorage.Open(_path);
        var stuck = false;
        try
        {
            var oid = storage.NewOid();
            var serial = Commit(storage, (oid, 0, Make("first")));
            // The sync byte held by an open that is no writer (it does not share the users byte).
            using var holder = new FileStream(_path + ".lock", FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete);
            var locks = new FileRangeLock(holder, holder.SafeFileHandle, holder.Name);
            locks.Enter(FileStorageLock.SyncByte, exclusive: true);

            // Alone, the writer's durable commit does not wait for the turn.
            var flushes = storage.FlushCount;
            var alone = Task.Run(() => Commit(storage, (oid, serial, Make("alone"))));
            stuck = !await EndsWithin(alone, 10_000);
            Assert.False(stuck, "a writer alone waited for the sync turn");
            serial = await alone;
            Assert.Equal(flushes + 1, storage.FlushCount);

            // Another writer opens: once the writer looks again (10 ms), its flush takes the turn.
            using var other = FileStorage.Open(_path);
            await Task.Delay(50);
            var shared = Task.Run(() => Commit(storage, (oid, serial, Make("shared"))));
            Assert.False(await EndsWithin(shared, 300), "a writer with another open flushed without the sync turn");
            locks.Exit(FileStorageLock.SyncByte);
            stuck = !await EndsWithin(shared, 10_000);
            Assert.False(stuck, "the commit did not go on once the turn was free");
            await shared;
            Assert.Equal(flushes + 2, storage.FlushCount);
        }
        finally
        {
            if (!stuck) storage.Dispose();
        }
    }

    [Fact]
    public void A_poll_reads_the_file_only_when_the_lock_file_counts_a_commit_this_storage_does_not_know()
    {
        if (!OperatingSystem.IsLinux()) return;
        using var storage = FileStorage.Open(_path);
        var oid = storage.NewOid();
        Commit(storage, (oid, 0, Make("mine")));
        var last = storage.Poll(0).LastTid;
        var catchUps = storage.CatchUps;

        // Nothing committed since: polls make no read.
        for (var i = 0; i < 3; i++) Assert.Empty(storage.Poll(last).ChangedOids);
        Assert.Equal(catchUps, storage.CatchUps);

        // Another writer's durable commit, then a relaxed one: each poll after reads it.
        using var other = FileStorage.Open(_path);
        var theirs = other.NewOid();
        Commit(other, (theirs, 0, Make("theirs")));
        var changes = storage.Poll(last);
        Assert.Equal([theirs], changes.ChangedOids);
        Assert.Equal(catchUps + 1, storage.CatchUps);
        Assert.Equal(Make("theirs"), storage.Load(theirs)!.Value.Data.ToArray());

        using var relaxed = FileStorage.Open(_path, new FileStorageOptions { Durability = Durability.Relaxed });
        var quiet = relaxed.NewOid();
        Commit(relaxed, (quiet, 0, Make("relaxed")));
        Assert.Equal([quiet], storage.Poll(changes.LastTid).ChangedOids);
        Assert.Equal(catchUps + 2, storage.CatchUps);
    }

    [Fact]
    public void Once_a_writer_without_the_mapping_marked_the_lock_file_every_poll_reads_the_file()
    {
        if (!OperatingSystem.IsLinux()) return;
        using var storage = FileStorage.Open(_path);
        var oid = storage.NewOid();
        var last = storage.Poll(0).LastTid;
        Commit(storage, (oid, 0, Make("mine")));
        last = storage.Poll(last).LastTid;
        using (var lockFile = File.OpenHandle(_path + ".lock", FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete))
            FlushSignal.MarkUnmappedWriter(lockFile);
        var catchUps = storage.CatchUps;

        for (var i = 0; i < 3; i++) storage.Poll(last);
        Assert.Equal(catchUps + 3, storage.CatchUps);
    }

    [Fact]
    public async Task A_sleeper_that_saw_an_older_count_returns_at_once_and_one_that_saw_the_current_one_times_out()
    {
        if (!OperatingSystem.IsLinux()) return;
        using var lockFile = FileStorageLock.OpenForWriting(_path);
        var signal = SignalOf(lockFile);
        var seen = signal.Count;
        signal.Raise();
        var stale = Task.Run(() => signal.Wait(seen, 30_000_000));
        Assert.True(await EndsWithin(stale, 10_000), "a wait for a count that has moved on slept");

        var clock = Stopwatch.StartNew();
        signal.Wait(signal.Count, 50_000);
        Assert.True(clock.Elapsed >= TimeSpan.FromMilliseconds(30), $"a 50 ms wait returned after {clock.Elapsed.TotalMilliseconds} ms");
    }

    [Fact]
    public void The_count_lives_after_the_state_which_stays_readable_and_a_closed_signal_does_nothing()
    {
        if (!OperatingSystem.IsLinux()) return;
        using (var storage = FileStorage.Open(_path))
        {
            Commit(storage, (storage.NewOid(), 0, Make("one")));
            storage.Flush();
        }
        Assert.Equal(128, new FileInfo(_path + ".lock").Length);
        var lockFile = FileStorageLock.OpenForWriting(_path);
        var signal = SignalOf(lockFile);
        var before = signal.Count;
        signal.Raise();
        Assert.Equal(before + 1, BitConverter.ToInt32(File.ReadAllBytes(_path + ".lock"), FlushSignal.Offset));
        // The state read through the mapping is the state in the file.
        Span<byte> mapped = stackalloc byte[FileStorageLock.StateSize];
        Assert.True(signal.TryRead(mapped));
        Assert.Equal(File.ReadAllBytes(_path + ".lock").AsSpan(0, FileStorageLock.StateSize).ToArray(), mapped.ToArray());
        Assert.Equal("PSTLOCK\n"u8.ToArray(), mapped[..8].ToArray());
        lockFile.Dispose();
        Assert.False(signal.TryRead(mapped));
        signal.Raise();
        signal.Wait(before, 10_000_000);
        Assert.Equal(0, signal.Count);

        // The state before it was untouched: the file opens and the durable end is known.
        using var again = FileStorage.Open(_path);
        Assert.Equal(Make("one"), again.Iterate().Single().Data.ToArray());
    }
    [Fact]
    public void A_started_flush_is_seen_from_every_open_until_its_flusher_raises_the_count()
    {
        if (!OperatingSystem.IsLinux()) return;
        using var flusher = FileStorageLock.OpenForWriting(_path);
        using var other = FileStorageLock.OpenForWriting(_path);
        var seen = SignalOf(other).Count;
        Assert.False(SignalOf(other).IsFlushing(seen));

        SignalOf(flusher).Started();
        Assert.True(SignalOf(other).IsFlushing(seen));
        Assert.True(SignalOf(flusher).IsFlushing(seen));

        SignalOf(flusher).Raise();
        var now = SignalOf(other).Count;
        Assert.Equal(seen + 1, now);
        Assert.False(SignalOf(other).IsFlushing(now));
    }

    [Fact]
    public async Task A_commit_is_flushed_when_a_flusher_died_after_marking_its_flush_as_running()
    {
        if (!OperatingSystem.IsLinux()) return;
        var storage = FileStorage.Open(_path);
        var stuck = false;
        try
        {
            Commit(storage, (storage.NewOid(), 0, Make("before")));
            var flushes = storage.FlushCount;
            // A flusher that marked its flush and died: the word says a flush runs, no one holds the sync
            // lock and no one will raise the count.
            using (var dead = FileStorageLock.OpenForWriting(_path)) SignalOf(dead).Started();
            using (var look = FileStorageLock.OpenForWriting(_path)) Assert.True(SignalOf(look).IsFlushing(SignalOf(look).Count));

            var oid = storage.NewOid();
            var committing = Task.Run(() => Commit(storage, (oid, 0, Make("after"))));
            stuck = !await EndsWithin(committing, 30_000);
            Assert.False(stuck, "the commit waits for a flush that will never end");
            await committing;
            Assert.Equal(flushes + 1, storage.FlushCount);
            using var reopened = FileStorage.Open(_path, new FileStorageOptions { ReadOnly = true });
            Assert.Equal(Make("after"), reopened.Load(oid)!.Value.Data.ToArray());
        }
        finally
        {
            // Closing waits for a commit under way: a stuck one is left to the end of the test run.
            if (!stuck) storage.Dispose();
        }
    }

    [Fact]
    public async Task A_flusher_waits_for_as_many_appends_as_the_last_flush_took_in_and_no_longer_than_its_limit()
    {
        if (!OperatingSystem.IsLinux()) return;
        using var flusher = FileStorageLock.OpenForWriting(_path);
        using var other = FileStorageLock.OpenForWriting(_path);
        var signal = SignalOf(flusher);

        // A writer alone: the last flush took in one commit, its own, so it never waits.
        signal.Appended();
        signal.Gather(30_000_000);
        signal.Flushed();
        signal.Appended();
        Assert.True(await EndsWithin(Task.Run(() => signal.Gather(30_000_000)), 10_000), "a writer alone waited for others");
        signal.Flushed();

        // A flush that took in three commits (two of another process's writers and one of this one)...
        SignalOf(other).Appended();
        SignalOf(other).Appended();
        signal.Appended();
        signal.Gather(0);
        signal.Flushed();
        // ... makes the next flusher wait for three appends after it ended: its own and the other's two.
        signal.Appended();
        var gathering = Task.Run(() => signal.Gather(30_000_000));
        Assert.False(await EndsWithin(gathering, 200), "the flusher did not wait for the others");
        SignalOf(other).Appended();
        Assert.False(await EndsWithin(gathering, 200), "the flusher did not wait for the last one");
        SignalOf(other).Appended();
        Assert.True(await EndsWithin(gathering, 10_000), "the flusher did not see the last append");
        // It looked at the count while it waited: the appends made no wake-up call.
        Assert.Equal(0, SignalOf(other).WakeCalls);
        signal.Flushed();

        // When they do not come back, the wait ends at its limit.
        signal.Appended();
        var clock = Stopwatch.StartNew();
        signal.Gather(50_000);
        Assert.True(clock.Elapsed >= TimeSpan.FromMilliseconds(30), $"a 50 ms gathering returned after {clock.Elapsed.TotalMilliseconds} ms");
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"a 50 ms gathering took {clock.Elapsed}");
    }
}
