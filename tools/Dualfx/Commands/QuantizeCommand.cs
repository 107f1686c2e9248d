using System.CommandLine;
using DualFramework.Quantization;
using DualFramework.Samples.FashionMnist;
using DualFramework.Tools.Dualfx.Inspection;
using DualFramework.Tools.Dualfx.Output;
using static DualFramework.Tools.Dualfx.Commands.OptionFactory;

namespace DualFramework.Tools.Dualfx.Commands;

/// <summary><c>dualfx quantize MODEL.onnx -o OUT.onnx --mode static|dynamic</c>: INT8 post-training quantization.</summary>
internal static class QuantizeCommand
{
    private const int Pixels = Data.FashionMnist.ImageSize * Data.FashionMnist.ImageSize;

    public static Command Create(Reporter reporter)
    {
        var model = ExistingPath("model", "A float32 ONNX model (e.g. from dualfx export)");
        var output = new Option<string>("--output", "-o") { Description = "Quantized ONNX file to write", Required = true };
        var mode = Choice("--mode", "static (calibrated activations) or dynamic (weights only)", "static", "static", "dynamic");
        var samples = WithDefault("--calibration-samples", "static: calibration images (the first N Fashion-MNIST training images)", 200);
        var data = Optional<string>("--data", "Folder of the Fashion-MNIST IDX files");
        var command = new Command("quantize", "INT8 quantization of an ONNX model with DualFramework.Quantization") { model, output, mode, samples, data };
        command.SetAction(p =>
        {
            Quantize(p.GetValue(model)!, p.GetValue(output)!, p.GetValue(mode)!, Positive(p.GetValue(samples), "--calibration-samples"), p.GetValue(data), reporter);
            return ExitCodes.Success;
        });
        return command;
    }

    public static QuantizationResult Quantize(string modelPath, string output, string mode, int samples, string? dataDir, Reporter r)
    {
        var model = OnnxInspector.Read(MustExist(modelPath));
        var dir = Path.GetDirectoryName(Path.GetFullPath(output));
        if (!string.IsNullOrEmpty(dir)) Directory.CreateDirectory(dir);
        var result = mode == "dynamic"
            ? r.Status("quantizing (dynamic)", () => Quantizer.QuantizeDynamic(model, output))
            : r.Status("calibrating and quantizing (static)", () => Quantizer.QuantizeStatic(model, output, Calibration(model, samples, dataDir, r)));
        r.Line(result.Summary);
        r.Line($"wrote {output}");
        return result;
    }

    // Fashion-MNIST images for a model of 28×28 inputs (standardised as the sample trains), random values otherwise.
    private static IReadOnlyList<float[]> Calibration(Onnx.Proto.ModelProto model, int samples, string? dataDir, Reporter r)
    {
        var inits = model.Graph.Initializer.Select(t => t.Name).ToHashSet(StringComparer.Ordinal);
        var input = model.Graph.Input.FirstOrDefault(i => !inits.Contains(i.Name))
            ?? throw new UserErrorException("the model has no input to calibrate");
        var dims = input.Type?.TensorType?.Shape?.Dim.Skip(1).Select(d => d.DimValue).ToArray() ?? [];
        if (dims.Length == 0 || dims.Any(d => d <= 0))
            throw new UserErrorException($"input '{input.Name}' needs a known shape after the batch axis for static calibration; use --mode dynamic");
        long size = dims.Aggregate(1L, (a, d) => a * d);
        if (size == Pixels && Data.FashionMnist.IsAvailable(dataDir))
        {
            var images = Data.FashionMnist.Load(dataDir).Train;
            int n = Math.Min(samples, images.Count);
            var all = images.Pixels;
            return Enumerable.Range(0, n)
                .Select(i => FashionMnistJob.StandardizePixels(all.AsSpan(i * Pixels, Pixels).ToArray().Select(b => b / 255f).ToArray()))
                .ToList();
        }
        r.Warn(size == Pixels
            ? "Fashion-MNIST not found: calibrating on random data, the activation ranges will not match real inputs"
            : $"input '{input.Name}' is not 28×28: calibrating on random data, the activation ranges will not match real inputs");
        var rng = new Random(0);
        return Enumerable.Range(0, samples).Select(_ => Enumerable.Range(0, (int)size).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray()).ToList();
    }
}
