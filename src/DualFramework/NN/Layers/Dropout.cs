namespace DualFramework.NN;

/// <summary>
/// Dropout (PyTorch's <c>nn.Dropout</c>): in training zeroes each element with probability <see cref="P"/> and scales the
/// rest by 1/(1 − p); the identity in evaluation mode. Masks come from the layer's own <see cref="Generator"/>, seeded with
/// one 64-bit draw from the construction generator, so a run with the same seeds and call order reproduces every mask.
/// </summary>
public sealed class Dropout : Module, IHasGenerator
{
    /// <summary>Creates the layer.</summary>
    /// <param name="p">Probability of zeroing an element, in [0, 1].</param>
    /// <param name="rng">Seeds <see cref="Generator"/> (one draw); null forks the process-wide one.</param>
    public Dropout(double p = 0.5, SeededRandom? rng = null)
    {
        P = LayerChecks.Probability(nameof(Dropout), "p", p);
        Generator = new Generator(Init.Resolve(rng).NextUInt64());
    }

    /// <summary>Drop probability.</summary>
    public double P { get; }

    /// <summary>The source of mask seeds (one seed per training-mode forward with p &gt; 0).</summary>
    public Generator Generator { get; }

    /// <summary>Applies dropout in training mode; returns the input itself in evaluation mode or when p = 0.</summary>
    public override Tensor Forward(Tensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        LayerChecks.Floating(nameof(Dropout), input);
        return Ops.Dropout(input, P, Training, Generator);
    }
}
