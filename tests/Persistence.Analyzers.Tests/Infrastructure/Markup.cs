using Microsoft.CodeAnalysis.Text;

namespace Persistence.Analyzers.Tests.Infrastructure;

/// <summary>
/// Test sources mark where a diagnostic is expected with <c>[|…|]</c>; the markers are removed
/// before compiling and their spans kept.
/// </summary>
internal static class Markup
{
    public static (string Source, IReadOnlyList<TextSpan> Spans) Parse(string markup)
    {
        var spans = new List<TextSpan>();
        var text = new System.Text.StringBuilder(markup.Length);
        var open = new Stack<int>();
        for (var i = 0; i < markup.Length; i++)
        {
            if (string.CompareOrdinal(markup, i, "[|", 0, 2) == 0)
            {
                open.Push(text.Length);
                i++;
            }
            else if (string.CompareOrdinal(markup, i, "|]", 0, 2) == 0)
            {
                var start = open.Pop();
                spans.Add(TextSpan.FromBounds(start, text.Length));
                i++;
            }
            else
            {
                text.Append(markup[i]);
            }
        }
        Assert.Empty(open);
        spans.Sort((a, b) => a.Start.CompareTo(b.Start));
        return (text.ToString(), spans);
    }
}
