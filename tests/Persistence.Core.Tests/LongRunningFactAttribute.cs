namespace Persistence.Tests;

/// <summary>
/// A test that takes minutes (hundreds of crashes, long stress runs): skipped unless the environment
/// variable <c>PERSISTENCE_LONG_TESTS</c> is <c>1</c>, so the normal run stays short.
/// </summary>
public sealed class LongRunningFactAttribute : FactAttribute
{
    /// <summary>The environment variable that turns the long-running tests on.</summary>
    public const string Variable = "PERSISTENCE_LONG_TESTS";

    /// <summary>Skips the test unless <see cref="Variable"/> is 1.</summary>
    public LongRunningFactAttribute()
    {
        if (!IsEnabled) Skip = $"Long-running; set {Variable}=1 to run it.";
    }

    /// <summary>Whether the long-running tests run.</summary>
    public static bool IsEnabled => Environment.GetEnvironmentVariable(Variable) == "1";
}
