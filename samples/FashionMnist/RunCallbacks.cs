using System.Globalization;
using DualFramework.Training;

namespace DualFramework.Samples.FashionMnist;

/// <summary>The sample's optional callbacks: checkpoints (per epoch or every N steps), a line per step, TerminateOnNaN.</summary>
public static class RunCallbacks
{
    /// <summary>The checkpoint files' pattern in <paramref name="dir"/> (<c>{step}</c> is the global step).</summary>
    public static string Pattern(string dir) => Path.Combine(dir, "step-{step}.safetensors");

    /// <summary>Builds the callbacks; with <paramref name="resume"/>, <paramref name="resumeFrom"/> is the newest valid
    /// checkpoint in <paramref name="checkpointDir"/> (null when there is none: a fresh start).</summary>
    public static IReadOnlyList<Callback> Create(string? checkpointDir, long everySteps, bool logSteps, bool terminateOnNan, out string? resumeFrom, bool resume)
    {
        var list = new List<Callback>();
        resumeFrom = null;
        if (terminateOnNan) list.Add(new TerminateOnNaN());
        if (checkpointDir != null)
        {
            resumeFrom = resume ? ModelCheckpoint.Latest(Pattern(checkpointDir)) : null;
            // Two files: the newest, and the one before it in case the newest is damaged by something other than a crash.
            list.Add(new ModelCheckpoint(Pattern(checkpointDir)) { EverySteps = everySteps > 0 ? everySteps : null, KeepLast = 2 });
        }
        if (logSteps) list.Add(new StepLog());
        return list;
    }

    // After the checkpoint callback, so a logged step's checkpoint (if any) is already on disk.
    private sealed class StepLog : Callback
    {
        public override void OnBatchEnd(Trainer trainer, long step, IReadOnlyDictionary<string, double> logs) =>
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"step {step} loss {logs["loss"]:R}"));
    }
}
