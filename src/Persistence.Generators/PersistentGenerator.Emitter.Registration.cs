using Persistence.Generators.Helpers;
using Persistence.Generators.Models;

namespace Persistence.Generators;

public sealed partial class PersistentGenerator
{
    internal static partial class Emitter
    {
        public static string EmitRegistration(RegistrationSpec spec)
        {
            var writer = new SourceWriter();
            WriteFileHeader(writer);
            writer.WriteLine($"namespace {KnownNames.RegistrationNamespace};");
            writer.WriteLine();
            writer.WriteLine("/// <summary>Registers this assembly's persistent classes and the persistent collection types it uses.</summary>");
            writer.WriteLine($"internal static class {KnownNames.RegistrationClass}");
            writer.OpenBlock();
            writer.WriteLine("/// <summary>Runs once when the assembly is loaded, before any of its objects can be stored or loaded.</summary>");
            // CA2255 warns libraries off module initializers; registering generated types is what they are for.
            writer.WriteDirective("#pragma warning disable CA2255");
            writer.WriteLine("[global::System.Runtime.CompilerServices.ModuleInitializer]");
            writer.WriteDirective("#pragma warning restore CA2255");
            writer.WriteLine("internal static void Register()");
            writer.OpenBlock();
            if (!spec.ReferencedClasses.IsEmpty)
            {
                writer.WriteLine("// A class of each referenced assembly with persistent classes: naming it runs that assembly's initializer");
                writer.WriteLine("// now, so its objects load even before this program first uses it.");
            }
            foreach (var type in spec.ReferencedClasses)
            {
                writer.WriteLine($"{KnownNames.PersistentTypes}.Register({type}.{KnownNames.TypeInfoField});");
            }
            foreach (var type in spec.Classes)
            {
                writer.WriteLine($"{KnownNames.PersistentTypes}.Register({type.FullyQualifiedName}.{KnownNames.TypeInfoField});");
            }
            foreach (var collection in spec.Collections)
            {
                var arguments = new System.Collections.Generic.List<string>();
                foreach (var argument in collection.Arguments)
                {
                    arguments.Add(argument.Codec);
                    arguments.Add(Literal(argument.Name));
                }
                writer.WriteLine($"{collection.Type}.Register({string.Join(", ", arguments)});");
            }
            writer.CloseBlock();
            writer.CloseBlock();
            WriteAssemblyRegistrationClass(writer, spec);
            return writer.ToString();
        }

        /// <summary>
        /// Where none of the assembly's persistent classes is public, a public class for programs that
        /// reference the assembly to name instead (see <see cref="KnownNames.AssemblyRegistrationClass"/>):
        /// reading its field runs the assembly's initializer, as reading a public class's type would.
        /// </summary>
        private static void WriteAssemblyRegistrationClass(SourceWriter writer, RegistrationSpec spec)
        {
            if (spec.Classes.IsEmpty || spec.AssemblyName.Length == 0) return;
            foreach (var type in spec.Classes)
            {
                if (type.IsPublic) return;
            }
            writer.WriteLine();
            writer.WriteLine("/// <summary>");
            writer.WriteLine("/// For programs that reference this assembly: its persistent classes are not public, so such a");
            writer.WriteLine("/// program's generated registration names this class to run the registration above first, before");
            writer.WriteLine("/// it can meet their stored objects. Not for use in code.");
            writer.WriteLine("/// </summary>");
            writer.WriteLine("[global::System.ComponentModel.EditorBrowsable(global::System.ComponentModel.EditorBrowsableState.Never)]");
            writer.WriteLine($"public static class {KnownNames.AssemblyRegistrationClass(spec.AssemblyName)}");
            writer.OpenBlock();
            writer.WriteLine("/// <summary>A persistent class of this assembly (which one does not matter).</summary>");
            writer.WriteLine($"public static readonly {KnownNames.PersistentTypeInfo} {KnownNames.TypeInfoField} = {spec.Classes[0].FullyQualifiedName}.{KnownNames.TypeInfoField};");
            writer.CloseBlock();
        }
    }
}
