using DualFramework.Backends;
using DualFramework.MixedPrecision;
using DualFramework.NN;
using DualFramework.Operators;
using FluentAssertions;
using NUnit.Framework;

namespace DualFramework.Tests.MixedPrecision;

/// <summary>The policy table (Keras 3's five policies), parsing, the global policy and per-module overrides.</summary>
[TestFixture]
public class PolicyTests
{
    [TestCase("float32", DType.Float32, DType.Float32, false, false)]
    [TestCase("mixed_bfloat16", DType.Float32, DType.BFloat16, true, false)]
    [TestCase("mixed_float16", DType.Float32, DType.Float16, true, true)]
    [TestCase("bfloat16", DType.BFloat16, DType.BFloat16, false, false)]
    [TestCase("float16", DType.Float16, DType.Float16, false, false)]
    public void Policy_table(string name, DType variable, DType compute, bool mixed, bool scaling)
    {
        var p = DTypePolicy.Parse(name);
        p.Name.Should().Be(name);
        p.VariableDType.Should().Be(variable);
        p.ComputeDType.Should().Be(compute);
        p.IsMixed.Should().Be(mixed);
        p.NeedsLossScaling.Should().Be(scaling, "only float16 compute with float32 master weights needs loss scaling by default");
        DTypePolicy.Parse(name.ToUpperInvariant().Replace('_', '-')).Should().BeSameAs(p);
    }

    [Test]
    public void Unknown_policy_name_lists_the_known_ones()
    {
        var act = () => DTypePolicy.Parse("mixed_float8");
        act.Should().Throw<ArgumentException>().WithMessage("*mixed_float8*float32, mixed_bfloat16, mixed_float16, bfloat16, float16*");
    }

    [Test]
    public void Global_policy_switches_autocast_for_modules_without_their_own()
    {
        using var _ = BackendRegistry.Use(BackendRegistry.Get("torch"));
        using var scope = TensorScope.Begin();
        var model = new Sequential(new Linear(4, 3, rng: new SeededRandom(1)), new ReLU());
        var x = Ops.Ones(new Shape(2, 4));
        model.Call(x).DType.Should().Be(DType.Float32);
        var before = Precision.GlobalPolicy;
        try
        {
            Precision.SetGlobalPolicy("mixed_bfloat16");
            model.Call(x).DType.Should().Be(DType.BFloat16, "linear runs in the compute dtype and relu passes it through");
            model.Parameters().Should().OnlyContain(p => p.Spec.DType == DType.Float32, "mixed policies keep float32 master weights");
            Autocast.IsEnabled.Should().BeFalse("the policy's autocast ends with the outermost module's call");
        }
        finally
        {
            Precision.SetGlobalPolicy(before);
        }
    }

    [Test]
    public void A_layer_can_keep_float32_inside_a_mixed_model()
    {
        using var _ = BackendRegistry.Use(BackendRegistry.Get("torch"));
        using var scope = TensorScope.Begin();
        var rng = new SeededRandom(2);
        var head = new Linear(8, 3, rng: rng) { Policy = DTypePolicy.Float32 };
        var model = new Sequential(new Linear(4, 8, rng: rng), new ReLU(), head) { Policy = DTypePolicy.MixedBFloat16 };
        var y = model.Call(Ops.Ones(new Shape(2, 4)));
        y.DType.Should().Be(DType.Float32, "the head's float32 policy turns autocast off, so its bf16 input is promoted");
        model.Policy = null;
        model.Call(Ops.Ones(new Shape(2, 4))).DType.Should().Be(DType.Float32);
    }

    [Test]
    public void Pure_policy_casts_variables_and_inputs()
    {
        using var _ = BackendRegistry.Use(BackendRegistry.Get("torch"));
        using var scope = TensorScope.Begin();
        var model = new Sequential(new Linear(4, 8, rng: new SeededRandom(3)), new BatchNorm1d(8), new ReLU());
        model.Policy = DTypePolicy.BFloat16;
        model.NamedVariables().Values.Where(v => v.Spec.DType.IsFloating()).Should().OnlyContain(v => v.Spec.DType == DType.BFloat16);
        model.NamedBuffers().Should().Contain(b => b.Buffer.Spec.DType == DType.Int64, "integer buffers (BatchNorm's batch count) keep their dtype");
        model.Call(Ops.Ones(new Shape(2, 4))).DType.Should().Be(DType.BFloat16, "the float32 input is cast to the compute dtype");
    }

    [Test]
    public void Every_op_of_the_op_set_declares_an_autocast_category()
    {
        var core = typeof(Op).Assembly;
        var missing = OpRegistry.All.Where(o => o.GetType().Assembly == core && o.Autocast == AutocastCategory.Undeclared).Select(o => o.Name).ToList();
        missing.Should().BeEmpty("a new op must state how autocast treats it (OpAutocast.cs)");
    }

    [TestCase("matmul", AutocastCategory.LowerPrecision)]
    [TestCase("linear", AutocastCategory.LowerPrecision)]
    [TestCase("conv", AutocastCategory.LowerPrecision)]
    [TestCase("conv_transpose", AutocastCategory.LowerPrecision)]
    [TestCase("cross_entropy", AutocastCategory.Float32)]
    [TestCase("softmax", AutocastCategory.Float32)]
    [TestCase("log_softmax", AutocastCategory.Float32)]
    [TestCase("batch_norm", AutocastCategory.Float32)]
    [TestCase("layer_norm", AutocastCategory.Float32)]
    [TestCase("sum", AutocastCategory.Float32)]
    [TestCase("exp", AutocastCategory.Float32)]
    [TestCase("log", AutocastCategory.Float32)]
    [TestCase("pow", AutocastCategory.Float32)]
    [TestCase("concat", AutocastCategory.Promote)]
    [TestCase("where", AutocastCategory.Promote)]
    [TestCase("add", AutocastCategory.Promote)]
    [TestCase("relu", AutocastCategory.Passthrough)]
    [TestCase("max_pool2d", AutocastCategory.Passthrough)]
    [TestCase("cast", AutocastCategory.Passthrough)]
    public void Op_categories_follow_the_documented_lists(string op, AutocastCategory category) =>
        OpRegistry.Find(op)!.Autocast.Should().Be(category);
}
