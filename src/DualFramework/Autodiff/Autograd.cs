using DualFramework.Backends;
using DualFramework.Operators;

namespace DualFramework.Autodiff;

/// <summary>
/// Reverse-mode automatic differentiation. Gradients come from the backend's own engine when it has one (libtorch autograd
/// on the eager backend) and otherwise from Core's generic tape, which records op applications and runs each op's gradient
/// rule. <see cref="UseTape"/> forces the tape on any backend (tests use it to check the rules against libtorch).
/// </summary>
public static partial class Autograd
{
    [ThreadStatic] private static int _noGradDepth;
    [ThreadStatic] private static int _forceTapeDepth;

    /// <summary>False inside <see cref="NoGrad"/>.</summary>
    public static bool IsGradEnabled => _noGradDepth == 0;

    /// <summary>True inside <see cref="UseTape"/>.</summary>
    public static bool IsTapeForced => _forceTapeDepth > 0;

    /// <summary>True when tensors of <paramref name="backend"/> get gradients from the backend's own engine on this thread.</summary>
    public static bool UsesNative(IComputeBackend backend) => _forceTapeDepth == 0 && backend.NativeAutograd != null;

    /// <summary>Stops gradient recording on this thread (Core tape and backend engines) until disposed.</summary>
    public static IDisposable NoGrad()
    {
        _noGradDepth++;
        var natives = BackendRegistry.Loaded.Select(b => b.NativeAutograd).OfType<INativeAutograd>().Select(n => n.NoGrad()).ToArray();
        return new Restore(() =>
        {
            foreach (var n in natives.Reverse()) n.Dispose();
            _noGradDepth--;
        });
    }

    /// <summary>Makes gradients on this thread come from Core's tape and gradient rules, on every backend, until disposed.</summary>
    public static IDisposable UseTape()
    {
        _forceTapeDepth++;
        return new Restore(() => _forceTapeDepth--);
    }

    private sealed class Restore(Action undo) : IDisposable
    {
        private Action? _undo = undo;

        public void Dispose()
        {
            _undo?.Invoke();
            _undo = null;
        }
    }

    /// <summary>True when an application of <paramref name="op"/> to <paramref name="inputs"/> must be recorded on the tape.</summary>
    internal static bool ShouldRecord(Op op, ReadOnlySpan<Tensor> inputs)
    {
        if (_noGradDepth != 0) return false;
        bool any = false;
        foreach (var t in inputs) any |= t.TapeRequiresGrad;
        return any && op.IsDifferentiable && !UsesNative(inputs[0].Backend);
    }

    internal static void Record(Op op, OpAttrs attrs, Tensor[] inputs, Tensor[] outputs)
    {
        var node = new TapeNode(op, attrs, inputs, outputs);
        for (int i = 0; i < outputs.Length; i++)
        {
            if (!outputs[i].DType.IsFloating()) continue;
            outputs[i].Node = node;
            outputs[i].OutputIndex = i;
            outputs[i].TapeRequiresGrad = true;
        }
    }

    /// <summary>
    /// Gradients of <paramref name="outputs"/> (seeded with <paramref name="gradOutputs"/>, ones for scalars when null)
    /// with respect to <paramref name="inputs"/>; null where an input does not influence the outputs.
    /// Does not touch <see cref="Tensor.Grad"/>.
    /// </summary>
    public static Tensor?[] Grad(Tensor[] outputs, Tensor[] inputs, Tensor?[]? gradOutputs = null, bool retainGraph = false, bool createGraph = false)
    {
        if (outputs.Length == 0) throw new ArgumentException("Grad needs at least one output.", nameof(outputs));
        var backend = outputs[0].Backend;
        var seeds = Seeds(outputs, gradOutputs);
        if (UsesNative(backend))
        {
            var native = backend.NativeAutograd!;
            var r = native.Grad(outputs.Select(o => o.Handle).ToArray(), seeds.Select(s => s?.Handle).ToArray(),
                inputs.Select(i => i.Handle).ToArray(), retainGraph, createGraph);
            return r.Select((h, i) => h == null ? null : Tensor.Wrap(backend, h, inputs[i].Spec)).ToArray();
        }
        // As in PyTorch, a differentiable gradient graph keeps the forward graph it refers to.
        var grads = RunTape(outputs, seeds, inputs, retainGraph || createGraph, createGraph);
        return inputs.Select(i => grads.TryGetValue(i, out var g) ? g : null).ToArray();
    }

    internal static void Backward(Tensor root, Tensor? gradient, bool retainGraph)
    {
        var seeds = Seeds([root], [gradient]);
        if (UsesNative(root.Backend))
        {
            root.Backend.NativeAutograd!.Backward(root.Handle, seeds[0]?.Handle, retainGraph);
            return;
        }
        var grads = RunTape([root], seeds, null, retainGraph, false);
        foreach (var (leaf, g) in grads)
        {
            var kept = g;
            TensorScope.Release(kept);
            if (leaf.TapeGrad is { IsDisposed: false } old)
            {
                using var s = TensorScope.Begin();
                kept = s.Keep(Ops.Add(old, g));
                TensorScope.Release(kept);
                old.Dispose();
                g.Dispose();
            }
            leaf.TapeGrad = kept;
        }
    }

    private static Tensor?[] Seeds(Tensor[] outputs, Tensor?[]? gradOutputs)
    {
        var seeds = new Tensor?[outputs.Length];
        for (int i = 0; i < outputs.Length; i++)
        {
            var g = gradOutputs != null && i < gradOutputs.Length ? gradOutputs[i] : null;
            if (g == null)
            {
                if (outputs[i].NumElements != 1)
                    throw new InvalidOperationException($"Gradient of a non-scalar output {outputs[i].Spec} needs an explicit output gradient.");
                if (!UsesNative(outputs[i].Backend)) g = Ops.OnesLike(outputs[i]);
            }
            else if (g.Shape != outputs[i].Shape)
                throw new ArgumentException($"Output gradient {g.Spec} does not match output {outputs[i].Spec}.");
            seeds[i] = g;
        }
        return seeds;
    }

    // Runs the gradient rules in reverse topological order. With targets == null, returns the gradients of all leaves
    // that require grad; otherwise the gradients of the targets.
    private static Dictionary<Tensor, Tensor> RunTape(Tensor[] outputs, Tensor?[] seeds, Tensor[]? targets, bool retainGraph, bool createGraph)
    {
        var grads = new Dictionary<Tensor, Tensor>(ReferenceEqualityComparer.Instance);
        var order = TopologicalOrder(outputs);
        var targetSet = targets == null ? null : new HashSet<Tensor>(targets, ReferenceEqualityComparer.Instance);
        for (int i = 0; i < outputs.Length; i++) Accumulate(grads, outputs[i], seeds[i]!);

        var noGrad = createGraph ? null : NoGradCoreOnly();
        // Gradient rules run in the dtypes the forward ran in (as libtorch's autograd does): no autocast inside them.
        using var noAutocast = MixedPrecision.Autocast.Suspend();
        try
        {
            for (int k = order.Count - 1; k >= 0; k--)
            {
                var node = order[k];
                var outGrads = new Tensor?[node.Outputs.Length];
                bool any = false;
                for (int j = 0; j < outGrads.Length; j++)
                {
                    if (grads.TryGetValue(node.Outputs[j], out var g)) { outGrads[j] = g; any = true; }
                }
                if (!any) continue;
                var needs = node.Inputs.Select(t => t.TapeRequiresGrad && t.DType.IsFloating()).ToArray();
                var ctx = new GradContext(node.Op, node.Attrs, node.Inputs, node.Outputs, outGrads, needs);
                Tensor?[] inGrads;
                using (LayerPath.Enter("grad(" + node.Op.Name + ")"))
                    inGrads = node.Op.Gradient(ctx);
                if (inGrads.Length != node.Inputs.Length)
                    throw new InvalidOperationException($"Gradient rule of '{node.Op.Name}' returned {inGrads.Length} gradients for {node.Inputs.Length} inputs.");
                for (int j = 0; j < inGrads.Length; j++)
                {
                    var g = inGrads[j];
                    if (g == null || !needs[j]) continue;
                    var x = node.Inputs[j];
                    if (g.Shape != x.Shape || g.DType != x.DType)
                        throw new InvalidOperationException($"Gradient rule of '{node.Op.Name}' returned {g.Spec} for input {j} of spec {x.Spec}.");
                    Accumulate(grads, x, g);
                }
                if (!retainGraph)
                    foreach (var o in node.Outputs) if (targetSet == null || !targetSet.Contains(o)) o.Node = null;
            }
        }
        finally
        {
            noGrad?.Dispose();
        }

        var result = new Dictionary<Tensor, Tensor>(ReferenceEqualityComparer.Instance);
        foreach (var (t, g) in grads)
        {
            bool wanted = targetSet != null ? targetSet.Contains(t) : t.Node == null && t.TapeRequiresGrad && !IsIntermediate(t, order);
            if (wanted) result[t] = g;
        }
        return result;
    }

    private static bool IsIntermediate(Tensor t, List<TapeNode> order)
    {
        foreach (var n in order)
            foreach (var o in n.Outputs)
                if (ReferenceEquals(o, t)) return true;
        return false;
    }

    private static IDisposable NoGradCoreOnly()
    {
        _noGradDepth++;
        return new Restore(() => _noGradDepth--);
    }

    private static void Accumulate(Dictionary<Tensor, Tensor> grads, Tensor t, Tensor g)
    {
        grads[t] = grads.TryGetValue(t, out var old) ? Ops.Add(old, g) : g;
    }

    private static List<TapeNode> TopologicalOrder(Tensor[] roots)
    {
        var order = new List<TapeNode>();
        var visited = new HashSet<TapeNode>(ReferenceEqualityComparer.Instance);
        var stack = new Stack<(TapeNode node, int next)>();
        foreach (var r in roots)
        {
            if (r.Node is not { } start || !visited.Add(start)) continue;
            stack.Push((start, 0));
            while (stack.Count > 0)
            {
                var (node, next) = stack.Pop();
                if (next < node.Inputs.Length)
                {
                    stack.Push((node, next + 1));
                    var child = node.Inputs[next].Node;
                    if (child != null && visited.Add(child)) stack.Push((child, 0));
                }
                else order.Add(node);
            }
        }
        return order;
    }
}
