using DualFramework.Tests.Serving;
using FluentAssertions;
using NUnit.Framework;

namespace DualFramework.Tests.Cli;

[TestFixture]
public class DualfxServeTests
{
    [Test]
    public void Serve_loads_the_repository_listens_and_stops()
    {
        var root = ServingModels.NewRoot();
        try
        {
            ServingModels.WriteVersion(root, 1, seed: 1);
            var r = DualfxRunner.Run("serve", "--model-root", root, "--port", "0", "--run-for", "0.5");
            r.ExitCode.Should().Be(0, r.All);
            r.Output.Should().Contain("model fmnist version 1 is available (input: float32 [-1,1,28,28] -> output: float32 [-1,10])");
            r.Output.Should().MatchRegex(@"serving .* on http://127\.0\.0\.1:\d+/");
            r.Output.Should().Contain("stopped");
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [TestCase(new[] { "serve" }, "--model-root")]
    [TestCase(new[] { "serve", "--model-root", "/nonexistent-dualfx-root" }, "does not exist")]
    [TestCase(new[] { "serve", "--model-root", "/tmp", "--version-policy", "newest" }, "unknown version policy 'newest'")]
    [TestCase(new[] { "serve", "--model-root", "/tmp", "--port", "70000" }, "--port must be 0..65535")]
    [TestCase(new[] { "serve", "--model-root", "/tmp", "--host", "not a host" }, "cannot listen on 'not a host'")]
    public void Serve_rejects_bad_arguments_with_usage_errors(string[] args, string message)
    {
        var r = DualfxRunner.Run(args);
        r.ExitCode.Should().Be(2);
        r.Error.Should().Contain(message);
    }
}
