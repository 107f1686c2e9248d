using DualFramework.Operators;

namespace DualFramework.Onnx;

internal static partial class Lowerings
{
    /// <summary>Lowerings of the conv family (<c>OpSet.Conv.cs</c>).</summary>
    private static void AddConv(LoweringTable t)
    {
        t.Add(OpSet.Conv, (c, a) =>
        {
            var (ins, cd) = Widened(c);
            var y = c.Op("Conv", ins, OnnxAttr.Ints("strides", a.Stride), OnnxAttr.Ints("pads", Pads(a.Padding)), OnnxAttr.Ints("dilations", a.Dilation), OnnxAttr.Int("group", a.Groups));
            Finish(c, 0, y, cd);
        });
        t.Add(OpSet.ConvTranspose, (c, a) =>
        {
            var (ins, cd) = Widened(c);
            var y = c.Op("ConvTranspose", ins, OnnxAttr.Ints("strides", a.Stride), OnnxAttr.Ints("pads", Pads(a.Padding)), OnnxAttr.Ints("dilations", a.Dilation),
                OnnxAttr.Int("group", a.Groups), OnnxAttr.Ints("output_padding", a.OutputPadding));
            Finish(c, 0, y, cd);
        });
    }
}
