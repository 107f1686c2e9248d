using DualFramework.Backends;
using DualFramework.IR;

namespace DualFramework.Onnx;

public static partial class OnnxImporter
{
    private sealed partial class Builder
    {
        /// <summary>DFT (opsets 17 and 20) and STFT (17): composed by the Core functions <c>Ops.Dft</c> / <c>Ops.Stft</c>
        /// (matrix products with float64 cos / sin matrices), traced into the graph; lengths, steps and axes are known while
        /// building (shape inputs).</summary>
        private void AddFourier()
        {
            Map("DFT", _ =>
            {
                var x = Float(In(0));
                long? length = Has(1) ? ConstInts(1) is [var l] ? l : throw Bad("dft_length must be a scalar") : null;
                // Opset 20 moved the axis to input 2 (default −2, counted with the complex axis).
                long axis = opset >= 20 ? Has(2) ? ConstInts(2) is [var a] ? a : throw Bad("axis must be a scalar") : -2 : Int("axis", 1);
                int rank = x.Spec.Shape.Rank;
                if (axis < -rank || axis >= rank - 1 || axis == -1) throw Bad($"axis {axis} is not supported for a rank-{rank} input (it must name a signal axis)");
                bool inverse = Int("inverse", 0) != 0, onesided = Int("onesided", 0) != 0;
                if (inverse && onesided) throw Bad("inverse=1 with onesided=1 is not supported");
                return Traced(t => Ops.Dft(t[0], (int)axis, inverse, onesided, length), x);
            });
            Map("STFT", _ =>
            {
                var signal = Float(In(0));
                long step = ConstInts(1) is [var s] ? s : throw Bad("frame_step must be a scalar");
                long? length = Has(3) ? ConstInts(3) is [var l] ? l : throw Bad("frame_length must be a scalar") : null;
                bool onesided = Int("onesided", 1) != 0;
                if (Has(2))
                {
                    var window = CastTo(In(2), signal.Spec.DType);
                    return Traced(t => Ops.Stft(t[0], step, t[1], length, onesided), signal, window);
                }
                return Traced(t => Ops.Stft(t[0], step, null, length, onesided), signal);
            });
        }
    }
}
