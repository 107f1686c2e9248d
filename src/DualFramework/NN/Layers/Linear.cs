namespace DualFramework.NN;

/// <summary>
/// Affine map <c>y = x·Wᵀ + b</c> over the last axis (PyTorch's <c>nn.Linear</c>). Parameters: <c>weight</c>
/// <c>[out, in]</c> and <c>bias</c> <c>[out]</c>.
/// </summary>
/// <remarks>
/// Initialisation (draw order: weight, then bias): weight Kaiming-uniform with a = √5, i.e. U(±1/√in); bias U(±1/√in).
/// </remarks>
public sealed class Linear : Module, ITransformableLayer
{
    /// <summary>Creates the layer.</summary>
    /// <param name="inFeatures">Size of the input's last axis.</param>
    /// <param name="outFeatures">Size of the output's last axis.</param>
    /// <param name="bias">Whether to learn an additive bias.</param>
    /// <param name="rng">Initialisation generator; null forks the process-wide one (<see cref="Init.Resolve"/>).</param>
    public Linear(long inFeatures, long outFeatures, bool bias = true, SeededRandom? rng = null)
        : this(inFeatures, outFeatures, bias, rng, zeroBias: false) { }

    // zeroBias: attention's output projection starts from a zero bias (no draws for it).
    internal Linear(long inFeatures, long outFeatures, bool bias, SeededRandom? rng, bool zeroBias)
    {
        InFeatures = LayerChecks.Positive(nameof(Linear), "in_features", inFeatures);
        OutFeatures = LayerChecks.Positive(nameof(Linear), "out_features", outFeatures);
        var r = Init.Resolve(rng);
        Weight = RegisterParameter("weight", Init.KaimingUniform(new Shape(outFeatures, inFeatures), inFeatures, Math.Sqrt(5), r));
        if (bias)
            Bias = RegisterParameter("bias", zeroBias ? Ops.Zeros(new Shape(outFeatures)) : Init.FanInUniform(new Shape(outFeatures), inFeatures, r));
    }

    /// <summary>Input features.</summary>
    public long InFeatures { get; }

    /// <summary>Output features.</summary>
    public long OutFeatures { get; }

    /// <summary>The weight <c>[out, in]</c>.</summary>
    public Variable Weight { get; }

    /// <summary>The bias <c>[out]</c>, or null.</summary>
    public Variable? Bias { get; }

    /// <inheritdoc />
    public Module? InputTransform { get; private set; }

    /// <inheritdoc />
    public Module? WeightTransform { get; private set; }

    /// <inheritdoc />
    public void SetTransforms(Module? inputTransform, Module? weightTransform)
    {
        LayerTransforms.CheckFree(nameof(Linear), InputTransform, inputTransform, "input");
        LayerTransforms.CheckFree(nameof(Linear), WeightTransform, weightTransform, "weight");
        if (inputTransform != null) InputTransform = LayerTransforms.Attach(inputTransform, Training, RegisterModule, ITransformableLayer.InputTransformName);
        if (weightTransform != null) WeightTransform = LayerTransforms.Attach(weightTransform, Training, RegisterModule, ITransformableLayer.WeightTransformName);
    }

    /// <summary>Maps <c>[…, in]</c> to <c>[…, out]</c> (after the optional transforms of <see cref="ITransformableLayer"/>).</summary>
    public override Tensor Forward(Tensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (input.Rank == 0 || input.Shape[-1] != InFeatures)
            throw LayerChecks.InputError(nameof(Linear), input,
                $"expects the last dimension to be in_features = {InFeatures}, got shape {input.Shape}");
        var x = LayerTransforms.Apply(nameof(Linear), InputTransform, input);
        var w = LayerTransforms.Apply(nameof(Linear), WeightTransform, Weight.Value);
        return Ops.Linear(x, w, Bias?.Value);
    }
}
