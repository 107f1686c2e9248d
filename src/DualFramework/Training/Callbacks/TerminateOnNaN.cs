namespace DualFramework.Training;

/// <summary>
/// Stops <see cref="Trainer.Fit"/> right after the first batch whose loss is NaN or infinite (Keras' <c>TerminateOnNaN</c>):
/// no further batch is trained. <see cref="StoppedStep"/> tells which global step it was. To find the op and layer that
/// produced the first non-finite value, see <see cref="DualFramework.Diagnostics.AnomalyMode"/> (docs/reliability.md).
/// </summary>
public sealed class TerminateOnNaN : Callback
{
    /// <summary>The global step whose loss was not finite, or −1 while none was.</summary>
    public long StoppedStep { get; private set; } = -1;

    /// <summary>That step's loss (NaN or ±infinity), or NaN while none was.</summary>
    public double Loss { get; private set; } = double.NaN;

    /// <summary>Where the message goes (default: standard error); null: no message.</summary>
    public TextWriter? Output { get; init; } = Console.Error;

    /// <inheritdoc />
    public override void OnTrainBegin(Trainer trainer) => (StoppedStep, Loss) = (-1, double.NaN);

    /// <inheritdoc />
    public override void OnBatchEnd(Trainer trainer, long step, IReadOnlyDictionary<string, double> logs)
    {
        // logs["loss"] is the epoch's running mean, which turns non-finite exactly at the first non-finite batch loss.
        if (!logs.TryGetValue("loss", out var loss) || double.IsFinite(loss)) return;
        (StoppedStep, Loss) = (step, loss);
        trainer.StopTraining = true;
        Output?.WriteLine($"TerminateOnNaN: the loss is {loss} at step {step}; training stopped.");
    }
}
