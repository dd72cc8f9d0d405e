using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Persistence.Rules;
using Microsoft.CodeAnalysis.Formatting;

namespace Persistence.Analyzers.CodeFixes;

/// <summary>
/// Turns an auto-property or a field of a persistent class into a partial property the generator
/// implements, or takes the initializer off a partial property. Partial properties have no
/// initializers, so an initial value moves to the start of each constructor (or into a new
/// parameterless constructor when the class declares none).
/// </summary>
internal static class StoredMembers
{
    /// <summary>Whether the member can be converted here: an auto-property or plain field, with every constructor of the class in this declaration.</summary>
    public static bool CanConvert(MemberDeclarationSyntax member, TypeDeclarationSyntax type, INamedTypeSymbol symbol)
    {
        if (member is PropertyDeclarationSyntax property &&
            (property.AccessorList is null || property.AccessorList.Accessors.Any(static a => a.Body is not null || a.ExpressionBody is not null)))
        {
            return false;
        }
        if (member is FieldDeclarationSyntax field && field.Modifiers.Any(static m => m.IsKind(SyntaxKind.FixedKeyword))) return false;
        // Initial values move into constructors: only when they are all in this declaration.
        return !HasInitializer(member) || !symbol.InstanceConstructors.Any(c =>
            !c.IsImplicitlyDeclared && !RuleSymbols.IsGenerated(c) &&
            c.DeclaringSyntaxReferences.Any(r => r.SyntaxTree != type.SyntaxTree || !type.Span.Contains(r.Span)));
    }

    public static async Task<Document> ConvertAsync(Document document, MemberDeclarationSyntax member, TypeDeclarationSyntax type, CancellationToken cancellationToken)
    {
        var initialValues = new List<(string Name, ExpressionSyntax Value)>();
        var properties = new List<PropertyDeclarationSyntax>();
        if (member is PropertyDeclarationSyntax property)
        {
            if (property.Initializer is { } initializer) initialValues.Add((property.Identifier.ValueText, initializer.Value));
            var accessors = property.AccessorList!;
            if (!accessors.Accessors.Any(static a => a.IsKind(SyntaxKind.SetAccessorDeclaration) || a.IsKind(SyntaxKind.InitAccessorDeclaration)))
            {
                accessors = accessors.AddAccessors(Setter(property.Modifiers));
            }
            var closeBrace = accessors.CloseBraceToken;
            if (property.Initializer is not null) closeBrace = closeBrace.WithTrailingTrivia(property.SemicolonToken.TrailingTrivia);
            properties.Add(property
                .WithInitializer(null)
                .WithSemicolonToken(default)
                .WithAccessorList(accessors.WithCloseBraceToken(closeBrace))
                .WithModifiers(property.Modifiers.Any(SyntaxKind.PartialKeyword) ? property.Modifiers : WithPartial(property.Modifiers, ref property)));
        }
        else
        {
            var field = (FieldDeclarationSyntax)member;
            var isReadOnly = field.Modifiers.Any(SyntaxKind.ReadOnlyKeyword);
            var modifiers = SyntaxFactory.TokenList(field.Modifiers.Where(static m => !m.IsKind(SyntaxKind.ReadOnlyKeyword) && !m.IsKind(SyntaxKind.VolatileKeyword)));
            foreach (var variable in field.Declaration.Variables)
            {
                if (variable.Initializer is { } initializer) initialValues.Add((variable.Identifier.ValueText, initializer.Value));
                var setter = isReadOnly ? Setter(modifiers) : SyntaxFactory.AccessorDeclaration(SyntaxKind.SetAccessorDeclaration).WithSemicolonToken(SyntaxFactory.Token(SyntaxKind.SemicolonToken));
                var converted = SyntaxFactory.PropertyDeclaration(field.Declaration.Type.WithoutTrivia(), variable.Identifier.WithoutTrivia())
                    .WithAttributeLists(field.AttributeLists)
                    .WithAccessorList(SyntaxFactory.AccessorList(SyntaxFactory.List(new[]
                    {
                        SyntaxFactory.AccessorDeclaration(SyntaxKind.GetAccessorDeclaration).WithSemicolonToken(SyntaxFactory.Token(SyntaxKind.SemicolonToken)),
                        setter,
                    })));
                converted = converted.WithModifiers(SyntaxFactory.TokenList(modifiers.Select(static m => m.WithoutTrivia().WithTrailingTrivia(SyntaxFactory.Space)))
                    .Add(SyntaxFactory.Token(SyntaxKind.PartialKeyword).WithTrailingTrivia(SyntaxFactory.Space)));
                properties.Add(converted.WithAdditionalAnnotations(Formatter.Annotation));
            }
            properties[0] = properties[0].WithLeadingTrivia(field.GetLeadingTrivia());
            properties[properties.Count - 1] = properties[properties.Count - 1].WithTrailingTrivia(field.GetTrailingTrivia());
        }

        var index = type.Members.IndexOf(member);
        var members = type.Members.RemoveAt(index).InsertRange(index, properties);
        if (initialValues.Count > 0) members = MoveIntoConstructors(members, type, index + properties.Count, initialValues);
        var root = await document.GetSyntaxRootAsync(cancellationToken).ConfigureAwait(false);
        return document.WithSyntaxRoot(root!.ReplaceNode(type, type.WithMembers(members)));
    }

    /// <summary>Adds <c>partial</c> last among the modifiers (right before the type), keeping the declaration's leading trivia in front.</summary>
    private static SyntaxTokenList WithPartial(SyntaxTokenList modifiers, ref PropertyDeclarationSyntax property)
    {
        if (modifiers.Count > 0) return modifiers.Add(SyntaxFactory.Token(SyntaxKind.PartialKeyword).WithTrailingTrivia(SyntaxFactory.Space));
        var type = property.Type;
        property = property.WithType(type.WithLeadingTrivia());
        return SyntaxFactory.TokenList(SyntaxFactory.Token(type.GetLeadingTrivia(), SyntaxKind.PartialKeyword, SyntaxFactory.TriviaList(SyntaxFactory.Space)));
    }

    /// <summary>A setter for a member that had none (a get-only auto-property or a read-only field): private, unless the member itself is.</summary>
    private static AccessorDeclarationSyntax Setter(SyntaxTokenList memberModifiers)
    {
        var setter = SyntaxFactory.AccessorDeclaration(SyntaxKind.SetAccessorDeclaration).WithSemicolonToken(SyntaxFactory.Token(SyntaxKind.SemicolonToken));
        var isPrivate = !memberModifiers.Any(static m => m.IsKind(SyntaxKind.PublicKeyword) || m.IsKind(SyntaxKind.InternalKeyword) || m.IsKind(SyntaxKind.ProtectedKeyword));
        return isPrivate ? setter : setter.WithModifiers(SyntaxFactory.TokenList(SyntaxFactory.Token(SyntaxKind.PrivateKeyword)));
    }

    private static SyntaxList<MemberDeclarationSyntax> MoveIntoConstructors(
        SyntaxList<MemberDeclarationSyntax> members,
        TypeDeclarationSyntax type,
        int insertAt,
        List<(string Name, ExpressionSyntax Value)> initialValues)
    {
        var changed = false;
        for (var i = 0; i < members.Count; i++)
        {
            if (members[i] is not ConstructorDeclarationSyntax constructor ||
                constructor.Modifiers.Any(SyntaxKind.StaticKeyword) ||
                constructor.Initializer?.ThisOrBaseKeyword.IsKind(SyntaxKind.ThisKeyword) == true)
            {
                continue;
            }
            var assignments = initialValues.Select(v => Assignment(v.Name, v.Value, constructor)).ToList();
            var body = constructor.Body ?? SyntaxFactory.Block(SyntaxFactory.ExpressionStatement(constructor.ExpressionBody!.Expression));
            members = members.RemoveAt(i).Insert(i, constructor
                .WithExpressionBody(null)
                .WithSemicolonToken(default)
                .WithBody(body.WithStatements(body.Statements.InsertRange(0, assignments)))
                .WithAdditionalAnnotations(Formatter.Annotation));
            changed = true;
        }
        if (!changed)
        {
            var accessibility = type.Modifiers.Any(SyntaxKind.AbstractKeyword) ? SyntaxKind.ProtectedKeyword : SyntaxKind.PublicKeyword;
            var constructor = SyntaxFactory.ConstructorDeclaration(type.Identifier.WithoutTrivia())
                .WithModifiers(SyntaxFactory.TokenList(SyntaxFactory.Token(accessibility)))
                .WithBody(SyntaxFactory.Block(initialValues.Select(v => Assignment(v.Name, v.Value, null))))
                .WithAdditionalAnnotations(Formatter.Annotation);
            members = members.Insert(insertAt, constructor);
        }
        return members;
    }

    /// <summary><c>Name = value;</c>, or <c>this.Name = value;</c> where a parameter of the constructor has the same name.</summary>
    private static StatementSyntax Assignment(string name, ExpressionSyntax value, ConstructorDeclarationSyntax? constructor)
    {
        ExpressionSyntax target = SyntaxFactory.IdentifierName(name);
        if (constructor?.ParameterList.Parameters.Any(p => p.Identifier.ValueText == name) == true)
        {
            target = SyntaxFactory.MemberAccessExpression(SyntaxKind.SimpleMemberAccessExpression, SyntaxFactory.ThisExpression(), (SimpleNameSyntax)target);
        }
        return SyntaxFactory.ExpressionStatement(SyntaxFactory.AssignmentExpression(SyntaxKind.SimpleAssignmentExpression, target, value.WithoutTrivia()))
            .WithAdditionalAnnotations(Formatter.Annotation);
    }

    private static bool HasInitializer(MemberDeclarationSyntax member) => member switch
    {
        PropertyDeclarationSyntax property => property.Initializer is not null,
        FieldDeclarationSyntax field => field.Declaration.Variables.Any(static v => v.Initializer is not null),
        _ => false,
    };
}
