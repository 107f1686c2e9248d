using DualFramework.Autodiff;
using DualFramework.IR;
using DualFramework.IR.Passes;
using DualFramework.Losses;
using DualFramework.NN;
using DualFramework.Optim;
using FluentAssertions;
using NUnit.Framework;
using static DualFramework.Tests.IR.IRTestSupport;

namespace DualFramework.Tests.IR;


[TestFixture]
public class TracingTests
{
    private static Sequential Mlp(int seed) =>
        new(new Linear(6, 12, rng: new SeededRandom(seed)), new ReLU(), new Linear(12, 3, rng: new SeededRandom(seed + 1)));

    [Test]
    public void Traced_mlp_forward_equals_eager()
    {
        using var s = TensorScope.Begin();
        using var model = Mlp(1);
        model.Eval();
        using var f = new CompiledFunction(a => [model.Call(a[0])], model.NamedVariables().Values, model: model, name: "mlp");
        var x = T(5, 4, 6);
        var eager = model.Call(x).ToFloatArray();
        var traced = f.Call(x)[0].ToFloatArray();
        ShouldMatch([traced], [eager]);
        f.TraceCount.Should().Be(1);
        f.LastTracedGraph!.Verify();
        f.LastGraph!.Verify();
        f.LastTracedGraph!.Dump().Should().Contain("linear(").And.Contain("relu(").And.Contain("0.weight");
        // A second call reuses the compiled graph.
        ShouldMatch([f.Call(x)[0].ToFloatArray()], [eager]);
        f.TraceCount.Should().Be(1);
    }

    [Test]
    public void Traced_op_mix_equals_eager()
    {
        using var s = TensorScope.Begin();
        static Tensor[] Fn(Tensor[] a)
        {
            var x = a[0];
            var y = Ops.Add(Ops.Mul(Ops.Exp(Ops.Tanh(x)), 2.0), Ops.Reshape(Ops.Sum(Ops.Reshape(Ops.Permute(x, 1, 0), 3, 4), [0]), 4, 1));
            var z = Ops.Where(Ops.Greater(x, 0.1), Ops.Softmax(x, 1), Ops.Neg(x));
            return [y, Ops.Concat([z, Ops.Sqrt(Ops.Abs(x))], 0), Ops.ArgMax(x, 1)];
        }
        using var f = new CompiledFunction(Fn);
        var x = T(7, 4, 3);
        var eager = Fn([x]);
        var traced = f.Call(x);
        ShouldMatch(traced[..2].Select(t => t.ToFloatArray()).ToArray(), eager[..2].Select(t => t.ToFloatArray()).ToArray());
        traced[2].ToArray<long>().Should().Equal(eager[2].ToArray<long>());
        f.LastTracedGraph!.Verify();
    }

    [Test]
    public void Retraces_on_new_shape_dtype_or_training_flag_and_hits_the_cache_otherwise()
    {
        using var s = TensorScope.Begin();
        using var model = new Sequential(new Linear(3, 2, rng: new SeededRandom(3)), new Dropout(0.5));
        using var f = new CompiledFunction(a => [model.Call(Ops.Cast(a[0], DType.Float32))], model.NamedVariables().Values, model: model);
        model.Eval();
        f.Call(T(1, 2, 3));
        f.Call(T(2, 2, 3));
        f.TraceCount.Should().Be(1);
        f.Call(T(3, 5, 3));
        f.TraceCount.Should().Be(2, "new batch size");
        f.Call(Ops.Cast(T(3, 5, 3), DType.Float64));
        f.TraceCount.Should().Be(3, "new dtype");
        model.Train();
        f.Call(T(3, 5, 3));
        f.TraceCount.Should().Be(4, "training flag");
        f.LastTracedGraph!.Dump().Should().Contain("dropout(");
        model.Eval();
        f.Call(T(4, 5, 3));
        f.TraceCount.Should().Be(4, "cached");
    }

    [Test]
    public void Reading_a_symbolic_value_fails_with_guidance()
    {
        using var s = TensorScope.Begin();
        using var f = new CompiledFunction(a => [a[0].Item() > 0 ? a[0] : Ops.Neg(a[0])]);
        var act = () => f.Call(Tensor.Scalar(1f, TorchB));
        act.Should().Throw<SymbolicValueException>().WithMessage("*symbolic tensor*traced function*Ops.Where*static sizes*");
    }

    [Test]
    public void Wrong_arguments_name_the_declared_signature()
    {
        using var s = TensorScope.Begin();
        var sig = new[] { new TensorSpec(new Shape(1, 4), DType.Float32) };
        using var f = new CompiledFunction(a => [Ops.Relu(a[0])], signature: sig, name: "act");
        f.Call(T(1, 8, 4)).Should().HaveCount(1);
        FluentActions.Invoking(() => f.Call(T(1, 8, 4), T(2, 8, 4))).Should().Throw<ArgumentException>().WithMessage("*act expects (float32[1, 4])*1 argument(s), got 2*");
        FluentActions.Invoking(() => f.Call(T(1, 8))).Should().Throw<ArgumentException>().WithMessage("*argument 0 must be float32[1, 4]*rank 2*got float32[8]*");
        FluentActions.Invoking(() => f.Call(Ops.Cast(T(1, 8, 4), DType.Float64))).Should().Throw<ArgumentException>().WithMessage("*got float64[8, 4]*");
    }

    [Test]
    public void Op_errors_while_tracing_carry_op_and_layer_path()
    {
        using var s = TensorScope.Begin();
        using var lin = new Linear(4, 2, rng: new SeededRandom(1));
        using var f = new CompiledFunction(a => [Ops.MatMul(lin.Call(a[0]), a[0])], lin.NamedVariables().Values, name: "bad");
        FluentActions.Invoking(() => f.Call(T(1, 3, 4))).Should().Throw<OpException>().WithMessage("*matmul*bad*");
    }

    [Test]
    public void Concrete_tensors_captured_from_outside_become_constants()
    {
        using var s = TensorScope.Begin();
        var w = T(11, 3, 3);
        using var f = new CompiledFunction(a => [Ops.Add(Ops.MatMul(a[0], w), 1.5)]);
        var x = T(12, 2, 3);
        var traced = f.Call(x)[0].ToFloatArray();
        ShouldMatch([traced], [Ops.Add(Ops.MatMul(x, w), 1.5).ToFloatArray()]);
        f.LastTracedGraph!.Constants.Should().Contain(c => c.Spec == w.Spec);
        f.LastTracedGraph!.Inputs.Should().HaveCount(1);
    }

    [Test]
    public void Assigning_a_variable_outside_the_state_list_is_reported()
    {
        using var s = TensorScope.Begin();
        using var v = new Variable(Ops.Zeros(new Shape(2), backend: TorchB).DetachFromScope(), false, "counter");
        using var f = new CompiledFunction(a => { v.Assign(Ops.Add(a[0], 1.0)); return [a[0]]; });
        FluentActions.Invoking(() => f.Call(T(1, 2))).Should().Throw<InvalidOperationException>().WithMessage("*'counter'*not part of the function's state*");
        v.Value.IsDisposed.Should().BeFalse();
        v.Value.Backend.Name.Should().Be("torch");
    }

    [Test]
    public void State_variables_are_updated_functionally()
    {
        using var s = TensorScope.Begin();
        using var acc = new Variable(Ops.Zeros(new Shape(3), backend: TorchB).DetachFromScope(), false, "acc");
        using var f = new CompiledFunction(a => { acc.Assign(Ops.Add(acc.Value, a[0])); return [Ops.Sum(acc.Value)]; }, [acc]);
        var x = Tensor.FromArray(new float[] { 1, 2, 3 }, new Shape(3), TorchB);
        f.Call(x)[0].Item().Should().Be(6);
        f.Call(x)[0].Item().Should().Be(12);
        acc.Value.ToArray<float>().Should().Equal(2, 4, 6);
        f.TraceCount.Should().Be(1);
        f.LastGraph!.Outputs.Should().HaveCount(2);
    }

    // No bias before the batch norm: its gradient is zero up to rounding noise, which Adam would normalise into
    // ±lr steps of arbitrary sign, so it could not be compared between two gradient engines.
    private static Sequential BnMlp(int seed) =>
        new(new Linear(6, 16, bias: false, rng: new SeededRandom(seed)), new BatchNorm1d(16), new ReLU(), new Linear(16, 3, rng: new SeededRandom(seed + 1)));

    [Test]
    public void Stateless_train_step_matches_eager_training_for_20_steps()
    {
        using var s = TensorScope.Begin();
        using var eagerModel = BnMlp(21);
        using var tracedModel = BnMlp(21);
        using var eagerOpt = new Adam(eagerModel.Parameters(), 1e-2);
        using var tracedOpt = new Adam(tracedModel.Parameters(), 1e-2);
        var lr = new CosineLr(20);
        eagerModel.Train();
        tracedModel.Train();
        using var step = new CompiledFunction(a =>
        {
            tracedOpt.ZeroGrad();
            var logits = tracedModel.Call(a[0]);
            var loss = LossFunctions.CrossEntropy(logits, a[1]);
            loss.Backward();
            tracedOpt.Step();
            var acc = Ops.Mean(Ops.Cast(Ops.Equal(Ops.ArgMax(logits, 1), a[1]), DType.Float32));
            return [loss, acc];
        }, tracedModel.NamedVariables().Values, model: tracedModel, name: "train_step");

        var graphs = new List<Graph>();
        for (int i = 0; i < 20; i++)
        {
            using var it = TensorScope.Begin();
            var x = T(100 + i, 8, 6);
            var y = Tensor.FromArray(Enumerable.Range(0, 8).Select(k => (long)((k + i) % 3)).ToArray(), new Shape(8), TorchB);
            eagerOpt.LearningRate = tracedOpt.LearningRate = lr.At(i, 1e-2);
            eagerOpt.ZeroGrad();
            var eagerLoss = LossFunctions.CrossEntropy(eagerModel.Call(x), y);
            eagerLoss.Backward();
            eagerOpt.Step();
            int traces = step.TraceCount;
            var outs = step.Call(x, y);
            if (step.TraceCount != traces) graphs.Add(step.LastTracedGraph!);
            outs[0].Item().Should().BeApproximately(eagerLoss.Item(), 1e-5, $"loss at step {i}");
            outs[1].Item().Should().BeInRange(0, 1);
        }
        tracedOpt.StepCount.Should().Be(20);
        // The first trace creates Adam's moments (new state) without branching on their absence: one trace serves every step.
        step.TraceCount.Should().Be(1);
        foreach (var g in graphs) g.Verify();
        var eagerState = eagerModel.StateDict();
        foreach (var (name, t) in tracedModel.StateDict())
            ShouldMatch([t.ToFloatArray()], [eagerState[name].ToFloatArray()], 1e-5);
        var traced = step.LastTracedGraph!;
        traced.Dump().Should().Contain("batch_norm(").And.Contain("cross_entropy(").And.Contain("sqrt(").And.Contain("step_size");
        traced.Inputs.Select(i => i.Name).Should().Contain("0.weight").And.Contain("1.running_mean").And.Contain("0.weight.exp_avg");
        step.LastGraph!.Nodes.Count.Should().BeLessThan(traced.Nodes.Count, "the default pipeline simplifies the train step");
        TestContext.Out.WriteLine($"train step: {traced.Nodes.Count} nodes traced, {step.LastGraph!.Nodes.Count} after passes");
    }

    [Test]
    public void Sgd_learning_rate_is_a_graph_input_not_a_baked_constant()
    {
        using var s = TensorScope.Begin();
        using var w = new Variable(Tensor.FromArray(new float[] { 1, 2 }, new Shape(2), TorchB).DetachFromScope(), true, "w");
        using var opt = new Sgd([w], 0.5);
        using var f = new CompiledFunction(a =>
        {
            opt.ZeroGrad();
            var loss = Ops.Sum(Ops.Mul(w.Value, a[0]));
            loss.Backward();
            opt.Step();
            return [loss];
        }, [w]);
        var x = Tensor.FromArray(new float[] { 1, 1 }, new Shape(2), TorchB);
        f.Call(x);
        w.Value.ToArray<float>().Should().Equal(0.5f, 1.5f);
        opt.LearningRate = 0.25;
        f.Call(x);
        w.Value.ToArray<float>().Should().Equal(0.25f, 1.25f);
        f.TraceCount.Should().Be(1);
        opt.StepCount.Should().Be(2);
    }

    [Test]
    public void Interpreter_frees_intermediates_and_repeated_calls_do_not_leak()
    {
        using var outer = TensorScope.Begin();
        using var model = Mlp(4);
        model.Eval();
        using var f = new CompiledFunction(a => [Ops.Sum(Ops.Tanh(model.Call(a[0])))], model.NamedVariables().Values, model: model,
            passes: (_, _) => PassPipeline.Empty);
        var x = T(9, 16, 6);
        f.Call(x);
        int baseline = outer.Count;
        for (int i = 0; i < 1000; i++)
        {
            using var it = TensorScope.Begin();
            f.Call(x)[0].Item();
            it.Count.Should().BeLessThanOrEqualTo(2); // the result (and its float64 copy) only
        }
        outer.Count.Should().Be(baseline);
        var interp = (GraphInterpreter)f.LastExecutable!;
        interp.PeakLiveIntermediates.Should().BeLessThan(f.LastGraph!.Nodes.Count);
        model.Parameters().Should().OnlyContain(p => !p.Value.IsDisposed);
    }

    [Test]
    public void Tape_backward_inside_a_trace_lands_in_the_graph()
    {
        using var s = TensorScope.Begin();
        using var f = new CompiledFunction(a =>
        {
            var x = a[0];
            x.RequiresGrad = true;
            var y = Ops.Sum(Ops.Mul(Ops.Exp(x), x));
            return [Autograd.Grad([y], [x])[0]!];
        });
        var x = T(3, 5);
        var g = f.Call(x)[0].ToFloatArray();
        var xs = x.ToFloatArray();
        ShouldMatch([g], [xs.Select(v => (float)(Math.Exp(v) * v + Math.Exp(v))).ToArray()]);
    }
}
