namespace Persistence.TestHost;

/// <summary>A numbered unit of work written by crash tests.</summary>
[Persistent]
public partial class Entry
{
    public partial long Number { get; set; }
    public partial string? Payload { get; set; }
}

/// <summary>A bank account for transfer tests.</summary>
[Persistent]
public partial class Account
{
    public partial string? Name { get; set; }
    public partial long Balance { get; set; }
}

/// <summary>A small object processes read and change.</summary>
[Persistent]
public partial class Cell
{
    public partial long Value { get; set; }
    public partial string? Owner { get; set; }
}
