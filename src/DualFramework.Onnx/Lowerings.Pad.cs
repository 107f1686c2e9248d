using DualFramework.Operators;

namespace DualFramework.Onnx;

internal static partial class Lowerings
{
    /// <summary>Lowerings of the pad family (<c>OpSet.Pad.cs</c>).</summary>
    private static void AddPad(LoweringTable t)
    {
        t.Add(OpSet.Pad, (c, a) =>
        {
            var shape = c.InSpec(0).Shape;
            int rank = shape.Rank;
            var x = c.In(0);
            if (a.IsIdentity)
            {
                c.Result(0, "Identity", [x]);
                return;
            }
            bool onnxPad = a.Mode switch
            {
                // ONNX Pad (opset 11+) takes the amounts as an input; negative ones are cropped with Slice first below.
                PadMode.Constant => true,
                // edge needs a non-empty axis and no cropping; reflect also needs pads shorter than the axis (ONNX
                // Runtime does not reflect repeatedly); wrap needs opset 19. Other cases gather, as the torch kernel does.
                PadMode.Edge => Enumerable.Range(0, rank).All(i => a.Begin[i] >= 0 && a.End[i] >= 0),
                PadMode.Reflect => Enumerable.Range(0, rank).All(i => a.Begin[i] >= 0 && a.End[i] >= 0 && a.Begin[i] < shape[i] && a.End[i] < shape[i]),
                _ => false,
            };
            if (!onnxPad)
            {
                for (int axis = 0; axis < rank; axis++)
                {
                    if (a.Begin[axis] == 0 && a.End[axis] == 0) continue;
                    x = c.Op("Gather", [x, c.Ints(a.SourceIndices(axis, shape[axis]))], OnnxAttr.Int("axis", axis));
                }
                c.Set(0, x);
                return;
            }
            if (a.Begin.Any(v => v < 0) || a.End.Any(v => v < 0))
            {
                var axes = Enumerable.Range(0, rank).Where(i => a.Begin[i] < 0 || a.End[i] < 0).ToArray();
                var starts = axes.Select(i => Math.Max(-a.Begin[i], 0)).ToArray();
                var ends = axes.Select(i => shape[i] - Math.Max(-a.End[i], 0)).ToArray();
                x = c.Op("Slice", [x, c.Ints(starts), c.Ints(ends), c.Ints(axes)]);
            }
            var pads = a.Begin.Select(v => Math.Max(v, 0)).Concat(a.End.Select(v => Math.Max(v, 0))).ToArray();
            if (pads.All(v => v == 0))
            {
                c.Set(0, x);
                return;
            }
            string mode = a.Mode switch { PadMode.Reflect => "reflect", PadMode.Edge => "edge", _ => "constant" };
            string[] inputs = a.Mode == PadMode.Constant ? [x, c.Ints(pads), c.Scalar(a.Value, c.InSpec(0).DType)] : [x, c.Ints(pads)];
            c.Result(0, "Pad", inputs, OnnxAttr.String("mode", mode));
        });
    }
}
