using Persistence.Serialization;
using Persistence.Storage;
using Persistence.Tests.Models;

namespace Persistence.Tests.Serialization;

/// <summary>
/// Older versions of classes are written by hand here: a class whose <see cref="PersistentTypeInfo"/>
/// carries the stored name of a current class, with the old fields. The database stores it under that
/// name as another schema version; reading then goes through the registered current class.
/// </summary>
public class SchemaEvolutionTests
{
    private sealed class LegacyObject : PersistentObject
    {
        private readonly PersistentTypeInfo _type;

        public LegacyObject(string storedName, FieldSchema[] fields, WriteFields write, string[]? aliases = null)
        {
            _type = new PersistentTypeInfo(storedName, aliases ?? [], null, fields, _ => throw new InvalidOperationException("legacy classes are never loaded"));
            Write = write;
        }

        public delegate void WriteFields(ref RecordWriter writer);

        public WriteFields Write { get; }

        public override PersistentTypeInfo PersistentType => _type;

        protected internal override void WriteState(ref RecordWriter writer) => Write(ref writer);

        protected internal override void ReadState(ref RecordReader reader) => throw new InvalidOperationException();

        protected internal override void ClearState() { }
    }

    private static void StoreLegacyAndReadCurrent<T>(LegacyObject legacy, Action<T> check) where T : PersistentObject
    {
        using var db = TestDatabase.InMemory();
        using (var writer = db.OpenConnection())
        {
            writer.Root["item"] = legacy;
            writer.Commit();
        }
        using var reader = db.OpenConnection();
        check((T)reader.Root["item"]);
    }

    private const string ItemName = "Persistence.Tests.Models.EvolvingItem";

    /// <summary>An EvolvingItem as first stored: with Obsolete, which was removed since, and without AddedLater.</summary>
    private static LegacyObject OlderItem() => new(ItemName,
        [new("Obsolete", "str"), new("Name", "str"), new("Count", "i64"), new("Weight", "f64"), new("Rating", "i32?"), new("Sizes", "list<i64>")],
        (ref RecordWriter w) =>
        {
            w.WriteString("gone");
            w.WriteString("bolt");
            w.WriteInt64(5);
            w.WriteDouble(1.5);
            w.WriteBoolean(true);
            w.WriteInt32(4);
            w.WriteCount(2);
            w.WriteInt64(10);
            w.WriteInt64(20);
        });

    [Fact]
    public void Added_fields_get_their_default_and_removed_fields_are_skipped()
    {
        var legacy = OlderItem();
        StoreLegacyAndReadCurrent<EvolvingItem>(legacy, item =>
        {
            Assert.Equal(("bolt", 5L, 1.5, (int?)4, (string?)null), (item.Name, item.Count, item.Weight, item.Rating, item.AddedLater));
            Assert.Equal([10L, 20L], item.Sizes);
        });
    }

    private const string ContactName = "Persistence.Tests.Models.EvolvingContact";

    private static LegacyObject FirstContact() =>
        new(ContactName, [new("Name", "str")], (ref RecordWriter w) => w.WriteString("ada"));

    [Fact]
    public void A_non_nullable_string_added_later_reads_as_empty_and_a_nullable_one_as_null() =>
        StoreLegacyAndReadCurrent<EvolvingContact>(FirstContact(), contact =>
        {
            Assert.Equal(("ada", ""), (contact.Name, contact.Email));
            Assert.Null(contact.Nickname);
            // Only strings read as empty: a non-nullable list added later is still null.
            Assert.Null(contact.Tags);
        });

    [Fact]
    public void Properties_added_later_read_as_their_PersistentDefault_in_older_records() =>
        StoreLegacyAndReadCurrent<EvolvingContact>(FirstContact(), contact =>
            Assert.Equal(
                ("unknown", 3, Tier.Silver, true, 2.5, (long?)7),
                (contact.Country, contact.Level, contact.Tier, contact.Active, contact.Weight, contact.Limit)));

    [Fact]
    public void New_objects_start_with_the_declared_defaults_and_keep_what_their_constructor_sets()
    {
        // The constructor sets Country ("unknown" by default) and leaves the other defaulted properties alone.

        using var db = TestDatabase.InMemory();
        using (var writer = db.OpenConnection())
        {
            writer.Root["contact"] = new EvolvingContact("bob", "bob@example.com");
            writer.Commit();
        }
        using var reader = db.OpenConnection();
        var contact = (EvolvingContact)reader.Root["contact"];
        Assert.Equal(
            ("bob@example.com", "NZ", 3, Tier.Silver, true, 2.5, (long?)7),
            (contact.Email, contact.Country, contact.Level, contact.Tier, contact.Active, contact.Weight, contact.Limit));
    }

    [Fact]
    public void An_older_record_changed_and_committed_stores_the_defaults_it_read()
    {
        using var db = TestDatabase.InMemory();
        var legacy = FirstContact();
        using (var writer = db.OpenConnection())
        {
            writer.Root["contact"] = legacy;
            writer.Commit();
        }
        var oldVersion = RecordFormat.SchemaVersion(db.Storage.Load(legacy.PersistentOid)!.Value.Data.Span);
        using (var changer = db.OpenConnection())
        {
            var contact = (EvolvingContact)changer.Root["contact"];
            contact.Level++;
            changer.Commit();
        }
        // The record is of the current layout now: the values are read from it, not from the defaults.
        Assert.NotEqual(oldVersion, RecordFormat.SchemaVersion(db.Storage.Load(legacy.PersistentOid)!.Value.Data.Span));
        using var reader = db.OpenConnection();
        var stored = (EvolvingContact)reader.Root["contact"];
        Assert.Equal(
            ("ada", "", (string?)null, "unknown", 4, Tier.Silver, true, 2.5, (long?)7),
            (stored.Name, stored.Email, stored.Nickname, stored.Country, stored.Level, stored.Tier, stored.Active, stored.Weight, stored.Limit));
    }

    [Fact]
    public void Safe_widenings_convert_int_to_long_float_to_double_and_T_to_nullable()
    {
        var legacy = new LegacyObject(ItemName,
            [new("Name", "str"), new("Count", "i32"), new("Weight", "f32"), new("Rating", "i16"), new("Sizes", "array<i32>")],
            (ref RecordWriter w) =>
            {
                w.WriteString("nut");
                w.WriteInt32(-7);
                w.WriteSingle(2.25f);
                w.WriteInt16(3);
                w.WriteCount(3);
                w.WriteInt32(1);
                w.WriteInt32(-2);
                w.WriteInt32(int.MaxValue);
            });
        StoreLegacyAndReadCurrent<EvolvingItem>(legacy, item =>
        {
            Assert.Equal(("nut", -7L, 2.25, (int?)3), (item.Name, item.Count, item.Weight, item.Rating));
            Assert.Equal([1L, -2L, int.MaxValue], item.Sizes);
        });
    }

    [Fact]
    public void Records_of_older_layouts_read_one_after_another_in_a_connection_each_keep_their_own_values()
    {
        // One connection converts every record into one buffer it keeps: records of growing and shrinking
        // sizes, of two classes and of an inline value with a field added since, read in turn and again.
        var homeFields = new HomeOwner().PersistentType.Fields;
        FieldSchema[] olderOwner = [.. homeFields.Select(f => f.Name == "Home" ? new FieldSchema("Home", "{Street:str}") : f)];
        int[] sizes = [0, 300, 2, 1000, 1, 40];
        using var db = TestDatabase.InMemory(cacheSize: 0);
        using (var writer = db.OpenConnection())
        {
            var items = new PersistentList<PersistentObject>();
            foreach (var size in sizes)
            {
                items.Add(new LegacyObject(ItemName, [new("Name", "str"), new("Count", "i32"), new("Sizes", "array<i32>")], (ref RecordWriter w) =>
                {
                    w.WriteString("item" + size);
                    w.WriteInt32(-size);
                    w.WriteCount(size);
                    for (var i = 0; i < size; i++) w.WriteInt32(i * 7 - size);
                }));
                items.Add(new LegacyObject("Persistence.Tests.Models.HomeOwner", olderOwner, (ref RecordWriter w) =>
                {
                    w.WriteString("owner" + size);
                    w.WriteString(new string('s', size));
                }));
            }
            writer.Root["items"] = items;
            writer.Commit();
        }
        using var reader = db.OpenConnection();
        for (var pass = 0; pass < 2; pass++)
        {
            var items = (PersistentList<PersistentObject>)reader.Root["items"];
            for (var at = 0; at < sizes.Length; at++)
            {
                var size = sizes[at];
                var item = (EvolvingItem)items[2 * at];
                Assert.Equal(("item" + size, (long)-size, 0.0, (int?)null), (item.Name, item.Count, item.Weight, item.Rating));
                Assert.Equal(Enumerable.Range(0, size).Select(i => (long)(i * 7 - size)), item.Sizes!);
                var owner = (HomeOwner)items[2 * at + 1];
                Assert.Equal(("owner" + size, new Address(new string('s', size), 0)), (owner.Name, owner.Home));
            }
            reader.Abort();
        }
    }

    [Fact]
    public void A_property_made_nullable_without_widening_reads_its_old_value()
    {
        // int to int?: the same i32 behind a presence byte (only widening ones, short to int?, read before).
        var legacy = new LegacyObject(ItemName,
            [new("Name", "str"), new("Count", "i64"), new("Weight", "f64"), new("Rating", "i32")],
            (ref RecordWriter w) =>
            {
                w.WriteString("washer");
                w.WriteInt64(4);
                w.WriteDouble(0.5);
                w.WriteInt32(-41);
            });
        StoreLegacyAndReadCurrent<EvolvingItem>(legacy, item =>
            Assert.Equal(("washer", 4L, 0.5, (int?)-41), (item.Name, item.Count, item.Weight, item.Rating)));
    }

    [Fact]
    public void Reading_an_old_record_does_not_rewrite_it_but_the_next_change_stores_the_new_layout()
    {
        using var db = TestDatabase.InMemory();
        var legacy = new LegacyObject(ItemName, [new("Name", "str"), new("Count", "i32")], (ref RecordWriter w) =>
        {
            w.WriteString("old");
            w.WriteInt32(1);
        });
        long oldTid;
        using (var writer = db.OpenConnection())
        {
            writer.Root["item"] = legacy;
            writer.Commit();
            oldTid = legacy.PersistentSerial;
        }
        Assert.NotEqual(0, oldTid);
        var oldVersion = RecordFormat.SchemaVersion(db.Storage.Load(legacy.PersistentOid)!.Value.Data.Span);
        using (var reader = db.OpenConnection())
        {
            var item = (EvolvingItem)reader.Root["item"];
            Assert.Equal(1, item.Count);
            reader.Commit();
            Assert.Equal(oldTid, db.Storage.Load(item.PersistentOid)!.Value.Tid);

            item.Count = 2;
            reader.Commit();
            var stored = db.Storage.Load(item.PersistentOid)!.Value;
            Assert.True(stored.Tid > oldTid);
            Assert.NotEqual(oldVersion, RecordFormat.SchemaVersion(stored.Data.Span));
        }
        using var again = db.OpenConnection();
        Assert.Equal(("old", 2L), (((EvolvingItem)again.Root["item"]).Name, ((EvolvingItem)again.Root["item"]).Count));
    }

    [Fact]
    public void A_renamed_class_is_found_through_its_alias()
    {
        var legacy = new LegacyObject("Persistence.Tests.Models.OldName", [new("Text", "str")], (ref RecordWriter w) => w.WriteString("hello"));
        StoreLegacyAndReadCurrent<NewName>(legacy, renamed => Assert.Equal("hello", renamed.Text));
    }

    private const string RenamedName = "Persistence.Tests.Models.RenamedContact";

    // The first version of RenamedContact: Name, Age (an int), Handle, Email.
    private static readonly FieldSchema[] FirstRenamedFields = [new("Name", "str"), new("Age", "i32"), new("Handle", "str"), new("Email", "str")];

    private static LegacyObject FirstRenamedContact(string name = "ada", int age = 36) =>
        new(RenamedName, FirstRenamedFields, (ref RecordWriter w) =>
        {
            w.WriteString(name);
            w.WriteInt32(age);
            w.WriteString("ace");
            w.WriteString("ada@example.com");
        });

    [Fact]
    public void Renamed_properties_read_the_fields_of_their_former_names()
    {
        StoreLegacyAndReadCurrent<RenamedContact>(FirstRenamedContact(), contact =>
            Assert.Equal(("ada", 36L, "ace", "ada@example.com"), (contact.FullName, contact.Years, contact.Nick, contact.Email)));
        // A record of the version between: Handle had become Nickname. The most recent former name is found too.
        var second = new LegacyObject(RenamedName, [new("FullName", "str"), new("Years", "i64"), new("Nickname", "str"), new("Email", "str")], (ref RecordWriter w) =>
        {
            w.WriteString("bob");
            w.WriteInt64(41);
            w.WriteString("bee");
            w.WriteString("bob@example.com");
        });
        StoreLegacyAndReadCurrent<RenamedContact>(second, contact =>
            Assert.Equal(("bob", 41L, "bee"), (contact.FullName, contact.Years, contact.Nick)));
    }

    [Fact]
    public void A_property_whose_type_changed_through_a_new_name_reads_that_field_when_renamed_back()
    {
        // The way to change a property's type: a version kept the old 'Years' (a string then) and added
        // 'Age' of the new type, copying the values over; the next renamed 'Age' back to 'Years'
        // ([PersistentAlias("Age")]). Its records hold both: the alias's field is read, not the old one.
        var migrated = new LegacyObject(RenamedName, [new("FullName", "str"), new("Years", "str"), new("Age", "i32"), new("Email", "str")], (ref RecordWriter w) =>
        {
            w.WriteString("ada");
            w.WriteString("thirty-six");
            w.WriteInt32(36);
            w.WriteString("ada@example.com");
        });
        StoreLegacyAndReadCurrent<RenamedContact>(migrated, contact =>
            Assert.Equal(("ada", 36L, "ada@example.com"), (contact.FullName, contact.Years, contact.Email)));

        // A record of the version before, which has only the old field, still names it as not convertible.
        var unmigrated = new LegacyObject(RenamedName, [new("FullName", "str"), new("Years", "str"), new("Email", "str")], (ref RecordWriter w) =>
        {
            w.WriteString("bob");
            w.WriteString("forty-one");
            w.WriteString("bob@example.com");
        });
        using var db = StoreLegacy("item", unmigrated);
        using var reader = db.OpenConnection();
        var error = Assert.Throws<SchemaMismatchException>(reader.Root["item"].Activate);
        Assert.Contains("'Years'", error.Message);
    }

    [Fact]
    public void A_renamed_property_of_a_derived_class_reads_its_former_field_beside_the_base_class_s()
    {
        var legacy = new LegacyObject("Persistence.Tests.Models.RenamedVipContact", [.. FirstRenamedFields, new("Level", "i32")], (ref RecordWriter w) =>
        {
            w.WriteString("cy");
            w.WriteInt32(50);
            w.WriteString("sea");
            w.WriteString("cy@example.com");
            w.WriteInt32(3);
        });
        StoreLegacyAndReadCurrent<RenamedVipContact>(legacy, vip =>
            Assert.Equal(("cy", 50L, "sea", 3), (vip.FullName, vip.Years, vip.Nick, vip.Tier)));
    }

    [Fact]
    public void An_object_stored_before_a_rename_is_stored_under_the_new_names_when_it_next_changes()
    {
        using var db = TestDatabase.InMemory();
        var legacy = FirstRenamedContact();
        TestDatabase.Store(db, "contact", legacy);
        var oldVersion = RecordFormat.SchemaVersion(db.Storage.Load(legacy.PersistentOid)!.Value.Data.Span);
        using (var changer = db.OpenConnection())
        {
            ((RenamedContact)changer.Root["contact"]).Years++;
            changer.Commit();
        }
        using var reader = db.OpenConnection();
        var stored = (RenamedContact)reader.Root["contact"];
        Assert.Equal(("ada", 37L, "ace", "ada@example.com"), (stored.FullName, stored.Years, stored.Nick, stored.Email));
        // Read from a record of the current layout now.
        Assert.NotEqual(oldVersion, RecordFormat.SchemaVersion(db.Storage.Load(legacy.PersistentOid)!.Value.Data.Span));
    }

    [Fact]
    public void An_object_an_older_program_stored_under_the_former_names_after_the_rename_is_written_back()
    {
        // This program's layout goes into the catalog first; an older program, which still has the former
        // names, then stores an object: its fields are this program's renamed ones, so nothing would be lost.
        using var db = StoreCurrentThenNewer(new RenamedContact { FullName = "mine", Email = "" }, FirstRenamedContact("old", 70));
        using (var connection = db.OpenConnection())
        {
            var contact = (RenamedContact)connection.Root["newer"];
            Assert.Equal(("old", 70L), (contact.FullName, contact.Years));
            contact.Years = 71;
            connection.Commit();
        }
        using var reader = db.OpenConnection();
        var written = (RenamedContact)reader.Root["newer"];
        Assert.Equal(("old", 71L, "ace"), (written.FullName, written.Years, written.Nick));
    }

    [Fact]
    public void An_object_a_newer_program_stored_under_new_names_is_not_written_back_by_the_program_with_the_former_ones()
    {
        // The older program's class (EvolvingItem, with Name) shares the file with a newer one that renamed
        // Name to Title: the older one reads Title as missing and must not write the object back without it.
        var fields = new EvolvingItem().PersistentType.Fields;
        var renamed = fields.Select(f => f.Name == "Name" ? new FieldSchema("Title", f.TypeCode) : f).ToArray();
        var newer = new LegacyObject(ItemName, renamed, WriteNewerItem);
        using var db = StoreCurrentThenNewer(new EvolvingItem { Name = "mine" }, newer);
        using var connection = db.OpenConnection();
        var item = (EvolvingItem)connection.Root["newer"];
        Assert.Equal(((string?)null, 5L), (item.Name, item.Count));
        item.Count = 6;
        var error = Assert.Throws<SchemaMismatchException>(connection.Commit);
        Assert.Equal((ItemName, "Title"), (error.ClassName, error.FieldName));
    }

    private const string ShipmentName = "Persistence.Tests.Models.Shipment";

    [Fact]
    public void Members_added_to_an_inline_value_read_as_their_defaults_and_a_renamed_one_reads_its_former_field()
    {
        var legacy = new LegacyObject(ShipmentName, [new("Name", "str"), new("Parcel", "{Weight:f64}"), new("Extra", "list<{Weight:f64}>")], (ref RecordWriter w) =>
        {
            w.WriteString("box");
            w.WriteDouble(2.5);
            w.WriteCount(2);
            w.WriteDouble(1.25);
            w.WriteDouble(4);
        });
        StoreLegacyAndReadCurrent<Shipment>(legacy, shipment =>
        {
            Assert.Equal(new Parcel(2.5, "", "NZ", null, 1), shipment.Parcel);
            Assert.Equal([new Parcel(1.25, "", "NZ", null, 1), new Parcel(4, "", "NZ", null, 1)], shipment.Extra);
        });
    }

    [Fact]
    public void An_inline_value_added_later_reads_as_a_value_of_its_members_defaults() =>
        StoreLegacyAndReadCurrent<Shipment>(
            new LegacyObject(ShipmentName, [new("Name", "str")], (ref RecordWriter w) => w.WriteString("box")),
            shipment =>
            {
                Assert.Equal(new Parcel(0, "", "NZ", null, 1), shipment.Parcel);
                Assert.Null(shipment.Extra);
            });

    [Fact]
    public void A_change_that_is_not_a_widening_names_the_class_and_field()
    {
        var legacy = new LegacyObject("Persistence.Tests.Models.IncompatibleItem", [new("Value", "str")], (ref RecordWriter w) => w.WriteString("forty-two"));
        using var db = TestDatabase.InMemory();
        using (var writer = db.OpenConnection())
        {
            writer.Root["item"] = legacy;
            writer.Commit();
        }
        using var reader = db.OpenConnection();
        var item = (IncompatibleItem)reader.Root["item"];
        var error = Assert.Throws<SchemaMismatchException>(() => item.Value);
        Assert.Equal("Persistence.Tests.Models.IncompatibleItem", error.ClassName);
        Assert.Equal("Value", error.FieldName);
        Assert.Contains("'str'", error.Message);
        Assert.Contains("'i32'", error.Message);
    }

    [Fact]
    public void A_reference_to_an_object_of_another_class_than_the_property_holds_fails_when_the_property_is_read()
    {
        // A Kennel whose Resident was stored as a Node (as if the property's type had been changed from Node to Animal).
        var node = new Node { Label = "not an animal" };
        var legacy = new LegacyObject("Persistence.Tests.Models.Kennel", [new("Name", "str"), new("Resident", "ref")], (ref RecordWriter w) =>
        {
            w.WriteString("north");
            w.WriteReference(node);
        });
        using var db = TestDatabase.InMemory();
        using (var writer = db.OpenConnection())
        {
            writer.Root["item"] = legacy;
            writer.Root["node"] = node;
            writer.Commit();
        }
        using var reader = db.OpenConnection();
        var kennel = (Kennel)reader.Root["item"];
        // The rest of the object loads; the reference is checked when it is read.
        Assert.Equal("north", kennel.Name);
        var error = Assert.Throws<SchemaMismatchException>(() => kennel.Resident);
        Assert.Equal("Persistence.Tests.Models.Kennel", error.ClassName);
        Assert.Equal("Resident", error.FieldName);
        Assert.Contains("stored as class 'Persistence.Tests.Models.Node'", error.Message);
        Assert.Contains("Persistence.Tests.Models.Kennel.Resident holds objects of type 'Persistence.Tests.Models.Animal'", error.Message);
        Assert.Equal("not an animal", ((Node)reader.Root["node"]).Label);
        // Setting the property replaces the reference, which then reads back.
        var dog = new Dog { Name = "Rex", GoodBoy = true };
        kennel.Resident = dog;
        reader.Commit();
        using var again = db.OpenConnection();
        var resident = ((Kennel)again.Root["item"]).Resident;
        Assert.Equal(("Rex", true), (resident!.Name, Assert.IsType<Dog>(resident).GoodBoy));
    }

    [Fact]
    public void A_stored_class_this_program_does_not_define_is_a_clear_error()
    {
        var legacy = new LegacyObject("Somewhere.Else.Gone", [new("X", "i32")], (ref RecordWriter w) => w.WriteInt32(1));
        using var db = TestDatabase.InMemory();
        using (var writer = db.OpenConnection())
        {
            writer.Root["item"] = legacy;
            writer.Commit();
        }
        using var reader = db.OpenConnection();
        // The root holding it loads; the object itself does not.
        var gone = reader.Root["item"];
        var error = Assert.Throws<SchemaMismatchException>(gone.Activate);
        Assert.Equal("Somewhere.Else.Gone", error.ClassName);
        Assert.Contains("[PersistentAlias", error.Message);
    }

    /// <summary>A class registered while the program runs (as a class library's registration is, when the library is first used).</summary>
    private sealed class LateClass : PersistentObject
    {
        private readonly PersistentTypeInfo _type;
        private int _x;

        public LateClass(PersistentTypeInfo type) => _type = type;

        private LateClass(GhostToken token, PersistentTypeInfo type) : base(token) => _type = type;

        public static PersistentTypeInfo Register(string name, params string[] aliases)
        {
            PersistentTypeInfo? type = null;
            type = new PersistentTypeInfo(name, aliases, null, [new FieldSchema("X", "i32")], token => new LateClass(token, type!));
            PersistentTypes.Register(type);
            return type;
        }

        public int X
        {
            get
            {
                ActivateIfGhost();
                return _x;
            }
            set
            {
                BeforeWrite();
                _x = value;
            }
        }

        public override PersistentTypeInfo PersistentType => _type;

        protected internal override void WriteState(ref RecordWriter writer) => writer.WriteInt32(_x);

        protected internal override void ReadState(ref RecordReader reader) => _x = reader.ReadInt32();

        protected internal override void ClearState() => _x = 0;
    }

    [Fact]
    public void A_class_registered_after_the_database_met_its_objects_reads_as_itself_from_then_on()
    {
        const string name = "Persistence.Tests.Late.RegisteredLater";
        using var db = TestDatabase.InMemory();
        TestDatabase.Store(db, "old", new LegacyObject(name, [new("X", "i32")], (ref RecordWriter w) => w.WriteInt32(7)));
        using (var before = db.OpenConnection())
            Assert.Throws<SchemaMismatchException>(before.Root["old"].Activate);

        var type = LateClass.Register(name);
        using (var writer = db.OpenConnection())
        {
            writer.Root["new"] = new LateClass(type) { X = 9 };
            writer.Commit();
        }
        using var after = db.OpenConnection();
        Assert.Equal((7, 9), (((LateClass)after.Root["old"]).X, ((LateClass)after.Root["new"]).X));
    }

    [Fact]
    public void A_second_class_under_a_name_already_registered_is_refused_and_the_first_keeps_its_objects()
    {
        // Two assemblies defining one full class name with the same properties: the second's objects
        // would load as the first class.
        const string name = "Persistence.Tests.Late.Twin";
        var first = LateClass.Register(name);
        PersistentTypes.Register(first);

        var error = Assert.Throws<InvalidOperationException>(() => LateClass.Register(name));

        Assert.Contains($"Two persistent classes are registered under the name '{name}'", error.Message);
        Assert.Contains($"[PersistentAlias(\"{name}\")]", error.Message);
        Assert.Same(first, PersistentTypes.Find(name));
    }

    [Fact]
    public void A_class_named_as_another_class_s_alias_is_refused_in_either_order()
    {
        const string renamed = "Persistence.Tests.Late.Renamed", formerly = "Persistence.Tests.Late.Formerly";
        var type = LateClass.Register(renamed, formerly);

        var error = Assert.Throws<InvalidOperationException>(() => LateClass.Register(formerly));

        Assert.Contains($"The name '{formerly}' is an alias of the persistent class '{renamed}'", error.Message);
        Assert.Same(type, PersistentTypes.Find(formerly));
        // The other order, as before: the alias of a class registered after one of that name.
        const string taken = "Persistence.Tests.Late.Taken";
        var owner = LateClass.Register(taken);
        Assert.Throws<InvalidOperationException>(() => LateClass.Register("Persistence.Tests.Late.Taker", taken));
        Assert.Same(owner, PersistentTypes.Find(taken));
        Assert.Null(PersistentTypes.Find("Persistence.Tests.Late.Taker"));
    }

    [Fact]
    public void An_object_of_a_class_this_program_does_not_define_says_so_after_the_catalog_reloads()
    {
        using var db = TestDatabase.InMemory();
        TestDatabase.Store(db, "gone", new LegacyObject("Somewhere.Else.GoneAgain", [new("X", "i32")], (ref RecordWriter w) => w.WriteInt32(1)));
        using var reader = db.OpenConnection();
        var gone = reader.Root["gone"];
        // Another connection stores a class the catalog has not seen: this connection's catalog reloads.
        TestDatabase.Store(db, "holder", new AnyHolder { Label = "first of its class" });

        var error = Assert.Throws<SchemaMismatchException>(gone.Activate);

        Assert.Contains("[PersistentAlias", error.Message);
    }

    [Fact]
    public void A_reference_to_an_object_of_a_class_this_program_does_not_define_keeps_its_type_id_when_the_class_is_renamed_meanwhile()
    {
        const string oldName = "Persistence.Tests.Late.Before", newName = "Persistence.Tests.Late.After";
        using var db = TestDatabase.InMemory();
        var legacy = new LegacyObject(oldName, [new("X", "i32")], (ref RecordWriter w) => w.WriteInt32(1));
        using (var writer = db.OpenConnection())
        {
            writer.Root["old"] = legacy;
            writer.Root["holder"] = new AnyHolder { Label = "holds it", Held = legacy };
            writer.Root["other"] = new AnyHolder { Label = "other" };
            writer.Commit();
        }
        using var keeper = db.OpenConnection();
        var holder = (AnyHolder)keeper.Root["holder"];
        var storedTypeId = RecordFormat.TypeId(db.Storage.Load(holder.Held!.PersistentOid)!.Value.Data.Span);
        // The class comes back under a new name with an alias; storing one renames its catalog entry.
        var renamed = LateClass.Register(newName, oldName);
        using (var other = db.OpenConnection())
        {
            ((AnyHolder)other.Root["other"]).Held = new LateClass(renamed) { X = 5 };
            other.Commit();
        }

        holder.Label = "changed";
        keeper.Commit();

        var state = RecordFormat.State(db.Storage.Load(holder.PersistentOid)!.Value.Data.Span, out _, out _);
        var record = new RecordReader(state, null);
        Assert.Equal("changed", record.ReadString());
        Assert.Equal(storedTypeId, record.ReadObjectReference().TypeId);
        using var fresh = db.OpenConnection();
        Assert.Equal(1, ((LateClass)((AnyHolder)fresh.Root["holder"]).Held!).X);
    }

    [Fact]
    public void What_refers_to_an_object_of_a_class_this_program_does_not_define_still_loads_and_can_let_go_of_it()
    {
        using var db = TestDatabase.InMemory();
        using (var writer = db.OpenConnection())
        {
            var legacy = new LegacyObject("Somewhere.Else.Gone", [new("X", "i32")], (ref RecordWriter w) => w.WriteInt32(1));
            writer.Root["gone"] = legacy;
            writer.Root["holder"] = new AnyHolder { Label = "holds it", Held = legacy };
            writer.Root["other"] = new AnyHolder { Label = "unrelated" };
            writer.Commit();
        }
        using (var reader = db.OpenConnection())
        {
            Assert.Equal(["gone", "holder", "other"], reader.Root.Keys.Order());
            // Asked for as a class of its own, it says why it is none.
            Assert.Equal("Somewhere.Else.Gone", Assert.Throws<SchemaMismatchException>(() => reader.Root.GetOrAdd("gone", () => new AnyHolder())).ClassName);
            Assert.Equal("unrelated", ((AnyHolder)reader.Root["other"]).Label);
            var holder = (AnyHolder)reader.Root["holder"];
            Assert.Equal("holds it", holder.Label);
            Assert.Same(reader.Root["gone"], holder.Held);
            Assert.Throws<SchemaMismatchException>(holder.Held!.Activate);

            // A change to the holder keeps the reference as it was stored.
            holder.Label = "still holds it";
            reader.Commit();
        }
        using (var reader = db.OpenConnection())
        {
            var holder = (AnyHolder)reader.Root["holder"];
            Assert.Equal("still holds it", holder.Label);
            Assert.Same(reader.Root["gone"], holder.Held);
            Assert.Equal("Somewhere.Else.Gone", Assert.Throws<SchemaMismatchException>(holder.Held!.Activate).ClassName);

            // And it can let go of it.
            holder.Held = null;
            Assert.True(reader.Root.Remove("gone"));
            reader.Commit();
        }
        using var after = db.OpenConnection();
        Assert.Equal(["holder", "other"], after.Root.Keys.Order());
        Assert.Null(((AnyHolder)after.Root["holder"]).Held);
    }

    [Fact]
    public void Objects_of_a_class_made_abstract_since_load_as_stand_ins_that_say_so_and_what_refers_to_them_still_loads()
    {
        const string name = "Persistence.Tests.Models.AbstractShape";
        using var db = TestDatabase.InMemory();
        using (var writer = db.OpenConnection())
        {
            // Stored by a version of the program in which the class was concrete.
            var concrete = new LegacyObject(name, [new("Label", "str")], (ref RecordWriter w) => w.WriteString("square-ish"));
            writer.Root["shape"] = concrete;
            writer.Root["other"] = new AnyHolder { Label = "unrelated", Held = concrete };
            writer.Root["square"] = new SquareShape { Label = "square", Side = 2 };
            writer.Commit();
        }
        using (var reader = db.OpenConnection())
        {
            // The root and what refers to the object load; the object itself says why it cannot.
            Assert.Equal(["other", "shape", "square"], reader.Root.Keys.Order());
            Assert.Equal("square", ((SquareShape)reader.Root["square"]).Label);
            var other = (AnyHolder)reader.Root["other"];
            Assert.Equal("unrelated", other.Label);
            Assert.Same(reader.Root["shape"], other.Held);
            var error = Assert.Throws<SchemaMismatchException>(reader.Root["shape"].Activate);
            Assert.Equal(name, error.ClassName);
            Assert.Contains("abstract", error.Message);
            Assert.Contains("concrete", error.Message);
            Assert.Throws<SchemaMismatchException>(() => reader.Root.GetOrAdd("shape", () => new SquareShape()));

            // It can be let go of, and the rest commits.
            other.Held = null;
            Assert.True(reader.Root.Remove("shape"));
            reader.Commit();
        }
        using var after = db.OpenConnection();
        Assert.Equal(["other", "square"], after.Root.Keys.Order());
        Assert.Null(((AnyHolder)after.Root["other"]).Held);
    }

    [Fact]
    public void A_BTree_bucket_stored_with_plain_key_and_value_arrays_reads_and_is_stored_packed_when_it_next_changes()
    {
        // The layout of BTree buckets before their integer keys and values were packed.
        const string tree = "Persistence.BTree<u32,i64>";
        var keys = Enumerable.Range(0, 100).Select(i => (uint)(3 * i)).ToArray();
        var bucket = new LegacyObject(tree + ".Bucket",
            [new("Stamp", "i64"), new("Removed", "bool"), new("Upper", "u32?"), new("Keys", "array<u32>"), new("Values", "array<i64>")],
            (ref RecordWriter w) =>
            {
                w.WriteInt64(1);
                w.WriteBoolean(false);
                w.WriteBoolean(false);
                w.WriteCount(keys.Length);
                foreach (var key in keys) w.WriteUInt32(key);
                w.WriteCount(keys.Length);
                foreach (var key in keys) w.WriteInt64(-10L * key);
            });
        var length = new PersistentCounter(keys.Length);
        var legacyTree = new LegacyObject(tree, [new("Root", "ref"), new("Length", "ref"), new("Comparer", "str")], (ref RecordWriter w) =>
        {
            w.WriteReference(bucket);
            w.WriteReference(length);
            w.WriteString(null);
        });
        using var db = TestDatabase.InMemory();
        using (var writer = db.OpenConnection())
        {
            writer.Root["tree"] = legacyTree;
            writer.Commit();
        }
        var oldRecord = db.Storage.Load(bucket.PersistentOid)!.Value.Data.ToArray();

        using (var reader = db.OpenConnection())
        {
            var current = (BTree<uint, long>)reader.Root["tree"];
            Assert.Equal(keys.Select(k => KeyValuePair.Create(k, -10L * k)), current);
            current.Add(1, 1);
            reader.Commit();
        }
        var newRecord = db.Storage.Load(bucket.PersistentOid)!.Value.Data.ToArray();
        Assert.NotEqual(RecordFormat.SchemaVersion(oldRecord), RecordFormat.SchemaVersion(newRecord));
        // Keys 3 apart and values 30 apart take a byte each packed, against 4 and 8 plain.
        Assert.True(newRecord.Length < oldRecord.Length / 4, $"{newRecord.Length} bytes packed against {oldRecord.Length} plain");

        using var again = db.OpenConnection();
        var reread = (BTree<uint, long>)again.Root["tree"];
        Assert.Equal(101, reread.Count);
        Assert.Equal(1, reread[1]);
        Assert.Equal(-990, reread[99]);
    }

    // ---- Collections whose type arguments changed: a renamed element class, a wider element type ----

    private const string OldName = "Persistence.Tests.Models.OldName";

    /// <summary>An object of NewName as it was stored under its former name, OldName (its [PersistentAlias]).</summary>
    private static LegacyObject OldNameObject(string text) => new(OldName, [new("Text", "str")], (ref RecordWriter w) => w.WriteString(text));

    /// <summary>A BTree named <paramref name="treeName"/> of one bucket of <paramref name="count"/> entries, whose keys and values <paramref name="writeEntries"/> writes.</summary>
    private static LegacyObject LegacyTree(string treeName, int count, FieldSchema[] bucketFields, LegacyObject.WriteFields writeEntries) =>
        LegacyTreeObject(treeName, LegacyBucket(treeName, bucketFields, writeEntries), count);

    /// <summary>A bucket of a BTree named <paramref name="treeName"/>, whose keys and values <paramref name="writeEntries"/> writes.</summary>
    private static LegacyObject LegacyBucket(string treeName, FieldSchema[] fields, LegacyObject.WriteFields writeEntries) =>
        new(treeName + ".Bucket", fields, (ref RecordWriter w) =>
        {
            w.WriteInt64(1);
            w.WriteBoolean(false);
            w.WriteBoolean(false); // no Upper: the bucket never split
            writeEntries(ref w);
        });

    /// <summary>The object of a BTree named <paramref name="treeName"/> of <paramref name="count"/> entries whose root is <paramref name="root"/>.</summary>
    private static LegacyObject LegacyTreeObject(string treeName, PersistentObject root, int count)
    {
        var length = new PersistentCounter(count);
        return new LegacyObject(treeName, [new("Root", "ref"), new("Length", "ref"), new("Comparer", "str")], (ref RecordWriter w) =>
        {
            w.WriteReference(root);
            w.WriteReference(length);
            w.WriteString(null);
        });
    }

    private static Database StoreLegacy(string key, LegacyObject legacy)
    {
        var db = TestDatabase.InMemory();
        TestDatabase.Store(db, key, legacy);
        return db;
    }

    /// <summary>The error that loading <paramref name="legacy"/>, stored as the root's "item", raises.</summary>
    private static SchemaMismatchException MismatchOnLoad(LegacyObject legacy)
    {
        using var db = StoreLegacy("item", legacy);
        using var reader = db.OpenConnection();
        return Assert.Throws<SchemaMismatchException>(reader.Root["item"].Activate);
    }

    private static uint StoredTypeId(Database db, PersistentObject obj)
    {
        RecordFormat.State(db.Storage.Load(obj.PersistentOid)!.Value.Data.Span, out var typeId, out _);
        return typeId;
    }

    [Fact]
    public void A_PersistentList_of_a_renamed_class_is_found_through_the_alias_of_its_element_class()
    {
        var (first, second) = (OldNameObject("first"), OldNameObject("second"));
        var legacy = new LegacyObject($"Persistence.PersistentList<{OldName}>", [new("Items", "list<ref>")], (ref RecordWriter w) =>
        {
            w.WriteCount(2);
            w.WriteReference(first);
            w.WriteReference(second);
        });
        using var db = StoreLegacy("list", legacy);
        var storedTypeId = StoredTypeId(db, legacy);
        using (var reader = db.OpenConnection())
        {
            var list = (PersistentList<NewName>)reader.Root["list"];
            Assert.Equal(["first", "second"], list.Select(n => n.Text));
            list.Add(new NewName { Text = "third" });
            reader.Commit();
            // Stored again under the class's type id, renamed to the current name, as a renamed class's objects are.
            Assert.Equal(storedTypeId, StoredTypeId(db, list));
        }
        using var again = db.OpenConnection();
        Assert.Equal(["first", "second", "third"], ((PersistentList<NewName>)again.Root["list"]).Select(n => n.Text));
    }

    [Fact]
    public void A_BTree_with_values_of_a_renamed_class_is_found_through_the_alias_of_the_value_class()
    {
        int[] keys = [-5, 1, 2, 40];
        var values = keys.Select(k => OldNameObject("v" + k)).ToArray();
        var legacy = LegacyTree($"Persistence.BTree<i32,{OldName}>", keys.Length,
            [new("Stamp", "i64"), new("Removed", "bool"), new("Upper", "i32?"), new("Keys", "packed<i32>"), new("Values", "array<ref>")],
            (ref RecordWriter w) =>
            {
                PackedIntegers.Write<int>(ref w, keys);
                w.WriteCount(values.Length);
                foreach (var value in values) w.WriteReference(value);
            });
        using var db = StoreLegacy("tree", legacy);
        using (var reader = db.OpenConnection())
        {
            var tree = (BTree<int, NewName>)reader.Root["tree"];
            Assert.Equal(keys.Select(k => (k, (string?)("v" + k))), tree.Select(e => (e.Key, e.Value.Text)));
            Assert.Equal("v40", tree[40].Text);
            tree[3] = new NewName { Text = "new" };
            reader.Commit();
        }
        using var again = db.OpenConnection();
        var reread = (BTree<int, NewName>)again.Root["tree"];
        Assert.Equal(5, reread.Count);
        Assert.Equal(["v-5", "v1", "v2", "new", "v40"], reread.Values.Select(v => v.Text));
    }

    [Fact]
    public void A_PersistentDictionary_with_values_of_a_renamed_class_is_found_through_the_alias_of_the_value_class()
    {
        var (a, b) = (OldNameObject("A"), OldNameObject("B"));
        var legacy = new LegacyObject($"Persistence.PersistentDictionary<str,{OldName}>", [new("Items", "dict<str,ref>")], (ref RecordWriter w) =>
        {
            w.WriteCount(2);
            w.WriteString("a");
            w.WriteReference(a);
            w.WriteString("b");
            w.WriteReference(b);
        });
        using var db = StoreLegacy("dict", legacy);
        using (var reader = db.OpenConnection())
        {
            var dictionary = (PersistentDictionary<string, NewName>)reader.Root["dict"];
            Assert.Equal(("A", "B"), (dictionary["a"].Text, dictionary["b"].Text));
            dictionary["c"] = new NewName { Text = "C" };
            reader.Commit();
        }
        using var again = db.OpenConnection();
        var reread = (PersistentDictionary<string, NewName>)again.Root["dict"];
        Assert.Equal(["A", "B", "C"], reread.OrderBy(e => e.Key).Select(e => e.Value.Text));
    }

    [Fact]
    public void A_collection_whose_element_class_became_a_base_class_of_it_reads_the_stored_elements()
    {
        // Stored by a program that declared PersistentList<SquareShape> and PersistentDictionary<string, SquareShape>;
        // this one declares them of the base class AbstractShape.
        const string square = "Persistence.Tests.Models.SquareShape";
        var (a, b) = (new SquareShape { Label = "a", Side = 1 }, new SquareShape { Label = "b", Side = 2 });
        var list = new LegacyObject($"Persistence.PersistentList<{square}>", [new("Items", "list<ref>")], (ref RecordWriter w) =>
        {
            w.WriteCount(2);
            w.WriteReference(a);
            w.WriteReference(b);
        });
        var dictionary = new LegacyObject($"Persistence.PersistentDictionary<str,{square}>", [new("Items", "dict<str,ref>")], (ref RecordWriter w) =>
        {
            w.WriteCount(1);
            w.WriteString("a");
            w.WriteReference(a);
        });
        using var db = TestDatabase.InMemory();
        using (var writer = db.OpenConnection())
        {
            writer.Root["list"] = list;
            writer.Root["dict"] = dictionary;
            writer.Commit();
        }
        using (var reader = db.OpenConnection())
        {
            var shapes = (PersistentList<AbstractShape>)reader.Root["list"];
            Assert.Equal([("a", 1), ("b", 2)], shapes.Select(s => (s.Label, ((SquareShape)s).Side)));
            var byName = (PersistentDictionary<string, AbstractShape>)reader.Root["dict"];
            Assert.Same(shapes[0], byName["a"]);
            shapes.Add(new SquareShape { Label = "c", Side = 3 });
            byName["b"] = shapes[1];
            reader.Commit();
        }
        using var again = db.OpenConnection();
        Assert.Equal(["a", "b", "c"], ((PersistentList<AbstractShape>)again.Root["list"]).Select(s => s.Label));
        Assert.Equal(["a", "b"], ((PersistentDictionary<string, AbstractShape>)again.Root["dict"]).Keys.Order());
    }

    [Fact]
    public void A_collection_nested_in_a_collection_is_found_through_the_alias_of_the_innermost_class()
    {
        var inner = new LegacyObject($"Persistence.PersistentList<{OldName}>", [new("Items", "list<ref>")], (ref RecordWriter w) =>
        {
            w.WriteCount(1);
            w.WriteReference(OldNameObject("deep"));
        });
        var legacy = LegacyTree($"Persistence.BTree<i32,Persistence.PersistentList<{OldName}>>", 1,
            [new("Stamp", "i64"), new("Removed", "bool"), new("Upper", "i32?"), new("Keys", "packed<i32>"), new("Values", "array<ref>")],
            (ref RecordWriter w) =>
            {
                PackedIntegers.Write<int>(ref w, [7]);
                w.WriteCount(1);
                w.WriteReference(inner);
            });
        using var db = StoreLegacy("tree", legacy);
        using var reader = db.OpenConnection();
        var tree = (BTree<int, PersistentList<NewName>>)reader.Root["tree"];
        Assert.Equal("deep", tree[7][0].Text);
    }

    [Fact]
    public void A_collection_of_a_wider_element_type_reads_the_stored_elements()
    {
        // float → double (this program uses no PersistentList<float>).
        var legacy = new LegacyObject("Persistence.PersistentList<f32>", [new("Items", "list<f32>")], (ref RecordWriter w) =>
        {
            w.WriteCount(2);
            w.WriteSingle(1.5f);
            w.WriteSingle(float.MaxValue);
        });
        using (var db = StoreLegacy("list", legacy))
        using (var reader = db.OpenConnection())
        {
            var list = (PersistentList<double>)reader.Root["list"];
            Assert.Equal([1.5, float.MaxValue], list);
            list.Add(0.25);
            reader.Commit();
            using var again = db.OpenConnection();
            Assert.Equal([1.5, float.MaxValue, 0.25], (PersistentList<double>)again.Root["list"]);
        }

        // T → T? for the values of a BTree, whose integers are stored packed (this program uses no BTree<Guid, int>).
        Guid[] keys = [.. Enumerable.Range(1, 5).Select(i => new Guid(i, 0, 0, new byte[8])).Order()];
        var tree = LegacyTree("Persistence.BTree<guid,i32>", keys.Length,
            [new("Stamp", "i64"), new("Removed", "bool"), new("Upper", "guid?"), new("Keys", "array<guid>"), new("Values", "packed<i32>")],
            (ref RecordWriter w) =>
            {
                w.WriteCount(keys.Length);
                foreach (var key in keys) w.WriteGuid(key);
                PackedIntegers.Write<int>(ref w, keys.Select((_, i) => i * 100).ToArray());
            });
        using (var db = StoreLegacy("tree", tree))
        using (var reader = db.OpenConnection())
        {
            var current = (BTree<Guid, int?>)reader.Root["tree"];
            Assert.Equal(keys.Select((k, i) => KeyValuePair.Create(k, (int?)(i * 100))), current);
        }
    }

    [Fact]
    public void A_program_whose_collections_hold_wider_elements_reads_them_and_stores_them_in_its_layout()
    {
        // This program stores a PersistentList<int> and a BTree<int, int> of several buckets; the test host,
        // which uses PersistentList<long> and BTree<long, long> and neither of those, reads and changes them.
        using var folder = new TempFolder();
        var path = folder.File("widened.db");
        var keys = Enumerable.Range(0, 1000).Select(i => (i * 7) - 3000).ToArray();
        using (var db = Database.Open(path))
        using (var connection = db.OpenConnection())
        {
            connection.Root["list"] = new PersistentList<int> { int.MinValue, -1, 0, int.MaxValue };
            var tree = new BTree<int, int>();
            foreach (var key in keys) tree.Add(key, -key);
            connection.Root["tree"] = tree;
            connection.Commit();
        }
        var expectedList = $"list {int.MinValue},-1,0,{int.MaxValue}";
        var expectedTree = "tree " + string.Join(",", keys.Select(k => $"{k}:{-k}"));
        var (exitCode, lines, errors) = HostProcess.Run(TimeSpan.FromSeconds(60), "read-widened", path, "add");
        Assert.True(exitCode == 0, errors);
        Assert.Equal([expectedList, expectedTree, "done"], lines);

        // Read again: the changed list and bucket were stored in the wider layout, the rest still is in the old one.
        (exitCode, lines, errors) = HostProcess.Run(TimeSpan.FromSeconds(60), "read-widened", path);
        Assert.True(exitCode == 0, errors);
        Assert.Equal([$"{expectedList},{long.MaxValue}", $"{expectedTree},{long.MaxValue}:{long.MinValue}", "done"], lines);
    }

    [Fact]
    public void A_collection_whose_element_class_this_program_does_not_define_names_the_class_to_alias()
    {
        var error = MismatchOnLoad(new LegacyObject("Persistence.PersistentList<Somewhere.Else.Gone>", [new("Items", "list<ref>")], (ref RecordWriter w) => w.WriteCount(0)));
        Assert.Equal("Persistence.PersistentList<Somewhere.Else.Gone>", error.ClassName);
        Assert.Contains("[PersistentAlias(\"Somewhere.Else.Gone\")]", error.Message);
        Assert.DoesNotContain("[PersistentAlias(\"Persistence.", error.Message);
    }

    [Fact]
    public void A_collection_whose_element_type_changed_to_one_it_cannot_be_read_as_says_what_to_do()
    {
        // bool widens to nothing, and this program uses no PersistentList<bool>.
        var error = MismatchOnLoad(new LegacyObject("Persistence.PersistentList<bool>", [new("Items", "list<bool>")], (ref RecordWriter w) => w.WriteCount(0)));
        Assert.Equal("Persistence.PersistentList<bool>", error.ClassName);
        Assert.Contains("safe widening", error.Message);
        Assert.Contains("name the type Persistence.PersistentList<bool> in its code", error.Message);
        Assert.DoesNotContain("[PersistentAlias(\"Persistence.", error.Message);

        // i16 widens to the elements of several PersistentLists this program uses (int, long?, double): which one is meant is not known.
        error = MismatchOnLoad(new LegacyObject("Persistence.PersistentList<i16>", [new("Items", "list<i16>")], (ref RecordWriter w) => w.WriteCount(0)));
        Assert.Equal("Persistence.PersistentList<i16>", error.ClassName);
        Assert.Contains("'Persistence.PersistentList<i32>'", error.Message);
        Assert.Contains("'Persistence.PersistentList<f64>'", error.Message);
        Assert.DoesNotContain("[PersistentAlias(\"Persistence.", error.Message);
    }

    [Fact]
    public void A_collection_type_no_code_names_says_to_name_it_as_CSharp_writes_it()
    {
        // A program kept a BTree<bool, bool> in the root and later lost the only code that named the
        // type (the root's entries are PersistentObjects): the generator no longer registers it. The
        // advice names the tree, not its bucket, as C# writes it.
        var error = MismatchOnLoad(new LegacyObject("Persistence.BTree<bool,bool>.Bucket", [new("Stamp", "i64")], (ref RecordWriter w) => w.WriteInt64(0)));
        Assert.Equal("Persistence.BTree<bool,bool>.Bucket", error.ClassName);
        Assert.Contains("name the type Persistence.BTree<bool, bool> in its code", error.Message);
        Assert.Contains("safe widening", error.Message);
    }

    [Fact]
    public void A_collection_a_newer_program_widened_says_so_in_the_program_before_it()
    {
        // The newer program made a PersistentSet<int> a PersistentSet<long>; this one, which still uses
        // PersistentSet<int> (and no PersistentSet<long>), meets a set the newer one stored.
        var error = MismatchOnLoad(new LegacyObject("Persistence.PersistentSet<i64>", [new("Items", "list<i64>")], (ref RecordWriter w) => w.WriteCount(0)));
        Assert.Equal("Persistence.PersistentSet<i64>", error.ClassName);
        Assert.Contains("a newer version of the program", error.Message);
        Assert.Contains("'Persistence.PersistentSet<i32>'", error.Message);
        Assert.DoesNotContain("does not use", error.Message);
        Assert.DoesNotContain("Change the property that holds it back", error.Message);
    }

    [Fact]
    public void A_collection_whose_element_class_became_a_base_class_reads_as_the_property_s_while_the_program_still_uses_the_stored_collection()
    {
        // Shelter.Animals was a PersistentList<Dog> when its list was stored; this program declares it a
        // PersistentList<Animal>, and still uses PersistentList<Dog> (Shelter.Dogs, a list of its own), so the
        // stored type id stands for PersistentList<Dog>: the property reads its list as a PersistentList<Animal>.
        var (rex, fido) = (new Dog { Name = "Rex" }, new Dog { Name = "Fido" });
        var (animals, dogs) = (new PersistentList<Dog> { rex }, new PersistentList<Dog> { fido });
        using var db = StoreShelter(animals, dogs);
        using (var reader = db.OpenConnection())
        {
            var shelter = (Shelter)reader.Root["item"];
            Assert.Equal(["Rex"], shelter.Animals!.Select(a => a.Name));
            Assert.Same(shelter.Animals, shelter.Animals);
            Assert.Same(shelter.Animals![0], reader.Get(rex.PersistentOid));
            Assert.Equal(["Fido"], shelter.Dogs!.Select(d => d.Name));
            shelter.Animals.Add(new Animal { Name = "Tom" });
            reader.Commit();
        }
        using var again = db.OpenConnection();
        var reread = (Shelter)again.Root["item"];
        Assert.Equal(["Rex", "Tom"], reread.Animals!.Select(a => a.Name));
        Assert.IsType<Dog>(reread.Animals![0]);
        Assert.Equal(["Fido"], reread.Dogs!.Select(d => d.Name));
    }

    [Fact]
    public void A_collection_whose_element_type_was_widened_reads_as_the_property_s_while_the_program_still_uses_the_stored_collection()
    {
        // Shelter.Weights was a PersistentList<int>, which this program still uses elsewhere.
        var weights = new PersistentList<int> { 1, int.MaxValue };
        using var db = StoreLegacy("item", new LegacyObject("Persistence.Tests.Models.Shelter", [new("Animals", "ref"), new("Dogs", "ref"), new("Weights", "ref")], (ref RecordWriter w) =>
        {
            w.WriteReference(null);
            w.WriteReference(null);
            w.WriteReference(weights);
        }));
        using (var reader = db.OpenConnection())
        {
            var shelter = (Shelter)reader.Root["item"];
            Assert.Equal([1L, int.MaxValue], shelter.Weights!);
            shelter.Weights!.Add(long.MaxValue);
            reader.Commit();
        }
        using var again = db.OpenConnection();
        Assert.Equal([1L, int.MaxValue, long.MaxValue], ((Shelter)again.Root["item"]).Weights!);
    }

    [Fact]
    public void A_collection_loaded_as_its_stored_class_through_another_reference_says_why_a_property_of_a_base_class_cannot_read_it()
    {
        var animals = new PersistentList<Dog> { new Dog { Name = "Rex" } };
        using var db = TestDatabase.InMemory();
        using (var writer = db.OpenConnection())
        {
            writer.Root["item"] = LegacyShelter(animals, null);
            writer.Root["dogs"] = animals;
            writer.Commit();
        }
        using var reader = db.OpenConnection();
        Assert.Single((PersistentList<Dog>)reader.Root["dogs"]);
        var shelter = (Shelter)reader.Root["item"];
        var error = Assert.Throws<SchemaMismatchException>(() => shelter.Animals);
        Assert.Equal(("Persistence.Tests.Models.Shelter", "Animals"), (error.ClassName, error.FieldName));
        Assert.Contains("this program also uses, and this connection has already loaded it as one", error.Message);
        Assert.DoesNotContain("Change the field's type back, or migrate the data", error.Message);
    }

    /// <summary>A Shelter stored (as the root's "item") by a program whose Shelter.Animals was a PersistentList&lt;Dog&gt;.</summary>
    private static Database StoreShelter(PersistentList<Dog> animals, PersistentList<Dog>? dogs) => StoreLegacy("item", LegacyShelter(animals, dogs));

    /// <summary>A Shelter as a program whose Shelter.Animals was a PersistentList&lt;Dog&gt; stores it.</summary>
    private static LegacyObject LegacyShelter(PersistentList<Dog> animals, PersistentList<Dog>? dogs) =>
        new("Persistence.Tests.Models.Shelter", [new("Animals", "ref"), new("Dogs", "ref")], (ref RecordWriter w) =>
        {
            w.WriteReference(animals);
            w.WriteReference(dogs);
        });

    [Fact]
    public void The_schema_is_stored_once_in_the_catalog_not_in_every_record()
    {
        using var db = TestDatabase.InMemory();
        using (var writer = db.OpenConnection())
        {
            var items = new PersistentList<EvolvingItem>();
            for (var i = 0; i < 10; i++) items.Add(new EvolvingItem { Name = "i", Count = i });
            writer.Root["items"] = items;
            writer.Commit();
        }
        var catalog = db.Storage.Load(Oid.Catalog)!.Value.Data.ToArray();
        Assert.Contains("AddedLater", System.Text.Encoding.UTF8.GetString(catalog));
        foreach (var record in db.Storage.Iterate())
        {
            if (record.Oid == Oid.Catalog) continue;
            Assert.DoesNotContain("AddedLater", System.Text.Encoding.UTF8.GetString(record.Data.Span));
        }
    }

    // ---- A tree whose buckets or nodes a program that declares it with other type arguments stored ----

    /// <summary>An empty bucket of a BTree named <paramref name="treeName"/> of <paramref name="key"/> keys, whose values are stored as <paramref name="values"/>.</summary>
    private static LegacyObject EmptyBucket(string treeName, string key, string values) =>
        LegacyBucket(treeName, [new("Stamp", "i64"), new("Removed", "bool"), new("Upper", key + "?"), new("Keys", $"packed<{key}>"), new("Values", values)], (ref RecordWriter w) =>
        {
            w.WriteCount(0);
            w.WriteCount(0);
        });

    /// <summary>A node of a BTree named <paramref name="treeName"/> of int keys over <paramref name="children"/>.</summary>
    private static LegacyObject LegacyNode(string treeName, params PersistentObject[] children) =>
        new(treeName + ".Node", [new("Stamp", "i64"), new("Removed", "bool"), new("Separators", "packed<i32>"), new("Children", "array<ref>")], (ref RecordWriter w) =>
        {
            w.WriteInt64(1);
            w.WriteBoolean(false);
            PackedIntegers.Write<int>(ref w, Enumerable.Range(1, children.Length - 1).Select(i => i * 10).ToArray());
            w.WriteCount(children.Length);
            foreach (var child in children) w.WriteReference(child);
        });

    private static void AssertSaysWhatIsStoredAndWhatToDo(SchemaMismatchException error, string where, string storedTree)
    {
        Assert.Equal(storedTree + ".Bucket", error.ClassName);
        Assert.Contains(where, error.Message);
        Assert.Contains($"is stored as a '{storedTree}.Bucket', a part of a '{storedTree}'", error.Message);
        Assert.Contains("is not a safe widening of it", error.Message);
        Assert.Contains("Run the program that stored it, or change the type of the property that holds the tree back", error.Message);
        Assert.DoesNotContain("backup", error.Message);
    }

    [Theory]
    // This program uses no BTree<long, string>: the bucket loads as a stand-in for a class it does not define.
    [InlineData("Persistence.BTree<i32,str>", "Persistence.BTree<i64,str>", "array<str>")]
    // This program uses a BTree<long, long> too: the bucket loads as one of that tree type's.
    [InlineData("Persistence.BTree<i32,i32>", "Persistence.BTree<i64,i64>", "packed<i64>")]
    public void The_root_bucket_of_a_tree_a_program_with_wider_type_arguments_stored_is_a_schema_mismatch_not_damage(string treeName, string storedTree, string values)
    {
        // As a program that declares the tree with long keys leaves it after an insert: the tree object as
        // this program stored it, its bucket in the wider layout.
        var root = EmptyBucket(storedTree, "i64", values);
        var error = MismatchOnLoad(LegacyTreeObject(treeName, root, 0));
        AssertSaysWhatIsStoredAndWhatToDo(error, $"{root.PersistentOid}, the root of a '{treeName}',", storedTree);
    }

    [Fact]
    public void A_bucket_under_a_node_of_a_tree_a_program_with_wider_type_arguments_stored_is_a_schema_mismatch_not_damage()
    {
        const string treeName = "Persistence.BTree<i32,str>";
        const string storedTree = "Persistence.BTree<i64,str>";
        var widened = EmptyBucket(storedTree, "i64", "array<str>");
        var node = LegacyNode(treeName, EmptyBucket(treeName, "i32", "array<str>"), widened);
        using var db = StoreLegacy("tree", LegacyTreeObject(treeName, node, 0));
        using var reader = db.OpenConnection();
        var tree = (BTree<int, string>)reader.Root["tree"];
        var error = Assert.Throws<SchemaMismatchException>(() => tree.ContainsKey(1));
        AssertSaysWhatIsStoredAndWhatToDo(error, $"{widened.PersistentOid}, a child of a node of a '{treeName}',", storedTree);
    }

    [Fact]
    public void A_bucket_that_reads_as_one_of_its_trees_but_loads_as_another_tree_types_says_so()
    {
        // The tree is read as this program's BTree<long, long>, its bucket as stored by a program whose tree
        // was a BTree<int, int>: a safe widening, but this program uses BTree<int, int> too.
        var error = MismatchOnLoad(LegacyTreeObject("Persistence.BTree<i64,i64>", EmptyBucket("Persistence.BTree<i32,i32>", "i32", "packed<i32>"), 0));
        Assert.Equal("Persistence.BTree<i32,i32>.Bucket", error.ClassName);
        Assert.Contains("which reads as a part of this program's 'Persistence.BTree<i64,i64>' (a safe widening), but this program also uses 'Persistence.BTree<i32,i32>'", error.Message);
        Assert.Contains("Read the tree with a program that uses only 'Persistence.BTree<i64,i64>'", error.Message);
        Assert.DoesNotContain("backup", error.Message);
    }

    [Theory]
    [InlineData(false, "Persistence.PersistentCounter")]
    [InlineData(true, "Persistence.PersistentCounter")]
    // A bucket of a tree of another kind (a set's) is no part of a BTree whatever its type arguments.
    [InlineData(false, "Persistence.BTreeSet<i32>.Bucket")]
    public void A_tree_part_of_a_class_that_is_no_part_of_such_a_tree_is_damage(bool inNode, string partClass)
    {
        const string treeName = "Persistence.BTree<i32,i32>";
        PersistentObject part = partClass == "Persistence.PersistentCounter"
            ? new PersistentCounter()
            : new LegacyObject(partClass, [new("Stamp", "i64"), new("Removed", "bool"), new("Upper", "i32?"), new("Keys", "packed<i32>")], (ref RecordWriter w) =>
            {
                w.WriteInt64(1);
                w.WriteBoolean(false);
                w.WriteBoolean(false);
                w.WriteCount(0);
            });
        var root = inNode ? LegacyNode(treeName, EmptyBucket(treeName, "i32", "packed<i32>"), part) : part;
        using var db = StoreLegacy("tree", LegacyTreeObject(treeName, root, 0));
        using var reader = db.OpenConnection();
        var tree = (BTree<int, int>)reader.Root["tree"];
        var error = Assert.Throws<CorruptDatabaseException>(() => tree.ContainsKey(1));
        var where = inNode ? $"a child of a node of a '{treeName}'" : $"the root of a '{treeName}'";
        Assert.Contains($"A record is damaged: {where} is a '{partClass}' ({part.PersistentOid}), neither one of its buckets nor one of its nodes", error.Message);
    }

    [Fact]
    public void A_tree_the_next_program_version_widened_and_changed_is_a_schema_mismatch_in_the_version_before_it()
    {
        // This program stores BTree<int, string>s; the test host, the next version, declares them as
        // BTree<long, string>, which this program does not use, and changes a bucket of each: the file is
        // sound, and this program cannot read the trees any more, which is a schema difference, not damage.
        using var folder = new TempFolder();
        var path = folder.File("downgraded.db");
        using (var db = Database.Open(path))
        using (var connection = db.OpenConnection())
        {
            var names = new BTree<int, string> { { 1, "one" }, { 2, "two" }, { 3, "three" } };
            var many = new BTree<int, string>();
            for (var i = 0; i < 1000; i++) many.Add(i, $"n{i}");
            connection.Root["names"] = names;
            connection.Root["many"] = many;
            connection.Commit();
        }
        var (exitCode, lines, errors) = HostProcess.Run(TimeSpan.FromSeconds(60), "widen-names", path, "add");
        Assert.True(exitCode == 0, errors);
        Assert.Equal(["names 1:one,2:two,3:three", "many 1000 n0 n500", "done"], lines);
        Assert.True(FileStorage.Verify(path).IsValid);

        using (var db = Database.Open(path))
        using (var connection = db.OpenConnection())
        {
            // One bucket, the tree's root.
            var names = (BTree<int, string>)connection.Root["names"];
            var error = Assert.Throws<SchemaMismatchException>(() => names.ContainsKey(1));
            AssertSaysWhatIsStoredAndWhatToDo(error, "the root of a 'Persistence.BTree<i32,str>',", "Persistence.BTree<i64,str>");

            // Many buckets: the root node, which the next version did not store, loads; its buckets do not.
            var many = (BTree<int, string>)connection.Root["many"];
            Assert.Equal(1000, many.Count);
            error = Assert.Throws<SchemaMismatchException>(() => many.ContainsKey(1));
            AssertSaysWhatIsStoredAndWhatToDo(error, "a child of a node of a 'Persistence.BTree<i32,str>',", "Persistence.BTree<i64,str>");
        }

        // The next version still reads both.
        (exitCode, lines, errors) = HostProcess.Run(TimeSpan.FromSeconds(60), "widen-names", path);
        Assert.True(exitCode == 0, errors);
        Assert.Equal([$"names 1:one,2:two,3:three,{long.MaxValue}:wide", "many 1000 n0 changed", "done"], lines);
    }

    /// <summary>
    /// Stores <paramref name="current"/> (the catalog's first layout of its class), then
    /// <paramref name="newer"/> under the same class name with more fields, as a newer program sharing
    /// the file does; returns the database with them as the root's "current" and "newer".
    /// </summary>
    private static Database StoreCurrentThenNewer(PersistentObject current, LegacyObject newer)
    {
        var db = TestDatabase.InMemory();
        TestDatabase.Store(db, "current", current);
        TestDatabase.Store(db, "newer", newer);
        return db;
    }

    /// <summary>The values of EvolvingItem's fields as a newer program writes them: Name (or what it renamed it to) "bolt", Count 5, Weight 1.5, no Rating, Sizes null, AddedLater null.</summary>
    private static void WriteNewerItem(ref RecordWriter w)
    {
        w.WriteString("bolt");
        w.WriteInt64(5);
        w.WriteDouble(1.5);
        w.WriteBoolean(false);
        w.WriteCount(-1);
        w.WriteString(null);
    }

    [Fact]
    public void A_field_whose_type_a_newer_program_changed_is_refused_saying_so()
    {
        // The newer program made Count a string; this program, with Count a long, reads such an object.
        var fields = new EvolvingItem().PersistentType.Fields.Select(f => f.Name == "Count" ? new FieldSchema("Count", "str") : f).ToArray();
        var newer = new LegacyObject(ItemName, fields, (ref RecordWriter w) =>
        {
            w.WriteString("bolt");
            w.WriteString("five");
            w.WriteDouble(1.5);
            w.WriteBoolean(false);
            w.WriteCount(-1);
            w.WriteString(null);
        });
        using var db = StoreCurrentThenNewer(new EvolvingItem { Name = "mine" }, newer);
        using var connection = db.OpenConnection();
        var item = (EvolvingItem)connection.Root["newer"];
        var error = Assert.Throws<SchemaMismatchException>(() => item.Count);
        Assert.Equal((ItemName, "Count"), (error.ClassName, error.FieldName));
        Assert.Contains("by a newer version of the program", error.Message);
        Assert.DoesNotContain("Change the field back", error.Message);
        // This program's own objects read on.
        Assert.Equal("mine", ((EvolvingItem)connection.Root["current"]).Name);
    }

    [Fact]
    public void An_object_a_newer_program_stored_is_not_written_back_without_the_fields_it_added()
    {
        var fields = new EvolvingItem().PersistentType.Fields;
        var newer = new LegacyObject(ItemName, [.. fields, new("Extra", "str")], (ref RecordWriter w) =>
        {
            WriteNewerItem(ref w);
            w.WriteString("kept");
        });
        using var db = StoreCurrentThenNewer(new EvolvingItem { Name = "mine" }, newer);
        var stored = db.Storage.Load(newer.PersistentOid)!.Value;
        using var connection = db.OpenConnection();
        var item = (EvolvingItem)connection.Root["newer"];
        Assert.Equal(("bolt", 5L), (item.Name, item.Count));
        item.Count = 6;
        var error = Assert.Throws<SchemaMismatchException>(connection.Commit);
        Assert.Equal((ItemName, "Extra"), (error.ClassName, error.FieldName));
        Assert.Contains("newer version of the program, with values in field(s) 'Extra'", error.Message);
        Assert.Contains("Abort()", error.Message);
        connection.Abort();
        // The newer program's record is as it was, and this program's own objects still commit.
        Assert.Equal(stored.Tid, db.Storage.Load(newer.PersistentOid)!.Value.Tid);
        ((EvolvingItem)connection.Root["current"]).Count = 7;
        connection.Commit();
    }

    [Fact]
    public void A_field_a_newer_program_added_with_a_default_of_its_own_is_dropped_only_when_it_holds_that_default()
    {
        using var folder = new TempFolder();
        var path = folder.File("newer.db");
        FieldSchema[] newerFields = [.. new EvolvingItem().PersistentType.Fields, new FieldSchema("Enabled", "bool").WithDefault(ValueCodecs.Boolean, true)];
        LegacyObject Newer(bool enabled) => new(ItemName, newerFields, (ref RecordWriter w) =>
        {
            WriteNewerItem(ref w);
            w.WriteBoolean(enabled);
        });
        using (var db = Database.Open(path))
        {
            TestDatabase.Store(db, "current", new EvolvingItem { Name = "mine" });
            TestDatabase.Store(db, "enabled", Newer(true));
            TestDatabase.Store(db, "disabled", Newer(false));
        }

        // Reopened: the newer layout's default comes from the stored catalog.
        using var reopened = Database.Open(path);
        using var connection = reopened.OpenConnection();
        // Enabled = true is what the newer program reads without the field: writing back without it loses nothing.
        ((EvolvingItem)connection.Root["enabled"]).Count = 6;
        connection.Commit();
        // Enabled = false is the type's default, not the field's: without the field it would read back true.
        ((EvolvingItem)connection.Root["disabled"]).Count = 6;
        var error = Assert.Throws<SchemaMismatchException>(connection.Commit);
        Assert.Equal((ItemName, "Enabled"), (error.ClassName, error.FieldName));
        connection.Abort();
        Assert.Equal(5L, ((EvolvingItem)connection.Root["disabled"]).Count);
    }

    [Fact]
    public void A_string_property_changed_to_an_enum_is_refused_with_the_types_named_as_in_CSharp()
    {
        // Customer.Tier (an enum over byte) was a string.
        var error = MismatchOnLoad(new LegacyObject("Persistence.Tests.Models.Customer", [new("Name", "str"), new("Tier", "str")], (ref RecordWriter w) =>
        {
            w.WriteString("ada");
            w.WriteString("Gold");
        }));
        Assert.Equal(("Persistence.Tests.Models.Customer", "Tier"), (error.ClassName, error.FieldName));
        Assert.Contains("stored as 'str' (string) and is now 'u8' (byte, or an enum over byte)", error.Message);
    }

    [Fact]
    public void An_inline_value_property_given_another_value_type_is_refused_not_read_as_its_default()
    {
        // HomeOwner.Home was a Money (no field of an Address's name): it read as an empty Address, and the next write lost it.
        var error = MismatchOnLoad(new LegacyObject("Persistence.Tests.Models.HomeOwner", [new("Name", "str"), new("Home", "{Amount:dec,Currency:str}")], (ref RecordWriter w) =>
        {
            w.WriteString("ada");
            w.WriteDecimal(12.5m);
            w.WriteString("EUR");
        }));
        Assert.Equal(("Persistence.Tests.Models.HomeOwner", "Home"), (error.ClassName, error.FieldName));
        Assert.Contains("'{Amount:dec,Currency:str}'", error.Message);
    }

    [Fact]
    public void A_field_a_newer_program_added_to_the_values_of_a_persistent_list_is_not_dropped()
    {
        // The newer program's list of a wider value renames the list's catalog entry and adds a version to it.
        const string newerValue = "{Street:str,Zip:i32,Country:str}";
        var newer = new LegacyObject($"Persistence.PersistentList<{newerValue}>", [new("Items", $"list<{newerValue}>")], (ref RecordWriter w) =>
        {
            w.WriteCount(1);
            w.WriteString("Elm");
            w.WriteInt32(2);
            w.WriteString("UK");
        }, ["Persistence.PersistentList<{Street:str,Zip:i32}>"]);
        using var db = StoreCurrentThenNewer(new PersistentList<Address> { new("Main", 1) }, newer);
        using var connection = db.OpenConnection();
        var homes = (PersistentList<Address>)connection.Root["newer"];
        Assert.Equal([new Address("Elm", 2)], homes);
        homes.Add(new Address("Oak", 3));
        var error = Assert.Throws<SchemaMismatchException>(connection.Commit);
        Assert.Equal("Items.Country", error.FieldName);
    }

    [Fact]
    public void An_object_a_newer_program_stored_with_defaults_in_the_fields_it_added_is_written_back()
    {
        // Nothing would be lost: the added fields hold null and an inline value's default.
        var fields = new HomeOwner().PersistentType.Fields;
        var home = fields.Single(f => f.Name == "Home");
        FieldSchema[] newerFields = [.. fields.Select(f => f == home ? new FieldSchema("Home", home.TypeCode.TrimEnd('}') + ",Country:str}") : f), new("Extra", "str"), new("Since", "i64?")];
        var newer = new LegacyObject("Persistence.Tests.Models.HomeOwner", newerFields, (ref RecordWriter w) =>
        {
            w.WriteString("ada");
            w.WriteString("Main");
            w.WriteInt32(1234);
            w.WriteString(null);
            w.WriteString(null);
            w.WriteBoolean(false);
        });
        using var db = StoreCurrentThenNewer(new HomeOwner { Name = "mine" }, newer);
        using (var connection = db.OpenConnection())
        {
            ((HomeOwner)connection.Root["newer"]).Name = "Ada";
            connection.Commit();
        }
        using var again = db.OpenConnection();
        var owner = (HomeOwner)again.Root["newer"];
        Assert.Equal(("Ada", new Address("Main", 1234)), (owner.Name, owner.Home));
    }

    [Fact]
    public void An_object_an_older_program_stored_after_the_current_layout_is_written_back()
    {
        // A program without AddedLater stored after this one: nothing of it is lost by writing it again.
        var older = new LegacyObject(ItemName, [new("Name", "str"), new("Count", "i64")], (ref RecordWriter w) =>
        {
            w.WriteString("nut");
            w.WriteInt64(1);
        });
        using var db = StoreCurrentThenNewer(new EvolvingItem { Name = "mine" }, older);
        using (var connection = db.OpenConnection())
        {
            ((EvolvingItem)connection.Root["newer"]).AddedLater = "added";
            connection.Commit();
        }
        using var again = db.OpenConnection();
        Assert.Equal(("nut", 1L, "added"), (((EvolvingItem)again.Root["newer"]).Name, ((EvolvingItem)again.Root["newer"]).Count, ((EvolvingItem)again.Root["newer"]).AddedLater));
    }

    [Fact]
    public void A_field_a_newer_program_added_to_an_inline_value_is_not_dropped_either()
    {
        var fields = new HomeOwner().PersistentType.Fields;
        var home = fields.Single(f => f.Name == "Home");
        FieldSchema[] newerFields = [.. fields.Select(f => f == home ? new FieldSchema("Home", home.TypeCode.TrimEnd('}') + ",Country:str}") : f)];
        var newer = new LegacyObject("Persistence.Tests.Models.HomeOwner", newerFields, (ref RecordWriter w) =>
        {
            w.WriteString("ada");
            w.WriteString("Main");
            w.WriteInt32(1234);
            w.WriteString("UK");
        });
        using var db = StoreCurrentThenNewer(new HomeOwner { Name = "mine" }, newer);
        using var connection = db.OpenConnection();
        var owner = (HomeOwner)connection.Root["newer"];
        Assert.Equal(new Address("Main", 1234), owner.Home);
        owner.Name = "Ada";
        var error = Assert.Throws<SchemaMismatchException>(connection.Commit);
        Assert.Equal("Home.Country", error.FieldName);
    }

    [Fact]
    public void An_object_whose_class_another_program_renamed_says_so_and_what_to_do()
    {
        using var db = TestDatabase.InMemory();
        TestDatabase.Store(db, "item", new NewName { Text = "x" });
        using var connection = db.OpenConnection();
        var item = (NewName)connection.Root["item"];
        // A newer program renames the class (its alias names this one's) while this one holds a ghost of it.
        var renamed = new LegacyObject("Persistence.Tests.Elsewhere.Renamed", [new("Text", "str")], (ref RecordWriter w) => w.WriteString("y"), ["Persistence.Tests.Models.NewName"]);
        TestDatabase.Store(db, "other", renamed);
        var error = Assert.Throws<SchemaMismatchException>(() => item.Text);
        Assert.Contains("is now stored as a 'Persistence.Tests.Elsewhere.Renamed'", error.Message);
        Assert.Contains("another program renamed its class", error.Message);
        Assert.Contains("[PersistentAlias(\"Persistence.Tests.Elsewhere.Renamed\")]", error.Message);
        // This program is the older one: the alias goes on the class it has (the one renamed), which the advice covers.
        Assert.Contains("before a newer version of the program renamed it), put [PersistentAlias(\"Persistence.Tests.Elsewhere.Renamed\")] on that class", error.Message);
        Assert.DoesNotContain("the class it became", error.Message);
    }

    [Fact]
    public void A_schema_check_says_how_each_stored_layout_reads_and_which_reachable_objects_cannot_load()
    {
        using var db = TestDatabase.InMemory();
        // Stored first, as a program before this one would have.
        TestDatabase.Store(db, "older", OlderItem());
        TestDatabase.Store(db, "current", new EvolvingItem { Name = "mine" });
        TestDatabase.Store(db, "current too", new EvolvingItem { Name = "also mine" });
        TestDatabase.Store(db, "gone", new LegacyObject("Somewhere.Else.Gone", [new("X", "i32")], (ref RecordWriter w) => w.WriteInt32(1)));
        TestDatabase.Store(db, "incompatible", new LegacyObject("Persistence.Tests.Models.IncompatibleItem", [new("Value", "str")], (ref RecordWriter w) => w.WriteString("forty-two")));
        // A class whose last object was let go: its layout stays in the catalog with nothing reachable.
        TestDatabase.Store(db, "dropped", new LegacyObject("Somewhere.Else.Dropped", [new("X", "i32")], (ref RecordWriter w) => w.WriteInt32(1)));
        using (var c = db.OpenConnection())
        {
            c.Root.Remove("dropped");
            c.Commit();
        }

        var check = db.CheckSchema();

        StoredLayoutCheck Layout(string name, LayoutReading reading) => Assert.Single(check.Layouts, l => l.StoredName == name && l.Reading == reading);
        var current = Layout(ItemName, LayoutReading.AsWritten);
        Assert.Equal((2L, ItemName, (string?)null), (current.ReachableObjects, current.ProgramClass, current.Detail));
        var older = Layout(ItemName, LayoutReading.Converted);
        Assert.Equal(1, older.ReachableObjects);
        Assert.Equal("read with the default of 'AddedLater'; 'Obsolete' no longer read", older.Detail);
        Assert.NotEqual(current.SchemaVersion, older.SchemaVersion);
        var gone = Layout("Somewhere.Else.Gone", LayoutReading.ClassMissing);
        Assert.Equal((1L, (string?)null), (gone.ReachableObjects, gone.ProgramClass));
        var dropped = Layout("Somewhere.Else.Dropped", LayoutReading.ClassMissing);
        Assert.Equal(0, dropped.ReachableObjects);
        var incompatible = Layout("Persistence.Tests.Models.IncompatibleItem", LayoutReading.Unconvertible);
        Assert.Equal(1, incompatible.ReachableObjects);
        Assert.False(check.ReadsEverything);
        Assert.Equal(new[] { gone, incompatible }, check.Unreadable);
        Assert.Empty(check.FromNewerProgram);

        // What the check says is what loading says.
        using var reader = db.OpenConnection();
        Assert.Equal(gone.Detail, Assert.Throws<SchemaMismatchException>(reader.Root["gone"].Activate).Message);
        Assert.Equal(incompatible.Detail, Assert.Throws<SchemaMismatchException>(reader.Root["incompatible"].Activate).Message);
        Assert.Equal("bolt", ((EvolvingItem)reader.Root["older"]).Name);
        var lines = check.ToString().Split(Environment.NewLine);
        // The layouts that cannot load come first, in the catalog's order.
        Assert.StartsWith("Somewhere.Else.Gone v0: 1 reachable object(s), CANNOT LOAD: no class", lines[0]);
        Assert.StartsWith("Persistence.Tests.Models.IncompatibleItem v0: 1 reachable object(s), CANNOT LOAD: a field does not convert. Field 'Value'", lines[1]);
        Assert.DoesNotContain("Somewhere.Else.Dropped", check.ToString());
        Assert.Contains($"{ItemName} v{older.SchemaVersion}: 1 reachable object(s), read converted. read with the default of 'AddedLater'", check.ToString());
    }

    [Fact]
    public void A_schema_check_names_the_fields_read_under_a_former_name_or_as_a_wider_type()
    {
        using var db = TestDatabase.InMemory();
        TestDatabase.Store(db, "first", FirstRenamedContact());

        var check = db.CheckSchema();

        var first = Assert.Single(check.Layouts, l => l.StoredName == RenamedName && l.Reading == LayoutReading.Converted);
        Assert.Equal("read 'Name' as 'FullName', 'Age' as 'Years' (i32 as i64), 'Handle' as 'Nick'", first.Detail);
        Assert.True(check.ReadsEverything);
    }

    [Fact]
    public void A_schema_check_names_the_class_a_renamed_class_is_read_as_and_what_the_next_commit_does_to_its_name()
    {
        // OldName's layout is NewName's: read as written, but as another class, which an older program
        // reading the file after the rename needs an alias for; on the class, also for a list of them.
        // (One commit: storing the root again would write a reference to the object, which renames its class.)
        using var db = TestDatabase.InMemory();
        var renamed = OldNameObject("kept");
        TestDatabase.Store(db, "list", new LegacyObject($"Persistence.PersistentList<{OldName}>", [new("Items", "list<ref>")], (ref RecordWriter w) =>
        {
            w.WriteCount(1);
            w.WriteReference(renamed);
        }));

        var lines = db.CheckSchema().ToString().Split(Environment.NewLine);

        var single = Assert.Single(lines, l => l.StartsWith($"{OldName} v0", StringComparison.Ordinal));
        Assert.StartsWith($"{OldName} v0: 1 reachable object(s), read as {typeof(NewName).FullName}, as written.", single);
        Assert.EndsWith($"[PersistentAlias(\"{typeof(NewName).FullName}\")] on its class", single);
        var list = Assert.Single(lines, l => l.StartsWith($"Persistence.PersistentList<{OldName}> v0", StringComparison.Ordinal));
        Assert.Contains($"read as Persistence.PersistentList<{typeof(NewName).FullName}>, as written.", list);
        Assert.EndsWith("a [PersistentAlias] with the new name on the renamed class of its type arguments", list);
    }

    [Fact]
    public void A_schema_check_of_a_file_this_program_wrote_reads_everything_and_names_a_newer_program_s_layout()
    {
        var newer = new LegacyObject(ItemName, [.. new EvolvingItem().PersistentType.Fields, new("Extra", "str")], (ref RecordWriter w) =>
        {
            WriteNewerItem(ref w);
            w.WriteString("kept");
        });
        using var directory = new Persistence.Tests.Storage.TempDirectory();
        var path = directory.File("check.db");
        using (var db = Database.Open(path))
        {
            TestDatabase.Store(db, "current", new EvolvingItem { Name = "mine" });
            Assert.True(db.CheckSchema().ReadsEverything);
            Assert.Empty(db.CheckSchema().FromNewerProgram);
            TestDatabase.Store(db, "newer", newer);
        }

        using var inspector = DatabaseInspector.Open(path);
        var check = inspector.CheckSchema();

        Assert.True(check.ReadsEverything);
        var fromNewer = Assert.Single(check.FromNewerProgram);
        Assert.Equal((ItemName, 1L), (fromNewer.StoredName, fromNewer.ReachableObjects));
        Assert.Contains("field(s) 'Extra'", fromNewer.Detail);
        Assert.Equal(1, Assert.Single(check.Layouts, l => l.StoredName == ItemName && l.Reading == LayoutReading.AsWritten).ReachableObjects);
        Assert.All(check.Layouts.Where(l => l.StoredName != ItemName), l => Assert.Equal(LayoutReading.AsWritten, l.Reading));
    }
}
