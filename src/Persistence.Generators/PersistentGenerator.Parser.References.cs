using System.Collections.Generic;
using System.Linq;
using System.Threading;
using Microsoft.CodeAnalysis;
using Persistence.Generators.Helpers;
using Persistence.Rules;

namespace Persistence.Generators;

public sealed partial class PersistentGenerator
{
    internal static partial class Parser
    {
        /// <summary>
        /// One persistent class of each referenced assembly that has any this project can name. The
        /// runtime loads an assembly, and runs the module initializer that registers its classes, only
        /// when code first uses it: a program that reads a <c>Customer</c> of one library could
        /// otherwise meet a <c>VipCustomer</c> of another, which it references but has not used yet, as
        /// a class it does not define. Naming one class of that assembly in this project's initializer
        /// runs that assembly's first.
        /// </summary>
        public static EquatableArray<string> ParseReferencedClasses(Compilation compilation, CancellationToken cancellationToken)
        {
            var found = new List<string>();
            foreach (var assembly in compilation.SourceModule.ReferencedAssemblySymbols)
            {
                cancellationToken.ThrowIfCancellationRequested();
                // Only assemblies compiled against Persistence.Core can hold persistent classes.
                if (!assembly.Modules.Any(static module => module.ReferencedAssemblies.Any(static name => name.Name == "Persistence.Core"))) continue;
                if ((FindNameableClass(assembly.GlobalNamespace, compilation, cancellationToken) ?? FindRegistrationClass(assembly, compilation)) is { } type)
                    found.Add(type.ToDisplayString(RuntimeFormat));
            }
            found.Sort(System.StringComparer.Ordinal);
            return found.ToEquatableArray();
        }

        /// <summary>
        /// The first completed <c>[Persistent]</c> class in the namespace (or type) that this compilation
        /// can name unambiguously: not one whose full name another referenced assembly, or this project, also declares.
        /// </summary>
        private static INamedTypeSymbol? FindNameableClass(INamespaceOrTypeSymbol container, Compilation compilation, CancellationToken cancellationToken)
        {
            foreach (var member in container.GetMembers())
            {
                cancellationToken.ThrowIfCancellationRequested();
                if (member is INamespaceSymbol ns)
                {
                    if (FindNameableClass(ns, compilation, cancellationToken) is { } inside) return inside;
                }
                else if (member is INamedTypeSymbol { TypeKind: TypeKind.Class, Arity: 0 } type && compilation.IsSymbolAccessibleWithin(type, compilation.Assembly))
                {
                    if (RuleSymbols.HasAttribute(type, RuleSymbols.PersistentAttribute) && RuleSymbols.DerivesFromPersistentObject(type) &&
                        SymbolEqualityComparer.Default.Equals(compilation.GetTypeByMetadataName(MetadataName(type)), type)) return type;
                    if (FindNameableClass(type, compilation, cancellationToken) is { } nested) return nested;
                }
            }
            return null;
        }

        /// <summary>
        /// The public class an assembly whose persistent classes are not public declares for programs
        /// referencing it to name (<see cref="KnownNames.AssemblyRegistrationClass"/>), if this
        /// compilation can name it unambiguously; null if the assembly has none (an older generator's).
        /// </summary>
        private static INamedTypeSymbol? FindRegistrationClass(IAssemblySymbol assembly, Compilation compilation)
        {
            var name = KnownNames.RegistrationNamespace + "." + KnownNames.AssemblyRegistrationClass(assembly.Name);
            return assembly.GetTypeByMetadataName(name) is { } type
                && compilation.IsSymbolAccessibleWithin(type, compilation.Assembly)
                && type.GetMembers(KnownNames.TypeInfoField).Length == 1
                && SymbolEqualityComparer.Default.Equals(compilation.GetTypeByMetadataName(name), type)
                ? type
                : null;
        }

        /// <summary>The name <see cref="Compilation.GetTypeByMetadataName"/> finds a type by: <c>Shop.Catalog+Item</c>.</summary>
        private static string MetadataName(INamedTypeSymbol type) =>
            type.ContainingType is { } container ? MetadataName(container) + "+" + type.MetadataName
            : type.ContainingNamespace.IsGlobalNamespace ? type.MetadataName
            : type.ContainingNamespace.ToDisplayString() + "." + type.MetadataName;
    }
}
