namespace Persistence;

/// <summary>
/// Passed to the constructor that generated code adds to every persistent class, which makes an
/// empty instance (a ghost) without running the user's constructors. Only the library creates it.
/// </summary>
public readonly struct GhostToken
{
    internal GhostToken(bool _) { }
}
