using System.Text;
using FsCheck;
using FsCheck.Fluent;
using Persistence.Storage;

namespace Persistence.Tests.Storage;

public class Crc32CTests
{
    [Theory]
    [InlineData("", 0x00000000u)]
    [InlineData("a", 0xC1D04330u)]
    [InlineData("abc", 0x364B3FB7u)]
    [InlineData("123456789", 0xE3069283u)]
    [InlineData("The quick brown fox jumps over the lazy dog", 0x22620404u)]
    public void KnownTextVectors(string text, uint expected) =>
        Assert.Equal(expected, Crc32C.Compute(Encoding.ASCII.GetBytes(text)));

    // RFC 3720 (iSCSI), appendix B.4.
    [Fact]
    public void IscsiVectors()
    {
        Assert.Equal(0x8A9136AAu, Crc32C.Compute(new byte[32]));
        Assert.Equal(0x62A8AB43u, Crc32C.Compute(Enumerable.Repeat((byte)0xFF, 32).ToArray()));
        Assert.Equal(0x46DD794Eu, Crc32C.Compute(Enumerable.Range(0, 32).Select(i => (byte)i).ToArray()));
        Assert.Equal(0x113FDB5Cu, Crc32C.Compute(Enumerable.Range(0, 32).Select(i => (byte)(31 - i)).ToArray()));
    }

    [Fact]
    public void MatchesABitwiseReferenceForEveryLengthAndAlignment()
    {
        var bytes = new byte[100];
        new Random(12345).NextBytes(bytes);
        for (var start = 0; start < 8; start++)
        {
            for (var length = 0; length <= bytes.Length - start; length++)
            {
                var span = bytes.AsSpan(start, length);
                Assert.Equal(Reference(span), Crc32C.Compute(span));
            }
        }
    }

    [Fact]
    public void AppendingPiecesEqualsComputingTheWhole() =>
        Prop.ForAll<byte[], byte[]>((a, b) =>
            Crc32C.Append(Crc32C.Compute(a), b) == Crc32C.Compute([.. a, .. b])).QuickCheckThrowOnFailure();

    private static uint Reference(ReadOnlySpan<byte> data)
    {
        var crc = 0xFFFFFFFFu;
        foreach (var b in data)
        {
            crc ^= b;
            for (var i = 0; i < 8; i++)
                crc = (crc & 1) != 0 ? (crc >> 1) ^ 0x82F63B78u : crc >> 1;
        }
        return ~crc;
    }
}
