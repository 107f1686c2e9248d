using System.Buffers.Binary;

namespace DualFramework.Fuzz.Mutators;

/// <summary>Format-blind mutations of raw bytes: bit flips, byte runs, interesting integers, insertions, deletions,
/// duplications, truncation and splices with another seed.</summary>
public static class ByteMutator
{
    private static readonly long[] InterestingInts =
        [0, 1, -1, 2, 7, 8, 16, 127, 128, 255, 256, 0x7FFF, 0xFFFF, int.MaxValue, int.MinValue, uint.MaxValue, 1L << 32, 1L << 40, long.MaxValue, long.MinValue];

    /// <summary>Applies 1 to <paramref name="maxSteps"/> random mutations to a copy of <paramref name="data"/>.</summary>
    public static byte[] Mutate(Random rng, byte[] data, int maxSteps = 4, byte[]? other = null)
    {
        var d = new List<byte>(data);
        int steps = 1 + rng.Next(maxSteps);
        for (int s = 0; s < steps; s++) MutateOnce(rng, d, other);
        return [.. d];
    }

    /// <summary>One random mutation, in place.</summary>
    public static void MutateOnce(Random rng, List<byte> d, byte[]? other = null)
    {
        if (d.Count == 0)
        {
            d.Add((byte)rng.Next(256));
            return;
        }
        int pos = Position(rng, d.Count);
        switch (rng.Next(10))
        {
            case 0: // bit flips
                for (int k = 1 + rng.Next(4); k > 0; k--)
                {
                    int p = Position(rng, d.Count);
                    d[p] ^= (byte)(1 << rng.Next(8));
                }
                break;
            case 1: // one byte set to a boundary value
                d[pos] = (byte)InterestingInts[rng.Next(10)];
                break;
            case 2: // a run of one value
                {
                    int len = Math.Min(d.Count - pos, 1 + rng.Next(rng.Next(2) == 0 ? 8 : 256));
                    byte v = rng.Next(2) == 0 ? (byte)0xFF : (byte)rng.Next(256);
                    for (int i = 0; i < len; i++) d[pos + i] = v;
                }
                break;
            case 3: // a little- or big-endian boundary integer of 1, 2, 4 or 8 bytes
                {
                    int width = 1 << rng.Next(4);
                    if (pos + width > d.Count) break;
                    Span<byte> b = stackalloc byte[8];
                    long v = InterestingInts[rng.Next(InterestingInts.Length)];
                    if (rng.Next(2) == 0) BinaryPrimitives.WriteInt64LittleEndian(b, v);
                    else BinaryPrimitives.WriteInt64BigEndian(b, v << (8 * (8 - width)));
                    for (int i = 0; i < width; i++) d[pos + i] = b[i];
                }
                break;
            case 4: // truncation
                d.RemoveRange(pos, d.Count - pos);
                break;
            case 5: // deletion
                d.RemoveRange(pos, Math.Min(d.Count - pos, 1 + rng.Next(64)));
                break;
            case 6: // insertion of random bytes
                {
                    var ins = new byte[1 + rng.Next(32)];
                    rng.NextBytes(ins);
                    d.InsertRange(pos, ins);
                }
                break;
            case 7: // duplication of a range (repeated fields, nested copies)
                {
                    int len = Math.Min(d.Count - pos, 1 + rng.Next(256));
                    var copy = d.GetRange(pos, len);
                    d.InsertRange(Position(rng, d.Count), copy);
                }
                break;
            case 8: // splice: the tail from another seed
                if (other is { Length: > 0 })
                {
                    int from = rng.Next(other.Length);
                    d.RemoveRange(pos, d.Count - pos);
                    d.AddRange(other.AsSpan(from, Math.Min(other.Length - from, 4096)).ToArray());
                }
                break;
            default: // random byte
                d[pos] = (byte)rng.Next(256);
                break;
        }
    }

    // Headers live at the front: half of the positions fall in the first 64 bytes.
    private static int Position(Random rng, int count) => rng.Next(2) == 0 ? rng.Next(Math.Min(count, 64)) : rng.Next(count);

    /// <summary>A boundary integer (0, ±1, powers of two, type limits).</summary>
    public static long InterestingInt(Random rng) => InterestingInts[rng.Next(InterestingInts.Length)];
}
