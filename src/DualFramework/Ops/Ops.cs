using System.Collections.Concurrent;
using DualFramework.Backends;
using DualFramework.Operators;

namespace DualFramework;

/// <summary>
/// The tensor functions users call (the backend-neutral op layer, like <c>keras.ops</c> or <c>torch</c>). Each applies an
/// op of <see cref="OpSet"/> through the <see cref="Dispatcher"/>; mixed dtypes are promoted (see <see cref="DTypes"/>)
/// by inserting casts, so every op receives operands of one dtype.
/// </summary>
public static partial class Ops
{
    private static Tensor Apply(Op op, OpAttrs attrs, params Tensor[] inputs) => Dispatcher.Apply(op, attrs, inputs);

    private static Tensor Apply(Op op, OpAttrs attrs, Tensor a) => Dispatcher.Apply(op, attrs, a);

    private static Tensor Apply(Op op, OpAttrs attrs, Tensor a, Tensor b) => Dispatcher.Apply(op, attrs, a, b);

    private static Tensor Apply(Op op, Tensor a) => Dispatcher.Apply(op, OpAttrs.None, a);

    private static Tensor Apply(Op op, Tensor a, Tensor b) => Dispatcher.Apply(op, OpAttrs.None, a, b);

    private static Tensor Apply(Op op, params Tensor[] inputs) => Dispatcher.Apply(op, OpAttrs.None, inputs);

    private static Tensor CastTo(Tensor t, DType dtype) => t.DType == dtype ? t : Cast(t, dtype);

    // Rank-0 constants are immutable, so one tensor per (backend, dtype, value) can serve every op that uses it; this saves
    // a creation kernel per scalar operand on the hot path. Bounded: past the limit new values are created per use.
    private const int ScalarCacheLimit = 4096;
    private static readonly ConcurrentDictionary<(IComputeBackend, DType, long), Tensor> ScalarCache = new();

    /// <summary>A rank-0 tensor holding <paramref name="value"/> with dtype <paramref name="dtype"/> on <paramref name="like"/>'s backend.
    /// The result may be shared: never dispose it.</summary>
    internal static Tensor ScalarLike(Tensor like, double value, DType dtype)
    {
        var key = (like.Backend, dtype, BitConverter.DoubleToInt64Bits(value));
        if (ScalarCache.TryGetValue(key, out var cached) && !cached.IsDisposed) return cached;
        var s = Full(Shape.Scalar, value, dtype, like.Backend);
        if (ScalarCache.Count < ScalarCacheLimit && like.Backend.CachesConstants)
        {
            TensorScope.Release(s);
            ScalarCache[key] = s;
        }
        return s;
    }

    private static bool IsWhole(double v) => Math.Abs(v) < 9.007199254740992E15 && v == Math.Floor(v);

    // The dtype of (tensor ⊕ C# scalar) under weak scalar typing.
    private static DType WithScalar(Tensor t, double v) => DTypes.PromoteWithScalar(t.DType, !IsWhole(v) || !t.DType.IsInteger() && t.DType != DType.Bool);

    private static Tensor Binary(Op op, Tensor a, Tensor b)
    {
        var dt = DTypes.Promote(a.DType, b.DType);
        return Apply(op, CastTo(a, dt), CastTo(b, dt));
    }

    private static Tensor BinaryScalar(Op op, Tensor a, double b, bool scalarFirst = false)
    {
        var dt = WithScalar(a, b);
        var s = ScalarLike(a, b, dt);
        var x = CastTo(a, dt);
        return scalarFirst ? Apply(op, s, x) : Apply(op, x, s);
    }

    // Binary op that needs floating operands (true division, pow).
    private static Tensor FloatBinary(Op op, Tensor a, Tensor b)
    {
        var dt = DTypes.ToFloating(DTypes.Promote(a.DType, b.DType));
        return Apply(op, CastTo(a, dt), CastTo(b, dt));
    }

    private static Tensor FloatUnary(Op op, Tensor x, OpAttrs? attrs = null) =>
        Apply(op, attrs ?? OpAttrs.None, CastTo(x, DTypes.ToFloating(x.DType)));

    /// <summary>Sums <paramref name="g"/> over broadcast dimensions so that it has <paramref name="shape"/>
    /// (the adjoint of broadcasting <paramref name="shape"/> to <c>g.Shape</c>).</summary>
    public static Tensor SumToShape(Tensor g, Shape shape)
    {
        if (g.Shape == shape) return g;
        int lead = g.Rank - shape.Rank;
        if (lead < 0 || !shape.CanBroadcastTo(g.Shape))
            throw new OpException("sum_to_shape", [g.Spec], $"cannot reduce to {shape}", LayerPath.Current);
        var axes = new List<int>();
        for (int i = 0; i < g.Rank; i++)
            if (i < lead || (shape[i - lead] == 1 && g.Shape[i] != 1)) axes.Add(i);
        var s = axes.Count == 0 ? g : Sum(g, axes.ToArray(), keepDims: true);
        return s.Shape == shape ? s : Reshape(s, shape.ToArray());
    }

    /// <summary>The default backend (shorthand for <see cref="BackendRegistry.Default"/>).</summary>
    public static IComputeBackend DefaultBackend => BackendRegistry.Default;
}
