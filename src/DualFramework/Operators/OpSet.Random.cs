namespace DualFramework.Operators;

/// <summary>
/// Attributes of a random op, whose values are a pure function of its <see cref="Seed"/> and its other attributes. Backends
/// that feed the seed at run time (the graph backend's one-node sessions, per-run seeds of compiled functions, see
/// <see cref="DualFramework.IR.RandomSeedInputs"/>) find it here for every random op alike.
/// </summary>
public interface ISeededAttrs
{
    /// <summary>The op seed (see <see cref="DualFramework.Generator"/>).</summary>
    ulong Seed { get; }

    /// <summary>The same attributes with another seed.</summary>
    OpAttrs WithSeed(ulong seed);
}

/// <summary>Uniform random values in [<paramref name="Low"/>, <paramref name="High"/>).</summary>
/// <param name="Shape">Output dimensions.</param>
/// <param name="Low">Inclusive lower bound.</param>
/// <param name="High">Exclusive upper bound (may be reached after rounding to a narrow dtype).</param>
/// <param name="DType">Output dtype (floating).</param>
/// <param name="Seed">The op seed (see <see cref="DualFramework.Generator"/>): equal seeds give equal values on one backend.</param>
public sealed record RandomUniformAttrs(long[] Shape, double Low, double High, DType DType, ulong Seed) : OpAttrs, ISeededAttrs
{
    /// <inheritdoc />
    public OpAttrs WithSeed(ulong seed) => this with { Seed = seed };
}

/// <summary>Normally distributed random values.</summary>
/// <param name="Shape">Output dimensions.</param>
/// <param name="Mean">Mean.</param>
/// <param name="Std">Standard deviation (≥ 0).</param>
/// <param name="DType">Output dtype (floating).</param>
/// <param name="Seed">The op seed (see <see cref="DualFramework.Generator"/>): equal seeds give equal values on one backend.</param>
public sealed record RandomNormalAttrs(long[] Shape, double Mean, double Std, DType DType, ulong Seed) : OpAttrs, ISeededAttrs
{
    /// <inheritdoc />
    public OpAttrs WithSeed(ulong seed) => this with { Seed = seed };
}

/// <summary>Creates a seeded random tensor (uniform or normal). A pure function of its attributes.</summary>
public sealed class RandomOp<TAttrs> : Op<TAttrs> where TAttrs : OpAttrs
{
    internal RandomOp(string name) : base(name) { }

    /// <inheritdoc />
    public override bool IsDifferentiable => false;

    /// <inheritdoc />
    public override bool IsCreation => true;

    /// <inheritdoc />
    protected override TensorSpec[] Infer(ReadOnlySpan<TensorSpec> inputs, TAttrs attrs)
    {
        Arity(inputs, 0);
        var (shape, dtype) = attrs switch
        {
            RandomUniformAttrs u => (u.Shape, u.DType),
            RandomNormalAttrs n => (n.Shape, n.DType),
            _ => throw Fail(inputs, $"unexpected attributes {attrs.GetType().Name}"),
        };
        foreach (var d in shape)
            if (d < 0) throw Fail(inputs, $"negative dimension in shape [{string.Join(", ", shape)}]");
        if (!dtype.IsFloating()) throw Fail(inputs, $"dtype must be floating, got {dtype.Name()}");
        switch (attrs)
        {
            case RandomUniformAttrs u:
                if (!double.IsFinite(u.Low) || !double.IsFinite(u.High)) throw Fail(inputs, $"bounds must be finite, got [{u.Low}, {u.High})");
                if (u.Low > u.High) throw Fail(inputs, $"low {u.Low} is greater than high {u.High}");
                break;
            case RandomNormalAttrs n:
                if (!double.IsFinite(n.Mean)) throw Fail(inputs, $"mean must be finite, got {n.Mean}");
                if (!double.IsFinite(n.Std) || n.Std < 0) throw Fail(inputs, $"std must be finite and non-negative, got {n.Std}");
                break;
        }
        return One(Shape.Own((long[])shape.Clone()), dtype);
    }
}

public static partial class OpSet
{
    /// <summary>Seeded uniform random tensor.</summary>
    public static readonly RandomOp<RandomUniformAttrs> RandomUniform = new("random_uniform");

    /// <summary>Seeded normal random tensor.</summary>
    public static readonly RandomOp<RandomNormalAttrs> RandomNormal = new("random_normal");
}
