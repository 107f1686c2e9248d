using DualFramework.Autodiff;
using DualFramework.MixedPrecision;

namespace DualFramework.NN;

public abstract partial class Module
{
    [ThreadStatic] private static DTypePolicy? _activePolicy;
    private DTypePolicy? _policy;

    /// <summary>
    /// This module's dtype policy, or null (the default) to inherit the policy in force where it is called: the enclosing
    /// module's, and for the outermost module <see cref="Precision.GlobalPolicy"/>. A mixed policy turns autocast on inside
    /// the module (<see cref="Autocast"/>); float32 turns it off, so setting it on a layer keeps that layer (e.g. the final
    /// classifier) in full precision. Setting a policy whose variable dtype is bfloat16/float16 casts the floating
    /// parameters and buffers of this module and of descendants without a policy of their own; do it before an optimizer
    /// takes state.
    /// </summary>
    public DTypePolicy? Policy
    {
        get => _policy;
        set
        {
            _policy = value;
            if (value != null) CastVariables(value.VariableDType);
        }
    }

    /// <summary>The policy in force in the innermost module forward running on this thread, or null outside any.</summary>
    public static DTypePolicy? ActivePolicy => _activePolicy;

    private void CastVariables(DType dtype)
    {
        foreach (var (_, v) in _parameters) CastVariable(v, dtype);
        foreach (var (_, v) in _buffers) CastVariable(v, dtype);
        foreach (var (_, m) in _children)
            if (m._policy == null) m.CastVariables(dtype);
    }

    private static void CastVariable(Variable v, DType dtype)
    {
        var current = v.Spec.DType;
        if (!current.IsFloating() || current == dtype || current == DType.Float64) return;
        using var noGrad = Autograd.NoGrad();
        v.Recast(Ops.Cast(v.Value, dtype));
    }

    // Keras creates variables in the global policy's variable dtype; so do modules built while a pure low-precision global
    // policy is set (float64 initial values stay float64: they were asked for).
    private static Tensor InPolicyDType(Tensor init)
    {
        var dt = Precision.GlobalPolicy.VariableDType;
        if (dt == DType.Float32 || !init.DType.IsFloating() || init.DType is DType.Float64 || init.DType == dt) return init;
        using var noGrad = Autograd.NoGrad();
        var cast = Ops.Cast(init, dt);
        if (init.Scope == null) init.Dispose();
        return cast;
    }

    private PolicyScope EnterPolicy()
    {
        // The outermost module takes the global policy, unless it is the default float32: then the thread's own autocast
        // state (an Autocast.Enable region around the call) is left as it is.
        var policy = _policy ?? (_activePolicy == null && !ReferenceEquals(Precision.GlobalPolicy, DTypePolicy.Float32) ? Precision.GlobalPolicy : null);
        if (policy == null) return default;
        var previous = _activePolicy;
        _activePolicy = policy;
        var autocast = Autocast.Set(policy.IsMixed ? policy.ComputeDType : DType.Float32);
        return new PolicyScope(policy, previous, autocast);
    }

    internal readonly struct PolicyScope(DTypePolicy policy, DTypePolicy? previous, Autocast.Scope autocast)
    {
        public DTypePolicy? Policy => policy;

        public void Dispose()
        {
            if (policy == null) return;
            autocast.Dispose();
            _activePolicy = previous;
        }
    }

    /// <summary>The scope of one module forward: its name on the layer path and its dtype policy. Dispose to leave.</summary>
    protected readonly struct LayerScope : IDisposable
    {
        private readonly LayerPath.Scope _path;
        private readonly PolicyScope _policy;

        internal LayerScope(LayerPath.Scope path, PolicyScope policy)
        {
            _path = path;
            _policy = policy;
        }

        /// <summary><paramref name="input"/> cast to the compute dtype when the module's own policy is a pure low-precision
        /// one (its variables are in that dtype); otherwise <paramref name="input"/> itself.</summary>
        public Tensor CastInput(Tensor input)
        {
            var p = _policy.Policy ?? _activePolicy;
            if (p == null || p.IsMixed || !p.IsLowPrecision || input is null) return input!;
            return input.DType.IsFloating() && input.DType != p.ComputeDType && input.DType != DType.Float64 ? Ops.Cast(input, p.ComputeDType) : input;
        }

        /// <summary>Leaves the layer and restores the previous policy.</summary>
        public void Dispose()
        {
            _policy.Dispose();
            _path.Dispose();
        }
    }
}
