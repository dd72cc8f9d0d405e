namespace Persistence.Workloads;

/// <summary>
/// The persons both sides store, generated up front from a fixed seed so both sides write the same
/// values and the generation is not timed.
/// </summary>
internal sealed class PersonData
{
    private static readonly string[] First =
    [
        "Ada", "Alan", "Grace", "Edsger", "Barbara", "Donald", "Niklaus", "Frances", "Dennis", "Ken",
        "Margaret", "John", "Radia", "Tony", "Leslie", "Shafi", "Robin", "Butler", "Edgar", "Ivan",
    ];

    private static readonly string[] Last =
    [
        "Byron", "Turing", "Hopper", "Dijkstra", "Liskov", "Knuth", "Wirth", "Allen", "Ritchie", "Thompson",
        "Hamilton", "Backus", "Perlman", "Hoare", "Lamport", "Goldwasser", "Milner", "Lampson", "Codd", "Sutherland",
    ];

    private static readonly DateTime Epoch = new(2020, 1, 1, 0, 0, 0, DateTimeKind.Utc);

    private PersonData(int count)
    {
        Names = new string[count];
        Emails = new string[count];
        Ages = new int[count];
        Friends = new int[count];
        Created = new DateTime[count];
    }

    public string[] Names { get; }

    public string[] Emails { get; }

    public int[] Ages { get; }

    /// <summary>The id of an earlier person, or -1 (null) 20% of the time.</summary>
    public int[] Friends { get; }

    public DateTime[] Created { get; }

    public int Count => Names.Length;

    public static PersonData Generate(int count, int seed = 20261123)
    {
        var random = new Random(seed);
        var data = new PersonData(count);
        for (var id = 0; id < count; id++)
        {
            var first = First[random.Next(First.Length)];
            var last = Last[random.Next(Last.Length)];
            // "Ada Byron": about 12 characters on average; "ada.byron42@mail.org": about 20.
            var number = random.Next(100);
            data.Names[id] = $"{first} {last}";
            data.Emails[id] = $"{first.ToLowerInvariant()}.{last.ToLowerInvariant()}{number}@mail.org";
            data.Ages[id] = 18 + random.Next(70);
            data.Friends[id] = id == 0 || random.Next(5) == 0 ? -1 : random.Next(id);
            data.Created[id] = Epoch.AddSeconds(id * 37L + random.Next(37));
        }
        return data;
    }

    /// <summary>A fixed sequence of random ids below <paramref name="objects"/> (the same on both sides).</summary>
    public static int[] RandomIds(int count, int objects, int seed)
    {
        var random = new Random(seed);
        var ids = new int[count];
        for (var i = 0; i < count; i++) ids[i] = random.Next(objects);
        return ids;
    }
}
