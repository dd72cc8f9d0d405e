using Persistence.Analyzers.Tests.Infrastructure;

namespace Persistence.Analyzers.Tests;

/// <summary>PERSIST007: a persistent object kept in a static field or static auto-property.</summary>
public sealed class PersistentObjectInStaticTests
{
    private const string Id = "PERSIST007";

    [Fact]
    public async Task Reports_static_fields_and_auto_properties_that_hold_persistent_objects() =>
        await Expect.DiagnosticsAsync(Id, Sources.Wrap("""
            [Persistent]
            public partial class Customer
            {
                public partial string Name { get; set; }
            }

            public static class Cache
            {
                public static Customer? [|Current|];
                private static readonly List<Customer> [|s_recent|] = new();
                public static PersistentList<int>? [|Numbers|] { get; set; }
                [ThreadStatic] private static Customer[]? [|t_batch|];
            }
            """),
            "The static field 'Cache.Current' holds persistent objects ('Customer'): a persistent object belongs to one connection and is stale or unusable once that connection moves on or closes; keep its oid or its key under the root and load it from each connection",
            "The static field 'Cache.s_recent' holds persistent objects ('List<Customer>'): a persistent object belongs to one connection and is stale or unusable once that connection moves on or closes; keep its oid or its key under the root and load it from each connection",
            "The static property 'Cache.Numbers' holds persistent objects ('PersistentList<int>'): a persistent object belongs to one connection and is stale or unusable once that connection moves on or closes; keep its oid or its key under the root and load it from each connection",
            "The static field 'Cache.t_batch' holds persistent objects ('Customer[]'): a persistent object belongs to one connection and is stale or unusable once that connection moves on or closes; keep its oid or its key under the root and load it from each connection");

    [Fact]
    public async Task Accepts_instance_fields_computed_statics_and_other_types() =>
        await Expect.CleanAsync(Sources.Wrap("""
            [Persistent]
            public partial class Customer
            {
                public partial string Name { get; set; }
            }

            public sealed class Session
            {
                private static readonly string s_name = "shop";
                private static Oid s_last;
                private Customer? _current;

                public static Customer Create() => new() { Name = s_name };
                public static Customer? None => null;
                public static Oid Last { get => s_last; set => s_last = value; }
                public Customer? Current { get => _current; set => _current = value; }
            }
            """));
}
