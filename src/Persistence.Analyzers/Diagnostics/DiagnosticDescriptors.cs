using Microsoft.CodeAnalysis;

namespace Persistence.Analyzers;

/// <summary>Every diagnostic the Persistence analyzers report. Ids are tracked in AnalyzerReleases.*.md; each has a page in docs/diagnostics.</summary>
internal static class DiagnosticDescriptors
{
    private const string Category = "Persistence";
    private const string HelpLinkBase = "https://github.com/persistence-dotnet/persistence/blob/main/docs/diagnostics/";

    public const string PersistentClassMustBePartialId = "PERSIST001";
    public const string UnsupportedPersistentClassId = "PERSIST002";
    public const string UnstorableTypeId = "PERSIST003";
    public const string CompilerTooOldId = "PERSIST004";
    public const string StateNotSavedId = "PERSIST005";
    public const string ChangedInPlaceId = "PERSIST006";
    public const string PersistentObjectInStaticId = "PERSIST007";
    public const string ReferenceInValueId = "PERSIST008";
    public const string StoredNameCollisionId = "PERSIST009";
    public const string NoParameterlessConstructorId = "PERSIST010";
    public const string AbstractClassNeverUsedId = "PERSIST011";
    public const string UnsupportedValueTypeId = "PERSIST012";
    public const string PersistentAndValueId = "PERSIST013";
    public const string UnsupportedPartialPropertyId = "PERSIST014";
    public const string AttributeHasNoEffectId = "PERSIST015";
    public const string UnmarkedSubclassId = "PERSIST016";
    public const string UnawaitedTransactionWorkId = "PERSIST017";
    public const string PropertyInitializerId = "PERSIST018";
    public const string PersistentDefaultNotApplicableId = "PERSIST019";
    public const string HandWrittenPersistentObjectId = "PERSIST020";
    public const string UnstorableCollectionId = "PERSIST021";
    public const string PersistentObjectFromTransactId = "PERSIST022";

    /// <summary>PERSIST001: a [Persistent] class, or a type that contains one, is not partial.</summary>
    public static readonly DiagnosticDescriptor PersistentClassMustBePartial = Create(
        PersistentClassMustBePartialId,
        DiagnosticSeverity.Error,
        "A persistent class and the types containing it must be partial",
        "'{0}' is not partial: add the 'partial' modifier so the source generator can complete the [Persistent] class '{1}'",
        "The source generator writes the rest of every [Persistent] class (its base class, property bodies, serialization and registration) in another part of the same class, which needs the class and every type around it to be declared partial.");

    /// <summary>PERSIST002: a [Persistent] type of a kind the generator does not support.</summary>
    public static readonly DiagnosticDescriptor UnsupportedPersistentClass = Create(
        UnsupportedPersistentClassId,
        DiagnosticSeverity.Error,
        "This kind of type cannot be a persistent class",
        "'{0}' cannot be a [Persistent] class: {1}",
        "A persistent class is a non-generic, non-static partial class (it may be abstract or sealed), public or internal, without a primary constructor, that derives from object, from PersistentObject or from another non-generic [Persistent] class. The generator writes nothing for any other type.");

    /// <summary>PERSIST003: the type of a stored property or value member cannot be stored.</summary>
    public static readonly DiagnosticDescriptor UnstorableType = Create(
        UnstorableTypeId,
        DiagnosticSeverity.Error,
        "The type of a stored property cannot be stored",
        "'{0}' cannot be stored: {1}. Stored types are bool, the integer and floating-point types, decimal, char, string, DateTime, DateTimeOffset, DateOnly, TimeOnly, TimeSpan, Guid, enums and nullables of these, byte[], arrays, List<T> and Dictionary<TKey, TValue> of values, [PersistentValue] types, [Persistent] classes and persistent collections; mark the property [Transient] to keep it out of storage.",
        "Every stored property's type needs a codec (docs/FORMAT.md). The generator writes nothing for a class with a property it cannot store.");

    /// <summary>PERSIST004: C# older than 13 (the MSBuild targets report the same id for a compiler older than Roslyn 4.14).</summary>
    public static readonly DiagnosticDescriptor CompilerTooOld = Create(
        CompilerTooOldId,
        DiagnosticSeverity.Error,
        "Persistent classes need C# 13 and Roslyn 4.14 or later",
        "'{0}' needs C# 13 or later for its partial properties, but this project compiles as C# {1}: set <LangVersion>13</LangVersion> or later in the project file",
        "Persistent classes declare partial properties, a C# 13 feature, and the generator is built for Roslyn 4.14 (the .NET 9.0.300 SDK or Visual Studio 17.14) or later.");

    /// <summary>PERSIST005: a field or non-partial auto-property of a [Persistent] class (its value is not stored).</summary>
    public static readonly DiagnosticDescriptor StateNotSaved = Create(
        StateNotSavedId,
        DiagnosticSeverity.Warning,
        "State outside partial properties is not saved",
        "The {0} '{1}' of the persistent class '{2}' holds state that is not saved: make it a partial property, or mark it [Transient] if it is meant to be lost when the object is reloaded",
        "Only the partial properties of a [Persistent] class are stored and tracked. Fields and ordinary auto-properties keep their value only while the object is in memory: it is lost when the object becomes a ghost or is loaded by another connection.");

    /// <summary>PERSIST006: the contents of a stored mutable collection or value are changed in place.</summary>
    public static readonly DiagnosticDescriptor ChangedInPlace = Create(
        ChangedInPlaceId,
        DiagnosticSeverity.Warning,
        "A stored collection or value changed in place is not saved",
        "'{0}' is changed in place, which does not mark the persistent object as changed, so the change is not saved: {1}",
        "A generated setter marks its object as changed; changing the contents of a List, Dictionary, HashSet, array or [PersistentValue] class held in a stored property, or inside a value held there, goes around it. Use a persistent collection (it tracks its own changes), assign a new value to the property, or call MarkChanged() on the object after the change.");

    /// <summary>PERSIST007: a static field or auto-property holds persistent objects.</summary>
    public static readonly DiagnosticDescriptor PersistentObjectInStatic = Create(
        PersistentObjectInStaticId,
        DiagnosticSeverity.Warning,
        "A persistent object is kept in a static field",
        "The static {0} '{1}' holds persistent objects ('{2}'): a persistent object belongs to one connection and is stale or unusable once that connection moves on or closes; keep its oid or its key under the root and load it from each connection",
        "Every persistent object belongs to the connection that loaded it and is used by one thread at a time. A static field outlives connections and is shared by threads.");

    /// <summary>PERSIST008: a [PersistentValue] type holds a persistent reference.</summary>
    public static readonly DiagnosticDescriptor ReferenceInValue = Create(
        ReferenceInValueId,
        DiagnosticSeverity.Warning,
        "A persistent value cannot hold a persistent reference",
        "'{0}' holds the persistent type '{1}', but a [PersistentValue] is stored inline and can only hold values: the generator writes no codec for '{2}', so no persistent class can store it; keep the reference in a [Persistent] class, or mark the member [Transient]",
        "A [PersistentValue] is copied into the record of the object that holds it and has no identity, so it cannot point at persistent objects.");

    /// <summary>PERSIST009: two classes map to one stored name.</summary>
    public static readonly DiagnosticDescriptor StoredNameCollision = Create(
        StoredNameCollisionId,
        DiagnosticSeverity.Error,
        "A stored name maps to more than one persistent class",
        "The stored name '{0}' maps to more than one class: {1}",
        "Records are matched to classes by stored name (the full name, nested types joined with '+') and by the former names given with [PersistentAlias]. A name that two classes claim makes registration fail at start-up, so the build stops first.",
        WellKnownDiagnosticTags.CompilationEnd);

    /// <summary>PERSIST010: a [Persistent] class declares constructors but no parameterless one.</summary>
    public static readonly DiagnosticDescriptor NoParameterlessConstructor = Create(
        NoParameterlessConstructorId,
        DiagnosticSeverity.Info,
        "A persistent class without a parameterless constructor",
        "'{0}' has no parameterless constructor, and the generator adds none because '{0}' declares constructors: loaded objects are made by the constructor the generator adds ({0}(GhostToken)), which runs none of yours, and then read their stored properties",
        "The generator gives every persistent class a constructor that makes an empty object (a ghost) when a stored object is loaded, and a public parameterless constructor only if the class declares no constructor. Constructor bodies never run for loaded objects: put what they set in partial properties.");

    /// <summary>PERSIST011: an abstract [Persistent] class that no concrete persistent class derives from.</summary>
    public static readonly DiagnosticDescriptor AbstractClassNeverUsed = Create(
        AbstractClassNeverUsedId,
        DiagnosticSeverity.Error,
        "An abstract persistent class needs a concrete persistent class deriving from it",
        "The abstract [Persistent] class '{0}' has no concrete [Persistent] class deriving from it, and no other project can derive from it, so no object of it can ever be stored: remove 'abstract', or derive a [Persistent] class from it",
        "Only objects of concrete classes are stored; an abstract persistent class is useful only as the base of concrete [Persistent] classes.",
        WellKnownDiagnosticTags.CompilationEnd);

    /// <summary>PERSIST012: a [PersistentValue] type of a kind the generator does not support.</summary>
    public static readonly DiagnosticDescriptor UnsupportedValueType = Create(
        UnsupportedValueTypeId,
        DiagnosticSeverity.Error,
        "This type cannot be a persistent value",
        "'{0}' cannot be a [PersistentValue] type: {1}",
        "A persistent value is a non-generic, non-abstract partial struct, record or class (deriving from object) with at least one stored member, that can be rebuilt from its stored members by a constructor and object initializer. The generator writes no codec for any other type, and no class can store it.");

    /// <summary>PERSIST013: one type marked both [Persistent] and [PersistentValue].</summary>
    public static readonly DiagnosticDescriptor PersistentAndValue = Create(
        PersistentAndValueId,
        DiagnosticSeverity.Error,
        "A type cannot be both [Persistent] and [PersistentValue]",
        "'{0}' is marked both [Persistent] and [PersistentValue]: keep [Persistent] for an object with identity stored in a record of its own, or [PersistentValue] for a value stored inline in the objects that hold it",
        "The two attributes ask for opposite things: identity and references, or value semantics and inline storage. The generator writes nothing for a type that has both.");

    /// <summary>PERSIST014: a partial property of a [Persistent] class the generator cannot implement.</summary>
    public static readonly DiagnosticDescriptor UnsupportedPartialProperty = Create(
        UnsupportedPartialPropertyId,
        DiagnosticSeverity.Error,
        "The generator cannot implement this partial property",
        "The generator cannot implement the partial property '{0}': {1}",
        "The generator implements instance partial properties declared as { get; set; }, { get; init; } or { get; } whose names no base class uses. It completes no class with any other partial property.");

    /// <summary>PERSIST015: a Persistence attribute where it does nothing.</summary>
    public static readonly DiagnosticDescriptor AttributeHasNoEffect = Create(
        AttributeHasNoEffectId,
        DiagnosticSeverity.Warning,
        "A Persistence attribute has no effect here",
        "[{0}] has no effect here: {1}",
        "[PersistentAlias] is read only on [Persistent] classes, and [Transient] only on instance members of [Persistent] classes and [PersistentValue] types.");

    /// <summary>PERSIST016: a class derives from a [Persistent] class without being [Persistent] itself.</summary>
    public static readonly DiagnosticDescriptor UnmarkedSubclass = Create(
        UnmarkedSubclassId,
        DiagnosticSeverity.Warning,
        "A class derives from a [Persistent] class without being one",
        "'{0}' derives from the [Persistent] class '{1}' but is not [Persistent] itself, so its objects cannot be stored (a commit that reaches one fails); {2}",
        "An object is stored as its own class, which the generator describes only for [Persistent] classes. Stored, an object of a class deriving from one without the attribute would load as that class, without its own properties, so a commit refuses it.");

    /// <summary>PERSIST017: work passed to Transact or TransactAsync returns an awaitable (ValueTask, ...) that the method does not await.</summary>
    public static readonly DiagnosticDescriptor UnawaitedTransactionWork = Create(
        UnawaitedTransactionWorkId,
        DiagnosticSeverity.Error,
        "Transaction work returns an awaitable that is not awaited",
        "{0} would commit before this work completes: the work returns '{1}', which {0} takes as a plain result, so the commit stores only what came before the work's first await; {2}",
        "Transact runs synchronous work, and TransactAsync awaits work that returns Task or Task<T>. Work returning another awaitable (ValueTask, ValueTask<T>, an async ValueTask lambda) binds as work returning a plain value: the transaction commits when the work returns at its first await, and the rest runs later, on a connection that has moved on.");

    /// <summary>PERSIST018: a partial property of a [Persistent] class has an initializer.</summary>
    public static readonly DiagnosticDescriptor PropertyInitializer = Create(
        PropertyInitializerId,
        DiagnosticSeverity.Error,
        "A persistent property cannot have an initializer",
        "'{0}' has an initializer, which a persistent property cannot have (the compiler reports CS8050: the generator implements the property, and only auto-properties take initializers); set the value in the constructor instead, '{1} = {2};', which runs for new objects only, never for objects loaded from the database",
        "The generator implements every partial property of a [Persistent] class with change tracking and loading, so the property is not an auto-property and C# refuses its initializer (CS8050). A constructor that assigns the value does what the initializer meant: the generator's constructor for loading runs no user constructor, so a loaded object keeps its stored value.");

    /// <summary>PERSIST019: a [PersistentDefault] value the property's type does not hold, or the attribute on a property that is not stored.</summary>
    public static readonly DiagnosticDescriptor PersistentDefaultNotApplicable = Create(
        PersistentDefaultNotApplicableId,
        DiagnosticSeverity.Error,
        "[PersistentDefault] needs a stored property and a value of its type",
        "[PersistentDefault] cannot give '{0}' a default: {1}",
        "[PersistentDefault] gives the value a stored property of a [Persistent] class or [PersistentValue] type reads as in records (or values) stored before the property existed. The value must be a constant the property's type holds exactly (a string, bool, char, number or enum value; null only for a type that takes null), and the generator completes no class whose property has one that is not. Anywhere else the attribute would do nothing.");

    /// <summary>PERSIST020: a class derives from PersistentObject itself without [Persistent] and leaves its members to be written.</summary>
    public static readonly DiagnosticDescriptor HandWrittenPersistentObject = Create(
        HandWrittenPersistentObjectId,
        DiagnosticSeverity.Warning,
        "A class derives from PersistentObject without [Persistent]",
        "'{0}' derives from PersistentObject without being [Persistent], so nothing writes PersistentObject's members for it (the compiler asks for them); mark it [Persistent] and partial, give it partial properties, and the generator writes them",
        "PersistentObject's members (the class's stored description, the writing and reading of its state) are written by the source generator for [Persistent] partial classes. A class deriving from PersistentObject directly without the attribute has none of them, and the compiler reports each one missing (CS0534); the attribute is what was meant.");

    /// <summary>PERSIST021: a persistent collection is created with a type argument that cannot be stored.</summary>
    public static readonly DiagnosticDescriptor UnstorableCollection = Create(
        UnstorableCollectionId,
        DiagnosticSeverity.Error,
        "A persistent collection is created with a type argument that cannot be stored",
        "'{0}' cannot be stored or loaded: {1}. A persistent collection's type arguments must be types a stored property could have, and a BTree's keys values kept in order: for a composite key, use a [PersistentValue] record struct that implements IComparable<T>.",
        "The generator registers every closed persistent collection type a project mentions whose type arguments it can store; any other is not registered, so creating one fails at run time. A BTree's keys are values kept in their natural order (IComparable<T>) or in the order of a comparer registered by name.");

    /// <summary>PERSIST022: work passed to Transact or TransactAsync returns a persistent object, or a value that holds one, past the end of its connection.</summary>
    public static readonly DiagnosticDescriptor PersistentObjectFromTransact = Create(
        PersistentObjectFromTransactId,
        DiagnosticSeverity.Warning,
        "Transaction work returns a persistent object",
        "{0} closes its connection when the work ends, so the persistent object the work returns ('{1}'{2}) cannot load or change afterwards: return ids (PersistentOid) or plain values from the work and load the object again through an open connection (connection.Get<T>(oid), or from its Root), or do what needs the object inside the work",
        "Database.Transact and TransactAsync run the work on a connection of their own and close it when the work ends. An object loaded through it keeps what it had loaded, but cannot load what it has not (a ghost, a reference not yet followed, a collection's other pages) or be changed: either throws ConnectionClosedException. Work that returns an object, or a tuple, collection, nullable or record that holds one, hands the caller objects of a closed connection.");

    private static DiagnosticDescriptor Create(string id, DiagnosticSeverity severity, string title, string message, string description, params string[] tags) =>
        new(id, title, message, Category, severity, isEnabledByDefault: true, description, HelpLinkBase + id + ".md", tags);
}
