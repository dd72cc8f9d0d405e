using Persistence.Analyzers.Tests.Infrastructure;

namespace Persistence.Analyzers.Tests;

/// <summary>PERSIST020: a class derives from PersistentObject itself without [Persistent].</summary>
public sealed class HandWrittenPersistentObjectTests
{
    private const string Id = "PERSIST020";

    [Fact]
    public async Task Reports_a_class_deriving_from_PersistentObject_without_the_attribute() =>
        await Expect.DiagnosticsAsync(Id, Sources.Wrap("""
            public class [|Ticket|] : PersistentObject
            {
                public string? Title { get; set; }
            }
            """),
            "'Ticket' derives from PersistentObject without being [Persistent], so nothing writes PersistentObject's members for it (the compiler asks for them); mark it [Persistent] and partial, give it partial properties, and the generator writes them");

    [Fact]
    public async Task Ignores_persistent_classes_abstract_bases_and_classes_that_write_the_members() =>
        await Expect.CleanAsync(Sources.Wrap("""
            [Persistent]
            public partial class Ticket
            {
                public partial string Title { get; set; }
            }

            public abstract class Entity : PersistentObject { }

            public sealed class Written : PersistentObject
            {
                private static readonly PersistentTypeInfo Info = new("Shop.Written", [], null, [], static token => throw new System.InvalidOperationException());

                public override PersistentTypeInfo PersistentType => Info;

                protected override void WriteState(ref Persistence.Serialization.RecordWriter writer) { }

                protected override void ReadState(ref Persistence.Serialization.RecordReader reader) { }

                protected override void ClearState() { }
            }
            """));
}
