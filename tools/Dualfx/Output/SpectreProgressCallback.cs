using System.Globalization;
using DualFramework.Training;
using Spectre.Console;

namespace DualFramework.Tools.Dualfx.Output;

/// <summary>One Spectre progress task per epoch, advanced by samples, described with the running loss and accuracy.</summary>
internal sealed class SpectreProgressCallback(ProgressContext context, long samplesPerEpoch, int epochs) : Callback
{
    private ProgressTask? _task;
    private int _epoch;

    public override void OnEpochBegin(Trainer trainer, int epoch)
    {
        _epoch = epoch;
        _task = context.AddTask($"epoch {epoch + 1}/{epochs}", maxValue: Math.Max(1, samplesPerEpoch));
    }

    public override void OnBatchEnd(Trainer trainer, long step, IReadOnlyDictionary<string, double> logs)
    {
        if (_task == null) return;
        _task.Value = Math.Min(logs["samples"], _task.MaxValue);
        _task.Description = string.Create(CultureInfo.InvariantCulture,
            $"epoch {_epoch + 1}/{epochs} loss {logs["loss"]:F4} acc {logs.GetValueOrDefault("accuracy"):F4}");
    }

    public override void OnEpochEnd(Trainer trainer, int epoch, IReadOnlyDictionary<string, double> logs)
    {
        if (_task == null) return;
        _task.Description = string.Create(CultureInfo.InvariantCulture,
            $"epoch {epoch + 1}/{epochs} loss {logs["loss"]:F4} val_acc {logs.GetValueOrDefault("val_accuracy", double.NaN):F4}");
        _task.Value = _task.MaxValue;
        _task.StopTask();
    }
}
