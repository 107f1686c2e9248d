using DualFramework.NN;

namespace DualFramework.Training;

/// <summary>Stops training when a monitored metric has not improved by more than <c>minDelta</c> for
/// <c>patience</c> epochs; optionally restores the best weights at the end.</summary>
public sealed class EarlyStopping : Callback
{
    private readonly string _monitor;
    private readonly int _patience;
    private readonly double _minDelta;
    private readonly bool _maximize;
    private readonly bool _restoreBest;
    private int _wait;
    private Dictionary<string, byte[]>? _bestWeights;

    /// <summary>Creates the callback. <paramref name="mode"/> is "min", "max" or "auto" (max for names containing
    /// "acc", min otherwise).</summary>
    public EarlyStopping(string monitor = "val_loss", int patience = 0, double minDelta = 0, string mode = "auto", bool restoreBestWeights = false)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(patience);
        _monitor = monitor;
        _patience = patience;
        _minDelta = Math.Abs(minDelta);
        _maximize = mode switch
        {
            "max" => true,
            "min" => false,
            "auto" => monitor.Contains("acc", StringComparison.Ordinal),
            _ => throw new ArgumentException($"mode must be min, max or auto, got '{mode}'", nameof(mode)),
        };
        _restoreBest = restoreBestWeights;
    }

    /// <summary>Best value seen.</summary>
    public double Best { get; private set; }

    /// <summary>Epoch at which training was stopped, or −1.</summary>
    public int StoppedEpoch { get; private set; } = -1;

    /// <inheritdoc />
    public override void OnTrainBegin(Trainer trainer)
    {
        _wait = 0;
        Best = _maximize ? double.NegativeInfinity : double.PositiveInfinity;
        StoppedEpoch = -1;
        _bestWeights = null;
    }

    /// <inheritdoc />
    public override void OnEpochEnd(Trainer trainer, int epoch, IReadOnlyDictionary<string, double> logs)
    {
        if (!logs.TryGetValue(_monitor, out var value))
            throw new InvalidOperationException($"EarlyStopping monitors '{_monitor}', which is not among the logged metrics ({string.Join(", ", logs.Keys)}).");
        bool improved = _maximize ? value > Best + _minDelta : value < Best - _minDelta;
        if (improved)
        {
            Best = value;
            _wait = 0;
            if (_restoreBest) _bestWeights = Snapshot(trainer.Model);
            return;
        }
        if (++_wait > _patience)
        {
            StoppedEpoch = epoch;
            trainer.StopTraining = true;
        }
    }

    /// <inheritdoc />
    public override void OnTrainEnd(Trainer trainer)
    {
        if (!_restoreBest || _bestWeights == null) return;
        using var s = TensorScope.Begin();
        var state = trainer.Model.StateDict().ToDictionary(kv => kv.Key, kv => Tensor.FromBytes(_bestWeights[kv.Key], kv.Value.Spec, kv.Value.Backend));
        trainer.Model.LoadStateDict(state);
    }

    private static Dictionary<string, byte[]> Snapshot(Module model) => model.StateDict().ToDictionary(kv => kv.Key, kv => kv.Value.ToBytes());
}
