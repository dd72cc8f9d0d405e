using Persistence.Analyzers.Tests.Infrastructure;

namespace Persistence.Analyzers.Tests;

/// <summary>PERSIST008: a [PersistentValue] type holds a persistent reference.</summary>
public sealed class ReferenceInValueTests
{
    private const string Id = "PERSIST008";

    [Fact]
    public async Task Reports_each_member_that_is_a_persistent_reference() =>
        await Expect.DiagnosticsAsync(Id, Sources.Wrap("""
            [Persistent]
            public partial class Customer
            {
                public partial string Name { get; set; }
            }

            [PersistentValue]
            public partial struct Line
            {
                public int Quantity { get; set; }
                public Customer? [|Who|] { get; set; }
                public PersistentList<int>? [|Counts|] { get; set; }
            }
            """),
            "'Line.Who' holds the persistent type 'Customer', but a [PersistentValue] is stored inline and can only hold values: the generator writes no codec for 'Line', so no persistent class can store it; keep the reference in a [Persistent] class, or mark the member [Transient]",
            "'Line.Counts' holds the persistent type 'PersistentList<int>', but a [PersistentValue] is stored inline and can only hold values: the generator writes no codec for 'Line', so no persistent class can store it; keep the reference in a [Persistent] class, or mark the member [Transient]");

    [Fact]
    public async Task Reports_a_positional_record_parameter() =>
        await Expect.DiagnosticsAsync(Id, Sources.Wrap("""
            [Persistent]
            public partial class Customer
            {
                public partial string Name { get; set; }
            }

            [PersistentValue]
            public partial record Order(int Number, Customer [|Buyer|]);
            """));

    [Fact]
    public async Task Accepts_a_transient_reference_in_a_value() =>
        await Expect.CleanAsync(Sources.Wrap("""
            [Persistent]
            public partial class Customer
            {
                public partial string Name { get; set; }
                public partial Line Last { get; set; }
            }

            [PersistentValue]
            public partial struct Line
            {
                public int Quantity { get; set; }

                [Transient]
                public Customer? Who { get; set; }
            }
            """));
}
