using DualFramework.Backends;
using DualFramework.Operators;
using FluentAssertions;
using NUnit.Framework;

namespace DualFramework.Tests.Core;

/// <summary>A backend with no kernels: proves that rules reject bad operands before any backend code runs.</summary>
internal sealed class ExplodingBackend : IComputeBackend
{
    public int Executions;
    public string Name => "exploding";
    public Device Device => Device.Cpu;
    public bool Supports(Op op) => false;
    public INativeAutograd? NativeAutograd => null;

    public object Execute(Op op, OpAttrs attrs, ReadOnlySpan<Tensor> inputs, TensorSpec[] outputs)
    {
        Executions++;
        throw new InvalidOperationException("backend reached");
    }

    public object FromBytes(ReadOnlySpan<byte> data, TensorSpec spec) => new byte[data.Length];
    public void ToBytes(object handle, TensorSpec spec, Span<byte> destination) => ((byte[])handle).CopyTo(destination);
}

[TestFixture]
public class ErrorTests
{
    [Test]
    public void Shape_mismatch_is_reported_by_core_before_the_backend_runs()
    {
        var b = new ExplodingBackend();
        var x = Tensor.FromArray(new float[6], new Shape(2, 3), b);
        var y = Tensor.FromArray(new float[2], new Shape(2), b);
        var act = () => Ops.Add(x, y);
        var e = act.Should().Throw<OpException>().Which;
        e.Op.Should().Be("add");
        e.Message.Should().Contain("float32[2, 3]").And.Contain("float32[2]").And.Contain("cannot be broadcast");
        b.Executions.Should().Be(0);
    }

    [Test]
    public void Errors_name_the_layer_path()
    {
        var b = new ExplodingBackend();
        var x = Tensor.FromArray(new float[6], new Shape(2, 3), b);
        using (LayerPath.Enter("encoder"))
        using (LayerPath.Enter("fc1"))
        {
            var act = () => Ops.Reshape(x, 4, 2);
            var e = act.Should().Throw<OpException>().Which;
            e.LayerPath.Should().Be("encoder.fc1");
            e.Message.Should().StartWith("reshape in layer 'encoder.fc1'");
        }
        LayerPath.Current.Should().BeNull();
        b.Executions.Should().Be(0);
    }

    [Test]
    public void Wrong_arguments_are_rejected()
    {
        var b = new ExplodingBackend();
        var x = Tensor.FromArray(new float[6], new Shape(2, 3), b);
        ((Action)(() => Ops.Sum(x, 2))).Should().Throw<OpException>().WithMessage("*axis 2 is out of range for rank 2*");
        ((Action)(() => Ops.Sum(x, [0, -2]))).Should().Throw<OpException>().WithMessage("*repeated*");
        ((Action)(() => Ops.Reshape(x, -1, -1))).Should().Throw<OpException>().WithMessage("*more than one -1*");
        ((Action)(() => Ops.Reshape(x, -2, 3))).Should().Throw<OpException>().WithMessage("*negative dimension*");
        ((Action)(() => Ops.Permute(x, 0, 0))).Should().Throw<OpException>().WithMessage("*not a permutation*");
        ((Action)(() => Ops.Slice(x, 1, 0, 3, 0))).Should().Throw<OpException>().WithMessage("*step 0 must be positive*");
        ((Action)(() => Ops.Clamp(x, 1, 0))).Should().Throw<OpException>().WithMessage("*min 1 is greater than max 0*");
        ((Action)(() => Ops.Softplus(x, beta: 0))).Should().Throw<OpException>().WithMessage("*beta must be positive*");
        b.Executions.Should().Be(0);
    }

    [Test]
    public void Dtype_errors_name_the_dtypes()
    {
        var b = new ExplodingBackend();
        var flags = Tensor.FromArray(new bool[3], new Shape(3), b);
        var ints = Tensor.FromArray(new int[3], new Shape(3), b);
        ((Action)(() => Ops.Neg(flags))).Should().Throw<OpException>().WithMessage("neg: bool operands are not supported*bool[3]*");
        ((Action)(() => Ops.LogicalAnd(ints, ints))).Should().Throw<OpException>().WithMessage("*needs bool operands, got int32*");
        ((Action)(() => Dispatcher.Apply(OpSet.Add, OpAttrs.None, ints, flags))).Should().Throw<OpException>().WithMessage("*dtypes differ (int32 vs bool)*");
        ((Action)(() => Ops.Where(ints, ints, ints))).Should().Throw<OpException>().WithMessage("*condition must be bool*");
        b.Executions.Should().Be(0);
    }

    [Test]
    public void Operands_on_different_backends_are_rejected()
    {
        var b = new ExplodingBackend();
        using var s = TensorScope.Begin();
        var x = Tensor.FromArray(new float[3], new Shape(3), b);
        var y = Tensor.FromArray(new float[3], new Shape(3));
        ((Action)(() => Ops.Add(y, x))).Should().Throw<OpException>().WithMessage("*different backends ('torch' and 'exploding')*");
    }

    [Test]
    public void Host_data_that_does_not_fit_the_shape_is_rejected()
    {
        var b = new ExplodingBackend();
        ((Action)(() => Tensor.FromArray(new float[5], new Shape(2, 3), b))).Should().Throw<ArgumentException>().WithMessage("*5 elements*6*");
        ((Action)(() => Tensor.FromBytes(new byte[7], new TensorSpec(new Shape(2), DType.Float32), b))).Should().Throw<ArgumentException>();
    }
}
