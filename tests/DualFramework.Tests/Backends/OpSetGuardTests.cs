using DualFramework.Backends;
using DualFramework.Operators;
using DualFramework.Tests.Onnx;
using FluentAssertions;
using NUnit.Framework;

namespace DualFramework.Tests.Backends;

/// <summary>
/// The op-set guard: every backend that implements <see cref="IComputeBackend"/> — the two shipped ones and the
/// <see cref="InterpreterTestBackend"/> built in this test project — maps every op of the op set, and runs every per-op
/// case to the eager torch result.
/// </summary>
[TestFixture]
public class OpSetGuardTests
{
    public static readonly string[] Backends = ["torch", "graph", InterpreterTestBackend.RegistryName];

    private static IComputeBackend Backend(string name) =>
        name == InterpreterTestBackend.RegistryName ? InterpreterTestBackend.Registered() : BackendRegistry.Get(name);

    public static IEnumerable<TestCaseData> CasesOnOtherBackends() =>
        from b in Backends.Skip(1)
        from c in OnnxOpCases.All
        where c.Kind == CaseKind.Compare
        select new TestCaseData(b, c.Name).SetName($"Op_{c.Name}_on_{b}");

    [TestCaseSource(nameof(Backends))]
    public void Every_op_of_the_op_set_has_a_kernel(string backend)
    {
        var b = Backend(backend);
        b.Name.Should().Be(backend);
        OpRegistry.All.Where(op => !b.Supports(op)).Select(op => op.Name).Should().BeEmpty($"the {backend} backend must map every op");
        OpRegistry.All.Count.Should().BeGreaterThan(30);
        OpRegistry.All.Select(o => o.Name).Should().OnlyHaveUniqueItems();
    }

    [Test]
    public void The_test_backend_is_registered_by_name_and_runs_ops_itself()
    {
        var b = (InterpreterTestBackend)InterpreterTestBackend.Registered();
        BackendRegistry.Get("Interpreter-Test").Should().BeSameAs(b, "names are case-insensitive and instances shared");
        b.GetType().Assembly.Should().NotBeSameAs(typeof(Tensor).Assembly, "the backend lives outside Core");
        using var scope = TensorScope.Begin();
        int before = b.ExecutedOps;
        var x = Tensor.FromArray(new float[] { 1, -2, 3 }, new Shape(3), b);
        var y = Ops.Mul(Ops.Relu(x), x);
        y.Backend.Should().BeSameAs(b);
        y.ToArray<float>().Should().Equal(1f, 0f, 9f);
        b.ExecutedOps.Should().Be(before + 2);
    }

    [TestCaseSource(nameof(CasesOnOtherBackends))]
    public void Every_op_case_matches_torch(string backend, string name)
    {
        var b = Backend(backend);
        var c = OnnxOpCases.All.Single(k => k.Name == name);
        using var scope = TensorScope.Begin();
        var inputs = c.Inputs();
        var want = OrtHarness.Eager(c.Op, c.Attrs, inputs);
        var moved = inputs.Select(t => Tensor.FromBytes(t.ToBytes(), t.Spec, b)).ToArray();
        var got = moved.Length == 0 ? [Dispatcher.Create(c.Op, c.Attrs, b)] : Dispatcher.ApplyMulti(c.Op, c.Attrs, moved);
        got.Length.Should().Be(want.Length);
        for (int i = 0; i < got.Length; i++)
        {
            got[i].Backend.Should().BeSameAs(b);
            OrtHarness.AssertClose(new OrtHarness.HostTensor(got[i].Spec, got[i].ToBytes()), want[i], c.Rtol, c.Atol, $"{name} on {backend}, output {i}");
        }
    }
}
