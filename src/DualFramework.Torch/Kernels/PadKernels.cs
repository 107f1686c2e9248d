using DualFramework.Operators;
using TorchSharp;
using static DualFramework.Torch.KernelHelpers;
using TT = TorchSharp.torch.Tensor;

namespace DualFramework.Torch;

/// <summary>libtorch kernels of the pad family (<c>OpSet.Pad.cs</c>): Pad.</summary>
internal static class PadKernels
{
    public static void Register(KernelTable t)
    {
        t.Add(OpSet.Pad, (x, a, o) =>
        {
            var data = Operand(x, 0);
            int rank = a.Begin.Length;
            if (a.Mode == PadMode.Constant)
            {
                // constant_pad_nd takes (before, after) pairs from the last axis backwards and crops on negative amounts.
                var pads = new long[2 * rank];
                for (int k = 0; k < rank; k++)
                {
                    pads[2 * k] = a.Begin[rank - 1 - k];
                    pads[2 * k + 1] = a.End[rank - 1 - k];
                }
                return torch.nn.functional.pad(data, pads, PaddingModes.Constant, a.Value);
            }
            // libtorch's reflect/replicate/circular kernels cover only the last 1–3 axes, pads shorter than the axis and no
            // cropping; a gather per padded axis covers every case the op allows.
            TT? current = null;
            try
            {
                for (int axis = 0; axis < rank; axis++)
                {
                    if (a.Begin[axis] == 0 && a.End[axis] == 0) continue;
                    using var idx = torch.tensor(a.SourceIndices(axis, x[0].Shape[axis]), torch.ScalarType.Int64, device: data.device);
                    var next = (current ?? data).index_select(axis, idx);
                    current?.Dispose();
                    current = next;
                }
                return current ?? data.alias();
            }
            catch
            {
                current?.Dispose();
                throw;
            }
        });
    }
}
