using DualFramework.Backends;
using DualFramework.IR;
using DualFramework.NN;
using DualFramework.Optim;
using FluentAssertions;
using NUnit.Framework;

namespace DualFramework.Tests.IR;

/// <summary>
/// CompiledFunction with an input signature with open dims: one trace serves every size (shapes computed by the traced
/// code, a mean's 1/n in a gradient), on both backends, checked against values computed by hand in C#.
/// </summary>
[TestFixture]
public class SymbolicTracingTests
{
    private static IEnumerable<string> Backends() => ["torch", "graph"];

    private static float[] Rand(int seed, int n) => IRTestSupport.Rand(seed, n);

    [TestCaseSource(nameof(Backends))]
    public void One_trace_serves_every_batch_size(string name)
    {
        var backend = BackendRegistry.Get(name);
        using var f = new CompiledFunction(a =>
        {
            var x = a[0];
            // Sizes read by the traced code become expressions: [2·batch, 3].
            var halves = Ops.Sum(Ops.Reshape(x, x.Shape[0] * 2, 3), 1);
            return [halves, Ops.Mean(Ops.Mul(x, 2.0))];
        }, inputSignature: InputSignature.Of(new TensorSignature(DType.Float32, "batch", 6)), name: "halves");
        foreach (int b in new[] { 3, 1, 10, 3 })
        {
            using var s = TensorScope.Begin();
            var data = Rand(b, b * 6);
            var outs = f.Call(Tensor.FromArray(data, new Shape(b, 6), backend));
            outs[0].Shape.Should().Be(new Shape(2 * b));
            var halves = outs[0].ToFloatArray();
            for (int k = 0; k < 2 * b; k++) halves[k].Should().BeApproximately(data[3 * k] + data[3 * k + 1] + data[3 * k + 2], 1e-5f);
            outs[1].Item().Should().BeApproximately(2 * data.Select(v => (double)v).Average(), 1e-5);
        }
        f.TraceCount.Should().Be(1);
        f.TraceRunCount.Should().Be(1 + SymbolicGraphs.SampleCount + 2, "one trace at the first call's size, one per sample size, and one to check each other new size (1, 10)");
        f.LastGraph!.IsSymbolic.Should().BeTrue();
        f.LastGraph.Symbols.Should().ContainSingle(s => s.Name == "batch");
        var dump = f.LastGraph.Dump();
        dump.Should().Contain("symbols batch = in0.shape[0]").And.Contain("[2*batch]");
    }

    [TestCaseSource(nameof(Backends))]
    public void A_training_step_scales_its_mean_gradient_by_each_batch_size(string name)
    {
        var backend = BackendRegistry.Get(name);
        using var scope = TensorScope.Begin();
        var w = new Variable(Tensor.FromArray(new float[] { 0.5f, -1f, 2f }, new Shape(3), backend).DetachFromScope(), trainable: true, "w");
        using var opt = new Sgd([w], 0.1);
        using var step = new CompiledFunction(a =>
        {
            opt.ZeroGrad();
            var loss = Ops.Mean(Ops.Mul(a[0], w.Value)); // d/dw = Σ_b x_b / (3·batch)
            loss.Backward();
            opt.Step();
            return [loss];
        }, [w], inputSignature: InputSignature.Of(new TensorSignature(DType.Float32, null, 3)), name: "step");
        var expected = new double[] { 0.5, -1, 2 };
        foreach (int b in new[] { 4, 7, 1 })
        {
            var x = Rand(10 + b, b * 3);
            step.Call(Tensor.FromArray(x, new Shape(b, 3), backend));
            for (int j = 0; j < 3; j++)
                expected[j] -= 0.1 * Enumerable.Range(0, b).Sum(r => (double)x[r * 3 + j]) / (3.0 * b);
            w.Value.ToDoubleArray().Should().BeEquivalentTo(expected, o => o.Using<double>(c => c.Subject.Should().BeApproximately(c.Expectation, 1e-5)).WhenTypeIs<double>());
        }
        step.TraceCount.Should().Be(1);
        w.Dispose();
    }

    [Test]
    public void Arguments_must_fit_the_signature()
    {
        using var s = TensorScope.Begin();
        using var f = new CompiledFunction(a => [Ops.Add(a[0], a[1])],
            inputSignature: InputSignature.Of(new TensorSignature(DType.Float32, "n", 2), new TensorSignature(DType.Float32, "n", 2)), name: "pair");
        Tensor T(long n, long m) => Tensor.FromArray(new float[n * m], new Shape(n, m));
        FluentActions.Invoking(() => f.Call(T(3, 2), T(4, 2))).Should().Throw<ArgumentException>()
            .WithMessage("*pair expects (float32[n, 2], float32[n, 2])*dim 'n' is 3 in argument 0 (axis 0) but 4 in argument 1*");
        FluentActions.Invoking(() => f.Call(T(3, 5), T(3, 5))).Should().Throw<ArgumentException>().WithMessage("*argument 0 must be float32[n, 2], got float32[3, 5]*");
        FluentActions.Invoking(() => f.Call(T(3, 2))).Should().Throw<ArgumentException>().WithMessage("*2 argument(s), got 1*");
        FluentActions.Invoking(() => new TensorSignature(DType.Float32, 2.5)).Should().Throw<ArgumentException>().WithMessage("*size, a symbol name or null*");
        f.TraceCount.Should().Be(0);
    }

    [Test]
    public void Code_that_branches_on_a_size_gets_its_own_graph_where_the_branch_differs()
    {
        using var s = TensorScope.Begin();
        var error = new StringWriter();
        var previous = Console.Error;
        Console.SetError(error);
        try
        {
            // The sample sizes (67–79) all take the exp branch: the symbolic graph serves 2 and 5, and the guard at a new
            // size (a trace there must generalise with the samples) sends 150 to a graph of its own.
            using var f = new CompiledFunction(a => [a[0].Shape[0] > 100 ? Ops.Neg(a[0]) : Ops.Exp(a[0])],
                inputSignature: InputSignature.SymbolicBatch, name: "branchy");
            foreach (int b in new[] { 2, 5, 150, 5 })
            {
                var x = Rand(b, b);
                var want = b > 100 ? x.Select(v => -v) : x.Select(MathF.Exp);
                f.Call(Tensor.FromArray(x, new Shape(b)))[0].ToFloatArray().Should().Equal(want, (p, q) => Math.Abs(p - q) < 1e-5, $"batch {b}");
            }
            f.TraceCount.Should().Be(2, "the symbolic graph, and one for size 150");
            f.SymbolicFallbackReason.Should().Contain("exp in branchy").And.Contain("neg");
            error.ToString().Should().Contain("branchy: the symbolic graph does not serve these sizes");
        }
        finally
        {
            Console.SetError(previous);
        }
    }

    [Test]
    public void Frequent_retracing_warns_once()
    {
        using var s = TensorScope.Begin();
        var error = new StringWriter();
        var previous = Console.Error;
        int threshold = CompiledFunction.RetraceWarningThreshold;
        Console.SetError(error);
        try
        {
            CompiledFunction.RetraceWarningThreshold = 2;
            using var f = new CompiledFunction(a => [Ops.Exp(a[0])], name: "retraced");
            for (int n = 1; n <= 5; n++) f.Call(Tensor.FromArray(new float[n], new Shape(n)));
            f.TraceCount.Should().Be(5);
            error.ToString().Split("retraced was traced").Should().HaveCount(2, "one warning");
            error.ToString().Should().Contain("retraced was traced 3 times").And.Contain("InputSignature");
        }
        finally
        {
            CompiledFunction.RetraceWarningThreshold = threshold;
            Console.SetError(previous);
        }
    }

    [Test]
    public void A_symbolic_graph_rejects_inputs_outside_its_signature()
    {
        using var s = TensorScope.Begin();
        using var f = new CompiledFunction(a => [Ops.Sum(Ops.Reshape(a[0], -1, 2), 1)],
            inputSignature: InputSignature.Of(new TensorSignature(DType.Float32, "n", 4)), name: "pairs");
        f.Call(Tensor.FromArray(new float[8], new Shape(2, 4)));
        var g = f.LastGraph!;
        FluentActions.Invoking(() => g.Bind([new TensorSpec(new Shape(2, 5), DType.Float32)])).Should().Throw<SymbolicShapeException>()
            .WithMessage("*expects float32[n, 4] (with n=2), got float32[2, 5]*");
        g.Bind([new TensorSpec(new Shape(9, 4), DType.Float32)]).OutputSpecs[0].Should().Be(new TensorSpec(new Shape(18), DType.Float32));
    }
}
