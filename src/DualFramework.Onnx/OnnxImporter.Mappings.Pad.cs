using DualFramework.IR;
using DualFramework.Operators;

namespace DualFramework.Onnx;

public static partial class OnnxImporter
{
    private sealed partial class Builder
    {
        /// <summary>Pad (opsets 1–17): amounts as the <c>paddings</c> (1) or <c>pads</c> (2–10) attribute or a constant input
        /// (11+), the fill as the <c>value</c> attribute or the <c>constant_value</c> input; modes constant, reflect and
        /// edge.</summary>
        private void AddPad()
        {
            Map("Pad", _ =>
            {
                var x = In(0);
                int rank = x.Spec.Shape.Rank;
                long[] pads;
                double value = 0;
                if (opset < 11)
                {
                    pads = Ints(opset < 2 ? "paddings" : "pads") ?? throw Bad($"the {(opset < 2 ? "paddings" : "pads")} attribute is required");
                    value = Float("value", 0f);
                }
                else
                {
                    pads = ConstInts(1);
                    if (Has(2)) value = ConstScalar(2)!.Value;
                }
                if (pads.Length != 2 * rank) throw Bad($"{pads.Length} pad amounts for a rank-{rank} input (expected {2 * rank})");
                string modeName = Str("mode", "constant");
                var mode = modeName switch
                {
                    "constant" => PadMode.Constant,
                    "reflect" => PadMode.Reflect,
                    "edge" => PadMode.Edge,
                    _ => throw Bad($"mode '{modeName}' is not supported at opset {opset}"),
                };
                var attrs = new PadAttrs(pads[..rank], pads[rank..], mode, value);
                return attrs.IsIdentity ? x : Node(OpSet.Pad, attrs, x);
            });
        }
    }
}
