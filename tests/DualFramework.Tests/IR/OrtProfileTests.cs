using DualFramework.OnnxRuntime;
using FluentAssertions;
using NUnit.Framework;

namespace DualFramework.Tests.IR;

/// <summary><c>DUALFRAMEWORK_ORT_PROFILE</c> makes the graph backend's sessions write ONNX Runtime's per-node profile.</summary>
[TestFixture]
[NonParallelizable]
public class OrtProfileTests
{
    [Test]
    public void The_profile_variable_makes_sessions_write_per_node_timings_under_its_prefix()
    {
        var dir = Directory.CreateTempSubdirectory("dualfx-ortprofile-").FullName;
        var previous = Environment.GetEnvironmentVariable(GraphBackend.ProfileVariable);
        try
        {
            Environment.SetEnvironmentVariable(GraphBackend.ProfileVariable, Path.Combine(dir, "run"));
            using (var backend = new GraphBackend())
            {
                using var scope = TensorScope.Begin();
                var x = Tensor.FromArray(new[] { 1f, 2f, 3f }, new Shape(3), backend);
                Ops.Add(x, x).ToFloatArray().Should().Equal(2f, 4f, 6f);
            } // disposing the sessions writes their profiles
            var files = Directory.GetFiles(dir, "run*.json");
            files.Should().NotBeEmpty("each session writes one profile file under the prefix");
            File.ReadAllText(files[0]).Should().Contain("_kernel_time", "the profile has per-node kernel timings");
        }
        finally
        {
            Environment.SetEnvironmentVariable(GraphBackend.ProfileVariable, previous);
            Directory.Delete(dir, recursive: true);
        }
    }
}
