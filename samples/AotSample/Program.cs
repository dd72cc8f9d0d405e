using System.Diagnostics;
using System.Globalization;
using System.Runtime;
using System.Runtime.InteropServices;
using Persistence;

namespace AotSample;

/// <summary>
/// Writes a graph of persistent objects to a database file, reopens the file in a new database and
/// checks that every value reads back equal; then changes a few values and checks again. Published
/// with NativeAOT, it shows that the library and the generated code need no reflection.
/// Exit code 0 if everything matched, 1 otherwise.
/// </summary>
public static class Program
{
    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    public static int Main()
    {
        var folder = Path.Combine(Path.GetTempPath(), "persistence-aot-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(folder);
        var path = Path.Combine(folder, "library.db");
        try
        {
            return Run(path);
        }
        catch (Exception e)
        {
            Console.Error.WriteLine($"FAILED: {e.GetType().Name}: {e.Message}");
            Console.Error.WriteLine(e.StackTrace);
            return 1;
        }
        finally
        {
            try
            {
                Directory.Delete(folder, recursive: true);
            }
            catch (IOException)
            {
                // Leaving a temp folder behind is not a failure of the sample.
            }
        }
    }

    private static int Run(string path)
    {
        var clock = Stopwatch.StartNew();
        Console.WriteLine($"Persistence NativeAOT sample: {RuntimeInformation.FrameworkDescription}, {RuntimeInformation.RuntimeIdentifier}, "
            + (JitInfo.GetCompiledMethodCount() == 0 ? "NativeAOT (no method JIT-compiled)" : $"JIT ({JitInfo.GetCompiledMethodCount()} methods JIT-compiled so far): not the NativeAOT binary"));

        // 1. Write the graph.
        using (var db = Database.Open(path))
        using (var connection = db.OpenConnection())
        {
            connection.Root["library"] = Build();
            connection.Commit();
        }
        var expected = Build();
        Console.WriteLine($"wrote      {path}: {expected.Books.Count} books, {expected.Authors.Count} authors ({Describe(path)})");

        // 2. Reopen it in a new database and compare every value.
        var check = new Checker();
        using (var db = Database.Open(path))
        using (var connection = db.OpenConnection())
        {
            Verify(check, expected, Load(connection));

            // 3. Change some values and commit.
            Change(Load(connection));
            connection.Commit();
        }
        if (!check.Report("after reopening")) return 1;
        Console.WriteLine($"read back  {check.Compared} values in a new Database: all equal");

        // 4. Reopen again: the changes are stored, everything else is as it was.
        Change(expected);
        check = new Checker();
        using (var db = Database.Open(path))
        using (var connection = db.OpenConnection())
            Verify(check, expected, Load(connection));
        if (!check.Report("after the change")) return 1;
        Console.WriteLine($"changed    5 values, committed, reopened: {check.Compared} values equal ({Describe(path)})");

        Console.WriteLine(string.Create(Invariant, $"OK in {clock.Elapsed.TotalMilliseconds:0} ms"));
        return 0;
    }

    private static Library Load(Connection connection) =>
        connection.Root.TryGetValue("library", out var found) && found is Library library
            ? library
            : throw new InvalidOperationException("The database has no 'library' entry of class Library.");

    // ---- The data ----

    /// <summary>Builds the same graph every time it is called (one copy is stored, one is the expectation).</summary>
    private static Library Build()
    {
        var tolkien = new Author { Name = "J. R. R. Tolkien", Born = new DateOnly(1892, 1, 3), Country = "United Kingdom" };
        var curie = new Author { Name = "Maria Skłodowska-Curie", Born = new DateOnly(1867, 11, 7), Country = "Poland" };
        var anonymous = new Author { Name = "Anonymous", Born = null, Country = null };

        var hobbit = new Book
        {
            Title = "The Hobbit",
            Author = tolkien,
            Genre = Genre.Fiction,
            Shelving = Shelving.Front | Shelving.Archive,
            Pages = 310,
            Price = 12.99m,
            Published = new DateTime(1937, 9, 21, 0, 0, 0, DateTimeKind.Utc),
            Id = Guid.Parse("6f9619ff-8b86-d011-b42d-00c04fc964ff"),
            Size = new Dimensions(135, 205, 0.31),
            Box = null,
            Tags = ["fantasy", "classic"],
            Cover = [0x89, 0x50, 0x4E, 0x47, 0x00, 0xFF],
        };
        var rings = new Book
        {
            Title = "The Lord of the Rings",
            Author = tolkien,
            Genre = Genre.Fiction,
            Shelving = Shelving.Back,
            Pages = 1178,
            Price = 39.50m,
            Published = new DateTime(1954, 7, 29, 12, 30, 45, DateTimeKind.Local),
            Id = Guid.Parse("0f8fad5b-d9cb-469f-a165-70867728950e"),
            Size = new Dimensions(150, 230, 1.25),
            Box = new Dimensions(160, 240, 1.5),
            Tags = [],
            Cover = null,
        };
        var radioactivity = new Book
        {
            Title = "Recherches sur les substances radioactives",
            Author = curie,
            Genre = Genre.Science,
            Shelving = Shelving.None,
            Pages = null,
            Price = 0m,
            Published = new DateTime(1903, 6, 25, 0, 0, 0, DateTimeKind.Unspecified),
            Id = Guid.Empty,
            Size = default,
            Box = new Dimensions(0, 0, double.Epsilon),
            Tags = null,
            Cover = [],
        };
        var beowulf = new Book
        {
            Title = "Beowulf 🐉 — épopée",
            Author = anonymous,
            Genre = Genre.Poetry,
            Shelving = Shelving.Archive,
            Pages = int.MaxValue,
            Price = decimal.MaxValue,
            Published = DateTime.MinValue,
            Id = Guid.Parse("ffffffff-ffff-ffff-ffff-ffffffffffff"),
            Size = new Dimensions(int.MinValue, int.MaxValue, -0.0),
            Box = null,
            Tags = ["", "epic", "Old English"],
            Cover = null,
        };
        hobbit.Sequel = rings;
        tolkien.FirstBook = hobbit;
        curie.FirstBook = radioactivity;

        return new Library
        {
            Name = "The NativeAOT Library",
            Opened = new DateTimeOffset(2024, 5, 1, 9, 30, 15, TimeSpan.FromHours(2)),
            Books = new PersistentList<Book> { hobbit, rings, radioactivity, beowulf },
            Authors = new PersistentDictionary<string, Author>
            {
                ["tolkien"] = tolkien,
                ["curie"] = curie,
                ["anonymous"] = anonymous,
            },
            Stock = new PersistentDictionary<string, int> { ["hobbit"] = 3, ["rings"] = 0, ["radioactivity"] = -1 },
            Counters = new Dictionary<string, long> { ["loans"] = long.MaxValue, ["returns"] = long.MinValue, ["late"] = 0 },
        };
    }

    /// <summary>Five changes, applied both to the stored graph and to the expectation.</summary>
    private static void Change(Library library)
    {
        var hobbit = library.Books[0];
        hobbit.Pages = null;
        hobbit.Box = new Dimensions(140, 210, 0.4);
        library.Authors["tolkien"].Country = "England";
        library.Stock["rings"] = 7;
        library.Books.Add(new Book
        {
            Title = "Added later",
            Author = library.Authors["curie"],
            Genre = Genre.History,
            Published = new DateTime(2000, 1, 1, 0, 0, 0, DateTimeKind.Utc),
            Tags = ["new"],
        });
    }

    // ---- The comparison ----

    private static void Verify(Checker check, Library expected, Library actual)
    {
        check.Equal("Library.Name", expected.Name, actual.Name);
        check.Equal("Library.Opened", expected.Opened, actual.Opened);
        check.Equal("Library.Opened.Offset", expected.Opened.Offset, actual.Opened.Offset);
        check.Equal("Library.Books.Count", expected.Books.Count, actual.Books.Count);
        for (var i = 0; i < Math.Min(expected.Books.Count, actual.Books.Count); i++)
            VerifyBook(check, $"Books[{i}]", expected.Books[i], actual.Books[i]);

        check.Equal("Library.Authors.Count", expected.Authors.Count, actual.Authors.Count);
        foreach (var (key, author) in expected.Authors)
        {
            if (!actual.Authors.TryGetValue(key, out var read))
            {
                check.Fail($"Authors[\"{key}\"] is missing");
                continue;
            }
            VerifyAuthor(check, $"Authors[\"{key}\"]", author, read);
        }

        check.Equal("Library.Stock.Count", expected.Stock.Count, actual.Stock.Count);
        foreach (var (key, count) in expected.Stock)
            check.Equal($"Stock[\"{key}\"]", count, actual.Stock.TryGetValue(key, out var read) ? read : (int?)null);

        check.Equal("Library.Counters.Count", expected.Counters?.Count, actual.Counters?.Count);
        if (expected.Counters is not null)
        {
            foreach (var (key, value) in expected.Counters)
                check.Equal($"Counters[\"{key}\"]", value, actual.Counters is not null && actual.Counters.TryGetValue(key, out var read) ? read : (long?)null);
        }

        // Persistent references come back as shared instances, cycles included.
        check.Same("Books[0].Author is Authors[\"tolkien\"]", actual.Authors["tolkien"], actual.Books[0].Author);
        check.Same("Books[1].Author is Books[0].Author", actual.Books[0].Author, actual.Books[1].Author);
        check.Same("Books[0].Sequel is Books[1]", actual.Books[1], actual.Books[0].Sequel);
        check.Same("Authors[\"tolkien\"].FirstBook is Books[0]", actual.Books[0], actual.Authors["tolkien"].FirstBook);
        check.Same("Authors[\"curie\"].FirstBook is Books[2]", actual.Books[2], actual.Authors["curie"].FirstBook);
    }

    private static void VerifyBook(Checker check, string at, Book expected, Book actual)
    {
        check.Equal($"{at}.Title", expected.Title, actual.Title);
        check.Equal($"{at}.Author.Name", expected.Author?.Name, actual.Author?.Name);
        check.Equal($"{at}.Genre", expected.Genre, actual.Genre);
        check.Equal($"{at}.Shelving", expected.Shelving, actual.Shelving);
        check.Equal($"{at}.Pages", expected.Pages, actual.Pages);
        check.Equal($"{at}.Price", expected.Price, actual.Price);
        check.Equal($"{at}.Published", expected.Published, actual.Published);
        check.Equal($"{at}.Published.Kind", expected.Published.Kind, actual.Published.Kind);
        check.Equal($"{at}.Id", expected.Id, actual.Id);
        check.Equal($"{at}.Size", expected.Size, actual.Size);
        check.Equal($"{at}.Size.WeightKg bits", BitConverter.DoubleToInt64Bits(expected.Size.WeightKg), BitConverter.DoubleToInt64Bits(actual.Size.WeightKg));
        check.Equal($"{at}.Box", expected.Box, actual.Box);
        check.Sequence($"{at}.Tags", expected.Tags, actual.Tags);
        check.Sequence($"{at}.Cover", expected.Cover, actual.Cover);
        check.Equal($"{at}.Sequel.Title", expected.Sequel?.Title, actual.Sequel?.Title);
    }

    private static void VerifyAuthor(Checker check, string at, Author expected, Author actual)
    {
        check.Equal($"{at}.Name", expected.Name, actual.Name);
        check.Equal($"{at}.Born", expected.Born, actual.Born);
        check.Equal($"{at}.Country", expected.Country, actual.Country);
        check.Equal($"{at}.FirstBook.Title", expected.FirstBook?.Title, actual.FirstBook?.Title);
    }

    /// <summary>The file's size and how many objects it holds.</summary>
    private static string Describe(string path)
    {
        using var db = Database.Open(path, new DatabaseOptions { ReadOnly = true });
        var objects = new HashSet<Oid>();
        var revisions = 0;
        foreach (var record in db.Storage.Iterate())
        {
            objects.Add(record.Oid);
            revisions++;
        }
        return string.Create(Invariant, $"{new FileInfo(path).Length:N0} bytes, {objects.Count} objects, {revisions} revisions");
    }

    private sealed class Checker
    {
        private readonly List<string> _failures = [];

        public int Compared { get; private set; }

        public void Equal<T>(string what, T expected, T actual)
        {
            Compared++;
            if (!EqualityComparer<T>.Default.Equals(expected, actual))
                _failures.Add($"{what}: wrote {Show(expected)}, read {Show(actual)}");
        }

        public void Sequence<T>(string what, IReadOnlyList<T>? expected, IReadOnlyList<T>? actual)
        {
            Compared++;
            if (expected is null || actual is null)
            {
                if (expected is not null || actual is not null)
                    _failures.Add($"{what}: wrote {(expected is null ? "null" : "a list")}, read {(actual is null ? "null" : "a list")}");
                return;
            }
            if (!expected.SequenceEqual(actual))
                _failures.Add($"{what}: wrote [{string.Join(", ", expected)}], read [{string.Join(", ", actual)}]");
        }

        public void Same(string what, object? expected, object? actual)
        {
            Compared++;
            if (expected is null || !ReferenceEquals(expected, actual)) _failures.Add($"{what}: not the same object");
        }

        public void Fail(string what)
        {
            Compared++;
            _failures.Add(what);
        }

        /// <summary>Prints the mismatches, if any; returns whether there were none.</summary>
        public bool Report(string when)
        {
            if (_failures.Count == 0) return true;
            Console.Error.WriteLine($"FAILED {when}: {_failures.Count} of {Compared} values differ:");
            foreach (var failure in _failures) Console.Error.WriteLine("  " + failure);
            return false;
        }

        private static string Show<T>(T value) => value switch
        {
            null => "null",
            IFormattable formattable => formattable.ToString(null, Invariant),
            _ => value.ToString() ?? "",
        };
    }
}
