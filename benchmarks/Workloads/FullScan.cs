using Microsoft.Data.Sqlite;

namespace Persistence.Workloads;

/// <summary>One full pass over every person reading Name and Age (W3 cold, W4 warm).</summary>
internal static class FullScan
{
    public static (int Count, long Checksum) Ours(BTree<int, Person> persons)
    {
        var count = 0;
        long checksum = 0;
        foreach (var (_, person) in persons)
        {
            checksum += person.Age + person.Name.Length;
            count++;
        }
        return (count, checksum);
    }

    public static (int Count, long Checksum) Sqlite(SqliteCommand selectNameAndAge)
    {
        var count = 0;
        long checksum = 0;
        using var reader = selectNameAndAge.ExecuteReader();
        while (reader.Read())
        {
            checksum += reader.GetString(0).Length + reader.GetInt32(1);
            count++;
        }
        return (count, checksum);
    }

    public const string SelectNameAndAge = "SELECT name, age FROM persons";
}
