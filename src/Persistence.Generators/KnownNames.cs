using System.Collections.Immutable;

namespace Persistence.Generators;

/// <summary>Names of the runtime types the generator recognizes and the code it writes against.</summary>
internal static class KnownNames
{
    public const string Namespace = "Persistence";
    public const string PersistentAttribute = "Persistence.PersistentAttribute";
    public const string PersistentValueAttribute = "Persistence.PersistentValueAttribute";
    public const string PersistentAttributeName = "PersistentAttribute";
    public const string PersistentValueAttributeName = "PersistentValueAttribute";
    public const string PersistentAliasAttributeName = "PersistentAliasAttribute";
    public const string TransientAttributeName = "TransientAttribute";
    public const string PersistentObjectName = "PersistentObject";

    /// <summary>
    /// The generic persistent collections of Persistence.Core (present or planned) whose closed types
    /// are registered by generated code, if they have the registration method it calls.
    /// </summary>
    public static readonly ImmutableHashSet<string> CollectionNames =
        ImmutableHashSet.Create("PersistentList", "PersistentDictionary", "PersistentSet", "BTree", "BTreeSet");

    public const string PersistentObject = "global::Persistence.PersistentObject";
    public const string PersistentTypeInfo = "global::Persistence.PersistentTypeInfo";
    public const string PersistentTypes = "global::Persistence.PersistentTypes";

    /// <summary>
    /// On the generated PersistentType override: the library's members are not the object's data when
    /// System.Text.Json serializes it (the base class marks its other members so).
    /// </summary>
    public const string JsonIgnoreAttribute = "[global::System.Text.Json.Serialization.JsonIgnore]";
    public const string FieldSchema = "global::Persistence.FieldSchema";
    public const string GhostToken = "global::Persistence.GhostToken";
    public const string RecordWriter = "global::Persistence.Serialization.RecordWriter";
    public const string RecordReader = "global::Persistence.Serialization.RecordReader";
    public const string ValueCodec = "global::Persistence.Serialization.ValueCodec";
    public const string ValueCodecs = "global::Persistence.Serialization.ValueCodecs";

    /// <summary>The generated static field that holds a class's <c>PersistentTypeInfo</c>.</summary>
    public const string TypeInfoField = "__PersistentTypeInfo";

    /// <summary>The constant holding the message that the placeholders of a class the generator cannot complete throw.</summary>
    public const string NotCompletedField = "__NotCompleted";

    /// <summary>The static property a <c>[PersistentValue]</c> type gets.</summary>
    public const string ValueCodecProperty = "PersistentCodec";

    public const string RegistrationNamespace = "Persistence.Generated";
    public const string RegistrationClass = "PersistentTypeRegistration";
    public const string RegistrationHintName = "Persistence.Generated.PersistentTypeRegistration.g.cs";

    /// <summary>
    /// The public class, in <see cref="RegistrationNamespace"/>, of an assembly whose persistent classes
    /// are none of them public: a program that references the assembly names it to run the assembly's
    /// registration first, as it names a public persistent class of others. Its name is the assembly's,
    /// letters and digits kept and every other character written as '_' and its four hex digits
    /// (<c>Shop.Domain</c>: <c>PersistentTypes_Shop_002EDomain</c>), so no two assemblies' are the same:
    /// replacing each such character by '_' alone gave <c>My.Lib</c>, <c>My-Lib</c> and <c>My_Lib</c> one
    /// name, which a program referencing two of them could not name, and a library referencing another
    /// of them declared again (CS0436).
    /// </summary>
    public static string AssemblyRegistrationClass(string assemblyName)
    {
        var name = new System.Text.StringBuilder("PersistentTypes_", 16 + 5 * assemblyName.Length);
        foreach (var c in assemblyName)
        {
            if (char.IsLetterOrDigit(c)) name.Append(c);
            else name.Append('_').Append(((int)c).ToString("X4", System.Globalization.CultureInfo.InvariantCulture));
        }
        return name.ToString();
    }
}
