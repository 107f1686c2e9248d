namespace DualFramework.Tools.Dualfx.Training;

/// <summary>Everything <c>dualfx train</c> was asked to do.</summary>
internal sealed record TrainSettings
{
    public string? Model { get; init; }
    public string Backend { get; init; } = "torch";
    public string Precision { get; init; } = "float32";
    public int Epochs { get; init; } = 2;
    public int BatchSize { get; init; } = 64;
    public double LearningRate { get; init; } = 2e-3;
    public long Seed { get; init; }
    public string? DataDir { get; init; }
    public int? TrainLimit { get; init; }
    public int? TestLimit { get; init; }
    public string? CheckpointDir { get; init; }
    public string? Resume { get; init; }
    public string? PlotPath { get; init; }
    public string? LogPath { get; init; }
    public bool Json { get; init; }
}
