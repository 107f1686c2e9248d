using DualFramework.Operators;
using TorchSharp;
using static DualFramework.Torch.KernelHelpers;
using TT = TorchSharp.torch.Tensor;

namespace DualFramework.Torch;

/// <summary>libtorch kernels of the shape family (<c>OpSet.Shape.cs</c>): BroadcastTo, Concat, Permute, Reshape, Slice, SliceScatter, Split.</summary>
internal static class ShapeKernels
{
    public static void Register(KernelTable t)
    {
        t.Add(OpSet.Reshape, (x, _, o) => Operand(x, 0).reshape(o[0].Shape.Raw));
        t.Add(OpSet.BroadcastTo, (x, _, o) => Operand(x, 0).expand(o[0].Shape.Raw));
        t.Add(OpSet.Permute, (x, a, _) => Operand(x, 0).permute(Array.ConvertAll(a.Perm, i => (long)i)));
        t.Add(OpSet.Slice, (x, a, _) => SliceView(Operand(x, 0), a));
        t.Add(OpSet.Concat, (x, a, _) =>
        {
            var parts = new TT[x.Length];
            for (int i = 0; i < parts.Length; i++) parts[i] = Operand(x, i);
            return torch.cat(parts, a.Axis);
        });
        t.Add(OpSet.Split, (x, s, _) =>
        {
            var pieces = Operand(x, 0).split(s.Sizes, s.Axis);
            // The dispatcher expects a bare handle, not an array, when there is one output.
            return pieces.Length == 1 ? pieces[0] : pieces.Cast<object>().ToArray();
        });
        t.Add(OpSet.SliceScatter, (x, a, _) =>
        {
            var result = Operand(x, 0).clone();
            using var region = SliceView(result, a);
            region.copy_(Operand(x, 1));
            return result;
        });
    }

    private static TT SliceView(TT x, SliceAttrs s)
    {
        var v = x.alias();
        for (int i = 0; i < s.Axes.Length; i++)
        {
            var next = v.slice(s.Axes[i], s.Starts[i], s.Ends[i], s.Steps[i]);
            v.Dispose();
            v = next;
        }
        return v;
    }
}
