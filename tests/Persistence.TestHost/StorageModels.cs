namespace Persistence.TestHost;

/// <summary>One numbered commit of the crash writer: a chain back to the first, its payload kept apart.</summary>
[Persistent]
public partial class CrashRecord
{
    public partial long Number { get; set; }
    public partial CrashRecord? Previous { get; set; }
    public partial Blob? Payload { get; set; }
}

/// <summary>Bytes in an object of their own, so walking a chain does not load them.</summary>
[Persistent]
public partial class Blob
{
    public partial byte[]? Bytes { get; set; }
}

/// <summary>A named place processes fill (create), change and empty (delete) in the contention test.</summary>
[Persistent]
public partial class Slot
{
    public partial long Generation { get; set; }
    public partial Cell? Current { get; set; }
}
