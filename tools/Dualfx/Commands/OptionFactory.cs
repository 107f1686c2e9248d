using System.CommandLine;

namespace DualFramework.Tools.Dualfx.Commands;

/// <summary>Option shapes shared by the commands.</summary>
internal static class OptionFactory
{
    /// <summary>An option taking one of <paramref name="values"/> (checked by the parser), with a default.</summary>
    public static Option<string> Choice(string name, string description, string defaultValue, params string[] values)
    {
        var o = new Option<string>(name) { Description = description, DefaultValueFactory = _ => defaultValue };
        o.AcceptOnlyFromAmong(values);
        return o;
    }

    /// <summary>An option with a default value.</summary>
    public static Option<T> WithDefault<T>(string name, string description, T defaultValue) =>
        new(name) { Description = description, DefaultValueFactory = _ => defaultValue };

    /// <summary>An optional option (null when absent).</summary>
    public static Option<T?> Optional<T>(string name, string description) => new(name) { Description = description };

    /// <summary>A file argument that must exist.</summary>
    public static Argument<string> ExistingPath(string name, string description) => new(name) { Description = description };

    /// <summary>Throws a usage error unless <paramref name="value"/> is positive.</summary>
    public static int Positive(int value, string option) =>
        value > 0 ? value : throw new UserErrorException($"{option} must be positive, got {value}", ExitCodes.Usage);

    /// <summary>Throws a usage error unless <paramref name="path"/> exists (file or directory).</summary>
    public static string MustExist(string path) =>
        File.Exists(path) || Directory.Exists(path) ? path : throw new UserErrorException($"'{path}' does not exist", ExitCodes.Usage);
}
