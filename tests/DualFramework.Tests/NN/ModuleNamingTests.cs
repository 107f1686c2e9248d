using DualFramework.Checkpoints;
using DualFramework.Losses;
using DualFramework.NN;
using DualFramework.Optim;
using FluentAssertions;
using NUnit.Framework;

namespace DualFramework.Tests.NN;

/// <summary>Variable names are full dotted paths from the root, assigned at registration and attachment, never by
/// enumeration (issue #16, item 3).</summary>
[TestFixture]
public class ModuleNamingTests
{
    /// <summary>encoder (Sequential of two Linear) and head (Linear) under one root.</summary>
    private sealed class Net : Module
    {
        public Net(int seed)
        {
            Encoder = RegisterModule("encoder", new Sequential(new Linear(3, 4, rng: new SeededRandom(seed)), new Tanh(), new Linear(4, 4, rng: new SeededRandom(seed + 1))));
            Head = RegisterModule("head", new Linear(4, 2, rng: new SeededRandom(seed + 2)));
        }

        public Sequential Encoder { get; }
        public Linear Head { get; }

        public override Tensor Forward(Tensor input) => Head.Call(Encoder.Call(input));
    }

    private static readonly string[] FullNames = ["encoder.0.weight", "encoder.0.bias", "encoder.2.weight", "encoder.2.bias", "head.weight", "head.bias"];

    [Test]
    public void Names_are_full_paths_set_at_registration_and_updated_once_at_attachment()
    {
        using var s = TensorScope.Begin();
        using var lin = new Linear(2, 2, rng: new SeededRandom(0));
        lin.Weight.Name.Should().Be("weight");
        lin.FullName.Should().Be("");
        using var seq = new Sequential(lin);
        // Attaching renames the child's variables once, to their path from the new root.
        lin.Weight.Name.Should().Be("0.weight");
        lin.FullName.Should().Be("0");

        using var net = new Net(1);
        net.Encoder.FullName.Should().Be("encoder");
        net.NamedVariables().Values.Select(v => v.Name).Should().Equal(FullNames);
        net.NamedVariables().Keys.Should().Equal(FullNames);
    }

    [Test]
    public void Enumerating_a_sub_module_renames_nothing_and_yields_names_relative_to_it()
    {
        using var s = TensorScope.Begin();
        using var net = new Net(2);
        net.Encoder.NamedParameters().Select(p => p.Name).Should().Equal("0.weight", "0.bias", "2.weight", "2.bias");
        net.Head.Parameters().Select(p => p.Name).Should().Equal("head.weight", "head.bias");
        net.Encoder.NamedParameters("enc").Select(p => p.Name).Should().Equal("enc.0.weight", "enc.0.bias", "enc.2.weight", "enc.2.bias");
        net.Parameters().Select(p => p.Name).Should().Equal(FullNames);
        net.Encoder.Parameters().Select(p => p.Name).Should().Equal(FullNames[..4]);
    }

    [Test]
    public void Optimizer_state_and_checkpoint_keys_are_stable_whichever_module_is_enumerated()
    {
        using var s = TensorScope.Begin();
        using var net = new Net(3);
        // Fine-tune only the encoder: its optimizer state must be keyed by the full names, not names relative to it.
        using var opt = new Adam(net.Encoder.Parameters(), 1e-2);
        var x = Tensor.FromArray(new float[] { 0.5f, -1, 2, 1, 0, -0.5f }, new Shape(2, 3));
        var y = Tensor.FromArray(new long[] { 0, 1 }, new Shape(2));
        opt.ZeroGrad();
        new CrossEntropyLoss().Compute(net.Call(x), y).Backward();
        opt.Step();

        string[] Keys()
        {
            using var st = opt.StateDict();
            return st.Keys.Order(StringComparer.Ordinal).ToArray();
        }
        var before = Keys();
        before.Should().Contain(["encoder.0.weight.exp_avg", "encoder.2.bias.exp_avg_sq", "encoder.0.weight.step"]);
        before.Should().NotContain(k => k.StartsWith("0.", StringComparison.Ordinal) || k.StartsWith("head.", StringComparison.Ordinal));

        // Enumerate sub-modules in different orders (the old Walk renamed variables here).
        _ = net.Head.NamedParameters().ToList();
        _ = net.Encoder.StateDict();
        _ = net.Encoder.NamedParameters("x").ToList();
        Keys().Should().Equal(before);

        var path = Path.Combine(Path.GetTempPath(), $"naming-{Environment.ProcessId}-{Guid.NewGuid():N}.safetensors");
        try
        {
            using (var st = opt.StateDict()) Checkpoint.Save(path, net, st);
            using var loaded = Checkpoint.Load(path);
            loaded.Model.Keys.Order(StringComparer.Ordinal).Should().Equal(FullNames.Order(StringComparer.Ordinal));
            loaded.Optimizer.Keys.Order(StringComparer.Ordinal).Should().Equal(before);
            // The saved optimizer state loads back into an optimizer over the same sub-module of a fresh model.
            using var net2 = new Net(3);
            using var opt2 = new Adam(net2.Encoder.Parameters(), 1e-2);
            opt2.LoadStateDict(loaded.Optimizer);
            using var st2 = opt2.StateDict();
            st2.Keys.Order(StringComparer.Ordinal).Should().Equal(before);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Test]
    public void Frozen_parameters_stay_in_the_state_dict_but_leave_Parameters()
    {
        using var s = TensorScope.Begin();
        using var net = new Net(4);
        net.Freeze(n => n.StartsWith("encoder.", StringComparison.Ordinal)).Should().Be(4);
        net.Parameters().Select(p => p.Name).Should().Equal("head.weight", "head.bias");
        net.StateDict().Keys.Should().Equal(FullNames);
        net.Encoder.Parameters().Should().BeEmpty();
        net.Encoder.NamedVariables().Values.Should().OnlyContain(v => !v.Trainable && !v.Value.RequiresGrad);

        var x = Tensor.FromArray(new float[] { 0.5f, -1, 2 }, new Shape(1, 3));
        Ops.Sum(net.Call(x)).Backward();
        net.Encoder.NamedVariables().Values.Should().OnlyContain(v => v.Grad == null);
        net.Head.Weight.Grad.Should().NotBeNull();

        net.Unfreeze(n => n == "encoder.2.weight").Should().Be(1);
        net.Parameters().Select(p => p.Name).Should().Equal("encoder.2.weight", "head.weight", "head.bias");
    }

    [Test]
    public void Train_and_Eval_keep_the_derived_type()
    {
        using var s = TensorScope.Begin();
        using var net = new Net(5);
        Net same = net.Eval();
        same.Should().BeSameAs(net);
        net.Encoder.Training.Should().BeFalse();
        Linear head = net.Head.Train();
        head.Training.Should().BeTrue();
        net.Train(false).Head.Training.Should().BeFalse();
    }
}
