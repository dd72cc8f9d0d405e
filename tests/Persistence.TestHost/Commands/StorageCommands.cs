using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using Persistence.Storage;

namespace Persistence.TestHost;

/// <summary>Commands that use the file storage directly: holding its locks, oids, read-only opens, timing.</summary>
internal static partial class HostCommands
{
    /// <summary>
    /// hold-commit PATH [torn]: votes a transaction (so it holds the commit lock), prints "voted"; with
    /// "torn" then appends half a transaction's worth of bytes to the data file, as a writer killed in
    /// the middle of its write leaves them, and prints "torn". Then waits to be killed.
    /// </summary>
    private static int HoldCommit(string[] args)
    {
        var storage = FileStorage.Open(args[0]);
        var transaction = storage.Begin();
        transaction.Store(storage.NewOid(), 0, RawRecord("held"));
        transaction.Vote();
        Console.WriteLine("voted");
        if (args.Length > 1 && args[1] == "torn")
        {
            using (var file = new FileStream(args[0], FileMode.Append, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete))
            {
                // A valid-looking transaction header that promises more bytes than follow.
                var bytes = new byte[300];
                BinaryPrimitives.WriteUInt32LittleEndian(bytes, 0x4E585450);
                new Random(1).NextBytes(bytes.AsSpan(40));
                file.Write(bytes);
            }
            Console.WriteLine("torn");
        }
        Thread.Sleep(Timeout.Infinite);
        return 0;
    }

    /// <summary>set-cell PATH KEY VALUE: sets the value of the cell at root KEY (creating it), one commit.</summary>
    private static int SetCell(string[] args)
    {
        using var db = Database.Open(args[0]);
        using var connection = db.OpenConnection();
        if (!connection.Root.TryGetValue(args[1], out var cell))
            connection.Root[args[1]] = cell = new Cell();
        ((Cell)cell).Value = long.Parse(args[2], CultureInfo.InvariantCulture);
        connection.Commit();
        Console.WriteLine("done");
        return 0;
    }

    /// <summary>
    /// watch-cell PATH KEY GOFILE [readonly]: prints "before V" (the cell at root KEY), waits until
    /// GOFILE exists, prints "peek V" (no transaction boundary yet: the same snapshot), then aborts
    /// (a boundary) and prints "after V".
    /// </summary>
    private static int WatchCell(string[] args)
    {
        using var db = Database.Open(args[0], new DatabaseOptions { ReadOnly = args.Length > 3 && args[3] == "readonly" });
        using var connection = db.OpenConnection();
        Console.WriteLine($"before {((Cell)connection.Root[args[1]]).Value}");
        var waited = Stopwatch.StartNew();
        while (!File.Exists(args[2]))
        {
            if (waited.Elapsed > TimeSpan.FromMinutes(2)) return Fail("the go file never appeared");
            Thread.Sleep(2);
        }
        Console.WriteLine($"peek {((Cell)connection.Root[args[1]]).Value}");
        connection.Abort();
        Console.WriteLine($"after {((Cell)connection.Root[args[1]]).Value}");
        return 0;
    }

    /// <summary>new-oids PATH N: allocates N oids through two storages of this process and prints each ("oid X").</summary>
    private static int NewOids(string[] args)
    {
        using var first = FileStorage.Open(args[0]);
        using var second = FileStorage.Open(args[0]);
        var count = int.Parse(args[1], CultureInfo.InvariantCulture);
        var lines = new List<string>(count);
        for (var i = 0; i < count; i++)
            lines.Add("oid " + (i % 2 == 0 ? first : second).NewOid().Value.ToString(CultureInfo.InvariantCulture));
        Console.WriteLine(string.Join('\n', lines));
        return 0;
    }

    /// <summary>ro-read PATH: opens the database read-only and prints "tid T" and "records R" (from the storage).</summary>
    private static int ReadOnlyRead(string[] args)
    {
        using var storage = FileStorage.Open(args[0], new FileStorageOptions { ReadOnly = true });
        Console.WriteLine($"tid {storage.LastTid}");
        Console.WriteLine($"records {storage.Iterate().Count()}");
        storage.Poll(0);
        return 0;
    }

    /// <summary>rw-open PATH: tries to open the database for writing; prints "opened" or "error MESSAGE".</summary>
    private static int ReadWriteOpen(string[] args)
    {
        try
        {
            using var storage = FileStorage.Open(args[0]);
            Console.WriteLine("opened");
        }
        catch (PersistenceException e)
        {
            Console.WriteLine("error " + e.Message);
        }
        return 0;
    }

    /// <summary>
    /// bench-commits PATH THREADS SECONDS [relaxed]: each thread commits small transactions (one object
    /// of its own changed, no conflicts) through its own connection for SECONDS; prints "commits N",
    /// "seconds S" and "flushes F" (this process's fsync calls are not counted: F is the storage's).
    /// </summary>
    private static int BenchCommits(string[] args)
    {
        var threads = int.Parse(args[1], CultureInfo.InvariantCulture);
        var seconds = double.Parse(args[2], CultureInfo.InvariantCulture);
        var relaxed = args.Length > 3 && args[3] == "relaxed";
        using var db = Database.Open(args[0], new DatabaseOptions { Durability = relaxed ? Durability.Relaxed : Durability.Durable });
        var keys = Enumerable.Range(0, threads).Select(_ => "bench-" + Guid.NewGuid().ToString("N")).ToArray();
        db.Transact(connection =>
        {
            foreach (var key in keys) connection.Root[key] = new Cell();
        });
        var total = 0L;
        var clock = Stopwatch.StartNew();
        var workers = keys.Select(key => new Thread(() =>
        {
            using var connection = db.OpenConnection();
            var cell = (Cell)connection.Root[key];
            var commits = 0L;
            while (clock.Elapsed.TotalSeconds < seconds)
            {
                try
                {
                    cell.Value++;
                    connection.Commit();
                    commits++;
                }
                catch (ConflictException)
                {
                    // Only at first: other processes adding their keys changed the root this connection read.
                    connection.Abort();
                }
            }
            Interlocked.Add(ref total, commits);
        })).ToList();
        workers.ForEach(t => t.Start());
        workers.ForEach(t => t.Join());
        Console.WriteLine($"commits {total}");
        Console.WriteLine($"seconds {clock.Elapsed.TotalSeconds.ToString("F2", CultureInfo.InvariantCulture)}");
        return 0;
    }

    /// <summary>
    /// fsync-latency PATH N: appends 200 bytes and flushes, N times, and prints the median and 99th
    /// percentile in microseconds ("median U", "p99 U").
    /// </summary>
    private static int FsyncLatency(string[] args)
    {
        var count = int.Parse(args[1], CultureInfo.InvariantCulture);
        using var file = File.OpenHandle(args[0], FileMode.Create, FileAccess.ReadWrite);
        var bytes = new byte[200];
        var times = new double[count];
        for (var i = 0; i < count; i++)
        {
            var start = Stopwatch.GetTimestamp();
            RandomAccess.Write(file, bytes, (long)i * bytes.Length);
            RandomAccess.FlushToDisk(file);
            times[i] = Stopwatch.GetElapsedTime(start).TotalMicroseconds;
        }
        Array.Sort(times);
        Console.WriteLine($"median {times[count / 2]:F0}");
        Console.WriteLine($"p99 {times[count * 99 / 100]:F0}");
        return 0;
    }

    /// <summary>
    /// as-user UID COMMAND ARGS...: runs another command of this program as user UID (with group UID and
    /// no other groups) through setpriv, relaying its output and exit code; for tests of what a user
    /// without write permission can do, when the tests run as root (which bypasses permission checks).
    /// </summary>
    private static int AsUser(string[] args)
    {
        var info = new ProcessStartInfo("setpriv") { RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var argument in (string[])["--reuid", args[0], "--regid", args[0], "--clear-groups", Environment.ProcessPath!, typeof(HostCommands).Assembly.Location])
            info.ArgumentList.Add(argument);
        foreach (var argument in args[1..]) info.ArgumentList.Add(argument);
        // The user may have no home directory; the runtime needs none to run a program.
        info.Environment["HOME"] = Path.GetTempPath();
        info.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        using var process = Process.Start(info)!;
        Console.Write(process.StandardOutput.ReadToEnd());
        process.WaitForExit();
        return process.ExitCode;
    }

    /// <summary>A record as RecordFormat lays it out (type id 7, version 1, the text's UTF-8 bytes, no references).</summary>
    private static byte[] RawRecord(string text)
    {
        var state = System.Text.Encoding.UTF8.GetBytes(text);
        var record = new byte[6 + state.Length + 4];
        BinaryPrimitives.WriteUInt32LittleEndian(record, 7);
        BinaryPrimitives.WriteUInt16LittleEndian(record.AsSpan(4), 1);
        state.CopyTo(record, 6);
        return record;
    }
}
