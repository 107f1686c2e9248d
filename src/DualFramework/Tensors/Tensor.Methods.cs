namespace DualFramework;

/// <summary>
/// Instance forms of the common <see cref="Ops"/> (as TorchSharp and PyTorch users write them: <c>x.Sum()</c>,
/// <c>x.Reshape(2, -1)</c>, <c>x.Matmul(w)</c>; the arithmetic operators are in <c>Ops.Elementwise.cs</c>). Each is a one-line call of the static op of the same name, with
/// the same semantics, errors and autograd; see <see cref="Ops"/> for the details.
/// </summary>
public sealed partial class Tensor
{
    /// <summary><see cref="Ops.Add(Tensor, Tensor)"/>: elementwise sum with broadcasting.</summary>
    public Tensor Add(Tensor other) => Ops.Add(this, other);

    /// <summary><see cref="Ops.Add(Tensor, double)"/>: adds a scalar.</summary>
    public Tensor Add(double scalar) => Ops.Add(this, scalar);

    /// <summary><see cref="Ops.Sub(Tensor, Tensor)"/>: elementwise difference with broadcasting.</summary>
    public Tensor Sub(Tensor other) => Ops.Sub(this, other);

    /// <summary><see cref="Ops.Sub(Tensor, double)"/>: subtracts a scalar.</summary>
    public Tensor Sub(double scalar) => Ops.Sub(this, scalar);

    /// <summary><see cref="Ops.Mul(Tensor, Tensor)"/>: elementwise product with broadcasting.</summary>
    public Tensor Mul(Tensor other) => Ops.Mul(this, other);

    /// <summary><see cref="Ops.Mul(Tensor, double)"/>: multiplies by a scalar.</summary>
    public Tensor Mul(double scalar) => Ops.Mul(this, scalar);

    /// <summary><see cref="Ops.Div(Tensor, Tensor)"/>: elementwise true division with broadcasting.</summary>
    public Tensor Div(Tensor other) => Ops.Div(this, other);

    /// <summary><see cref="Ops.Div(Tensor, double)"/>: divides by a scalar.</summary>
    public Tensor Div(double scalar) => Ops.Div(this, scalar);

    /// <summary><see cref="Ops.Pow(Tensor, Tensor)"/>: elementwise power.</summary>
    public Tensor Pow(Tensor exponent) => Ops.Pow(this, exponent);

    /// <summary><see cref="Ops.Pow(Tensor, double)"/>: raises to a scalar power.</summary>
    public Tensor Pow(double exponent) => Ops.Pow(this, exponent);

    /// <summary><see cref="Ops.MatMul"/>: matrix product (batched over leading axes).</summary>
    public Tensor Matmul(Tensor other) => Ops.MatMul(this, other);

    /// <summary><see cref="Ops.Neg"/>.</summary>
    public Tensor Neg() => Ops.Neg(this);

    /// <summary><see cref="Ops.Abs"/>.</summary>
    public Tensor Abs() => Ops.Abs(this);

    /// <summary><see cref="Ops.Exp"/>.</summary>
    public Tensor Exp() => Ops.Exp(this);

    /// <summary><see cref="Ops.Log"/>: natural logarithm.</summary>
    public Tensor Log() => Ops.Log(this);

    /// <summary><see cref="Ops.Sqrt"/>.</summary>
    public Tensor Sqrt() => Ops.Sqrt(this);

    /// <summary><see cref="Ops.Tanh"/>.</summary>
    public Tensor Tanh() => Ops.Tanh(this);

    /// <summary><see cref="Ops.Sigmoid"/>.</summary>
    public Tensor Sigmoid() => Ops.Sigmoid(this);

    /// <summary><see cref="Ops.Relu"/>.</summary>
    public Tensor Relu() => Ops.Relu(this);

    /// <summary><see cref="Ops.Clamp"/>: limits values to [min, max] (either bound optional).</summary>
    public Tensor Clamp(double? min = null, double? max = null) => Ops.Clamp(this, min, max);

    /// <summary><see cref="Ops.Softmax"/> along <paramref name="axis"/>.</summary>
    public Tensor Softmax(int axis = -1) => Ops.Softmax(this, axis);

    /// <summary><see cref="Ops.LogSoftmax"/> along <paramref name="axis"/>.</summary>
    public Tensor LogSoftmax(int axis = -1) => Ops.LogSoftmax(this, axis);

    /// <summary><see cref="Ops.Sum(Tensor, int[], bool)"/> over <paramref name="axes"/> (all when null).</summary>
    public Tensor Sum(int[]? axes = null, bool keepDims = false) => Ops.Sum(this, axes, keepDims);

    /// <summary><see cref="Ops.Sum(Tensor, int, bool)"/> over one axis.</summary>
    public Tensor Sum(int axis, bool keepDims = false) => Ops.Sum(this, axis, keepDims);

    /// <summary><see cref="Ops.Mean(Tensor, int[], bool)"/> over <paramref name="axes"/> (all when null).</summary>
    public Tensor Mean(int[]? axes = null, bool keepDims = false) => Ops.Mean(this, axes, keepDims);

    /// <summary><see cref="Ops.Mean(Tensor, int, bool)"/> over one axis.</summary>
    public Tensor Mean(int axis, bool keepDims = false) => Ops.Mean(this, axis, keepDims);

    /// <summary><see cref="Ops.Max(Tensor, int[], bool)"/>: maximum over <paramref name="axes"/> (all when null).</summary>
    public Tensor Max(int[]? axes = null, bool keepDims = false) => Ops.Max(this, axes, keepDims);

    /// <summary><see cref="Ops.Min(Tensor, int[], bool)"/>: minimum over <paramref name="axes"/> (all when null).</summary>
    public Tensor Min(int[]? axes = null, bool keepDims = false) => Ops.Min(this, axes, keepDims);

    /// <summary><see cref="Ops.ArgMax"/>: int64 indices of the maxima along <paramref name="axis"/> (of the flattened
    /// tensor when null).</summary>
    public Tensor ArgMax(int? axis = null, bool keepDims = false) => Ops.ArgMax(this, axis, keepDims);

    /// <summary><see cref="Ops.Reshape"/>: same elements, new shape (one dimension may be −1).</summary>
    public Tensor Reshape(params long[] shape) => Ops.Reshape(this, shape);

    /// <summary><see cref="Ops.Flatten"/>: merges axes <paramref name="startAxis"/> … <paramref name="endAxis"/>; all axes by
    /// default, as <c>torch.Tensor.flatten</c> (the static <see cref="Ops.Flatten"/> and the Flatten layer start at axis 1).</summary>
    public Tensor Flatten(int startAxis = 0, int endAxis = -1) => Ops.Flatten(this, startAxis, endAxis);

    /// <summary><see cref="Ops.Transpose"/>: swaps two axes (the last two by default).</summary>
    public Tensor Transpose(int axis0 = -2, int axis1 = -1) => Ops.Transpose(this, axis0, axis1);

    /// <summary><see cref="Ops.Permute"/>: reorders all axes.</summary>
    public Tensor Permute(params int[] perm) => Ops.Permute(this, perm);

    /// <summary><see cref="Ops.Squeeze(Tensor, int[])"/>: drops size-1 axes (all of them when null).</summary>
    public Tensor Squeeze(int[]? axes = null) => Ops.Squeeze(this, axes);

    /// <summary><see cref="Ops.Unsqueeze"/>: inserts a size-1 axis at <paramref name="axis"/>.</summary>
    public Tensor Unsqueeze(int axis) => Ops.Unsqueeze(this, axis);

    /// <summary><see cref="Ops.Cast"/>: converts to <paramref name="dtype"/>.</summary>
    public Tensor To(DType dtype) => Ops.Cast(this, dtype);
}
