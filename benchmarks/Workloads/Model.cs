namespace Persistence.Workloads;

/// <summary>The person of every workload; on the SQLite side a row of <c>persons</c>.</summary>
[Persistent]
public partial class Person
{
    /// <summary>About 12 characters.</summary>
    public partial string Name { get; set; }

    public partial int Age { get; set; }

    /// <summary>About 20 characters.</summary>
    public partial string Email { get; set; }

    /// <summary>An earlier person, or null 20% of the time.</summary>
    public partial Person? Friend { get; set; }

    public partial DateTime Created { get; set; }
}
