using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.CompilerServices;

namespace Persistence.Storage;

/// <summary>
/// CRC-32C (Castagnoli, the iSCSI/ext4 checksum): the checksum of every file storage transaction and
/// data record. <see cref="BitOperations.Crc32C(uint, ulong)"/> uses the CPU's instruction (SSE 4.2,
/// ARMv8 CRC) where there is one, so checking every byte read and written costs little.
/// </summary>
internal static class Crc32C
{
    /// <summary>The checksum of <paramref name="data"/>.</summary>
    public static uint Compute(ReadOnlySpan<byte> data) => Append(0, data);

    /// <summary>
    /// The checksum of the bytes <paramref name="crc"/> was computed over followed by
    /// <paramref name="data"/>, so a checksum can be built piece by piece
    /// (<c>Append(Compute(a), b) == Compute(a + b)</c>).
    /// </summary>
    // Optimized from the first call: a tool that only packs or verifies must not checksum megabytes
    // with first-tier code.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static uint Append(uint crc, ReadOnlySpan<byte> data)
    {
        // The standard CRC-32C starts from all ones and inverts the result; undoing the inversion
        // here is what makes the checksum of a prefix a valid starting point for the rest.
        var c = ~crc;
        while (data.Length >= 8)
        {
            c = BitOperations.Crc32C(c, BinaryPrimitives.ReadUInt64LittleEndian(data));
            data = data[8..];
        }
        if (data.Length >= 4)
        {
            c = BitOperations.Crc32C(c, BinaryPrimitives.ReadUInt32LittleEndian(data));
            data = data[4..];
        }
        foreach (var b in data)
            c = BitOperations.Crc32C(c, b);
        return ~c;
    }
}
