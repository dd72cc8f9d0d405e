namespace Persistence;

/// <summary>
/// The objects a transaction read, for the serializable check at commit. Objects loaded in the
/// transaction are not noted one by one: they are the newest places of the connection's
/// <see cref="ActivationQueue"/>, which only grows between transaction boundaries. Only objects loaded
/// earlier and read again are noted here. An object may appear twice; the check drops repeats.
/// </summary>
internal sealed class ReadSet(ActivationQueue activations)
{
    private readonly ActivationQueue _activations = activations;
    private readonly List<PersistentObject> _noted = [];
    // The place in the activation queue where this transaction's loads begin.
    private int _firstActivation;

    /// <summary>How many objects the set holds, repeats included.</summary>
    public int Count => _noted.Count + _activations.Count - _firstActivation;

    /// <summary>Notes the first read, in this transaction, of an object loaded before it.</summary>
    public void Add(PersistentObject obj) => _noted.Add(obj);

    /// <summary>Starts a new transaction: empty, and loads from now on count.</summary>
    public void Clear()
    {
        _noted.Clear();
        _firstActivation = _activations.Count;
    }

    /// <summary>Enumerates the objects, the noted ones first.</summary>
    public Enumerator GetEnumerator() => new(this);

    /// <summary>Enumerates a <see cref="ReadSet"/>.</summary>
    public struct Enumerator(ReadSet set)
    {
        private int _index = -1;

        public readonly PersistentObject Current => _index < set._noted.Count
            ? set._noted[_index]
            : set._activations[set._firstActivation + _index - set._noted.Count];

        public bool MoveNext() => ++_index < set.Count;
    }
}
