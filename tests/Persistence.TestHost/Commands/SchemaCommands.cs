using System.Globalization;

namespace Persistence.TestHost;

/// <summary>
/// Commands of the schema evolution tests: this program is the next version of one whose collections
/// held narrower elements. It uses PersistentList&lt;long&gt; and BTree&lt;long, long&gt;, and neither
/// PersistentList&lt;int&gt; nor BTree&lt;int, int&gt;, which the tests store.
/// </summary>
internal static partial class HostCommands
{
    /// <summary>
    /// read-widened PATH [add]: reads the list under root "list" as a PersistentList&lt;long&gt; and the tree under
    /// root "tree" as a BTree&lt;long, long&gt;, prints "list a,b,…" and "tree k:v,k:v,…"; with "add", adds
    /// long.MaxValue to the list and the entry long.MaxValue: long.MinValue to the tree and commits. Prints "done".
    /// </summary>
    private static int ReadWidened(string[] args)
    {
        using var db = Database.Open(args[0]);
        using var connection = db.OpenConnection();
        var list = (PersistentList<long>)connection.Root["list"];
        var tree = (BTree<long, long>)connection.Root["tree"];
        Console.WriteLine("list " + string.Join(",", list.Select(v => v.ToString(CultureInfo.InvariantCulture))));
        Console.WriteLine("tree " + string.Join(",", tree.Select(e => string.Create(CultureInfo.InvariantCulture, $"{e.Key}:{e.Value}"))));
        if (args.Length > 1 && args[1] == "add")
        {
            list.Add(long.MaxValue);
            tree.Add(long.MaxValue, long.MinValue);
            connection.Commit();
        }
        Console.WriteLine("done");
        return 0;
    }
}
