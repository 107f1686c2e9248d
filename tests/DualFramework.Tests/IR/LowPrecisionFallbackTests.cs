using DualFramework.IR;
using DualFramework.IR.Passes;
using DualFramework.Operators;
using FluentAssertions;
using NUnit.Framework;

namespace DualFramework.Tests.IR;

/// <summary>The pass that runs half-precision nodes a target cannot compute in float32 behind visible casts, and its
/// cast-pair rule, on hand-built graphs.</summary>
[TestFixture]
public class LowPrecisionFallbackTests
{
    private static TensorSpec S(DType dt, params long[] shape) => new(new Shape(shape), dt);

    // A target that runs only data movement (reshape) in half precision, like ORT's CPU provider.
    private static bool OnlyReshape(Node n, DType _) => ReferenceEquals(n.Op, OpSet.Reshape);

    private static Node[] Casts(Graph g) => g.Nodes.Where(n => ReferenceEquals(n.Op, OpSet.Cast)).ToArray();

    private static DType To(Node cast) => ((CastAttrs)cast.Attrs).To;

    /// <summary>relu(matmul(x, w)) reshaped, all bfloat16.</summary>
    private static Graph Mlp(DType dt)
    {
        var g = new Graph();
        var x = g.AddInput(S(dt, 2, 3), "x");
        var w = g.AddInput(S(dt, 3, 4), "w");
        var y = g.AddNode(OpSet.MatMul, OpAttrs.None, [x, w])[0];
        var z = g.AddNode(OpSet.Relu, OpAttrs.None, [y])[0];
        g.AddOutput(g.AddNode(OpSet.Reshape, new ShapeAttrs([4, 2]), [z])[0]);
        return g;
    }

    [TestCase(DType.BFloat16)]
    [TestCase(DType.Float16)]
    public void Unsupported_ops_run_in_float32_between_casts_that_the_dump_shows(DType dt)
    {
        var g = Mlp(dt);
        new LowPrecisionFallback(OnlyReshape).Run(g).Should().BeTrue();
        g.Verify();
        var matmul = g.Nodes.Single(n => ReferenceEquals(n.Op, OpSet.MatMul));
        var relu = g.Nodes.Single(n => ReferenceEquals(n.Op, OpSet.Relu));
        var reshape = g.Nodes.Single(n => ReferenceEquals(n.Op, OpSet.Reshape));
        matmul.Inputs.Should().OnlyContain(v => v.Spec.DType == DType.Float32);
        matmul.Outputs[0].Spec.Should().Be(S(DType.Float32, 2, 4));
        relu.Outputs[0].Spec.DType.Should().Be(DType.Float32);
        reshape.Inputs[0].Spec.DType.Should().Be(dt, "the supported op still reads the original dtype");
        g.Outputs[0].Spec.Should().Be(S(dt, 4, 2), "the rest of the graph is unchanged");
        // x, w widened; matmul's result rounded back, widened again for relu (that rounding is the op's result); relu's rounded.
        Casts(g).Select(To).Should().Equal(DType.Float32, DType.Float32, dt, DType.Float32, dt);
        relu.Inputs[0].Producer!.Inputs[0].Producer!.Should().BeSameAs(Casts(g)[2], "the narrowing-then-widening pair is kept");
        var dump = g.Dump();
        dump.Should().Contain("= cast(x) {To=Float32}", "the widening casts are ordinary nodes").And.Contain($"{{To={dt}}}");
        dump.Split('\n').Count(l => l.Contains("= cast(")).Should().Be(5);
    }

    [Test]
    public void Supported_ops_and_float32_graphs_are_left_alone()
    {
        var g = Mlp(DType.BFloat16);
        var before = g.Dump();
        new LowPrecisionFallback((_, _) => true).Run(g).Should().BeFalse();
        g.Dump().Should().Be(before);

        var f32 = Mlp(DType.Float32);
        var asked = 0;
        new LowPrecisionFallback((_, _) => { asked++; return false; }).Run(f32).Should().BeFalse();
        asked.Should().Be(0, "the predicate is asked only about half-precision nodes");
        Casts(f32).Should().BeEmpty();
    }

    [Test]
    public void The_predicate_is_asked_about_each_half_precision_dtype_of_the_node()
    {
        var g = Mlp(DType.Float16);
        var asked = new List<(string, DType)>();
        new LowPrecisionFallback((n, dt) => { asked.Add((n.Op.Name, dt)); return true; }).Run(g);
        asked.Should().Equal(("matmul", DType.Float16), ("relu", DType.Float16), ("reshape", DType.Float16));
    }

    [Test]
    public void A_value_read_by_several_fallback_nodes_is_widened_once()
    {
        var g = new Graph();
        var x = g.AddInput(S(DType.BFloat16, 3), "x");
        g.AddOutput(g.AddNode(OpSet.Exp, OpAttrs.None, [x])[0]);
        g.AddOutput(g.AddNode(OpSet.Tanh, OpAttrs.None, [x])[0]);
        g.AddOutput(g.AddNode(OpSet.Mul, OpAttrs.None, [x, x])[0]);
        new LowPrecisionFallback((_, _) => false).Run(g).Should().BeTrue();
        g.Verify();
        Casts(g).Count(c => To(c) == DType.Float32).Should().Be(1);
        Casts(g).Count(c => To(c) == DType.BFloat16).Should().Be(3);
    }

    [Test]
    public void Non_floating_outputs_keep_their_dtype_and_only_half_precision_operands_are_cast()
    {
        var g = new Graph();
        var x = g.AddInput(S(DType.BFloat16, 1, 1, 4, 4), "x");
        var pool = g.AddNode(OpSet.MaxPool2d, new MaxPool2dAttrs([2, 2], [2, 2], [0, 0], [1, 1], false), [x]);
        g.AddOutput(pool[0]);
        g.AddOutput(pool[1]);
        var table = g.AddInput(S(DType.Float16, 2, 3), "table");
        var idx = g.AddInput(S(DType.Int64, 2), "idx");
        g.AddOutput(g.AddNode(OpSet.Take, new TakeAttrs(1), [table, idx])[0]);
        new LowPrecisionFallback((_, _) => false).Run(g).Should().BeTrue();
        g.Verify();
        g.Outputs.Select(o => o.Spec.DType).Should().Equal(DType.BFloat16, DType.Int64, DType.Float16);
        g.Outputs[1].Producer!.Op.Should().BeSameAs(OpSet.MaxPool2d, "the indices come straight from the float32 pool");
        var take = g.Nodes.Single(n => ReferenceEquals(n.Op, OpSet.Take));
        take.Inputs.Select(v => v.Spec.DType).Should().Equal(DType.Float32, DType.Int64);
    }

    [Test]
    public void Creation_ops_whose_dtype_is_an_attribute_are_left_alone()
    {
        var g = new Graph();
        g.AddOutput(g.AddNode(OpSet.Full, new FullAttrs([2, 2], 1.5, DType.BFloat16), [])[0]);
        var before = g.Dump();
        new LowPrecisionFallback((_, _) => false).Run(g).Should().BeFalse();
        g.Dump().Should().Be(before);
    }

    [TestCase(DType.BFloat16, DType.Float32)]
    [TestCase(DType.Float16, DType.Float32)]
    [TestCase(DType.BFloat16, DType.Float64)]
    [TestCase(DType.Float32, DType.Float64)]
    public void An_exact_widening_cast_back_is_removed(DType from, DType wider)
    {
        foreach (var pass in new IGraphPass[] { new LowPrecisionFallback((_, _) => true), new AlgebraicSimplification() })
        {
            var g = new Graph();
            var x = g.AddInput(S(from, 3), "x");
            var up = g.AddNode(OpSet.Cast, new CastAttrs(wider), [x])[0];
            var back = g.AddNode(OpSet.Cast, new CastAttrs(from), [up])[0];
            g.AddOutput(g.AddNode(OpSet.Neg, OpAttrs.None, [back])[0]);
            pass.Run(g).Should().BeTrue(pass.Name);
            g.Verify();
            Casts(g).Should().BeEmpty(pass.Name);
            g.Nodes.Single().Inputs[0].Should().BeSameAs(x, pass.Name);
        }
    }

    // Narrowing then widening rounds; bfloat16 ↔ float16 is lossy both ways (different exponent and mantissa widths).
    [TestCase(DType.Float32, DType.BFloat16)]
    [TestCase(DType.Float32, DType.Float16)]
    [TestCase(DType.Float64, DType.Float32)]
    [TestCase(DType.Float16, DType.BFloat16)]
    [TestCase(DType.BFloat16, DType.Float16)]
    public void A_cast_pair_that_rounds_is_never_folded(DType from, DType via)
    {
        foreach (var pass in new IGraphPass[] { new LowPrecisionFallback((_, _) => true), new AlgebraicSimplification() })
        {
            var g = new Graph();
            var x = g.AddInput(S(from, 3), "x");
            var down = g.AddNode(OpSet.Cast, new CastAttrs(via), [x])[0];
            g.AddOutput(g.AddNode(OpSet.Cast, new CastAttrs(from), [down])[0]);
            var before = g.Dump();
            pass.Run(g).Should().BeFalse(pass.Name);
            g.Dump().Should().Be(before, pass.Name);
        }
    }

    [Test]
    public void The_float32_graph_computes_what_the_half_precision_graph_computes_on_torch()
    {
        // Torch computes bfloat16 ops in float and rounds each result: the rewritten graph (interpreted by torch in float32
        // with explicit roundings) must give the same bits up to a last-place tie, element by element.
        var g = Mlp(DType.BFloat16);
        var rewritten = g.Clone();
        new LowPrecisionFallback(OnlyReshape).Run(rewritten).Should().BeTrue();
        using var s = TensorScope.Begin();
        var x = Ops.Cast(IRTestSupport.T(1, 2, 3), DType.BFloat16);
        var w = Ops.Cast(IRTestSupport.T(2, 3, 4), DType.BFloat16);
        using var exe = IRTestSupport.TorchB.Compile(g);
        using var exe2 = IRTestSupport.TorchB.Compile(rewritten);
        var want = exe.Run([x, w])[0].ToFloatArray();
        var got = exe2.Run([x, w])[0].ToFloatArray();
        want.Count(v => v != 0).Should().BeGreaterThan(2, "relu keeps some values");
        for (int i = 0; i < want.Length; i++)
            got[i].Should().BeApproximately(want[i], Math.Abs(want[i]) / 128 + 1e-6f, $"element {i} (one bfloat16 ulp)");
    }
}
