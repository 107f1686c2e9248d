namespace DualFramework.NN;

/// <summary>Returns its input unchanged (PyTorch's <c>nn.Identity</c>).</summary>
public sealed class Identity : Module
{
    /// <summary>Returns <paramref name="input"/>.</summary>
    public override Tensor Forward(Tensor input) => input ?? throw new ArgumentNullException(nameof(input));
}

/// <summary>Merges axes <see cref="StartAxis"/>..<see cref="EndAxis"/> into one (PyTorch's <c>nn.Flatten</c>).</summary>
/// <param name="startAxis">First merged axis (default 1 keeps the batch axis; negative counts from the end).</param>
/// <param name="endAxis">Last merged axis, inclusive.</param>
public sealed class Flatten(int startAxis = 1, int endAxis = -1) : Module
{
    /// <summary>First merged axis.</summary>
    public int StartAxis { get; } = startAxis;

    /// <summary>Last merged axis (inclusive).</summary>
    public int EndAxis { get; } = endAxis;

    /// <summary>The input reshaped with the axes merged.</summary>
    public override Tensor Forward(Tensor input) => Ops.Flatten(input, StartAxis, EndAxis);
}

/// <summary>max(x, 0) (PyTorch's <c>nn.ReLU</c>).</summary>
public sealed class ReLU : Module
{
    /// <summary>Applies the activation.</summary>
    public override Tensor Forward(Tensor input) => Ops.Relu(input);
}

/// <summary>x·Φ(x), exact or with the tanh approximation (PyTorch's <c>nn.GELU</c>).</summary>
public sealed class GELU : Module
{
    /// <summary>Creates the layer.</summary>
    /// <param name="approximate">Exact (erf-based, the default) or the tanh form.</param>
    public GELU(GeluApproximation approximate = GeluApproximation.None)
    {
        if (!Enum.IsDefined(approximate))
            throw new ArgumentException($"{nameof(GELU)}: approximate must be None or Tanh, got {approximate}.", nameof(approximate));
        Approximation = approximate;
    }

    /// <summary>The form computed.</summary>
    public GeluApproximation Approximation { get; }

    /// <summary>Applies the activation.</summary>
    public override Tensor Forward(Tensor input) => Ops.Gelu(input, Approximation);
}

/// <summary>tanh(x) (PyTorch's <c>nn.Tanh</c>).</summary>
public sealed class Tanh : Module
{
    /// <summary>Applies the activation.</summary>
    public override Tensor Forward(Tensor input) => Ops.Tanh(input);
}

/// <summary>1/(1 + e^−x) (PyTorch's <c>nn.Sigmoid</c>).</summary>
public sealed class Sigmoid : Module
{
    /// <summary>Applies the activation.</summary>
    public override Tensor Forward(Tensor input) => Ops.Sigmoid(input);
}

/// <summary>x for x ≥ 0, slope·x otherwise (PyTorch's <c>nn.LeakyReLU</c>).</summary>
public sealed class LeakyReLU : Module
{
    /// <summary>Creates the layer.</summary>
    /// <param name="negativeSlope">Slope for negative inputs (finite).</param>
    public LeakyReLU(double negativeSlope = 0.01)
    {
        if (!double.IsFinite(negativeSlope))
            throw new ArgumentOutOfRangeException(nameof(negativeSlope), negativeSlope, $"{nameof(LeakyReLU)}: negative_slope must be finite.");
        NegativeSlope = negativeSlope;
    }

    /// <summary>Slope for negative inputs.</summary>
    public double NegativeSlope { get; }

    /// <summary>Applies the activation.</summary>
    public override Tensor Forward(Tensor input) => Ops.LeakyRelu(input, NegativeSlope);
}

/// <summary>(1/β)·log(1 + e^(β·x)), linear above <see cref="Threshold"/> (PyTorch's <c>nn.Softplus</c>).</summary>
public sealed class Softplus : Module
{
    /// <summary>Creates the layer.</summary>
    /// <param name="beta">Sharpness β (positive).</param>
    /// <param name="threshold">Above β·x &gt; threshold the function is the identity.</param>
    public Softplus(double beta = 1.0, double threshold = 20.0)
    {
        Beta = LayerChecks.PositiveFinite(nameof(Softplus), "beta", beta);
        Threshold = threshold;
    }

    /// <summary>Sharpness β.</summary>
    public double Beta { get; }

    /// <summary>Linearisation threshold on β·x.</summary>
    public double Threshold { get; }

    /// <summary>Applies the activation.</summary>
    public override Tensor Forward(Tensor input) => Ops.Softplus(input, Beta, Threshold);
}

/// <summary>Softmax along <see cref="Axis"/> (PyTorch's <c>nn.Softmax(dim)</c>).</summary>
/// <param name="axis">The normalised axis (negative counts from the end).</param>
public sealed class Softmax(int axis = -1) : Module
{
    /// <summary>The normalised axis.</summary>
    public int Axis { get; } = axis;

    /// <summary>Applies the softmax.</summary>
    public override Tensor Forward(Tensor input) => Ops.Softmax(input, Axis);
}

/// <summary>Log-softmax along <see cref="Axis"/> (PyTorch's <c>nn.LogSoftmax(dim)</c>).</summary>
/// <param name="axis">The normalised axis (negative counts from the end).</param>
public sealed class LogSoftmax(int axis = -1) : Module
{
    /// <summary>The normalised axis.</summary>
    public int Axis { get; } = axis;

    /// <summary>Applies the log-softmax.</summary>
    public override Tensor Forward(Tensor input) => Ops.LogSoftmax(input, Axis);
}
