using System.Globalization;

namespace DualFramework.Training;

/// <summary>The data pipeline's position in a mid-epoch checkpoint (<c>training.data_position</c>): "epoch=E;batch=B".</summary>
internal static class DataPosition
{
    public static string Format(int epoch, long batches) => string.Create(CultureInfo.InvariantCulture, $"epoch={epoch};batch={batches}");

    public static bool TryParse(string? text, out int epoch, out long batches)
    {
        (epoch, batches) = (0, 0);
        if (text == null) return false;
        var parts = text.Split(';');
        return parts.Length == 2 && parts[0].StartsWith("epoch=", StringComparison.Ordinal) && parts[1].StartsWith("batch=", StringComparison.Ordinal)
            && int.TryParse(parts[0].AsSpan(6), NumberStyles.None, CultureInfo.InvariantCulture, out epoch)
            && long.TryParse(parts[1].AsSpan(6), NumberStyles.None, CultureInfo.InvariantCulture, out batches);
    }
}
