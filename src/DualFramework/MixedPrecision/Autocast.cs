using DualFramework.Operators;

namespace DualFramework.MixedPrecision;

/// <summary>
/// Automatic casting of op operands by the dispatcher, per the op's <see cref="AutocastCategory"/>, while a low-precision
/// compute dtype is active on this thread (PyTorch's <c>torch.autocast</c>). Because the dispatcher applies it, the casts are
/// identical on every backend and are recorded in traced graphs like any other op; their gradients cast back, so gradients
/// reach the variables in the variables' dtype. Modules enter it from their <see cref="DTypePolicy"/>; hand-written code can
/// use <see cref="Enable"/>.
/// </summary>
public static class Autocast
{
    [ThreadStatic] private static DType _compute; // Float32 (default value 0) means off

    /// <summary>The active low-precision compute dtype, or null when autocast is off on this thread.</summary>
    public static DType? ComputeDType => _compute == DType.Float32 ? null : _compute;

    /// <summary>True while autocast is on on this thread.</summary>
    public static bool IsEnabled => _compute != DType.Float32;

    /// <summary>Turns autocast on with <paramref name="computeDType"/> (bfloat16 or float16) until the scope is disposed.</summary>
    public static Scope Enable(DType computeDType)
    {
        if (computeDType is not (DType.BFloat16 or DType.Float16))
            throw new ArgumentException($"Autocast computes in bfloat16 or float16, not {computeDType.Name()}.", nameof(computeDType));
        return Set(computeDType);
    }

    /// <summary>Turns autocast off until the scope is disposed (e.g. a region that must run in float32).</summary>
    public static Scope Suspend() => Set(DType.Float32);

    internal static Scope Set(DType compute)
    {
        var previous = _compute;
        _compute = compute;
        return new Scope(previous);
    }

    /// <summary>Restores the previous autocast state when disposed.</summary>
    public readonly struct Scope : IDisposable
    {
        private readonly DType _previous;
        internal Scope(DType previous) => _previous = previous;

        /// <summary>Restores the state.</summary>
        public void Dispose() => _compute = _previous;
    }

    /// <summary>The dtype each floating operand of <paramref name="op"/> must have under autocast, or null for "as is".</summary>
    internal static DType? Target(Op op, ReadOnlySpan<Tensor> inputs)
    {
        switch (op.Autocast)
        {
            case AutocastCategory.LowerPrecision:
                return _compute;
            case AutocastCategory.Float32:
                return DType.Float32;
            case AutocastCategory.Promote:
                DType? widest = null;
                bool mixed = false;
                foreach (var t in inputs)
                {
                    if (t is null || !t.DType.IsFloating()) continue;
                    if (widest is { } w && w != t.DType) mixed = true;
                    widest = widest is { } v ? DTypes.Promote(v, t.DType) : t.DType;
                }
                return mixed ? widest : null;
            default:
                return null;
        }
    }

    /// <summary>Casts the operands that <paramref name="op"/>'s category wants in another dtype (the caller has checked
    /// <see cref="IsEnabled"/>); returns <paramref name="inputs"/> itself when nothing changes.</summary>
    internal static ReadOnlySpan<Tensor> Apply(Op op, ReadOnlySpan<Tensor> inputs)
    {
        if (Target(op, inputs) is not { } target) return inputs;
        Tensor[]? cast = null;
        for (int i = 0; i < inputs.Length; i++)
        {
            var t = inputs[i];
            if (t is null || !Eligible(op.Autocast, t.DType, target)) continue;
            cast ??= inputs.ToArray();
            // The cast itself is a passthrough op: dispatching it cannot recurse into another cast.
            cast[i] = Ops.Cast(t, target);
        }
        return cast ?? inputs;
    }

    private static bool Eligible(AutocastCategory category, DType dtype, DType target) => category switch
    {
        // float64 is left alone (as in PyTorch): it is asked for on purpose.
        AutocastCategory.LowerPrecision => dtype != target && dtype is DType.Float32 or DType.Float16 or DType.BFloat16,
        AutocastCategory.Float32 => dtype is DType.Float16 or DType.BFloat16,
        AutocastCategory.Promote => dtype.IsFloating() && dtype != target,
        _ => false,
    };
}
