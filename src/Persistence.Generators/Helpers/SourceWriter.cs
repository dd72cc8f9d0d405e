using System;
using System.Text;

namespace Persistence.Generators.Helpers;

/// <summary>Writes C# text line by line with four-space indentation.</summary>
internal sealed class SourceWriter
{
    private readonly StringBuilder _text = new();
    private int _indentation;

    public void WriteLine()
    {
        _text.Append('\n');
    }

    public void WriteLine(string line)
    {
        if (line.Length > 0)
        {
            _text.Append(' ', _indentation * 4);
            _text.Append(line);
        }
        _text.Append('\n');
    }

    /// <summary>Writes a line that is not indented (a preprocessor directive).</summary>
    public void WriteDirective(string directive)
    {
        _text.Append(directive);
        _text.Append('\n');
    }

    public void OpenBlock()
    {
        WriteLine("{");
        _indentation++;
    }

    public void CloseBlock(string suffix = "")
    {
        if (_indentation == 0) throw new InvalidOperationException("No block is open.");
        _indentation--;
        WriteLine("}" + suffix);
    }

    public void Indent() => _indentation++;

    public void Unindent()
    {
        if (_indentation == 0) throw new InvalidOperationException("Nothing is indented.");
        _indentation--;
    }

    public override string ToString()
    {
        if (_indentation != 0) throw new InvalidOperationException("A block is still open.");
        return _text.ToString();
    }
}
