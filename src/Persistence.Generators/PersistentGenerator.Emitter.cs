using System.Collections.Generic;
using System.Linq;
using System.Text;
using Persistence.Generators.Helpers;
using Persistence.Generators.Models;

namespace Persistence.Generators;

public sealed partial class PersistentGenerator
{
    /// <summary>Turns models into C# text.</summary>
    internal static partial class Emitter
    {
        public static string EmitPersistentClass(PersistentClassSpec spec)
        {
            if (spec.Completion != ClassCompletion.Complete) return EmitPlaceholders(spec);
            var writer = new SourceWriter();
            var hierarchy = spec.Hierarchy;
            var name = hierarchy.Declaration.Name;
            var baseList = spec.AddsBaseClass ? " : " + KnownNames.PersistentObject : "";
            OpenHierarchy(writer, hierarchy, baseList);

            var codecProperties = spec.Properties.Where(static p => p.Storage is { Kind: StorageKind.Codec }).ToList();
            foreach (var property in codecProperties)
            {
                writer.WriteLine($"private static readonly {KnownNames.ValueCodec}<{property.Type}> {property.CodecFieldName} = {CodecInitializer(property.Storage!.Codec, property.IsNonNullableReference)};");
            }
            if (codecProperties.Count > 0) writer.WriteLine();

            WriteTypeInfo(
                writer,
                spec,
                $"The stored description of <see cref=\"{name}\"/>: its stored name, former names, fields and ghost factory.",
                // An abstract class has no ghost factory: objects stored while it was concrete load as stand-ins.
                spec.IsAbstract ? "null" : $"static token => new {hierarchy.FullyQualifiedName}(token)");
            var stored = spec.Properties.Where(static p => !p.IsTransient).ToList();

            if (spec.Properties.Count > 0) writer.WriteLine();
            foreach (var property in spec.Properties)
            {
                // A [PersistentDefault] is a new object's value too (its constructor runs after this, and a load overwrites it).
                var initial = property.DefaultDeclared && property.Default is { } declared ? $" = {declared}"
                    : property.IsNonNullableReference && !property.IsReferenceField ? " = default!" : "";
                writer.WriteLine($"private {property.FieldType} {property.FieldName}{initial};");
            }

            WriteConstructors(writer, spec);
            writer.WriteLine();
            writer.WriteLine("/// <inheritdoc/>");
            // System.Text.Json reads an override's own attributes, not the base property's [JsonIgnore].
            writer.WriteLine(KnownNames.JsonIgnoreAttribute);
            // A class deriving from this one without [Persistent] inherits this override: storing one
            // would load it as this class, so it fails here instead (the compare is of method tables).
            writer.WriteLine(spec.IsSealed
                ? $"public override {KnownNames.PersistentTypeInfo} PersistentType => {KnownNames.TypeInfoField};"
                : $"public override {KnownNames.PersistentTypeInfo} PersistentType => GetType() == typeof({hierarchy.FullyQualifiedName}) ? {KnownNames.TypeInfoField} : throw NotPersistentClass({KnownNames.TypeInfoField}.Name);");

            foreach (var property in spec.Properties)
            {
                writer.WriteLine();
                WriteProperty(writer, property);
            }

            var access = spec.StateMethodsAreProtectedInternal ? "protected internal" : "protected";
            var callsBase = spec.BaseType is not null;

            writer.WriteLine();
            writer.WriteLine("/// <inheritdoc/>");
            writer.WriteLine($"{access} override void WriteState(ref {KnownNames.RecordWriter} writer)");
            writer.OpenBlock();
            if (callsBase) writer.WriteLine("base.WriteState(ref writer);");
            foreach (var property in stored) WriteValue(writer, property.Storage!, property.FieldName, property.CodecFieldName);
            writer.CloseBlock();

            writer.WriteLine();
            writer.WriteLine("/// <inheritdoc/>");
            writer.WriteLine($"{access} override void ReadState(ref {KnownNames.RecordReader} reader)");
            writer.OpenBlock();
            if (callsBase) writer.WriteLine("base.ReadState(ref reader);");
            foreach (var property in stored)
            {
                // A reference is read as any persistent object; the getter checks its class (see IsReferenceField).
                writer.WriteLine(property.IsReferenceField
                    ? $"{property.FieldName} = reader.ReadReference();"
                    : $"{property.FieldName} = {ReadValue(property.Storage!, property.CodecFieldName, property.IsNonNullableReference)};");
            }
            writer.CloseBlock();

            writer.WriteLine();
            writer.WriteLine("/// <inheritdoc/>");
            writer.WriteLine($"{access} override void ClearState()");
            writer.OpenBlock();
            if (callsBase) writer.WriteLine("base.ClearState();");
            foreach (var property in spec.Properties)
            {
                writer.WriteLine($"{property.FieldName} = default{(property.IsNonNullableReference && !property.IsReferenceField ? "!" : "")};");
            }
            writer.CloseBlock();

            // What a commit reads when it writes this object's references (their oids), fetched ahead
            // (PersistentObject.PrefetchReferences); the base class's override fetches the base's, and a
            // class without references of its own keeps the override it inherits.
            var references = stored.Where(static p => p.IsReferenceField).ToList();
            if (references.Count > 0)
            {
                writer.WriteLine();
                writer.WriteLine("/// <inheritdoc/>");
                writer.WriteLine($"{access} override void PrefetchReferences()");
                writer.OpenBlock();
                if (callsBase) writer.WriteLine("base.PrefetchReferences();");
                foreach (var property in references) writer.WriteLine($"Prefetch({property.FieldName});");
                writer.CloseBlock();
            }

            CloseHierarchy(writer, hierarchy);
            return writer.ToString();
        }

        /// <summary>
        /// The static <c>PersistentTypeInfo</c> field: stored name, former names, the base's description,
        /// the stored fields (the properties with storage) and the ghost factory <paramref name="factory"/>.
        /// </summary>
        private static void WriteTypeInfo(SourceWriter writer, PersistentClassSpec spec, string summary, string factory)
        {
            writer.WriteLine($"/// <summary>{summary}</summary>");
            writer.WriteLine("[global::System.ComponentModel.EditorBrowsable(global::System.ComponentModel.EditorBrowsableState.Never)]");
            writer.WriteLine($"public static {(spec.BaseType is null ? "" : "new ")}readonly {KnownNames.PersistentTypeInfo} {KnownNames.TypeInfoField} = new(");
            writer.Indent();
            writer.WriteLine(Literal(spec.Hierarchy.StoredName) + ",");
            writer.WriteLine((spec.Aliases.IsEmpty
                ? "global::System.Array.Empty<string>()"
                : "new string[] { " + string.Join(", ", spec.Aliases.Select(Literal)) + " }") + ",");
            writer.WriteLine((spec.BaseType is null ? "null" : spec.BaseType + "." + KnownNames.TypeInfoField) + ",");
            var stored = spec.Properties.Where(static p => !p.IsTransient).ToList();
            if (stored.Count == 0)
            {
                writer.WriteLine($"global::System.Array.Empty<{KnownNames.FieldSchema}>(),");
            }
            else
            {
                writer.WriteLine($"new {KnownNames.FieldSchema}[]");
                writer.OpenBlock();
                foreach (var property in stored)
                {
                    writer.WriteLine(FieldSchema(property.StoredName, property.Storage!.TypeCode, property.Storage.Codec, property.Default, property.Aliases, targetTyped: true) + ",");
                }
                writer.CloseBlock(",");
            }
            writer.WriteLine(factory + ");");
            writer.Unindent();
        }

        /// <summary>
        /// The expression of a stored field's description: its name and type code, and the default and former
        /// names it reads in records (or values) stored before it existed or before it was renamed; a plain one
        /// as a target-typed <c>new(…)</c> where <paramref name="targetTyped"/>.
        /// </summary>
        internal static string FieldSchema(string storedName, string typeCode, string codec, string? defaultValue, EquatableArray<string> aliases, bool targetTyped)
        {
            var (name, code) = (Literal(storedName), Literal(typeCode));
            var defaultPart = defaultValue is null ? "" : $".WithDefault({codec}, {defaultValue})";
            var aliasPart = aliases.IsEmpty ? "" : ".WithAliases(" + string.Join(", ", aliases.Select(Literal)) + ")";
            return targetTyped && defaultPart.Length + aliasPart.Length == 0
                ? $"new({name}, {code})"
                : $"new {KnownNames.FieldSchema}({name}, {code}){defaultPart}{aliasPart}";
        }

        /// <summary>The ghost constructor, and a public parameterless one if the user declared no constructor.</summary>
        private static void WriteConstructors(SourceWriter writer, PersistentClassSpec spec)
        {
            var name = spec.Hierarchy.Declaration.Name;
            writer.WriteLine();
            // A ghost's state, required members included, is loaded when it is first used.
            if (spec.HasRequiredMembers) writer.WriteDirective("#pragma warning disable CS8618");
            writer.WriteLine("/// <summary>Creates an empty instance (a ghost) without running constructors; only the library calls this.</summary>");
            if (spec.HasRequiredMembers) writer.WriteLine("[global::System.Diagnostics.CodeAnalysis.SetsRequiredMembers]");
            writer.WriteLine($"{(spec.IsSealed ? "private" : "protected")} {name}({KnownNames.GhostToken} token)");
            writer.Indent();
            writer.WriteLine(": base(token)");
            writer.Unindent();
            writer.OpenBlock();
            writer.CloseBlock();
            if (spec.HasRequiredMembers) writer.WriteDirective("#pragma warning restore CS8618");
            if (!spec.DeclaresConstructor)
            {
                writer.WriteLine();
                writer.WriteLine($"/// <summary>Creates a new <see cref=\"{name}\"/>; it is stored when a commit first reaches it.</summary>");
                writer.WriteLine($"{(spec.IsAbstract ? "protected" : "public")} {name}()");
                writer.OpenBlock();
                writer.CloseBlock();
            }
        }

        /// <summary>
        /// The generated part of a class the generator cannot complete (<see cref="ClassCompletion"/>):
        /// members that throw, so the compiler has nothing to report and runs the analyzers, whose error
        /// says what to fix. The class is not registered, so no record is ever read into it.
        /// </summary>
        private static string EmitPlaceholders(PersistentClassSpec spec)
        {
            var writer = new SourceWriter();
            var hierarchy = spec.Hierarchy;
            var skeleton = spec.Completion == ClassCompletion.Placeholders;
            OpenHierarchy(writer, hierarchy, skeleton && spec.AddsBaseClass ? " : " + KnownNames.PersistentObject : "");
            writer.WriteLine("/// <summary>Why this class's properties and state throw.</summary>");
            writer.WriteLine($"private const string {KnownNames.NotCompletedField} = {Literal(hierarchy.StoredName + " was not completed by the Persistence source generator: the PERSIST error on its declaration says why. Until that is fixed its partial properties have no storage, and its objects cannot be stored or loaded.")};");
            var fail = $"throw new global::System.InvalidOperationException({KnownNames.NotCompletedField})";

            if (skeleton)
            {
                // The members derived classes and the library use, so their code still compiles.
                writer.WriteLine();
                // The properties have no storage here, so the description has no fields.
                WriteTypeInfo(
                    writer,
                    spec,
                    $"A description of <see cref=\"{hierarchy.Declaration.Name}\"/> without fields, for the classes deriving from it; it is not registered.",
                    $"static _ => {fail}");
                WriteConstructors(writer, spec);
                writer.WriteLine();
                writer.WriteLine("/// <inheritdoc/>");
                writer.WriteLine(KnownNames.JsonIgnoreAttribute);
                writer.WriteLine($"public override {KnownNames.PersistentTypeInfo} PersistentType => {KnownNames.TypeInfoField};");
                var access = spec.StateMethodsAreProtectedInternal ? "protected internal" : "protected";
                writer.WriteLine();
                writer.WriteLine("/// <inheritdoc/>");
                writer.WriteLine($"{access} override void WriteState(ref {KnownNames.RecordWriter} writer) => {fail};");
                writer.WriteLine();
                writer.WriteLine("/// <inheritdoc/>");
                writer.WriteLine($"{access} override void ReadState(ref {KnownNames.RecordReader} reader) => {fail};");
                writer.WriteLine();
                writer.WriteLine("/// <inheritdoc/>");
                writer.WriteLine($"{access} override void ClearState()");
                writer.OpenBlock();
                writer.CloseBlock();
            }

            foreach (var property in spec.Properties)
            {
                writer.WriteLine();
                writer.WriteLine($"{property.Modifiers} {property.Type} {property.Name}");
                writer.OpenBlock();
                if (property.Getter is { } getter) writer.WriteLine($"{Accessor(getter)} => {fail};");
                if (property.Setter is { } setter) writer.WriteLine($"{Accessor(setter)} => {fail};");
                writer.CloseBlock();
            }

            CloseHierarchy(writer, hierarchy);
            return writer.ToString();
        }

        private static void WriteProperty(SourceWriter writer, PersistentPropertySpec property)
        {
            writer.WriteLine($"{property.Modifiers} {property.Type} {property.Name}");
            writer.OpenBlock();
            if (property.Getter is { } getter)
            {
                writer.WriteLine(Accessor(getter));
                writer.OpenBlock();
                writer.WriteLine("ActivateIfGhost();");
                writer.WriteLine(!property.IsReferenceField ? $"return {property.FieldName};"
                    : property.Storage!.ReferencedType == KnownNames.PersistentObject ? $"return {property.FieldName}{(property.IsNonNullableReference ? "!" : "")};"
                    : $"return Referenced<{property.Storage.ReferencedType}>({property.FieldName}, {Literal(property.StoredName)}){(property.IsNonNullableReference ? "!" : "")};");
                writer.CloseBlock();
            }
            if (property.Setter is { } setter)
            {
                writer.WriteLine(Accessor(setter));
                writer.OpenBlock();
                // A transient value is not stored, so changing it does not make the object changed;
                // it only lives while the object is loaded, hence the activation.
                if (property.IsTransient)
                {
                    writer.WriteLine("ActivateIfGhost();");
                }
                else if (UnchangedTest(property) is { } unchanged)
                {
                    // Setting the value the object holds is no change: the object is not stored again
                    // (no new revision, no conflict with another connection's change of it).
                    writer.WriteLine("ActivateIfGhost();");
                    writer.WriteLine($"if ({unchanged}) return;");
                    writer.WriteLine("BeforeWrite();");
                }
                else
                {
                    writer.WriteLine("BeforeWrite();");
                }
                writer.WriteLine($"{property.FieldName} = value;");
                writer.CloseBlock();
            }
            writer.CloseBlock();
        }

        // The type codes whose == holds exactly when the stored bytes would be the same. Not floating
        // point (0.0 == -0.0, NaN != NaN), decimal (1.0m == 1.00m), DateTime (== ignores Kind) or
        // anything with a codec (a value's Equals may be any of those, an array's contents may have
        // changed in place): those are stored again whatever the value.
        private static readonly HashSet<string> ExactlyComparable = ["bool", "u8", "i8", "i16", "u16", "char", "i32", "u32", "i64", "u64", "str"];

        /// <summary>
        /// The condition under which setting <c>value</c> leaves the stored state of <paramref name="property"/>
        /// as it is (the same object referenced, or an equal value of a type compared exactly); null where
        /// every set is a change.
        /// </summary>
        private static string? UnchangedTest(PersistentPropertySpec property)
        {
            if (property.IsReferenceField) return $"global::System.Object.ReferenceEquals({property.FieldName}, value)";
            var storage = property.Storage!;
            if (storage.Kind is not (StorageKind.Inline or StorageKind.NullableInline)) return null;
            return ExactlyComparable.Contains(storage.TypeCode.TrimEnd('?')) ? $"{property.FieldName} == value" : null;
        }

        private static string Accessor(AccessorSpec accessor) =>
            accessor.Modifiers.Length == 0 ? accessor.Keyword : accessor.Modifiers + " " + accessor.Keyword;

        /// <summary>Writes the statements that write one value.</summary>
        internal static void WriteValue(SourceWriter writer, StorageSpec storage, string value, string codecField)
        {
            switch (storage.Kind)
            {
                case StorageKind.Inline:
                    writer.WriteLine($"writer.{storage.WriteMethod}({Cast(storage.WriteCast, value)});");
                    break;
                case StorageKind.NullableInline:
                    writer.WriteLine($"writer.WriteBoolean({value}.HasValue);");
                    writer.WriteLine($"if ({value}.HasValue) writer.{storage.WriteMethod}({Cast(storage.WriteCast, value + ".GetValueOrDefault()")});");
                    break;
                default:
                    writer.WriteLine($"{codecField}.Write(ref writer, {value});");
                    break;
            }
        }

        /// <summary>The expression that reads one value.</summary>
        internal static string ReadValue(StorageSpec storage, string codecField, bool isNonNullableReference)
        {
            switch (storage.Kind)
            {
                case StorageKind.Inline:
                    var read = Cast(storage.ReadCast, $"reader.{storage.ReadMethod}()");
                    return storage.ReadsNull && isNonNullableReference ? read + "!" : read;
                case StorageKind.NullableInline:
                    return $"reader.ReadBoolean() ? {Cast(storage.ReadCast, $"reader.{storage.ReadMethod}()")} : null";
                default:
                    return $"{codecField}.Read(ref reader)";
            }
        }

        private static string Cast(string type, string expression) => type.Length == 0 ? expression : $"({type}){expression}";

        /// <summary>
        /// A codec field's initializer. The field is typed with the declared type exactly; the composed
        /// codec may differ only in nullable annotations (<c>List&lt;string?&gt;?</c>), hence the <c>!</c>.
        /// </summary>
        internal static string CodecInitializer(string codec, bool isNonNullableReference) =>
            isNonNullableReference ? codec + "!" : codec;

        internal static void WriteFileHeader(SourceWriter writer)
        {
            writer.WriteLine("// <auto-generated/>");
            writer.WriteDirective("#nullable enable");
            writer.WriteLine();
        }

        internal static void OpenHierarchy(SourceWriter writer, TypeHierarchySpec hierarchy, string baseList)
        {
            WriteFileHeader(writer);
            if (hierarchy.Namespace.Length > 0)
            {
                writer.WriteLine($"namespace {hierarchy.Namespace};");
                writer.WriteLine();
            }
            foreach (var outer in hierarchy.ContainingTypes)
            {
                writer.WriteLine($"partial {outer.Keyword} {outer.Name}");
                writer.OpenBlock();
            }
            writer.WriteLine($"partial {hierarchy.Declaration.Keyword} {hierarchy.Declaration.Name}{baseList}");
            writer.OpenBlock();
        }

        internal static void CloseHierarchy(SourceWriter writer, TypeHierarchySpec hierarchy)
        {
            writer.CloseBlock();
            for (var i = 0; i < hierarchy.ContainingTypes.Count; i++) writer.CloseBlock();
        }

        /// <summary>A C# string literal.</summary>
        internal static string Literal(string value)
        {
            var builder = new StringBuilder(value.Length + 2);
            builder.Append('"');
            foreach (var c in value)
            {
                switch (c)
                {
                    case '"': builder.Append("\\\""); break;
                    case '\\': builder.Append("\\\\"); break;
                    case '\n': builder.Append("\\n"); break;
                    case '\r': builder.Append("\\r"); break;
                    case '\t': builder.Append("\\t"); break;
                    case '\0': builder.Append("\\0"); break;
                    default:
                        if (char.IsControl(c)) builder.Append("\\u").Append(((int)c).ToString("x4"));
                        else builder.Append(c);
                        break;
                }
            }
            builder.Append('"');
            return builder.ToString();
        }
    }
}
