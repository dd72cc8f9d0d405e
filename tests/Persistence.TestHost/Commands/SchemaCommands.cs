using System.Globalization;

namespace Persistence.TestHost;

/// <summary>
/// Commands of the schema evolution tests: this program is the next version of one whose collections
/// held narrower elements. It uses PersistentList&lt;long&gt;, BTree&lt;long, long&gt; and BTree&lt;long, string&gt;,
/// and neither PersistentList&lt;int&gt;, BTree&lt;int, int&gt; nor BTree&lt;int, string&gt;, which the tests store
/// (and the tests use no BTree&lt;long, string&gt;, so they stand for the version before this one).
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

    /// <summary>
    /// widen-names PATH [add]: reads the trees under root "names" and "many" as BTree&lt;long, string&gt;s and
    /// prints "names k:v,k:v,…" and "many COUNT FIRST V500"; with "add", adds the entry long.MaxValue: "wide" to
    /// "names" and sets the value of key 500 of "many" to "changed", and commits: only buckets are stored
    /// (neither change splits one), in this program's layout. Prints "done".
    /// </summary>
    private static int WidenNames(string[] args)
    {
        using var db = Database.Open(args[0]);
        using var connection = db.OpenConnection();
        var names = (BTree<long, string>)connection.Root["names"];
        var many = (BTree<long, string>)connection.Root["many"];
        Console.WriteLine("names " + string.Join(",", names.Select(e => string.Create(CultureInfo.InvariantCulture, $"{e.Key}:{e.Value}"))));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"many {many.Count} {many[0]} {many[500]}"));
        if (args.Length > 1 && args[1] == "add")
        {
            names.Add(long.MaxValue, "wide");
            many[500] = "changed";
            connection.Commit();
        }
        Console.WriteLine("done");
        return 0;
    }
}
