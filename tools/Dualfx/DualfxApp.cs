using System.CommandLine;
using DualFramework.Checkpoints;
using DualFramework.Tools.Dualfx.Commands;
using DualFramework.Tools.Dualfx.Output;

namespace DualFramework.Tools.Dualfx;

/// <summary>The <c>dualfx</c> command line: parses arguments, runs one subcommand and maps failures to exit codes.</summary>
public static class DualfxApp
{
    /// <summary>Runs <c>dualfx</c> with <paramref name="args"/>, writing results to <paramref name="output"/> and
    /// messages to <paramref name="error"/> (default: the console's).</summary>
    /// <returns>0 on success, 1 when a step or a file failed, 2 for bad arguments, 70 for an internal error.</returns>
    public static int Run(string[] args, TextWriter? output = null, TextWriter? error = null)
    {
        ArgumentNullException.ThrowIfNull(args);
        output ??= Console.Out;
        error ??= Console.Error;
        var reporter = Reporter.Create(output, error);
        var root = new RootCommand("dualfx: train, export, inspect, convert, quantize, benchmark and serve DualFramework models.")
        {
            TrainCommand.Create(reporter),
            ExportCommand.Create(reporter),
            InspectCommand.Create(reporter),
            ConvertCommand.Create(reporter),
            QuantizeCommand.Create(reporter),
            BenchCommand.Create(reporter),
            ServeCommand.Create(reporter),
        };
        var parsed = root.Parse(args);
        if (parsed.Errors.Count > 0)
        {
            foreach (var e in parsed.Errors) error.WriteLine($"error: {e.Message}");
            error.WriteLine("Run 'dualfx --help' (or 'dualfx COMMAND --help') for usage.");
            return ExitCodes.Usage;
        }
        try
        {
            return parsed.Invoke(new InvocationConfiguration { Output = output, Error = error, EnableDefaultExceptionHandler = false });
        }
        catch (Exception e) when (UserMessage(e) is { } message)
        {
            error.WriteLine($"error: {message}");
            return e is UserErrorException u ? u.ExitCode : ExitCodes.Failure;
        }
        catch (Exception e)
        {
            // A bug rather than a user error: say so, and keep the stack trace out of the way unless asked for.
            error.WriteLine($"error: unexpected {e.GetType().Name}: {e.Message}");
            if (Environment.GetEnvironmentVariable("DUALFX_DEBUG") == "1") error.WriteLine(e);
            else error.WriteLine("(set DUALFX_DEBUG=1 for the stack trace)");
            return ExitCodes.Internal;
        }
    }

    // Failures caused by the arguments or the files named in them, reported as one line.
    private static string? UserMessage(Exception e) => e switch
    {
        UserErrorException or CheckpointException or FileNotFoundException or DirectoryNotFoundException
            or UnauthorizedAccessException or Google.Protobuf.InvalidProtocolBufferException
            or Onnx.OnnxExportException or Quantization.QuantizationException => e.Message,
        IOException => e.Message,
        _ => null,
    };
}
