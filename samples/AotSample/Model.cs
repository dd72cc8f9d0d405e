using Persistence;

namespace AotSample;

public enum Genre : byte
{
    Fiction,
    Science,
    History,
    Poetry,
}

[Flags]
public enum Shelving : long
{
    None = 0,
    Front = 1,
    Back = 2,
    Archive = 1L << 40,
}

/// <summary>A value stored inline in the book that holds it.</summary>
[PersistentValue]
public partial record struct Dimensions(int WidthMm, int HeightMm, double WeightKg);

[Persistent]
public partial class Author
{
    public partial string Name { get; set; }
    public partial DateOnly? Born { get; set; }
    public partial string? Country { get; set; }
    /// <summary>A reference back to a book: the graph has a cycle.</summary>
    public partial Book? FirstBook { get; set; }
}

[Persistent]
public partial class Book
{
    public partial string Title { get; set; }
    public partial Author? Author { get; set; }
    public partial Genre Genre { get; set; }
    public partial Shelving Shelving { get; set; }
    public partial int? Pages { get; set; }
    public partial decimal Price { get; set; }
    public partial DateTime Published { get; set; }
    public partial Guid Id { get; set; }
    public partial Dimensions Size { get; set; }
    public partial Dimensions? Box { get; set; }
    public partial List<string>? Tags { get; set; }
    public partial byte[]? Cover { get; set; }
    public partial Book? Sequel { get; set; }
}

[Persistent]
public partial class Library
{
    public partial string Name { get; set; }
    public partial DateTimeOffset Opened { get; set; }
    public partial PersistentList<Book> Books { get; set; }
    public partial PersistentDictionary<string, Author> Authors { get; set; }
    public partial PersistentDictionary<string, int> Stock { get; set; }
    public partial Dictionary<string, long>? Counters { get; set; }
}
