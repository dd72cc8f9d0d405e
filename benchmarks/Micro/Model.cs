namespace Persistence.Benchmarks;

/// <summary>The persistent class the benchmarks use: two strings, an int, a DateTime and a reference.</summary>
[Persistent]
public partial class Person
{
    public partial string Name { get; set; }
    public partial string Email { get; set; }
    public partial int Age { get; set; }
    public partial DateTime Created { get; set; }
    public partial Person? Friend { get; set; }
}

/// <summary>The same shape as a plain class with auto-properties: the baseline.</summary>
public class PlainPerson
{
    public string Name { get; set; } = "";
    public string Email { get; set; } = "";
    public int Age { get; set; }
    public DateTime Created { get; set; }
    public PlainPerson? Friend { get; set; }
}

internal static class People
{
    public static readonly DateTime Epoch = new(2024, 1, 1, 0, 0, 0, DateTimeKind.Utc);

    public static Person Persistent(int i) => new()
    {
        Name = "Person " + i,
        Email = "person" + i + "@example.org",
        Age = 20 + i % 60,
        Created = Epoch.AddMinutes(i),
    };

    public static PlainPerson Plain(int i) => new()
    {
        Name = "Person " + i,
        Email = "person" + i + "@example.org",
        Age = 20 + i % 60,
        Created = Epoch.AddMinutes(i),
    };
}
