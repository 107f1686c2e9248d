using DualFramework.NN;
using DualFramework.Training;

namespace DualFramework.Quantization;

/// <summary>
/// Gradual magnitude pruning during <see cref="Trainer.Fit"/> with TF-MOT's <c>PolynomialDecay</c> schedule: at training
/// step t (the trainer's <see cref="Trainer.GlobalStep"/> before a batch) the target sparsity is
/// <c>final + (initial − final)·(1 − p)^power</c> with <c>p = clamp((t − begin)/(end − begin), 0, 1)</c>, and every target's
/// mask is recomputed from the current magnitudes (per layer with <see cref="Pruning.L1Unstructured(Module, double, string)"/>,
/// or with one threshold across the targets with <see cref="Pruning.GlobalUnstructured"/> when <c>global</c>) at the steps <c>begin ≤ t ≤ end</c> with <c>(t − begin) mod frequency = 0</c>, and also at <c>t = end</c> so
/// that the final sparsity is always reached (TF-MOT skips it when end − begin is not a multiple of the frequency).
/// </summary>
/// <remarks>
/// Targets without a mask get an all-ones one in <see cref="OnTrainBegin"/>, before the trainer's first step, so that
/// compiled steps read the masks as state; between updates the optimizer keeps pruned entries at zero. A trainer whose
/// train step was compiled before the masks existed is rejected there (call <c>Trainer.Compile</c> again, with a new
/// optimizer).
/// </remarks>
public sealed class PolynomialDecay : Callback
{
    private readonly (Module Layer, string ParameterName)[] _targets;

    /// <summary>Creates the schedule for <paramref name="targets"/> (e.g. <see cref="Pruning.Weights"/> of the model); with
    /// <paramref name="global"/> the sparsity is that of all targets together (small layers with large weights, such as a
    /// first convolution, then lose fewer entries).</summary>
    public PolynomialDecay(IEnumerable<(Module Layer, string ParameterName)> targets, double initialSparsity, double finalSparsity,
        long beginStep, long endStep, double power = 3, int frequency = 100, bool global = false)
    {
        Global = global;
        ArgumentNullException.ThrowIfNull(targets);
        _targets = targets.ToArray();
        if (_targets.Length == 0) throw new ArgumentException("No parameters to prune.", nameof(targets));
        foreach (var (layer, name) in _targets) PruningMasks.Parameter(layer, name);
        PruningMasks.CheckAmount(initialSparsity, nameof(initialSparsity));
        PruningMasks.CheckAmount(finalSparsity, nameof(finalSparsity));
        ArgumentOutOfRangeException.ThrowIfNegative(beginStep);
        if (endStep <= beginStep) throw new ArgumentOutOfRangeException(nameof(endStep), endStep, $"must be greater than beginStep ({beginStep})");
        if (!(power > 0) || double.IsInfinity(power)) throw new ArgumentOutOfRangeException(nameof(power), power, "must be positive and finite");
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(frequency);
        (InitialSparsity, FinalSparsity, BeginStep, EndStep, Power, Frequency) = (initialSparsity, finalSparsity, beginStep, endStep, power, frequency);
    }

    /// <summary>Sparsity at <see cref="BeginStep"/>.</summary>
    public double InitialSparsity { get; }

    /// <summary>Sparsity from <see cref="EndStep"/> on.</summary>
    public double FinalSparsity { get; }

    /// <summary>First step at which masks are computed.</summary>
    public long BeginStep { get; }

    /// <summary>Step at which the final sparsity is reached.</summary>
    public long EndStep { get; }

    /// <summary>Exponent of the decay (3 in TF-MOT: fast pruning early, while the network can still recover).</summary>
    public double Power { get; }

    /// <summary>Steps between mask updates.</summary>
    public int Frequency { get; }

    /// <summary>Whether one magnitude threshold spans all targets (else each target is pruned to the sparsity).</summary>
    public bool Global { get; }

    /// <summary>Number of mask updates made so far.</summary>
    public int Updates { get; private set; }

    /// <summary>The schedule's target sparsity at <paramref name="step"/> (the formula above; constant outside [begin, end]).</summary>
    public double SparsityAt(long step)
    {
        double p = Math.Clamp((double)(step - BeginStep) / (EndStep - BeginStep), 0, 1);
        return FinalSparsity + (InitialSparsity - FinalSparsity) * Math.Pow(1 - p, Power);
    }

    /// <summary>Whether the masks are recomputed before the batch of step <paramref name="step"/>.</summary>
    public bool UpdatesAt(long step) => step >= BeginStep && step <= EndStep && ((step - BeginStep) % Frequency == 0 || step == EndStep);

    /// <inheritdoc />
    public override void OnTrainBegin(Trainer trainer)
    {
        ArgumentNullException.ThrowIfNull(trainer);
        foreach (var (layer, name) in _targets)
            if (!Pruning.IsPruned(layer, name)) Pruning.L1Unstructured(layer, 0L, name);
        if (trainer.CompiledTrainStep is { } step)
        {
            var state = step.State.ToHashSet();
            foreach (var (layer, name) in _targets)
            {
                var mask = PruningMasks.Find(PruningMasks.Parameter(layer, name))!.Mask;
                if (!state.Contains(mask))
                    throw new QuantizationException($"The trainer's train step was compiled before {PruningMasks.LayerName(layer)}.{name} was pruned, " +
                        "so it cannot read the mask: prune before the first step, or call Trainer.Compile again after pruning, with a new optimizer " +
                        "(a compiled step takes in only the optimizer state that it creates).");
            }
        }
        Prune(trainer.GlobalStep);
    }

    /// <inheritdoc />
    public override void OnBatchEnd(Trainer trainer, long step, IReadOnlyDictionary<string, double> logs) => Prune(step);

    private void Prune(long step)
    {
        if (!UpdatesAt(step)) return;
        double sparsity = SparsityAt(step);
        if (Global) Pruning.GlobalUnstructured(_targets, sparsity);
        else foreach (var (layer, name) in _targets) Pruning.L1Unstructured(layer, sparsity, name);
        Updates++;
    }
}
