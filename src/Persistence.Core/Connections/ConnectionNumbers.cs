namespace Persistence;

/// <summary>
/// Numbers the connections of the process, so an object names its connection in 16 bits beside its
/// oid (see <see cref="PersistentObject"/>) instead of in a reference of its own: 8 bytes less for
/// every object. 0 means no connection (a new object), <see cref="Released"/> a connection that was
/// closed and let go of; the other numbers belong to live connections, pooled ones included.
/// </summary>
/// <remarks>
/// A number is given back only after every object that carries it was made to carry
/// <see cref="Released"/> instead (<see cref="Connection.Release"/>), so a number taken again never
/// names objects of the connection that had it before.
/// </remarks>
internal static class ConnectionNumbers
{
    /// <summary>The number of the objects of a connection that was let go of.</summary>
    public const int Released = ushort.MaxValue;

    private static readonly Lock s_gate = new();
    // By number; replaced by a longer copy when it fills, so a lookup needs no lock.
    private static Connection?[] s_byNumber = new Connection?[64];
    private static readonly Stack<int> s_free = new();
    private static int s_next = 1;

    /// <summary>A number for <paramref name="connection"/>.</summary>
    /// <exception cref="PersistenceException">65,534 connections are open in the process.</exception>
    public static int Take(Connection connection)
    {
        lock (s_gate)
        {
            if (!s_free.TryPop(out var number))
            {
                if (s_next == Released)
                    throw new PersistenceException($"The process has {Released - 1:N0} connections open, the most it can have. Dispose connections you no longer use (Dispose returns one to its database's pool), or dispose the databases you are done with.");
                number = s_next++;
            }
            var byNumber = s_byNumber;
            if (number >= byNumber.Length)
            {
                var longer = new Connection?[Math.Min(byNumber.Length * 2, Released + 1)];
                byNumber.CopyTo(longer, 0);
                byNumber = longer;
            }
            byNumber[number] = connection;
            Volatile.Write(ref s_byNumber, byNumber);
            return number;
        }
    }

    /// <summary>The live connection with <paramref name="number"/>; null for 0 and <see cref="Released"/>.</summary>
    public static Connection? Find(int number)
    {
        var byNumber = Volatile.Read(ref s_byNumber);
        return (uint)number < (uint)byNumber.Length ? byNumber[number] : null;
    }

    /// <summary>Gives <paramref name="number"/> back, once no object carries it.</summary>
    public static void Give(int number)
    {
        lock (s_gate)
        {
            s_byNumber[number] = null;
            s_free.Push(number);
        }
    }
}
