using DualFramework.Autodiff;
using DualFramework.Backends;
using DualFramework.IR;
using DualFramework.Losses;
using DualFramework.NN;
using DualFramework.OnnxRuntime;
using DualFramework.Operators;
using DualFramework.Tests.Support;
using FluentAssertions;
using NUnit.Framework;

namespace DualFramework.Tests.IR;

/// <summary>The graph backend's two forms of a recurrent op in a compiled step (<see cref="RecurrentLowering"/>): ONNX
/// Runtime's fused node and the cell unrolled in the graph give the same losses and gradients, and
/// <see cref="RecurrentLowering.Auto"/> unrolls training steps only.</summary>
[TestFixture]
public class RecurrentLoweringTests
{
    private const int B = 3, T = 5, I = 4, H = 6, Classes = 3;

    /// <summary>Recurrent layer → last step → linear, as the TextLstm sample.</summary>
    private sealed class Net : Module
    {
        private readonly RecurrentLayer _rnn;
        private readonly Linear _head;

        public Net(string kind, int layers, bool bidirectional)
        {
            var rng = new SeededRandom(5);
            _rnn = RegisterModule("rnn", kind switch
            {
                "lstm" => (RecurrentLayer)new LSTM(I, H, layers, batchFirst: true, bidirectional: bidirectional, rng: rng),
                "gru" => new GRU(I, H, layers, batchFirst: true, bidirectional: bidirectional, rng: rng),
                _ => new RNN(I, H, layers, batchFirst: true, bidirectional: bidirectional, rng: rng),
            });
            _head = RegisterModule("head", new Linear(_rnn.Directions * H, Classes, rng: rng));
        }

        public override Tensor Forward(Tensor input)
        {
            var y = _rnn.Forward(input);
            return _head.Forward(Ops.Squeeze(Ops.Slice(y, 1, T - 1, T), 1));
        }
    }

    private sealed class Run : IDisposable
    {
        private readonly GraphBackend _backend;
        private readonly Net _net;
        private readonly Variable[] _params;
        private readonly CompiledFunction _step;

        public Run(RecurrentLowering lowering, string kind, int layers, bool bidirectional)
        {
            _backend = new GraphBackend { RecurrentLowering = lowering };
            using var use = BackendRegistry.Use(_backend);
            _net = new Net(kind, layers, bidirectional);
            _params = _net.Parameters().ToArray();
            var loss = new CrossEntropyLoss();
            _step = new CompiledFunction(args =>
            {
                var l = loss.Compute(_net.Call(args[0]), args[1]);
                return [l, .. Autograd.Grad([l], _params.Select(p => p.Value).ToArray()).Select(g => g!)];
            }, _params, model: _net, name: "loss_and_grads");
        }

        public Graph Compiled => ((OrtExecutable)_step.LastExecutable!).Graph;

        /// <summary>The loss and the gradients of one step, after which the parameters move by SGD (lr 0.5) on the host.</summary>
        public float[][] Step(int seed)
        {
            using var use = BackendRegistry.Use(_backend);
            using var scope = TensorScope.Begin();
            var x = Tensor.FromArray(GradCheckInputs(seed, B * T * I), new Shape(B, T, I));
            var y = Tensor.FromArray(Enumerable.Range(0, B).Select(i => (long)((i + seed) % Classes)).ToArray(), new Shape(B));
            var results = _step.Call(x, y);
            using (Autograd.NoGrad())
                for (int i = 0; i < _params.Length; i++) _params[i].Assign(Ops.Sub(_params[i].Value, Ops.Mul(results[i + 1], 0.5)));
            return results.Select(r => r.ToFloatArray()).ToArray();
        }

        public void Dispose()
        {
            _step.Dispose();
            _net.Dispose();
            _backend.Dispose();
        }
    }

    private static float[] GradCheckInputs(int seed, int n)
    {
        var r = new Random(seed);
        return Enumerable.Range(0, n).Select(_ => (float)(2 * r.NextDouble() - 1)).ToArray();
    }

    [TestCase("lstm", 1, false)]
    [TestCase("lstm", 2, true)]
    [TestCase("gru", 1, false)]
    [TestCase("rnn", 1, true)]
    public void Unrolled_and_fused_steps_give_the_same_losses_and_gradients(string kind, int layers, bool bidirectional)
    {
        using var fused = new Run(RecurrentLowering.Fused, kind, layers, bidirectional);
        using var unrolled = new Run(RecurrentLowering.Unrolled, kind, layers, bidirectional);
        for (int step = 0; step < 3; step++)
        {
            var want = fused.Step(step);
            var got = unrolled.Step(step);
            // Error model: float32 (ε ≈ 6e-8); the two forms sum the same products in different orders over at most a few
            // dozen terms per step and T = 5 steps, which leaves relative differences near 1e-6. The gradients are the
            // same adjoint in both, fed by the forward through the loss; 1e-5 relative (and 1e-6 absolute for entries that
            // cancel to near zero) leaves a margin of ten.
            for (int k = 0; k < want.Length; k++)
                GradCheck.AssertClose(got[k], want[k].Select(v => (double)v).ToArray(), 1e-5, 1e-6, k == 0 ? $"loss of step {step}" : $"gradient {k - 1} of step {step}");
        }
        fused.Compiled.Nodes.Should().Contain(n => n.Op is RecurrentOp, "the fused form keeps ONNX Runtime's recurrent node");
        unrolled.Compiled.Nodes.Should().NotContain(n => n.Op is RecurrentOp, "the unrolled form has none");
        // The unrolled forward merged with the gradient's recomputation of it: no product or gate activation was added
        // (only the tail the adjoint does not need: the last state, the output's concatenation).
        foreach (var op in new Op[] { OpSet.MatMul, OpSet.Linear, OpSet.Sigmoid, OpSet.Tanh })
            Count(unrolled.Compiled, op).Should().Be(Count(fused.Compiled, op), $"{op.Name} nodes");
        unrolled.Compiled.Nodes.Count.Should().BeLessThan(fused.Compiled.Nodes.Count + 4 * layers * (bidirectional ? 2 : 1),
            "a few tail nodes per layer and direction, not a second unrolled forward");
    }

    private static int Count(Graph g, Op op) => g.Nodes.Count(n => ReferenceEquals(n.Op, op));

    [Test]
    public void Auto_unrolls_training_steps_and_keeps_the_fused_node_in_forward_only_graphs()
    {
        using var training = new Run(RecurrentLowering.Auto, "lstm", 1, false);
        training.Step(0);
        training.Compiled.Nodes.Should().NotContain(n => n.Op is RecurrentOp);

        using var backend = new GraphBackend();
        using (BackendRegistry.Use(backend))
        using (var net = new Net("lstm", 1, false))
        using (var forward = new CompiledFunction(args => [net.Call(args[0])], net.Parameters(), model: net, name: "forward"))
        using (TensorScope.Begin())
        using (Autograd.NoGrad())
        {
            forward.Call(Tensor.FromArray(GradCheckInputs(0, B * T * I), new Shape(B, T, I)));
            ((OrtExecutable)forward.LastExecutable!).Graph.Nodes.Should().Contain(n => n.Op is RecurrentOp);
        }
    }
}
