using DualFramework.Backends;
using DualFramework.Losses;
using DualFramework.NN;
using DualFramework.Optim;
using DualFramework.Training;
using FluentAssertions;
using NUnit.Framework;

namespace DualFramework.Tests.Core;

/// <summary>Issue #16, item 4: Tensor instance methods are thin over <see cref="Ops"/>; disposal of trainers, modules and
/// registry-created backends.</summary>
[TestFixture]
public class OwnershipAndTensorMethodTests
{
    private static Tensor Rand(int seed, params long[] shape)
    {
        var rng = new SeededRandom(seed);
        var n = new Shape(shape).NumElements;
        return Tensor.FromArray(Enumerable.Range(0, (int)n).Select(_ => (float)(rng.Normal() + 2)).ToArray(), new Shape(shape));
    }

    private static IEnumerable<TestCaseData> Cases()
    {
        (string, Func<Tensor, Tensor, Tensor>, Func<Tensor, Tensor, Tensor>)[] cases =
        [
            ("Add", (a, b) => a.Add(b), Ops.Add), ("AddScalar", (a, _) => a.Add(1.5), (a, _) => Ops.Add(a, 1.5)),
            ("Sub", (a, b) => a.Sub(b), Ops.Sub), ("SubScalar", (a, _) => a.Sub(0.25), (a, _) => Ops.Sub(a, 0.25)),
            ("Mul", (a, b) => a.Mul(b), Ops.Mul), ("MulScalar", (a, _) => a.Mul(-3), (a, _) => Ops.Mul(a, -3)),
            ("Div", (a, b) => a.Div(b), Ops.Div), ("DivScalar", (a, _) => a.Div(7), (a, _) => Ops.Div(a, 7)),
            ("Pow", (a, _) => a.Pow(1.5), (a, _) => Ops.Pow(a, 1.5)),
            ("Matmul", (a, b) => a.Matmul(b.Transpose()), (a, b) => Ops.MatMul(a, Ops.Transpose(b))),
            ("Neg", (a, _) => a.Neg(), (a, _) => Ops.Neg(a)), ("Abs", (a, _) => a.Sub(2).Abs(), (a, _) => Ops.Abs(Ops.Sub(a, 2))),
            ("Exp", (a, _) => a.Exp(), (a, _) => Ops.Exp(a)), ("Log", (a, _) => a.Abs().Log(), (a, _) => Ops.Log(Ops.Abs(a))),
            ("Sqrt", (a, _) => a.Abs().Sqrt(), (a, _) => Ops.Sqrt(Ops.Abs(a))), ("Tanh", (a, _) => a.Tanh(), (a, _) => Ops.Tanh(a)),
            ("Sigmoid", (a, _) => a.Sigmoid(), (a, _) => Ops.Sigmoid(a)), ("Relu", (a, _) => a.Sub(2).Relu(), (a, _) => Ops.Relu(Ops.Sub(a, 2))),
            ("Clamp", (a, _) => a.Clamp(1, 3), (a, _) => Ops.Clamp(a, 1, 3)),
            ("Softmax", (a, _) => a.Softmax(0), (a, _) => Ops.Softmax(a, 0)), ("LogSoftmax", (a, _) => a.LogSoftmax(), (a, _) => Ops.LogSoftmax(a)),
            ("Sum", (a, _) => a.Sum(), (a, _) => Ops.Sum(a)), ("SumAxis", (a, _) => a.Sum(1, keepDims: true), (a, _) => Ops.Sum(a, 1, true)),
            ("Mean", (a, _) => a.Mean(), (a, _) => Ops.Mean(a)), ("MeanAxis", (a, _) => a.Mean(0), (a, _) => Ops.Mean(a, 0)),
            ("Max", (a, _) => a.Max([1]), (a, _) => Ops.Max(a, [1])), ("Min", (a, _) => a.Min(), (a, _) => Ops.Min(a)),
            ("ArgMax", (a, _) => a.ArgMax(1), (a, _) => Ops.ArgMax(a, 1)),
            ("Reshape", (a, _) => a.Reshape(4, -1), (a, _) => Ops.Reshape(a, 4, -1)), ("Flatten", (a, _) => a.Flatten(), (a, _) => Ops.Flatten(a, 0)),
            ("Transpose", (a, _) => a.Transpose(0, 1), (a, _) => Ops.Transpose(a, 0, 1)), ("Permute", (a, _) => a.Permute(1, 0), (a, _) => Ops.Permute(a, 1, 0)),
            ("Unsqueeze", (a, _) => a.Unsqueeze(1), (a, _) => Ops.Unsqueeze(a, 1)), ("Squeeze", (a, _) => a.Unsqueeze(0).Squeeze(), (a, _) => Ops.Squeeze(Ops.Unsqueeze(a, 0))),
            ("To", (a, _) => a.To(DType.Float64), (a, _) => Ops.Cast(a, DType.Float64)),
        ];
        foreach (var (name, method, op) in cases) yield return new TestCaseData(method, op).SetName($"Tensor_{name}_equals_the_Ops_call");
    }

    [TestCaseSource(nameof(Cases))]
    public void Instance_method_equals_the_static_op(Func<Tensor, Tensor, Tensor> method, Func<Tensor, Tensor, Tensor> op)
    {
        using var s = TensorScope.Begin();
        var a = Rand(1, 6, 4);
        var b = Rand(2, 6, 4);
        var got = method(a, b);
        var want = op(a, b);
        got.Spec.Should().Be(want.Spec);
        // The same kernel on the same operands: bit-identical.
        got.ToDoubleArray().Should().Equal(want.ToDoubleArray());
    }

    [Test]
    public void Fluent_chain_matches_a_hand_computed_value()
    {
        using var s = TensorScope.Begin();
        var x = Tensor.FromArray(new float[] { 1, 2, 3, 4 }, new Shape(2, 2));
        var w = Tensor.FromArray(new float[] { 1, 0, 0, 2 }, new Shape(2, 2));
        // [[1,2],[3,4]]·diag(1,2) = [[1,4],[3,8]]; +1 → [[2,5],[4,9]]; sum 20.
        x.Matmul(w).Add(1).Sum().Item().Should().Be(20);
        x.Reshape(4).Mean().Item().Should().Be(2.5);
    }

    [Test]
    public void Disposed_trainer_frees_its_steps_and_refuses_further_use()
    {
        using var s = TensorScope.Begin();
        using var model = new Sequential(new Linear(3, 2, rng: new SeededRandom(1)));
        using var opt = new Sgd(model.Parameters(), 0.1);
        var trainer = new Trainer(model);
        trainer.Compile(opt, new CrossEntropyLoss());
        trainer.TrainStep(Tensor.FromArray(new float[] { 1, 2, 3 }, new Shape(1, 3)), Tensor.FromArray(new long[] { 1 }));
        trainer.Dispose();
        trainer.Dispose();
        FluentActions.Invoking(() => trainer.TrainStep(Tensor.FromArray(new float[] { 1, 2, 3 }, new Shape(1, 3)), Tensor.FromArray(new long[] { 1 })))
            .Should().Throw<ObjectDisposedException>();
        // The model and optimizer belong to the caller and stay usable.
        model.Call(Tensor.FromArray(new float[] { 1, 2, 3 }, new Shape(1, 3))).Shape.Should().Be(new Shape(1, 2));
    }

    private sealed class Owner : Module
    {
        public int Disposals { get; private set; }

        public Owner() => RegisterParameter("w", Tensor.FromArray(new float[] { 1, 2 }));

        protected override void Dispose(bool disposing)
        {
            Disposals++;
            base.Dispose(disposing);
        }
    }

    [Test]
    public void Module_dispose_runs_the_override_once_and_frees_the_variables()
    {
        var m = new Owner();
        var w = m.Parameters().Single();
        m.Dispose();
        m.Dispose();
        m.Disposals.Should().Be(1);
        w.Value.IsDisposed.Should().BeTrue();
    }

    [Test]
    public void Registry_disposes_the_backends_it_created()
    {
        const string name = "graph-dispose-test";
        BackendRegistry.Register(name, () => new DualFramework.OnnxRuntime.GraphBackend());
        var first = BackendRegistry.Get(name);
        using (BackendRegistry.Use(first))
        {
            BackendRegistry.Dispose(name).Should().BeTrue();
            BackendRegistry.Default.Should().NotBeSameAs(first, "this thread's override was the disposed backend");
        }
        BackendRegistry.Dispose(name).Should().BeFalse("it is forgotten");
        var second = BackendRegistry.Get(name);
        second.Should().NotBeSameAs(first);
        BackendRegistry.Loaded.Should().Contain(second).And.NotContain(first);
        BackendRegistry.Dispose(name).Should().BeTrue();
    }
}
