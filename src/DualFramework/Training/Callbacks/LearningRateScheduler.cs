using DualFramework.Optim;

namespace DualFramework.Training;

/// <summary>Sets the optimizer's learning rate from a schedule, per epoch (t = epoch) or per step (t = global step).</summary>
public sealed class LearningRateScheduler(ILrSchedule schedule, bool perStep = false) : Callback
{
    /// <inheritdoc />
    public override void OnTrainBegin(Trainer trainer)
    {
        if (perStep) trainer.Optimizer.LearningRate = schedule.At(trainer.GlobalStep, trainer.Optimizer.BaseLearningRate);
    }

    /// <inheritdoc />
    public override void OnEpochBegin(Trainer trainer, int epoch)
    {
        if (!perStep) trainer.Optimizer.LearningRate = schedule.At(epoch, trainer.Optimizer.BaseLearningRate);
    }

    /// <inheritdoc />
    public override void OnBatchEnd(Trainer trainer, long step, IReadOnlyDictionary<string, double> logs)
    {
        if (perStep) trainer.Optimizer.LearningRate = schedule.At(step, trainer.Optimizer.BaseLearningRate);
    }

    /// <inheritdoc />
    public override void OnEpochEnd(Trainer trainer, int epoch, IReadOnlyDictionary<string, double> logs)
    {
        if (logs is IDictionary<string, double> d) d["lr"] = trainer.Optimizer.LearningRate;
    }
}
