using System.Globalization;
using System.Text;

namespace Persistence.Storage;

/// <summary>What <see cref="FileStorage.Verify"/> found in a data file.</summary>
public sealed class FileStorageReport
{
    internal FileStorageReport(string filePath, long fileLength, int transactionCount, long recordCount, long lastTid,
        IReadOnlyList<FileStorageProblem> problems, long? incompleteTailOffset)
    {
        FilePath = filePath;
        FileLength = fileLength;
        TransactionCount = transactionCount;
        RecordCount = recordCount;
        LastTid = lastTid;
        Problems = problems;
        IncompleteTailOffset = incompleteTailOffset;
    }

    /// <summary>The data file's full path.</summary>
    public string FilePath { get; }

    /// <summary>The file's length when the check started (what was appended later is not checked).</summary>
    public long FileLength { get; }

    /// <summary>The complete transactions that passed every check.</summary>
    public int TransactionCount { get; }

    /// <summary>The data records in those transactions.</summary>
    public long RecordCount { get; }

    /// <summary>The tid of the last complete transaction (0 if there is none).</summary>
    public long LastTid { get; }

    /// <summary>Every damaged part of the file, in file order; empty when the file is sound.</summary>
    public IReadOnlyList<FileStorageProblem> Problems { get; }

    /// <summary>
    /// Where an incomplete transaction at the end starts (a write that was interrupted, or one in
    /// progress), or null. It is not damage: readers ignore it and the next commit removes it.
    /// </summary>
    public long? IncompleteTailOffset { get; }

    /// <summary>Whether no damage was found (an incomplete tail is not damage).</summary>
    public bool IsValid => Problems.Count == 0;

    /// <summary>A summary, one problem a line.</summary>
    public override string ToString()
    {
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture,
            $"{FilePath}: {FileLength} bytes, {TransactionCount} complete transactions, {RecordCount} records, last tid {LastTid}, ");
        text.Append(IsValid ? "no damage" : $"{Problems.Count} damaged part(s)");
        if (IncompleteTailOffset is { } tail)
            text.Append(CultureInfo.InvariantCulture, $", an incomplete transaction at offset {tail} (ignored)");
        foreach (var problem in Problems)
            text.AppendLine().Append(CultureInfo.InvariantCulture, $"  at offset {problem.Offset}: {problem.Description}");
        return text.ToString();
    }
}

/// <summary>One damaged part of a data file.</summary>
/// <param name="Offset">Where the damaged transaction (or the file header, at 0) starts.</param>
/// <param name="Description">What is wrong with it.</param>
public sealed record FileStorageProblem(long Offset, string Description);
