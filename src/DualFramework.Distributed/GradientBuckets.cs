using DualFramework.NN;

namespace DualFramework.Distributed;

/// <summary>
/// A partition of variables into fused buffers for collectives: consecutive variables of one dtype, in reverse order (the
/// last layers' gradients first, as DDP orders them), up to a byte budget per bucket. The buffers are allocated once and
/// reused every step.
/// </summary>
internal sealed class GradientBuckets
{
    internal sealed record Bucket(DType DType, int[] Members, long[] Offsets, byte[] Buffer)
    {
        /// <summary>The bytes of the k-th member inside <see cref="Buffer"/>.</summary>
        public Span<byte> Slot(int k)
        {
            long end = k + 1 < Members.Length ? Offsets[k + 1] : Buffer.Length;
            return Buffer.AsSpan((int)Offsets[k], (int)(end - Offsets[k]));
        }
    }

    private readonly TensorSpec[] _specs;

    public GradientBuckets(IReadOnlyList<Variable> variables, long bucketBytes, bool sameDTypeOnly = true)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(bucketBytes, 1);
        _specs = variables.Select(v => v.Spec).ToArray();
        var buckets = new List<Bucket>();
        var members = new List<int>();
        long size = 0;
        DType? dtype = null;
        void Close()
        {
            if (members.Count == 0) return;
            var offsets = new long[members.Count];
            long at = 0;
            for (int k = 0; k < members.Count; k++)
            {
                offsets[k] = at;
                at += Bytes(_specs[members[k]]);
            }
            buckets.Add(new Bucket(dtype!.Value, [.. members], offsets, new byte[checked((int)at)]));
            members.Clear();
            size = 0;
        }
        for (int i = variables.Count - 1; i >= 0; i--)
        {
            var spec = _specs[i];
            long b = Bytes(spec);
            if (members.Count > 0 && ((sameDTypeOnly && spec.DType != dtype) || size + b > bucketBytes)) Close();
            dtype = spec.DType;
            members.Add(i);
            size += b;
        }
        Close();
        Buckets = buckets;
    }

    public IReadOnlyList<Bucket> Buckets { get; }

    /// <summary>True when <paramref name="variables"/> still have the specs this plan was made for.</summary>
    public bool Matches(IReadOnlyList<Variable> variables)
    {
        if (variables.Count != _specs.Length) return false;
        for (int i = 0; i < _specs.Length; i++)
            if (variables[i].Spec != _specs[i]) return false;
        return true;
    }

    public static long Bytes(TensorSpec spec) => spec.Shape.NumElements * spec.DType.ElementSize();
}
