namespace Persistence.Generators.Tests;

/// <summary>PersistentSet&lt;T&gt; is registered like the other one-record collections, for values and persistent classes alike.</summary>
public sealed class SetRegistrationTests
{
    [Fact]
    public void Sets_of_values_and_of_persistent_classes_are_registered_with_their_codecs()
    {
        var registration = RegistrationTests.GenerateRegistration("""
            [Persistent]
            public partial class Customer
            {
                public partial PersistentSet<string> Tags { get; set; }
                public partial PersistentSet<Customer>? Friends { get; set; }
            }

            public static class Sets
            {
                public static object Make() => (new PersistentSet<int?>(), new PersistentSet<Customer?>());
            }
            """);

        // PersistentSet<Customer> and PersistentSet<Customer?> are one type at run time, registered once.
        Assert.Equal(
            [
                "global::Persistence.PersistentTypes.Register(global::Shop.Customer.__PersistentTypeInfo);",
                "global::Persistence.PersistentSet<global::Shop.Customer>.Register(global::Persistence.Serialization.ValueCodecs.Reference<global::Shop.Customer>()!, \"Shop.Customer\");",
                "global::Persistence.PersistentSet<int?>.Register(global::Persistence.Serialization.ValueCodecs.Nullable<int>(global::Persistence.Serialization.ValueCodecs.Int32), \"i32?\");",
                "global::Persistence.PersistentSet<string>.Register(global::Persistence.Serialization.ValueCodecs.String!, \"str\");",
            ],
            registration);
    }
}
