using DualFramework.NN;
using FluentAssertions;
using NUnit.Framework;

namespace DualFramework.Tests.NN;

/// <summary>The ITransformableLayer hooks of Linear and Conv: applied to input and weight, registered as named children
/// without renaming the layer's own variables, in the layer's mode, attached once, shape-checked.</summary>
[TestFixture]
public class LayerTransformTests
{
    // Multiplies its operand by a constant and has a buffer so the state dict shows where it lives.
    private sealed class Scale : Module
    {
        private readonly double _factor;
        public Scale(double factor)
        {
            _factor = factor;
            RegisterBuffer("state", Ops.Zeros(Shape.Scalar));
        }
        public override Tensor Forward(Tensor input) => Ops.Mul(input, _factor);
    }

    private sealed class Reshaper : Module
    {
        public override Tensor Forward(Tensor input) => Ops.Reshape(input, [-1]);
    }

    [Test]
    public void Linear_transforms_its_input_and_weight_and_keeps_variable_names()
    {
        using var s = TensorScope.Begin();
        using var net = new Sequential(new Linear(3, 2, rng: new SeededRandom(1)));
        var lin = (Linear)net[0];
        var x = Tensor.FromArray(new float[] { 1, -2, 0.5f }, new Shape(1, 3));
        var plain = lin.Call(x).ToFloatArray();
        lin.SetTransforms(new Scale(2), new Scale(3));
        var w = lin.Weight.Value.ToFloatArray();
        var b = lin.Bias!.Value.ToFloatArray();
        var y = lin.Call(x).ToFloatArray();
        var xs = new[] { 1.0, -2, 0.5 };
        for (int o = 0; o < 2; o++)
        {
            double expected = b[o];
            for (int i = 0; i < 3; i++) expected += 2 * xs[i] * 3 * w[o * 3 + i];
            y[o].Should().BeApproximately((float)expected, 1e-5f);
            y[o].Should().NotBe(plain[o]);
        }
        net.StateDict().Keys.Should().Equal("0.weight", "0.bias", "0.input_transform.state", "0.weight_transform.state");
        net.Parameters().Should().HaveCount(2);
    }

    [Test]
    public void Conv2d_transforms_apply_and_follow_the_layer_mode()
    {
        using var s = TensorScope.Begin();
        using var conv = new Conv2d(1, 2, 3, padding: 1, rng: new SeededRandom(2));
        var x = Ops.RandomNormal(new Shape(1, 1, 4, 4), seed: 3);
        var plain = conv.Call(x).ToFloatArray();
        conv.Eval();
        // Scaling the weight by 0.5 and the input by 4 doubles the convolution, bias aside.
        var input = new Scale(4);
        conv.SetTransforms(input, new Scale(0.5));
        input.Training.Should().BeFalse("attached transforms take the layer's mode");
        var y = conv.Call(x).ToFloatArray();
        var b = conv.Bias!.Value.ToFloatArray();
        for (int i = 0; i < y.Length; i++)
        {
            float bias = b[i / 16];
            (y[i] - bias).Should().BeApproximately(2 * (plain[i] - bias), 1e-4f);
        }
        conv.Train();
        input.Training.Should().BeTrue();
    }

    [Test]
    public void Transforms_attach_once_and_must_keep_the_operand_spec()
    {
        using var s = TensorScope.Begin();
        using var lin = new Linear(3, 2, rng: new SeededRandom(1));
        lin.SetTransforms(null, new Scale(1));
        lin.InputTransform.Should().BeNull();
        var again = () => lin.SetTransforms(null, new Scale(2));
        again.Should().Throw<InvalidOperationException>().WithMessage("*weight transform is already set*");
        lin.SetTransforms(new Reshaper(), null);
        var call = () => lin.Call(Tensor.FromArray(new float[6], new Shape(2, 3)));
        call.Should().Throw<OpException>().WithMessage("*Reshaper must keep*");
    }
}
