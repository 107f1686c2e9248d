using System.Collections.Concurrent;
using DualFramework.Backends;
using DualFramework.IR;
using DualFramework.IR.Passes;
using DualFramework.MixedPrecision;
using DualFramework.Onnx;
using DualFramework.OnnxRuntime;
using DualFramework.Operators;
using Microsoft.ML.OnnxRuntime;

[assembly: BackendProvider("graph", typeof(GraphBackend))]

namespace DualFramework.OnnxRuntime;

/// <summary>
/// The static-graph backend: graphs (traced functions) are lowered to ONNX and run by ONNX Runtime. Outside a traced
/// function every op still runs eagerly, as a cached one-node ONNX session per op signature, and gradients come from
/// Core's tape — so user code behaves the same in both modes, as in TensorFlow 2. Handles are <see cref="OrtValue"/>s.
/// </summary>
public sealed class GraphBackend : IComputeBackend, ILowPrecisionKernels, IDisposable
{
    private readonly ConcurrentDictionary<OpKey, OpSession> _sessions = new();
    private readonly SessionOptions _options;

    /// <summary>Creates the backend on the CPU.</summary>
    public GraphBackend()
    {
        _options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL };
        _options.AddSessionConfigEntry("session.use_env_allocators", "0");
        // Diagnostics: ONNX Runtime's per-node profile (Chrome trace JSON) of every session, under this path prefix.
        if (Environment.GetEnvironmentVariable(ProfileVariable) is { Length: > 0 } profile)
        {
            _options.ProfileOutputPathPrefix = profile; // read when profiling is enabled
            _options.EnableProfiling = true;
        }
        // Always an explicit pool size: left at 0, ONNX Runtime makes one thread per physical core and pins each to its core,
        // while the .NET thread that calls Run (and works in the pool's loops) is not pinned; in a process running only the
        // compiled CNN step, one run in five took ~40 ms instead of ~20 ms per step that way (none in six with the size set).
        _options.IntraOpNumThreads = ThreadBudget.PerProcess;
        // Sharing cores with other ranks: a pool that sleeps instead of spinning while waiting.
        if (ThreadBudget.IsConstrained) _options.AddSessionConfigEntry("session.intra_op.allow_spinning", "0");
    }

    /// <summary>Environment variable: a path prefix under which every session writes ONNX Runtime's per-node profile.</summary>
    public const string ProfileVariable = "DUALFRAMEWORK_ORT_PROFILE";

    /// <inheritdoc />
    public string Name => "graph";

    /// <inheritdoc />
    public Device Device => Device.Cpu;

    /// <inheritdoc />
    public INativeAutograd? NativeAutograd => null;

    /// <summary>Number of one-node sessions created so far (eager mode).</summary>
    public int CachedSessionCount => _sessions.Count;

    internal SessionOptions Options => _options;

    /// <summary>How graphs compiled from now on run the recurrent ops (default <see cref="RecurrentLowering.Auto"/>: unrolled
    /// in training steps, fused in forward-only graphs; docs/benchmarks.md, "recurrent", has the measurements). Eager ops
    /// and ONNX export always use the fused node.</summary>
    public RecurrentLowering RecurrentLowering { get; set; }

    /// <inheritdoc />
    public bool Supports(Op op) => OnnxExporter.IsSupported(op);

    /// <inheritdoc />
    public object Execute(Op op, OpAttrs attrs, ReadOnlySpan<Tensor> inputs, TensorSpec[] outputs)
    {
        var specs = new TensorSpec[inputs.Length];
        for (int i = 0; i < specs.Length; i++) specs[i] = inputs[i].Spec;
        // A random op's seed (dropout, random_uniform, random_normal) changes on every call: it is fed as two key inputs
        // of one session per signature (the canonical seed 0 names them), instead of a session per seed.
        ulong? seed = null;
        if (attrs is ISeededAttrs r)
        {
            seed = r.Seed;
            attrs = r.WithSeed(0);
        }
        var key = new OpKey(op, attrs, specs);
        var session = _sessions.GetOrAdd(key, k => OpSession.Create(k, this));
        return session.Run(inputs, outputs, seed);
    }

    /// <summary>Always true for bfloat16 and float16: ONNX Runtime's CPU provider has no half-precision matmul or
    /// convolution kernels, so <see cref="LowPrecisionFallback"/> runs them in float32 between casts (IR nodes).</summary>
    public bool EmulatesLowPrecision(DType dtype) => dtype is DType.BFloat16 or DType.Float16 && !OrtLowPrecisionSupport.CanRun(OpSet.MatMul, dtype);

    /// <summary>Lowers the whole graph to ONNX and compiles it into one ONNX Runtime session, after rewrites that suit
    /// ONNX Runtime's kernels (on a copy: the caller's graph is left as it is).</summary>
    public IExecutable Compile(DualFramework.IR.Graph graph)
    {
        // A graph with symbolic dims is lowered as it is: these rewrites build attributes from the hint sizes.
        return new OrtExecutable(this, graph.IsSymbolic ? graph.Clone() : Prepare(graph));
    }

    /// <inheritdoc />
    public DualFramework.IR.Graph Prepare(DualFramework.IR.Graph graph)
    {
        var g = LowerRecurrent(graph.Clone());
        // Convolution weight gradients have tiny output planes, which ORT's im2col convolution runs far below peak.
        new SmallOutputConvToMatMul().Run(g);
        // ReLU's gradient behind a max pool: masked on the pooled tensor (4× smaller for 2×2 windows), not the full one.
        new MaskBeforeMaxUnpool().Run(g);
        // Last, so that the casts surround the ops as ORT will run them: float16/bfloat16 ops without CPU kernels in float32.
        OrtLowPrecisionSupport.Pass().Run(g);
        return g;
    }

    // The recurrent nodes replaced by their decomposition, then the default passes again: with stop_gradient gone, the
    // unrolled forward and the gradient's recomputation of it are the same nodes, which CSE merges (LinearFusion first makes
    // the new input projection the linear node the recomputation became). Auto keeps the result when that merge took every
    // matrix product of the unrolled cells, i.e. the graph held the unrolled forward already; what stays new is the cheap
    // tail the adjoint does not need (the last state's product, the output's concatenation).
    private DualFramework.IR.Graph LowerRecurrent(DualFramework.IR.Graph g)
    {
        if (RecurrentLowering == RecurrentLowering.Fused || !g.Nodes.Any(n => n.Op is RecurrentOp)) return g;
        var unrolled = RecurrentLowering == RecurrentLowering.Unrolled ? g : g.Clone();
        new RecurrentUnrolling(this).Run(unrolled);
        PassPipeline.Default(this, training: true).Run(unrolled);
        return RecurrentLowering == RecurrentLowering.Unrolled || Products(unrolled) <= Products(g) ? unrolled : g;

        static int Products(DualFramework.IR.Graph graph) =>
            graph.Nodes.Count(n => ReferenceEquals(n.Op, OpSet.MatMul) || ReferenceEquals(n.Op, OpSet.Linear));
    }

    /// <inheritdoc />
    public object FromBytes(ReadOnlySpan<byte> data, TensorSpec spec)
    {
        var v = OpSession.Allocate(spec);
        if (data.Length > 0) data.CopyTo(v.GetTensorMutableRawData());
        return v;
    }

    /// <inheritdoc />
    public void ToBytes(object handle, TensorSpec spec, Span<byte> destination) =>
        ((OrtValue)handle).GetTensorMutableRawData().CopyTo(destination);

    /// <summary>Releases the cached sessions.</summary>
    public void Dispose()
    {
        foreach (var s in _sessions.Values) s.Dispose();
        _sessions.Clear();
        _options.Dispose();
    }
}

/// <summary>An op signature: op, structurally compared attributes, operand specs.</summary>
internal sealed class OpKey(Op op, OpAttrs attrs, TensorSpec[] inputs) : IEquatable<OpKey>
{
    private readonly int _hash = HashCode.Combine(op.Id, Attributes.StructuralHash(attrs), inputs.Aggregate(17, (h, s) => HashCode.Combine(h, s.GetHashCode())));

    public Op Op { get; } = op;
    public OpAttrs Attrs { get; } = attrs;
    public TensorSpec[] Inputs { get; } = inputs;

    public bool Equals(OpKey? other) =>
        other != null && ReferenceEquals(Op, other.Op) && Inputs.AsSpan().SequenceEqual(other.Inputs) && Attributes.StructurallyEqual(Attrs, other.Attrs);

    public override bool Equals(object? obj) => Equals(obj as OpKey);

    public override int GetHashCode() => _hash;
}

/// <summary>A one-node ONNX session for one op signature.</summary>
internal sealed class OpSession : IDisposable
{
    private readonly InferenceSession _session;
    private readonly string[] _inputNames;
    private readonly string[] _outputNames;
    private readonly RunOptions _run = new();

    private OpSession(InferenceSession session, string[] inputs, string[] outputs)
    {
        _session = session;
        _inputNames = inputs;
        _outputNames = outputs;
    }

    public static OpSession Create(OpKey key, GraphBackend backend)
    {
        var g = new DualFramework.IR.Graph();
        var ins = key.Inputs.Select((s, i) => g.AddInput(s, $"i{i}")).ToArray();
        if (key.Attrs is ISeededAttrs r)
            foreach (var high in new[] { false, true }) g.AddInput(new TensorSpec(Shape.Scalar, DType.Int64), RandomSeedInputs.InputName(r.Seed, high));
        var outs = g.AddNode(key.Op, key.Attrs, ins, LayerPath.Current);
        foreach (var o in outs) g.AddOutput(o);
        // The same casts as in compiled graphs, so an eager op and its compiled form compute alike.
        OrtLowPrecisionSupport.Pass().Run(g);
        var bytes = OnnxExporter.ToBytes(g);
        var session = new InferenceSession(bytes, backend.Options);
        // The exporter may rename values (e.g. an output that is also an input); the session's own lists are authoritative.
        return new OpSession(session, session.InputNames.ToArray(), session.OutputNames.ToArray());
    }

    public object Run(ReadOnlySpan<Tensor> inputs, TensorSpec[] outputs, ulong? seed = null)
    {
        var values = new OrtValue[inputs.Length + (seed.HasValue ? 2 : 0)];
        for (int i = 0; i < inputs.Length; i++) values[i] = (OrtValue)inputs[i].Handle;
        if (seed is { } sd)
        {
            values[inputs.Length] = OrtValue.CreateTensorValueFromMemory(new[] { RandomSeedInputs.Low(sd) }, []);
            values[inputs.Length + 1] = OrtValue.CreateTensorValueFromMemory(new[] { RandomSeedInputs.High(sd) }, []);
        }
        // Outputs are allocated here and filled in place, so each becomes a tensor's handle without a copy.
        var outs = new OrtValue[outputs.Length];
        for (int i = 0; i < outs.Length; i++) outs[i] = Allocate(outputs[i]);
        try
        {
            _session.Run(_run, _inputNames, values, _outputNames, outs);
        }
        catch
        {
            foreach (var o in outs) o.Dispose();
            throw;
        }
        finally
        {
            for (int i = inputs.Length; i < values.Length; i++) values[i].Dispose();
        }
        return outs.Length == 1 ? outs[0] : outs.Cast<object>().ToArray();
    }

    internal static OrtValue Allocate(TensorSpec spec) =>
        OrtValue.CreateAllocatedTensorValue(OrtAllocator.DefaultInstance, OrtTypes.ToOrt(spec.DType), spec.Shape.ToArray());

    public void Dispose()
    {
        _session.Dispose();
        _run.Dispose();
    }
}
