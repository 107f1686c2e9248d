using System.Globalization;
using System.Text.RegularExpressions;
using DualFramework.Checkpoints;

namespace DualFramework.Tools.Dualfx.Training;

/// <summary>Naming of the per-epoch checkpoints <c>dualfx train --checkpoint DIR</c> writes, and finding the latest.</summary>
internal static partial class CheckpointFiles
{
    /// <summary>Metadata key (stored as <c>user.model</c>) naming the sample model a checkpoint holds.</summary>
    public const string ModelKey = "model";

    /// <summary>The path pattern for <c>ModelCheckpoint</c> ({epoch} is 1-based).</summary>
    public static string Pattern(string dir) => Path.Combine(dir, "epoch-{epoch}.safetensors");

    /// <summary><paramref name="path"/> itself when it is a file; for a folder, its epoch-N.safetensors with the largest N.</summary>
    public static string Resolve(string path)
    {
        if (File.Exists(path)) return path;
        if (!Directory.Exists(path)) throw new UserErrorException($"checkpoint '{path}' does not exist", ExitCodes.Usage);
        return Directory.EnumerateFiles(path, "epoch-*.safetensors")
            .Select(f => (File: f, Match: EpochFile().Match(Path.GetFileName(f))))
            .Where(x => x.Match.Success)
            .OrderByDescending(x => long.Parse(x.Match.Groups[1].Value, CultureInfo.InvariantCulture))
            .Select(x => x.File)
            .FirstOrDefault() ?? throw new UserErrorException($"no epoch-N.safetensors checkpoint in '{path}'");
    }

    /// <summary>The model name recorded in a checkpoint's metadata, or null (reads the header only).</summary>
    public static string? ModelName(string file)
    {
        var md = SafeTensors.ReadHeader(file).Metadata;
        return md.TryGetValue("user." + ModelKey, out var m) ? m : null;
    }

    [GeneratedRegex(@"^epoch-(\d+)\.safetensors$")]
    private static partial Regex EpochFile();
}
