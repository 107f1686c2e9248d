using System.Globalization;

namespace DualFramework.Serving;

/// <summary>
/// The part of a <c>/v1/models/...</c> path after the prefix: <c>NAME</c>, <c>NAME/versions/V</c>, each optionally followed
/// by <c>:predict</c>. Parsed by hand because ASP.NET Core's route templates do not split a segment at a colon.
/// </summary>
/// <param name="Model">Model name.</param>
/// <param name="Version">Version asked for, or null for the latest.</param>
/// <param name="Predict">Whether the path ends in <c>:predict</c>.</param>
internal sealed record ModelRoute(string Model, long? Version, bool Predict)
{
    public const string Prefix = "/v1/models/";

    /// <summary>Parses <paramref name="rest"/>; a 404 or 400 names what is wrong with it.</summary>
    public static ModelRoute Parse(string rest)
    {
        bool predict = false;
        int colon = rest.LastIndexOf(':');
        if (colon >= 0)
        {
            var verb = rest[(colon + 1)..];
            if (verb != "predict") throw ServingException.NotFound($"unknown method ':{verb}'; the API has ':predict'");
            predict = true;
            rest = rest[..colon];
        }
        var parts = rest.Split('/');
        if (parts.Length == 1 && parts[0].Length > 0) return new ModelRoute(parts[0], null, predict);
        if (parts.Length == 3 && parts[0].Length > 0 && parts[1] == "versions")
        {
            if (!long.TryParse(parts[2], NumberStyles.None, CultureInfo.InvariantCulture, out long v) || v <= 0)
                throw ServingException.BadRequest($"version '{parts[2]}' is not a positive integer");
            return new ModelRoute(parts[0], v, predict);
        }
        throw ServingException.NotFound($"no such endpoint '{Prefix}{rest}': use {Prefix}NAME[/versions/V][:predict]");
    }
}
