using DualFramework.NN;
using DualFramework.Tests.Support;
using FluentAssertions;
using NUnit.Framework;

namespace DualFramework.Tests.NN;


[TestFixture]
public class ModuleApiTests
{
    private static Sequential Mlp(int seed) =>
        new(new Linear(4, 8, rng: new SeededRandom(seed)), new ReLU(), new BatchNorm1d(8), new Dropout(0.2, new SeededRandom(seed + 1)),
            new Linear(8, 3, rng: new SeededRandom(seed + 2)));

    [Test]
    public void Sequential_names_children_by_position_and_orders_parameters()
    {
        using var s = TensorScope.Begin();
        using var m = Mlp(1);
        m.Count.Should().Be(5);
        m.NamedChildren().Select(c => c.Name).Should().Equal("0", "1", "2", "3", "4");
        m.NamedParameters().Select(p => p.Name).Should().Equal("0.weight", "0.bias", "2.weight", "2.bias", "4.weight", "4.bias");
        m.NamedBuffers().Select(p => p.Name).Should().Equal("2.running_mean", "2.running_var", "2.num_batches_tracked");
        m.StateDict().Keys.Should().Equal("0.weight", "0.bias", "2.weight", "2.bias", "4.weight", "4.bias",
            "2.running_mean", "2.running_var", "2.num_batches_tracked");
        m.ParameterCount().Should().Be(4 * 8 + 8 + 16 + 8 * 3 + 3);
        m[1].Should().BeOfType<ReLU>();
        m.Should().HaveCount(5);

        using var named = new Sequential().Add("fc", new Linear(2, 2)).Add("act", new Tanh()).Append(new Linear(2, 1));
        named.NamedChildren().Select(c => c.Name).Should().Equal("fc", "act", "2");
        named.NamedParameters().Select(p => p.Name).Should().Equal("fc.weight", "fc.bias", "2.weight", "2.bias");
        FluentActions.Invoking(() => named.Add("fc", new ReLU())).Should().Throw<ArgumentException>().WithMessage("*'fc' is already registered*");
        FluentActions.Invoking(() => named.Add("a.b", new ReLU())).Should().Throw<ArgumentException>();
        using var lin = new Linear(2, 2);
        _ = new Sequential(lin);
        FluentActions.Invoking(() => new Sequential(lin)).Should().Throw<ArgumentException>().WithMessage("*already registered*");
    }

    [Test]
    public void Sequential_forward_composes_children()
    {
        using var s = TensorScope.Begin();
        using var l1 = new Linear(3, 4, rng: new SeededRandom(2));
        using var l2 = new Linear(4, 2, rng: new SeededRandom(3));
        using var m = new Sequential(l1, new Tanh(), l2);
        var xd = NNRef.Rand(1, 5 * 3).Select(v => (double)(float)v).ToArray();
        var y = m.Call(Tensor.FromArray(xd.Select(v => (float)v).ToArray(), new Shape(5, 3)));
        var h = NNRef.Linear(xd, NNRef.W(l1, "weight"), NNRef.W(l1, "bias"), 3, 4).Select(Math.Tanh).ToArray();
        GradCheck.AssertClose(y.ToFloatArray(), NNRef.Linear(h, NNRef.W(l2, "weight"), NNRef.W(l2, "bias"), 4, 2), 1e-5, 1e-6, "l2(tanh(l1(x)))");
    }

    [Test]
    public void Errors_inside_containers_carry_the_layer_path()
    {
        using var s = TensorScope.Begin();
        using var m = new Sequential(new Linear(4, 3), new Linear(5, 2));
        var ex = FluentActions.Invoking(() => m.Call(Ops.Ones(new Shape(2, 4)))).Should().Throw<OpException>().Which;
        ex.LayerPath.Should().Be("Sequential.1");
        ex.Message.Should().Contain("in layer 'Sequential.1'").And.Contain("in_features = 5");

        using var outer = new Sequential().Add("encoder", new Sequential(new Linear(4, 4), new ReLU(), new Conv2d(4, 2, 3))).Add("head", new Linear(2, 1));
        FluentActions.Invoking(() => outer.Call(Ops.Ones(new Shape(2, 4)))).Should().Throw<OpException>()
            .Where(e => e.LayerPath == "Sequential.encoder.2" && e.Message.Contains("Conv2d"));
        LayerPath.Current.Should().BeNull("the path is restored after the error");
    }

    [Test]
    public void Train_and_eval_recurse_through_children()
    {
        using var s = TensorScope.Begin();
        using var m = Mlp(2);
        m.NamedModules().Should().OnlyContain(x => x.Module.Training);
        m.Eval().Should().BeSameAs(m);
        m.NamedModules().Select(x => x.Name).Should().Equal("", "0", "1", "2", "3", "4");
        m.NamedModules().Should().OnlyContain(x => !x.Module.Training);
        var x = Tensor.FromArray(NNRef.RandF(3, 6 * 4), new Shape(6, 4));
        var a = m.Call(x).ToFloatArray();
        m.Call(x).ToFloatArray().Should().Equal(a, "evaluation is deterministic");
        ((BatchNorm1d)m[2]).NumBatchesTracked!.Value.Item().Should().Be(0);
        m.Train();
        m.NamedModules().Should().OnlyContain(x => x.Module.Training);
        m.Call(x);
        ((BatchNorm1d)m[2]).NumBatchesTracked!.Value.Item().Should().Be(1);
    }

    [Test]
    public void State_dict_round_trip_reproduces_the_model()
    {
        using var s = TensorScope.Begin();
        using var a = Mlp(10);
        a.Call(Tensor.FromArray(NNRef.RandF(4, 6 * 4), new Shape(6, 4))); // move the BatchNorm statistics away from their init
        using var b = Mlp(20);
        var x = Tensor.FromArray(NNRef.RandF(5, 6 * 4), new Shape(6, 4));
        a.Eval();
        b.Eval();
        b.Call(x).ToFloatArray().Should().NotEqual(a.Call(x).ToFloatArray());
        b.LoadStateDict(a.StateDict());
        foreach (var (n, t) in a.StateDict())
            b.StateDict()[n].ToDoubleArray().Should().Equal(t.ToDoubleArray(), n);
        b.StateDict()["2.num_batches_tracked"].ToArray<long>().Should().Equal(new long[] { 1 });
        b.Call(x).ToFloatArray().Should().Equal(a.Call(x).ToFloatArray());
        b.StateDict()["0.weight"].Should().NotBeSameAs(a.StateDict()["0.weight"], "values are copied, not shared");
    }

    [Test]
    public void Load_state_dict_reports_every_mismatch_at_once()
    {
        using var s = TensorScope.Begin();
        using var m = Mlp(3);
        var before = m.StateDict()["0.weight"].ToFloatArray();
        var bad = m.StateDict().ToDictionary(kv => kv.Key, kv => kv.Value);
        bad.Remove("4.bias");
        bad["0.weight"] = Ops.Zeros(new Shape(8, 5));
        bad["2.num_batches_tracked"] = Ops.Zeros(Shape.Scalar);
        bad["extra.weight"] = Ops.Zeros(new Shape(1));
        var ex = FluentActions.Invoking(() => m.LoadStateDict(bad)).Should().Throw<StateDictException>().Which;
        ex.Problems.Should().HaveCount(4);
        ex.Message.Should().Contain("missing '4.bias'").And.Contain("'0.weight'").And.Contain("unexpected 'extra.weight'")
            .And.Contain("'2.num_batches_tracked'");
        m.StateDict()["0.weight"].ToFloatArray().Should().Equal(before, "nothing is loaded when anything mismatches");

        var partial = new Dictionary<string, Tensor> { ["4.bias"] = Ops.Ones(new Shape(3)) };
        m.LoadStateDict(partial, strict: false);
        m.StateDict()["4.bias"].ToFloatArray().Should().Equal(1f, 1f, 1f);
    }

    [Test]
    public void Init_is_deterministic_per_seed_and_backend_independent()
    {
        using var s = TensorScope.Begin();
        float[] Weights(Module m) => m.Parameters().SelectMany(p => p.Value.ToFloatArray()).ToArray();
        Weights(new TransformerEncoderLayer(8, 2, 16, rng: new SeededRandom(9))).Should()
            .Equal(Weights(new TransformerEncoderLayer(8, 2, 16, rng: new SeededRandom(9))), "same seed, bit-identical");
        Weights(new Conv2d(2, 3, 3, rng: new SeededRandom(9))).Should().NotEqual(Weights(new Conv2d(2, 3, 3, rng: new SeededRandom(10))));

        // Layers without an explicit generator fork the process-wide one: ManualSeed makes them reproducible.
        Init.ManualSeed(123);
        var first = Weights(Mlp(0).Add("extra", new Linear(3, 2)));
        var implicit1 = Weights(new Linear(5, 5));
        Init.ManualSeed(123);
        Weights(Mlp(0).Add("extra", new Linear(3, 2))).Should().Equal(first);
        Weights(new Linear(5, 5)).Should().Equal(implicit1);
        Weights(new Linear(5, 5)).Should().NotEqual(implicit1, "each layer gets its own fork");

        // A shared generator is consumed in construction order.
        var rng = new SeededRandom(77);
        using var l1 = new Linear(2, 2, rng: rng);
        using var l2 = new Linear(2, 2, rng: rng);
        Weights(l1).Should().NotEqual(Weights(l2));
        var replay = new SeededRandom(77);
        new Linear(2, 2, rng: replay);
        Weights(new Linear(2, 2, rng: replay)).Should().Equal(Weights(l2));
    }
}
