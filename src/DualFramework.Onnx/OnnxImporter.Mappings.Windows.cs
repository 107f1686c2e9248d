using DualFramework.IR;

namespace DualFramework.Onnx;

public static partial class OnnxImporter
{
    private sealed partial class Builder
    {
        /// <summary>HannWindow, HammingWindow, BlackmanWindow and MelWeightMatrix (opset 17): their sizes are shape inputs
        /// (known while building), so each becomes a constant computed in float64 (see <c>Ops.Windows.cs</c>).</summary>
        private void AddWindows()
        {
            Map("HannWindow", _ => WindowConst(() => Ops.HannWindow(WindowSize(), Int("periodic", 1) != 0, OutputType(), options.Backend)));
            // ONNX's Hamming coefficients are 25/46 and 21/46 (PyTorch's defaults round them to 0.54 and 0.46).
            Map("HammingWindow", _ => WindowConst(() => Ops.HammingWindow(WindowSize(), Int("periodic", 1) != 0, 25.0 / 46, 21.0 / 46, OutputType(), options.Backend)));
            Map("BlackmanWindow", _ => WindowConst(() => Ops.BlackmanWindow(WindowSize(), Int("periodic", 1) != 0, OutputType(), options.Backend)));
            Map("MelWeightMatrix", _ =>
            {
                long Count(int i) => ConstInts(i) is [var v] ? v : throw Bad($"input {i} must be a scalar");
                double Hertz(int i) => ConstScalar(i) ?? throw Bad($"missing input {i}");
                return WindowConst(() => Ops.MelWeightMatrix(Count(0), Count(1), Count(2), Hertz(3), Hertz(4), OutputType(), options.Backend));
            });
        }

        private long WindowSize()
        {
            var v = ConstInts(0);
            if (v.Length != 1) throw Bad($"size must be a scalar, got {v.Length} values");
            if (v[0] < 0 || v[0] > options.MaxTensorElements) throw Bad($"window size {v[0]} is out of range");
            return v[0];
        }

        private DType OutputType() => TensorData.DTypeOf((int)Int("output_datatype", 1), Where + " output_datatype");

        private Value WindowConst(Func<Tensor> make)
        {
            using var s = TensorScope.Begin();
            var t = make();
            return Const(t.Spec, t.ToBytes());
        }
    }
}
