using System.CommandLine;
using DualFramework.Tools.Dualfx.Conversion;
using DualFramework.Tools.Dualfx.Output;

namespace DualFramework.Tools.Dualfx.Commands;

/// <summary><c>dualfx convert IN OUT</c>: ONNX initializers → safetensors, or safetensors → ONNX initializers (the
/// direction follows the extensions).</summary>
internal static class ConvertCommand
{
    public static Command Create(Reporter reporter)
    {
        var input = OptionFactory.ExistingPath("input", "An .onnx or a .safetensors file");
        var output = new Argument<string>("output") { Description = "The .safetensors or .onnx file to write" };
        var template = OptionFactory.Optional<string>("--template", "safetensors → ONNX: the model whose initializers the weights replace "
                                                                   + "(default: a graph of initializers only)");
        var command = new Command("convert", "Convert weights between ONNX initializers and safetensors") { input, output, template };
        command.SetAction(p =>
        {
            Convert(p.GetValue(input)!, p.GetValue(output)!, p.GetValue(template), reporter);
            return ExitCodes.Success;
        });
        return command;
    }

    public static void Convert(string input, string output, string? template, Reporter r)
    {
        OptionFactory.MustExist(input);
        if (template != null) OptionFactory.MustExist(template);
        string from = Path.GetExtension(input).ToLowerInvariant(), to = Path.GetExtension(output).ToLowerInvariant();
        int n = (from, to) switch
        {
            (".onnx", ".safetensors") when template == null => WeightConverter.OnnxToSafeTensors(input, output),
            (".onnx", ".safetensors") => throw new UserErrorException("--template applies to safetensors → ONNX only", ExitCodes.Usage),
            (".safetensors", ".onnx") => WeightConverter.SafeTensorsToOnnx(input, output, template),
            _ => throw new UserErrorException($"cannot convert {Describe(from)} to {Describe(to)}: use .onnx → .safetensors or .safetensors → .onnx", ExitCodes.Usage),
        };
        r.Line($"converted {n} tensors: {input} → {output}");
    }

    private static string Describe(string ext) => ext.Length == 0 ? "a file without extension" : ext;
}
