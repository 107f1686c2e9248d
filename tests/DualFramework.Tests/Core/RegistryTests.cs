using DualFramework.Backends;
using FluentAssertions;
using NUnit.Framework;

namespace DualFramework.Tests.Core;

[TestFixture]
public class RegistryTests
{
    [Test]
    public void Torch_backend_is_found_by_name_without_a_reference_from_core()
    {
        typeof(Tensor).Assembly.GetReferencedAssemblies().Select(a => a.Name).Should().NotContain(n => n!.Contains("Torch"));
        var b = BackendRegistry.Get("torch");
        b.Name.Should().Be("torch");
        b.GetType().Assembly.GetName().Name.Should().Be("DualFramework.Torch");
        BackendRegistry.Get("TORCH").Should().BeSameAs(b, "names are case-insensitive and instances shared");
    }

    [Test]
    public void Unknown_backend_names_say_what_is_known()
    {
        var act = () => BackendRegistry.Get("tensorflow");
        act.Should().Throw<ArgumentException>().WithMessage("*Unknown backend 'tensorflow'*torch*");
    }

    [Test]
    public void Environment_variable_value_selects_the_default_backend()
    {
        BackendRegistry.EnvironmentVariable.Should().Be("DUALFRAMEWORK_BACKEND");
        BackendRegistry.NameFromEnvironment(null).Should().Be("torch");
        BackendRegistry.NameFromEnvironment("  ").Should().Be("torch");
        BackendRegistry.NameFromEnvironment(" graph ").Should().Be("graph");
    }

    [Test]
    public void Default_can_be_switched_by_name_and_new_tensors_follow_it()
    {
        var previous = BackendRegistry.Default;
        BackendRegistry.Register("exploding-test", () => new ExplodingBackend());
        try
        {
            BackendRegistry.SetDefault("exploding-test");
            var t = Tensor.FromArray(new float[2], new Shape(2));
            t.Backend.Name.Should().Be("exploding");
        }
        finally
        {
            BackendRegistry.Default = previous;
        }
        BackendRegistry.Default.Should().BeSameAs(previous);
    }

    [Test]
    public void Use_overrides_the_default_on_this_thread_only_and_nests()
    {
        var global = BackendRegistry.Default;
        var torch = BackendRegistry.Get("torch");
        var graph = BackendRegistry.Get("graph");
        IComputeBackend? seenElsewhere = null;
        using (BackendRegistry.Use(graph))
        {
            BackendRegistry.Default.Should().BeSameAs(graph);
            var other = new Thread(() => seenElsewhere = BackendRegistry.Default);
            other.Start();
            other.Join();
            using (BackendRegistry.Use(torch)) BackendRegistry.Default.Should().BeSameAs(torch);
            BackendRegistry.Default.Should().BeSameAs(graph, "the inner scope restores the outer one");
        }
        seenElsewhere.Should().BeSameAs(global, "another thread keeps the process-wide default");
        BackendRegistry.Default.Should().BeSameAs(global);
    }
}
