namespace DualFramework.Diagnostics;

/// <summary>Thrown in <see cref="AnomalyMode"/> by the first op that produced a NaN or an infinity.</summary>
public sealed class NumericalAnomalyException : Exception
{
    /// <summary>Creates the exception.</summary>
    public NumericalAnomalyException(string opName, string? layerPath, string stage, string message) : base(message)
    {
        OpName = opName;
        LayerPath = layerPath;
        Stage = stage;
    }

    /// <summary>The op (e.g. <c>log</c>, <c>linear</c>), or <c>backward</c> for a gradient found non-finite after libtorch's
    /// backward pass.</summary>
    public string OpName { get; }

    /// <summary>The layer path that applied the op (e.g. <c>Sequential.3</c>; for a gradient, the parameter's name), or null
    /// outside any layer.</summary>
    public string? LayerPath { get; }

    /// <summary>Where it was found: <c>eager op</c>, <c>compiled graph</c> or <c>gradient</c>.</summary>
    public string Stage { get; }
}
