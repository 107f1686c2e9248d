using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using DualFramework.Tools.Dualfx.Inspection;
using DualFramework.Tools.Dualfx.Output;
using DualFramework.Tools.Dualfx.Training;

namespace DualFramework.Tools.Dualfx.Commands;

/// <summary><c>dualfx inspect FILE</c>: inputs, outputs, op counts, parameters and metadata of an ONNX file, a
/// safetensors file or a checkpoint (a checkpoint folder means its latest epoch).</summary>
internal static class InspectCommand
{
    public static Command Create(Reporter reporter)
    {
        var file = OptionFactory.ExistingPath("file", "An .onnx file, a .safetensors file, or a checkpoint folder");
        var tensors = new Option<bool>("--tensors") { Description = "List every tensor of a safetensors file" };
        var json = new Option<bool>("--json") { Description = "Print the report as one JSON object instead of tables" };
        var command = new Command("inspect", "Summarise an ONNX model, a safetensors file or a checkpoint") { file, tensors, json };
        command.SetAction(p =>
        {
            var sw = Stopwatch.StartNew();
            var summary = Inspect(p.GetValue(file)!, p.GetValue(tensors));
            if (p.GetValue(json))
            {
                reporter.Out.WriteLine(summary.ToJson().ToJsonString());
                return ExitCodes.Success;
            }
            summary.WriteTo(reporter);
            reporter.Line(string.Create(CultureInfo.InvariantCulture, $"inspected in {sw.Elapsed.TotalMilliseconds:F0} ms"));
            return ExitCodes.Success;
        });
        return command;
    }

    /// <summary>The summary of <paramref name="path"/>, chosen by its content (ONNX or safetensors).</summary>
    public static ModelSummary Inspect(string path, bool allTensors = false)
    {
        path = Directory.Exists(path) ? CheckpointFiles.Resolve(path) : OptionFactory.MustExist(path);
        return SafeTensorsInspector.LooksLikeSafeTensors(path) ? SafeTensorsInspector.Inspect(path, allTensors) : OnnxInspector.Inspect(path);
    }
}
