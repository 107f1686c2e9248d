using DualFramework.IR;
using DualFramework.IR.Passes;
using DualFramework.NN;
using DualFramework.Operators;
using FluentAssertions;
using NUnit.Framework;
using static DualFramework.Tests.IR.IRTestSupport;

namespace DualFramework.Tests.IR;

/// <summary>Each pass alone: dump before/after, verifier, and the interpreted outputs unchanged.</summary>
[TestFixture]
public class PassTests
{
    private static (string Before, string After, bool Changed) Check(Graph g, IGraphPass pass, Tensor[] inputs, double tol = 1e-5)
    {
        g.Verify();
        var before = g.Clone();
        var expected = Interpret(before, inputs);
        bool changed = pass.Run(g);
        g.Verify();
        ShouldMatch(Interpret(g, inputs), expected, tol);
        var (b, a) = (before.Dump(), g.Dump());
        TestContext.Out.WriteLine($"--- before {pass.Name}\n{b}--- after\n{a}");
        return (b, a, changed);
    }

    private static TensorSpec F(params long[] shape) => new(new Shape(shape), DType.Float32);

    [Test]
    public void Constant_folding_evaluates_constant_subgraphs_but_not_random_ops()
    {
        using var s = TensorScope.Begin();
        var g = new Graph();
        var x = g.AddInput(F(2, 3), "x");
        var c = Const(g, [1, 2, 3], 3);
        var full = g.AddNode(OpSet.Full, new FullAttrs([3], 2.0, DType.Float32), [])[0];
        var prod = g.AddNode(OpSet.Mul, OpAttrs.None, [c, full])[0];
        var e = g.AddNode(OpSet.Exp, OpAttrs.None, [prod])[0];
        var rnd = g.AddNode(OpSet.RandomUniform, new RandomUniformAttrs([3], 0, 1, DType.Float32, 7), [])[0];
        var y = g.AddNode(OpSet.Add, OpAttrs.None, [x, e])[0];
        g.AddOutput(g.AddNode(OpSet.Add, OpAttrs.None, [y, rnd])[0]);
        var (before, after, changed) = Check(g, new ConstantFolding(TorchB), [T(1, 2, 3)]);
        changed.Should().BeTrue();
        before.Should().Contain("= exp(").And.Contain("= full(");
        after.Should().NotContain("= exp(").And.NotContain("= full(").And.NotContain("= mul(").And.Contain("random_uniform(");
        g.Nodes.Should().HaveCount(3);
    }

    [Test]
    public void Constant_folding_folds_a_large_result_no_larger_than_an_operand_but_not_a_large_broadcast()
    {
        using var s = TensorScope.Begin();
        var g = new Graph();
        var x = g.AddInput(F(2, 8), "x");
        var w = Const(g, Enumerable.Range(0, 8).Select(i => (float)i).ToArray(), 2, 4);
        var scale = Const(g, [2, 3], 2, 1);
        var scaled = g.AddNode(OpSet.Mul, OpAttrs.None, [w, scale])[0]; // 8 elements, as large as w: folded
        var big = g.AddNode(OpSet.Full, new FullAttrs([2, 8], 1.0, DType.Float32), [])[0]; // 16 from nothing: kept
        var flat = g.AddNode(OpSet.Reshape, new ShapeAttrs([1, 8]), [scaled])[0];
        var y = g.AddNode(OpSet.Mul, OpAttrs.None, [x, big])[0];
        g.AddOutput(g.AddNode(OpSet.Add, OpAttrs.None, [y, flat])[0]);
        var (_, after, changed) = Check(g, new ConstantFolding(TorchB, maxElements: 4), [T(1, 2, 8)]);
        changed.Should().BeTrue();
        after.Should().Contain("= full(").And.NotContain("= reshape(");
        g.Nodes.Count(n => n.Op == OpSet.Mul).Should().Be(1, "only the product with the input is left");
    }

    [Test]
    public void Cse_merges_equal_nodes_and_constants()
    {
        using var s = TensorScope.Begin();
        var g = new Graph();
        var x = g.AddInput(F(2, 3), "x");
        var c1 = Const(g, [1, 2, 3], 3);
        var c2 = Const(g, [1, 2, 3], 3);
        var a = g.AddNode(OpSet.Sum, new ReduceAttrsProbe().Attrs, [x])[0];
        var b = g.AddNode(OpSet.Sum, new ReduceAttrsProbe().Attrs, [x])[0];
        var m1 = g.AddNode(OpSet.Mul, OpAttrs.None, [x, c1])[0];
        var m2 = g.AddNode(OpSet.Mul, OpAttrs.None, [x, c2])[0];
        var p1 = g.AddNode(OpSet.Permute, new PermuteAttrs([1, 0]), [m1])[0];
        var p2 = g.AddNode(OpSet.Permute, new PermuteAttrs([1, 0]), [m2])[0];
        g.AddOutput(g.AddNode(OpSet.Add, OpAttrs.None, [p1, p2])[0]);
        g.AddOutput(g.AddNode(OpSet.Add, OpAttrs.None, [a, b])[0]);
        var (_, after, changed) = Check(g, new CommonSubexpressionElimination(), [T(2, 2, 3)]);
        changed.Should().BeTrue();
        g.Nodes.Should().HaveCount(5);
        g.Constants.Should().HaveCount(1);
        after.Split('\n').Count(l => l.Contains("= permute(")).Should().Be(1);
    }

    private sealed class ReduceAttrsProbe
    {
        // The attrs the Ops layer builds for a full sum, obtained from a real trace (CSE compares them structurally).
        public OpAttrs Attrs
        {
            get
            {
                var g = new Graph();
                var sym = new SymbolicBackend(g, TorchB);
                var t = Tensor.FromBytes(new byte[24], F(2, 3), sym);
                DualFramework.Ops.Sum(t);
                return g.Nodes[^1].Attrs;
            }
        }
    }

    [Test]
    public void Dce_removes_nodes_that_do_not_reach_outputs()
    {
        using var s = TensorScope.Begin();
        var g = new Graph();
        var x = g.AddInput(F(4), "x");
        var dead = g.AddNode(OpSet.Exp, OpAttrs.None, [x])[0];
        g.AddNode(OpSet.Mul, OpAttrs.None, [dead, Const(g, [2, 2, 2, 2], 4)]);
        g.AddNode(OpSet.RandomNormal, new RandomNormalAttrs([4], 0, 1, DType.Float32, 3), []);
        g.AddOutput(g.AddNode(OpSet.Tanh, OpAttrs.None, [x])[0]);
        var (_, after, changed) = Check(g, new DeadCodeElimination(), [T(3, 4)]);
        changed.Should().BeTrue();
        g.Nodes.Should().ContainSingle().Which.Op.Should().Be(OpSet.Tanh);
        g.Constants.Should().BeEmpty();
        after.Should().NotContain("exp(").And.NotContain("random_normal(");
    }

    [Test]
    public void Algebraic_simplification_removes_identities()
    {
        using var s = TensorScope.Begin();
        var g = new Graph();
        var x = g.AddInput(F(2, 3), "x");
        var one = Const(g, [1], []);
        var zero = g.AddNode(OpSet.Full, new FullAttrs([3], 0, DType.Float32), [])[0];
        var v = g.AddNode(OpSet.Mul, OpAttrs.None, [x, one])[0];
        v = g.AddNode(OpSet.Mul, OpAttrs.None, [one, v])[0];
        v = g.AddNode(OpSet.Add, OpAttrs.None, [v, zero])[0];
        v = g.AddNode(OpSet.Sub, OpAttrs.None, [v, zero])[0];
        v = g.AddNode(OpSet.Div, OpAttrs.None, [v, one])[0];
        v = g.AddNode(OpSet.Cast, new CastAttrs(DType.Float32), [v])[0];
        v = g.AddNode(OpSet.Permute, new PermuteAttrs([1, 0]), [v])[0];
        v = g.AddNode(OpSet.Permute, new PermuteAttrs([1, 0]), [v])[0];
        v = g.AddNode(OpSet.Reshape, new ShapeAttrs([2, 3]), [v])[0];
        var r1 = g.AddNode(OpSet.Reshape, new ShapeAttrs([3, 2]), [v])[0];
        var r2 = g.AddNode(OpSet.Reshape, new ShapeAttrs([6]), [r1])[0];
        g.AddOutput(g.AddNode(OpSet.Exp, OpAttrs.None, [r2])[0]);
        // Broadcasting x*ones[2,3]-like: a splat that changes the shape is NOT an identity.
        var big = g.AddNode(OpSet.Mul, OpAttrs.None, [g.AddInput(F(3), "b"), Const(g, [1, 1, 1, 1, 1, 1], 2, 3)])[0];
        g.AddOutput(big);
        var (_, after, changed) = Check(g, new AlgebraicSimplification(), [T(4, 2, 3), T(5, 3)]);
        changed.Should().BeTrue();
        g.Nodes.Select(n => n.Op.Name).Should().Equal("reshape", "exp", "mul");
        g.Nodes[0].Inputs[0].Should().BeSameAs(x);
        after.Should().Contain("reshape(x)");
    }

    [Test]
    public void Linear_fusion_rewrites_matmul_plus_bias()
    {
        using var s = TensorScope.Begin();
        var g = new Graph();
        var x = g.AddInput(F(5, 4), "x");
        var w = g.AddInput(F(3, 4), "w");
        var b = g.AddInput(F(3), "b");
        var wt = g.AddNode(OpSet.Permute, new PermuteAttrs([1, 0]), [w])[0];
        var mm = g.AddNode(OpSet.MatMul, OpAttrs.None, [x, wt])[0];
        g.AddOutput(g.AddNode(OpSet.Add, OpAttrs.None, [b, mm])[0]);
        // A constant [in, out] right operand is transposed at compile time.
        var wc = Const(g, Rand(9, 12), 4, 3);
        var mm2 = g.AddNode(OpSet.MatMul, OpAttrs.None, [x, wc])[0];
        g.AddOutput(g.AddNode(OpSet.Add, OpAttrs.None, [mm2, b])[0]);
        // Not fused: the bias broadcasts along the wrong axis ([5, 1] is not [out]).
        var mm3 = g.AddNode(OpSet.MatMul, OpAttrs.None, [x, wt])[0];
        g.AddOutput(g.AddNode(OpSet.Add, OpAttrs.None, [mm3, g.AddInput(F(5, 1), "c")])[0]);
        var (before, after, changed) = Check(g, new LinearFusion(), [T(1, 5, 4), T(2, 3, 4), T(3, 3), T(4, 5, 1)], 1e-5);
        changed.Should().BeTrue();
        after.Split('\n').Count(l => l.Contains("= linear(")).Should().Be(2);
        after.Split('\n').Count(l => l.Contains("= matmul(")).Should().Be(1);
        before.Should().NotContain("linear(");
    }

    [Test]
    public void Conv_batchnorm_folding_in_inference()
    {
        using var s = TensorScope.Begin();
        var g = new Graph();
        var x = g.AddInput(F(2, 3, 6, 6), "x");
        var w = Const(g, Rand(1, 4 * 3 * 3 * 3), 4, 3, 3, 3);
        var bias = g.AddInput(F(4), "conv.bias");
        var conv = g.AddNode(OpSet.Conv, new ConvAttrs([1, 1], [1, 1], [1, 1], 1), [x, w, bias])[0];
        var gamma = Const(g, [1.5f, 0.5f, 1, 2], 4);
        var beta = g.AddInput(F(4), "bn.bias");
        var mean = Const(g, [0.1f, -0.2f, 0.3f, 0], 4);
        var variance = Const(g, [1, 2, 0.5f, 0.25f], 4);
        var bn = g.AddNode(OpSet.BatchNorm, new BatchNormAttrs(false, 1e-5), [conv, gamma, beta, mean, variance]);
        g.AddOutput(bn[0]);
        var (before, after, changed) = Check(g, new ConvBatchNormFolding(), [T(1, 2, 3, 6, 6), T(2, 4), T(3, 4)], 1e-4);
        changed.Should().BeTrue();
        before.Should().Contain("batch_norm(");
        after.Should().NotContain("batch_norm(");
        g.Nodes.Count(n => n.Op == OpSet.Conv).Should().Be(1);
        // With constant weights the folded per-channel arithmetic then folds away.
        new ConstantFolding(TorchB).Run(g);
        g.Nodes.Select(n => n.Op.Name).Should().Contain("conv").And.NotContain("rsqrt");
        // Training-mode batch norm is left alone.
        var g2 = new Graph();
        var x2 = g2.AddInput(F(2, 3, 6, 6), "x");
        var c2 = g2.AddNode(OpSet.Conv, new ConvAttrs([1, 1], [0, 0], [1, 1], 1), [x2, Const(g2, Rand(1, 4 * 3 * 3 * 3), 4, 3, 3, 3)])[0];
        var bn2 = g2.AddNode(OpSet.BatchNorm, new BatchNormAttrs(true, 1e-5), [c2, Const(g2, [1, 1, 1, 1], 4), Const(g2, [0, 0, 0, 0], 4), Const(g2, [0, 0, 0, 0], 4), Const(g2, [1, 1, 1, 1], 4)]);
        g2.AddOutput(bn2[0]);
        new ConvBatchNormFolding().Run(g2).Should().BeFalse();
    }

    [Test]
    public void Default_inference_pipeline_on_a_traced_convnet_preserves_outputs()
    {
        using var s = TensorScope.Begin();
        using var model = new DualFramework.NN.Sequential(new DualFramework.NN.Conv2d(3, 4, 3, padding: 1, rng: new DualFramework.NN.SeededRandom(2)),
            new DualFramework.NN.BatchNorm2d(4), new DualFramework.NN.ReLU());
        model.Eval();
        using var f = new CompiledFunction(a => [model.Call(a[0])], model.NamedVariables().Values, model: model);
        var x = T(8, 2, 3, 5, 5);
        var eager = model.Call(x).ToFloatArray();
        ShouldMatch([f.Call(x)[0].ToFloatArray()], [eager], 1e-4);
        f.LastTracedGraph!.Dump().Should().Contain("batch_norm(");
        f.LastGraph!.Dump().Should().NotContain("batch_norm(");
    }
}
