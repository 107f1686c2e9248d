using DualFramework.Autodiff;
using DualFramework.IR;

namespace DualFramework.NN;

/// <summary>
/// A named, mutable slot holding a tensor that outlives training steps: a trainable parameter or a non-trainable buffer
/// (BatchNorm running statistics, optimizer state). The slot owns its tensor (outside every <see cref="TensorScope"/>);
/// <see cref="Assign"/> replaces it and frees the old one, so updates are functional and backend-neutral (a traced step
/// can read the value as an input and produce the new value as an output).
/// </summary>
public sealed class Variable : IDisposable
{
    private Tensor _value;

    /// <summary>Creates a variable that takes ownership of <paramref name="value"/>.</summary>
    public Variable(Tensor value, bool trainable, string name = "")
    {
        if (trainable && !value.DType.IsFloating())
            throw new ArgumentException($"A trainable variable must be floating, got {value.Spec}.", nameof(value));
        Trainable = trainable;
        Name = name;
        _value = Adopt(value);
    }

    /// <summary>
    /// Full dotted path from the root module that owns the variable (e.g. <c>encoder.fc1.weight</c>): set when it is
    /// registered and updated once when its module is attached to a parent; enumerating a sub-module never changes it.
    /// Optimizer state and checkpoints use this name.
    /// </summary>
    public string Name { get; internal set; }

    /// <summary>True for parameters updated by optimizers (false for buffers and frozen parameters, see
    /// <see cref="Module.Freeze"/>).</summary>
    public bool Trainable { get; private set; }

    /// <summary>Freezes or unfreezes: sets <see cref="Trainable"/> and whether the value requires gradients.</summary>
    internal void SetTrainable(bool trainable)
    {
        if (trainable && !_value.DType.IsFloating())
            throw new InvalidOperationException($"Variable '{Name}' ({Spec}) cannot be trainable: it is not floating.");
        Trainable = trainable;
        _value.Grad = null;
        _value.RequiresGrad = trainable;
    }

    /// <summary>The current value.</summary>
    public Tensor Value => _value;

    /// <summary>
    /// Optional projection applied by <see cref="Optim.Optimizer"/> right after each update of this variable (Keras'
    /// <c>kernel_constraint</c>): the optimizer assigns <c>Constraint(newValue)</c>. Write it with <see cref="Ops"/> so that
    /// it is traced into compiled steps; variables it reads (e.g. a pruning mask) must be in the step's state to be read
    /// afresh on every run. Null (the default) leaves updates as they are.
    /// </summary>
    public Func<Tensor, Tensor>? Constraint { get; set; }

    /// <summary>Shape and dtype (fixed for the variable's life, except when a dtype policy recasts it: <see cref="Module.Policy"/>).</summary>
    public TensorSpec Spec => _value.Spec;

    /// <summary>The gradient accumulated by <see cref="Tensor.Backward"/>, or null.</summary>
    public Tensor? Grad => _value.Grad;

    /// <summary>Clears the accumulated gradient.</summary>
    public void ZeroGrad() => _value.Grad = null;

    /// <summary>
    /// Replaces the value with <paramref name="newValue"/> (same shape and dtype), taking ownership of it and disposing the
    /// previous value. A gradient-tracking history of <paramref name="newValue"/> is dropped.
    /// </summary>
    public void Assign(Tensor newValue) => Replace(newValue, allowDTypeChange: false);

    /// <summary><see cref="Assign(Tensor)"/> to a value of another dtype (a dtype policy recasting the variable).</summary>
    internal void Recast(Tensor newValue) => Replace(newValue, allowDTypeChange: true);

    private void Replace(Tensor newValue, bool allowDTypeChange)
    {
        bool same = allowDTypeChange ? newValue.Shape == _value.Shape : newValue.Spec == _value.Spec;
        if (!same)
            throw new ArgumentException($"Cannot assign {newValue.Spec} to variable '{Name}' of {_value.Spec}.", nameof(newValue));
        if (ReferenceEquals(newValue, _value)) return;
        var old = _value;
        bool oldSymbolic = SymbolicTrace.IsSymbolic(old);
        if (SymbolicTrace.IsSymbolic(newValue) && !oldSymbolic)
            throw new InvalidOperationException(
                $"Variable '{Name}' ({Spec}) is assigned inside a traced function but is not part of the function's state: " +
                "pass it in the state list of the CompiledFunction so that its new value becomes a graph output.");
        _value = Adopt(newValue);
        // While tracing, the replaced value is a symbolic tensor (no memory) that other traced code may still read; the
        // concrete value was swapped out by the trace and is restored afterwards.
        if (!oldSymbolic) old.Dispose();
    }

    /// <summary>Tracing hook: replaces the value without adopting or disposing anything and returns the previous one.</summary>
    internal Tensor SwapValue(Tensor value)
    {
        var old = _value;
        _value = value;
        return old;
    }

    private Tensor Adopt(Tensor t)
    {
        var v = t;
        if (t.Node != null || t.RequiresGrad)
        {
            // Cut any gradient history so the variable holds a leaf (shares storage, no copy).
            using (Autograd.NoGrad()) v = t.Detach();
            if (t.Scope == null) t.Dispose();
        }
        TensorScope.Release(v);
        if (Trainable) v.RequiresGrad = true;
        return v;
    }

    /// <summary>Frees the value.</summary>
    public void Dispose() => _value.Dispose();

    /// <inheritdoc />
    public override string ToString() => $"Variable({Name}, {Spec}{(Trainable ? "" : ", buffer")})";
}
