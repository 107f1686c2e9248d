namespace DualFramework.Optim;

/// <summary>A learning-rate schedule: the rate for a given step (or epoch — the caller chooses the unit).</summary>
public interface ILrSchedule
{
    /// <summary>The learning rate at <paramref name="t"/> (0-based) for base rate <paramref name="baseLr"/>.</summary>
    double At(long t, double baseLr);
}

/// <summary>Multiplies the rate by <see cref="Gamma"/> every <see cref="StepSize"/> units (PyTorch StepLR):
/// <c>base·γ^⌊t/StepSize⌋</c>.</summary>
/// <param name="StepSize">Period in steps or epochs (≥ 1).</param>
/// <param name="Gamma">Decay factor.</param>
public sealed record StepLr(long StepSize, double Gamma = 0.1) : ILrSchedule
{
    /// <inheritdoc />
    public double At(long t, double baseLr)
    {
        if (StepSize <= 0) throw new ArgumentOutOfRangeException(nameof(StepSize), StepSize, "must be positive");
        Schedules.CheckT(t);
        return baseLr * Math.Pow(Gamma, t / StepSize);
    }
}

/// <summary>Cosine annealing from the base rate to <see cref="EtaMin"/> over <see cref="TMax"/> units, then held at
/// <see cref="EtaMin"/> (PyTorch's CosineAnnealingLR closed form for t ≤ TMax; PyTorch would rise again after TMax).</summary>
/// <param name="TMax">Length of the decay (≥ 1).</param>
/// <param name="EtaMin">Final rate.</param>
public sealed record CosineLr(long TMax, double EtaMin = 0) : ILrSchedule
{
    /// <inheritdoc />
    public double At(long t, double baseLr)
    {
        if (TMax <= 0) throw new ArgumentOutOfRangeException(nameof(TMax), TMax, "must be positive");
        Schedules.CheckT(t);
        long u = Math.Min(t, TMax);
        return EtaMin + (baseLr - EtaMin) * (1 + Math.Cos(Math.PI * u / TMax)) / 2;
    }
}

/// <summary>Linear warm-up from <c>StartFactor·base</c> to the base rate over <see cref="WarmupSteps"/> units (PyTorch
/// LinearLR with end factor 1), then <see cref="Then"/> (shifted so it starts at 0), or constant when null.</summary>
/// <param name="WarmupSteps">Warm-up length (≥ 0; 0 means no warm-up).</param>
/// <param name="Then">Schedule after warm-up.</param>
/// <param name="StartFactor">Fraction of the base rate at t = 0, in [0, 1].</param>
public sealed record LinearWarmup(long WarmupSteps, ILrSchedule? Then = null, double StartFactor = 0.0) : ILrSchedule
{
    /// <inheritdoc />
    public double At(long t, double baseLr)
    {
        if (WarmupSteps < 0) throw new ArgumentOutOfRangeException(nameof(WarmupSteps), WarmupSteps, "must be non-negative");
        if (!(StartFactor is >= 0 and <= 1)) throw new ArgumentOutOfRangeException(nameof(StartFactor), StartFactor, "must be in [0, 1]");
        Schedules.CheckT(t);
        if (t < WarmupSteps)
            return baseLr * (StartFactor + (1 - StartFactor) * t / WarmupSteps);
        return Then?.At(t - WarmupSteps, baseLr) ?? baseLr;
    }
}

internal static class Schedules
{
    public static void CheckT(long t)
    {
        if (t < 0) throw new ArgumentOutOfRangeException(nameof(t), t, "must be non-negative");
    }
}
