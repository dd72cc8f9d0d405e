using System.Linq;
using Persistence.Generators.Helpers;
using Persistence.Generators.Models;

namespace Persistence.Generators;

public sealed partial class PersistentGenerator
{
    internal static partial class Emitter
    {
        private const string ValueCodecClass = "__PersistentValueCodec";

        public static string EmitPersistentValue(PersistentValueSpec spec)
        {
            var writer = new SourceWriter();
            var hierarchy = spec.Hierarchy;
            var type = hierarchy.FullyQualifiedName;
            var codecType = $"{KnownNames.ValueCodec}<{type}>";
            OpenHierarchy(writer, hierarchy, "");

            writer.WriteLine($"/// <summary>The codec that stores <see cref=\"{hierarchy.Declaration.Name}\"/> values inline in persistent objects and collections.</summary>");
            writer.WriteLine($"public static {codecType} {KnownNames.ValueCodecProperty} {{ get; }} = new {ValueCodecClass}();");
            writer.WriteLine();
            writer.WriteLine($"private sealed class {ValueCodecClass} : {codecType}");
            writer.OpenBlock();

            var codecMembers = spec.Members.Where(static m => m.Storage.Kind == StorageKind.Codec).ToList();
            foreach (var member in codecMembers)
            {
                writer.WriteLine($"private static readonly {KnownNames.ValueCodec}<{member.Type}> {member.CodecFieldName} = {CodecInitializer(member.Storage.Codec, member.IsNonNullableReference)};");
            }
            if (codecMembers.Count > 0) writer.WriteLine();

            // What the type code does not say of the fields: the defaults and former names that values stored
            // before a member was added or renamed read. Described only where one member has either.
            if (spec.Members.Any(static m => m.Default is not null || !m.Aliases.IsEmpty))
            {
                writer.WriteLine($"public {ValueCodecClass}() => DescribeFields(");
                writer.Indent();
                for (var i = 0; i < spec.Members.Count; i++)
                {
                    var member = spec.Members[i];
                    var field = FieldSchema(member.StoredName, member.Storage.TypeCode, member.Storage.Codec, member.Default, member.Aliases, targetTyped: false);
                    writer.WriteLine(field + (i == spec.Members.Count - 1 ? ");" : ","));
                }
                writer.Unindent();
                writer.WriteLine();
            }

            writer.WriteLine($"public override string TypeCode => {Literal(spec.TypeCode)};");
            writer.WriteLine();
            writer.WriteLine($"public override int MinimumSize => {spec.MinimumSize};");
            writer.WriteLine();

            writer.WriteLine($"public override void Write(ref {KnownNames.RecordWriter} writer, {type} value)");
            writer.OpenBlock();
            foreach (var member in spec.Members)
            {
                WriteValue(writer, member.Storage, "value." + member.Name, member.CodecFieldName);
            }
            writer.CloseBlock();
            writer.WriteLine();

            writer.WriteLine($"public override {type} Read(ref {KnownNames.RecordReader} reader)");
            writer.OpenBlock();
            foreach (var member in spec.Members)
            {
                writer.WriteLine($"{member.Type} {member.LocalName} = {ReadValue(member.Storage, member.CodecFieldName, member.IsNonNullableReference)};");
            }
            var byName = spec.Members.ToDictionary(static m => m.StoredName);
            var arguments = string.Join(", ", spec.ConstructorArguments.Select(n => byName[n].LocalName));
            if (spec.InitializedMembers.IsEmpty)
            {
                writer.WriteLine($"return new {type}({arguments});");
            }
            else
            {
                writer.WriteLine(arguments.Length == 0 ? $"return new {type}" : $"return new {type}({arguments})");
                writer.OpenBlock();
                foreach (var name in spec.InitializedMembers)
                {
                    writer.WriteLine($"{byName[name].Name} = {byName[name].LocalName},");
                }
                writer.CloseBlock(";");
            }
            writer.CloseBlock();

            writer.CloseBlock();
            CloseHierarchy(writer, hierarchy);
            return writer.ToString();
        }
    }
}
