using DualFramework.Autodiff;
using DualFramework.NN;
using DualFramework.Operators;
using FluentAssertions;
using NUnit.Framework;
using TorchSharp;

namespace DualFramework.Tests.OpTests;

/// <summary>pad: hand-derived and NumPy-documented values, libtorch's own padding kernels as a second reference, the
/// shape rule's errors and the PyTorch-named layers.</summary>
[TestFixture]
public class PadTests
{
    private static readonly double[] Rows = [1.0, 1.2, 2.3, 3.4, 4.5, 5.7];

    [Test]
    public void Matches_the_examples_of_the_onnx_specification()
    {
        // ONNX Pad's documented examples: data 3×2, pads [0, 2, 0, 0] (two elements before axis 1).
        using var s = TensorScope.Begin();
        var x = Tensor.FromArray(Rows, new Shape(3, 2));
        Ops.Pad(x, [0, 2], [0, 0]).ToDoubleArray().Should().Equal(0, 0, 1.0, 1.2, 0, 0, 2.3, 3.4, 0, 0, 4.5, 5.7);
        Ops.Pad(x, [0, 2], [0, 0], PadMode.Reflect).ToDoubleArray().Should().Equal(1.0, 1.2, 1.0, 1.2, 2.3, 3.4, 2.3, 3.4, 4.5, 5.7, 4.5, 5.7);
        Ops.Pad(x, [0, 2], [0, 0], PadMode.Edge).ToDoubleArray().Should().Equal(1.0, 1.0, 1.0, 1.2, 2.3, 2.3, 2.3, 3.4, 4.5, 4.5, 4.5, 5.7);
    }

    [Test]
    public void Long_reflections_and_wraps_continue_as_in_numpy()
    {
        // numpy.pad([1, 2, 3], (5, 4), 'reflect') and a torus wrap by (3, 2), derived by hand: reflection has period
        // 2(n − 1) = 4, wrapping period n = 3. (NumPy's own 'wrap' departs from a torus for pads longer than the axis.)
        using var s = TensorScope.Begin();
        var x = Tensor.FromArray(new double[] { 1, 2, 3 });
        Ops.Pad(x, [5, 4], PadMode.Reflect).ToDoubleArray().Should().Equal(2, 1, 2, 3, 2, 1, 2, 3, 2, 1, 2, 3);
        Ops.Pad(x, [3, 2], PadMode.Wrap).ToDoubleArray().Should().Equal(1, 2, 3, 1, 2, 3, 1, 2);
        Ops.Pad(x, [4, 0], PadMode.Wrap).ToDoubleArray().Should().Equal(3, 1, 2, 3, 1, 2, 3);
        Ops.Pad(Tensor.FromArray(new double[] { 7 }), [2, 1], PadMode.Reflect).ToDoubleArray().Should().Equal(7, 7, 7, 7);
    }

    [Test]
    public void Negative_amounts_crop_before_padding()
    {
        using var s = TensorScope.Begin();
        var x = Tensor.FromArray(new double[] { 1, 2, 3, 4, 5 });
        Ops.Pad(x, [-2, 1], PadMode.Constant, 9).ToDoubleArray().Should().Equal(3, 4, 5, 9);
        Ops.Pad(x, [1, -3], PadMode.Edge).ToDoubleArray().Should().Equal(1, 1, 2);
        Ops.Pad(x, [-1, -1]).ToDoubleArray().Should().Equal(2, 3, 4);
        Ops.Pad(x, [-5, 0]).Shape.Should().Be(new Shape(0));
    }

    [TestCase(PadMode.Reflect, PaddingModes.Reflect)]
    [TestCase(PadMode.Edge, PaddingModes.Replicate)]
    [TestCase(PadMode.Wrap, PaddingModes.Circular)]
    [TestCase(PadMode.Constant, PaddingModes.Constant)]
    public void Agrees_with_libtorch_padding_kernels(PadMode mode, PaddingModes torchMode)
    {
        // Our torch kernel gathers per axis; libtorch's reflection/replication/circular kernels are an independent reference.
        using var s = TensorScope.Begin();
        var r = new Random(3);
        var data = Enumerable.Range(0, 2 * 3 * 4 * 5).Select(_ => (float)(r.NextDouble() * 4 - 2)).ToArray();
        long[] pads = [2, 1, 3, 0];
        double value = mode == PadMode.Constant ? 0.25 : 0; // libtorch rejects a value with the other modes
        var ours = Ops.Pad(Tensor.FromArray(data, new Shape(2, 3, 4, 5)), pads, mode, value).ToFloatArray();
        using var input = torch.tensor(data, [2, 3, 4, 5]);
        using var expected = torch.nn.functional.pad(input, pads, torchMode, value);
        ours.Should().Equal(expected.data<float>().ToArray());
    }

    [Test]
    public void Gradient_sums_every_position_an_element_was_copied_to()
    {
        // y = pad([a, b, c], (2, 1), edge) = [a, a, a, b, c, c]: dy/da = 3 ones, dy/dc = 2, with weights w.
        using var s = TensorScope.Begin();
        var x = Tensor.FromArray(new double[] { 1, 2, 3 });
        x.RequiresGrad = true;
        var w = Tensor.FromArray(new double[] { 1, 10, 100, 1000, 10000, 100000 });
        var gx = Autograd.Grad([Ops.Sum(Ops.Mul(Ops.Pad(x, [2, 1], PadMode.Edge), w))], [x])[0]!;
        gx.ToDoubleArray().Should().Equal(111, 1000, 110000);

        // Constant pad after a crop: y = [b, c, 5, 5] from pad([a, b, c], (−1, 2)), so a gets no gradient.
        var z = Tensor.FromArray(new double[] { 1, 2, 3 });
        z.RequiresGrad = true;
        var gz = Autograd.Grad([Ops.Sum(Ops.Mul(Ops.Pad(z, [-1, 2], PadMode.Constant, 5), Tensor.FromArray(new double[] { 1, 2, 3, 4 })))], [z])[0]!;
        gz.ToDoubleArray().Should().Equal(0, 1, 2);
    }

    [Test]
    public void Shape_rule_rejects_impossible_pads()
    {
        using var s = TensorScope.Begin();
        var x = Ops.Zeros(new Shape(2, 3));
        FluentActions.Invoking(() => Ops.Pad(x, [1, 2, 3])).Should().Throw<OpException>().WithMessage("*pad*pairs*");
        FluentActions.Invoking(() => Ops.Pad(x, [-2, -2])).Should().Throw<OpException>().WithMessage("*remove more than the 3 elements of axis 1*");
        FluentActions.Invoking(() => Ops.Pad(Ops.Zeros(new Shape(2, 0)), [1, 0], PadMode.Reflect)).Should().Throw<OpException>().WithMessage("*reflect padding cannot fill axis 1*");
        FluentActions.Invoking(() => Ops.Pad(Ops.Zeros(new Shape(2), DType.Int64), [1, 0], PadMode.Constant, 0.5)).Should().Throw<OpException>().WithMessage("*0.5*int64*");
        FluentActions.Invoking(() => Ops.Pad(x, new PadAttrs([1], [1], PadMode.Constant, 0))).Should().Throw<OpException>().WithMessage("*rank-2*");
    }

    [Test]
    public void Layers_pad_the_trailing_axes_in_pytorch_order()
    {
        using var s = TensorScope.Begin();
        var x = Ops.Reshape(Ops.Arange(0, 6, 1, DType.Float32), 1, 1, 2, 3);
        var y = new ReflectionPad2d(1).Forward(x);
        y.Shape.Should().Be(new Shape(1, 1, 4, 5));
        // Rows [0 1 2], [3 4 5] reflected by one on every side.
        y.ToDoubleArray().Should().Equal(4, 3, 4, 5, 4, 1, 0, 1, 2, 1, 4, 3, 4, 5, 4, 1, 0, 1, 2, 1);
        new ZeroPad2d(1, 0, 0, 1).Forward(x).ToDoubleArray().Should().Equal(0, 0, 1, 2, 0, 3, 4, 5, 0, 0, 0, 0);
        new ReplicationPad1d(0, 2).Forward(Ops.Reshape(x, 2, 3)).ToDoubleArray().Should().Equal(0, 1, 2, 2, 2, 3, 4, 5, 5, 5);
        new ConstantPad3d([1], 2).Forward(Ops.Zeros(new Shape(1, 1, 1, 1))).Shape.Should().Be(new Shape(1, 3, 3, 3));
        FluentActions.Invoking(() => new ReflectionPad2d(1).Forward(Ops.Zeros(new Shape(3)))).Should().Throw<OpException>().WithMessage("*ReflectionPad2d expects a rank-3 or rank-4 input*");
        FluentActions.Invoking(() => new ZeroPad2d(1, 2, 3)).Should().Throw<ArgumentException>().WithMessage("*1 or 4 amounts*");
    }
}
