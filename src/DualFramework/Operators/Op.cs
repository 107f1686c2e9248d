using DualFramework.Autodiff;
using DualFramework.MixedPrecision;

namespace DualFramework.Operators;

/// <summary>Attributes of one op application (axes, strides, constants…). Each op family defines a record type.</summary>
public abstract record OpAttrs
{
    /// <summary>For ops without attributes.</summary>
    public static readonly OpAttrs None = new NoAttrs();

    private sealed record NoAttrs : OpAttrs
    {
        public override string ToString() => "";
    }
}

/// <summary>
/// An op of the op set, declared once: its name, its output shape/dtype rule (<see cref="Infer"/>) and its gradient rule
/// (<see cref="Gradient"/>, written in terms of other ops). Backends only map ops to kernels.
/// </summary>
/// <remarks>Every op instance registers itself in <see cref="OpRegistry"/>; <see cref="Id"/> is its dense index there.</remarks>
public abstract class Op
{
    /// <summary>Registers the op under <paramref name="name"/>.</summary>
    protected Op(string name)
    {
        Name = name;
        Id = OpRegistry.Register(this);
    }

    /// <summary>The op's name (snake_case, unique), as shown in errors and graph dumps.</summary>
    public string Name { get; }

    /// <summary>Dense index of the op in <see cref="OpRegistry.All"/>; backends index kernel tables with it.</summary>
    public int Id { get; }

    /// <summary>False for ops whose outputs carry no gradient (comparisons, argmax, creation ops, integer outputs).</summary>
    public virtual bool IsDifferentiable => true;

    /// <summary>True for ops that create tensors from attributes alone (no tensor inputs).</summary>
    public virtual bool IsCreation => false;

    /// <summary>How autocast treats the op's floating operands (<see cref="MixedPrecision.Autocast"/>). Ops of the op set
    /// declare it in <c>OpAutocast.cs</c>; an op defined elsewhere overrides this.</summary>
    public virtual AutocastCategory Autocast => OpAutocast.Of(this);

    /// <summary>
    /// The shape/dtype rule: validates the operands and attributes and returns the output specs.
    /// Throws <see cref="OpException"/> (use <see cref="Fail"/>) on invalid input.
    /// </summary>
    public abstract TensorSpec[] Infer(ReadOnlySpan<TensorSpec> inputs, OpAttrs attrs);

    /// <summary>
    /// The gradient rule: given the forward inputs/outputs and the gradients of the outputs, returns the gradient of each
    /// input (null where none flows), computed with other ops so that any backend, and the symbolic autodiff, can run it.
    /// </summary>
    public virtual Tensor?[] Gradient(GradContext ctx) =>
        throw new NotSupportedException($"Op '{Name}' is not differentiable.");

    /// <summary>An <see cref="OpException"/> for this op naming the operands and the current layer path.</summary>
    protected OpException Fail(ReadOnlySpan<TensorSpec> inputs, string reason) =>
        new(Name, inputs.ToArray(), reason, LayerPath.Current);

    /// <summary>Checks the operand count.</summary>
    protected void Arity(ReadOnlySpan<TensorSpec> inputs, int count)
    {
        if (inputs.Length != count) throw Fail(inputs, $"expects {count} operand(s), got {inputs.Length}");
    }

    /// <summary>Normalises <paramref name="axis"/> for a tensor of rank <paramref name="rank"/> or fails.</summary>
    protected int Axis(ReadOnlySpan<TensorSpec> inputs, int axis, int rank)
    {
        int a = axis < 0 ? axis + rank : axis;
        if (a < 0 || a >= rank) throw Fail(inputs, $"axis {axis} is out of range for rank {rank}");
        return a;
    }

    /// <summary>One output spec.</summary>
    protected static TensorSpec[] One(Shape shape, DType dtype) => [new TensorSpec(shape, dtype)];

    /// <inheritdoc />
    public override string ToString() => Name;
}

/// <summary>An op whose attributes have type <typeparamref name="TAttrs"/>.</summary>
public abstract class Op<TAttrs> : Op where TAttrs : OpAttrs
{
    /// <inheritdoc />
    protected Op(string name) : base(name) { }

    /// <inheritdoc />
    public sealed override TensorSpec[] Infer(ReadOnlySpan<TensorSpec> inputs, OpAttrs attrs) =>
        attrs is TAttrs a ? Infer(inputs, a) : throw Fail(inputs, $"expects attributes of type {typeof(TAttrs).Name}, got {attrs.GetType().Name}");

    /// <summary>The typed shape/dtype rule.</summary>
    protected abstract TensorSpec[] Infer(ReadOnlySpan<TensorSpec> inputs, TAttrs attrs);
}

/// <summary>Every registered op, in registration order.</summary>
public static class OpRegistry
{
    private static readonly List<Op> Ops = [];
    private static readonly object Lock = new();

    internal static int Register(Op op)
    {
        lock (Lock)
        {
            if (Ops.Any(o => o.Name == op.Name)) throw new InvalidOperationException($"Op '{op.Name}' is declared twice.");
            Ops.Add(op);
            return Ops.Count - 1;
        }
    }

    /// <summary>All ops of the op set.</summary>
    public static IReadOnlyList<Op> All
    {
        get
        {
            OpSet.EnsureInitialized();
            lock (Lock) return Ops.ToArray();
        }
    }

    internal static int Count
    {
        get { lock (Lock) return Ops.Count; }
    }

    /// <summary>Looks an op up by name; null when unknown.</summary>
    public static Op? Find(string name) => All.FirstOrDefault(o => o.Name == name);
}
