using System.CommandLine;
using DualFramework.Backends;
using DualFramework.Checkpoints;
using DualFramework.NN;
using DualFramework.Onnx;
using DualFramework.Samples.FashionMnist;
using DualFramework.Tools.Dualfx.Inspection;
using DualFramework.Tools.Dualfx.Output;
using DualFramework.Tools.Dualfx.Training;

namespace DualFramework.Tools.Dualfx.Commands;

/// <summary><c>dualfx export CHECKPOINT -o model.onnx</c>: rebuilds the sample model, loads the weights, exports ONNX.</summary>
internal static class ExportCommand
{
    public static Command Create(Reporter reporter)
    {
        var checkpoint = OptionFactory.ExistingPath("checkpoint", "Checkpoint file, or a folder of epoch-N.safetensors (the latest is taken)");
        var output = new Option<string>("--output", "-o") { Description = "ONNX file to write", Required = true };
        var model = new Option<string?>("--model") { Description = "mlp or cnn (default: the name recorded in the checkpoint)" };
        model.AcceptOnlyFromAmong("mlp", "cnn");
        var backend = OptionFactory.Choice("--backend", "Backend the weights are loaded on", "torch", "torch", "graph");
        var command = new Command("export", "Export a training checkpoint of the Fashion-MNIST models to ONNX") { checkpoint, output, model, backend };
        command.SetAction(p =>
        {
            Export(p.GetValue(checkpoint)!, p.GetValue(output)!, p.GetValue(model), p.GetValue(backend)!, reporter);
            return ExitCodes.Success;
        });
        return command;
    }

    public static void Export(string checkpoint, string output, string? modelName, string backend, Reporter r)
    {
        string file = CheckpointFiles.Resolve(checkpoint);
        string name = modelName ?? CheckpointFiles.ModelName(file)
            ?? throw new UserErrorException($"'{file}' does not record its model; pass --model mlp|cnn", ExitCodes.Usage);
        using (BackendRegistry.Use(BackendRegistry.Get(backend)))
        {
            using var net = Models.Create(name, new SeededRandom(0));
            try
            {
                using var state = Checkpoint.LoadInto(file, net);
            }
            catch (Exception e) when (e is ArgumentException or InvalidOperationException or KeyNotFoundException)
            {
                throw new UserErrorException($"'{file}' does not hold {name} weights: {e.Message}");
            }
            net.Eval();
            var dir = Path.GetDirectoryName(Path.GetFullPath(output));
            if (!string.IsNullOrEmpty(dir)) Directory.CreateDirectory(dir);
            using var scope = TensorScope.Begin();
            // One 28×28 image; the exporter makes the batch axis dynamic.
            var sample = Tensor.FromArray(new float[Data.FashionMnist.ImageSize * Data.FashionMnist.ImageSize],
                new Shape(1, 1, Data.FashionMnist.ImageSize, Data.FashionMnist.ImageSize), net.Parameters().First().Value.Backend);
            ModuleExporter.Export(net, sample, output);
        }
        r.Line($"exported {name} from {file} to {output}");
        OnnxInspector.Inspect(output).WriteTo(r);
    }
}
