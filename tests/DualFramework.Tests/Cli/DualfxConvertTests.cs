using DualFramework.Backends;
using DualFramework.NN;
using DualFramework.Onnx;
using DualFramework.Onnx.Proto;
using FluentAssertions;
using NUnit.Framework;

namespace DualFramework.Tests.Cli;

[TestFixture]
public class DualfxConvertTests
{
    private string _dir = "";

    [SetUp]
    public void SetUp() => _dir = DualfxRunner.TempDir("convert");

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    private string ExportSmallModel()
    {
        var path = Path.Combine(_dir, "model.onnx");
        using (BackendRegistry.Use(BackendRegistry.Get("torch")))
        {
            using var net = new Sequential(new Linear(6, 5, rng: new SeededRandom(3)), new ReLU(), new Linear(5, 2, rng: new SeededRandom(4)));
            net.Eval();
            using var scope = TensorScope.Begin();
            ModuleExporter.Export(net, Tensor.FromArray(new float[6], new Shape(1, 6)), path);
        }
        return path;
    }

    private static Dictionary<string, TensorProto> Initializers(string path)
    {
        using var f = File.OpenRead(path);
        return ModelProto.Parser.ParseFrom(f).Graph.Initializer.ToDictionary(t => t.Name);
    }

    [Test]
    public void OnnxToSafeTensorsToOnnx_PreservesEveryValue()
    {
        var onnx = ExportSmallModel();
        var weights = Path.Combine(_dir, "w.safetensors");
        var back = Path.Combine(_dir, "back.onnx");
        var bare = Path.Combine(_dir, "bare.onnx");

        DualfxRunner.Run("convert", onnx, weights).ExitCode.Should().Be(0);
        var inspect = DualfxRunner.Run("inspect", weights, "--tensors");
        inspect.Output.Should().Contain("format").And.Contain("safetensors").And.Contain("float32");
        DualfxRunner.Run("convert", weights, back, "--template", onnx).ExitCode.Should().Be(0);
        DualfxRunner.Run("convert", weights, bare).ExitCode.Should().Be(0);

        var original = Initializers(onnx);
        original.Should().NotBeEmpty();
        foreach (var result in new[] { Initializers(back), Initializers(bare) })
        {
            result.Keys.Should().BeEquivalentTo(original.Keys);
            foreach (var (name, t) in original)
            {
                result[name].DataType.Should().Be(t.DataType, name);
                result[name].Dims.Should().Equal(t.Dims, name);
                result[name].RawData.ToByteArray().Should().Equal(t.RawData.ToByteArray(), name);
            }
        }
        // With a template the graph is the template's, so the model runs as before.
        ModelProto.Parser.ParseFrom(File.ReadAllBytes(back)).Graph.Node.Count.Should().Be(ModelProto.Parser.ParseFrom(File.ReadAllBytes(onnx)).Graph.Node.Count);
    }

    [Test]
    public void WeightsThatDoNotFitTheTemplate_AreRejected()
    {
        var onnx = ExportSmallModel();
        var other = Path.Combine(_dir, "other.safetensors");
        using (var scope = TensorScope.Begin())
            DualFramework.Checkpoints.SafeTensors.Save(other, new Dictionary<string, Tensor> { ["nope"] = Tensor.FromArray(new float[3], new Shape(3)) });
        var run = DualfxRunner.Run("convert", other, Path.Combine(_dir, "x.onnx"), "--template", onnx);
        run.ExitCode.Should().NotBe(0);
        run.Error.Should().Contain("no initializer named nope");
    }
}
