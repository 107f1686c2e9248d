using System.Buffers;
using DualFramework.Backends;
using DualFramework.NN;

namespace DualFramework.IR;

public sealed partial class CompiledFunction
{
    // Results of the generic path handed out by CallReusingResults: owned here, freed by the next call.
    private readonly List<Tensor> _owned = [];

    /// <summary>One trace: its executable and how to feed it.</summary>
    private sealed class Entry
    {
        public Entry(IExecutable exe, Graph graph, InputSource[] sources, Variable[] state, int declaredState, int results,
            Action<double[]>[] host, int scalars)
        {
            Exe = exe;
            Sources = sources;
            State = state;
            Results = results;
            Host = host;
            Scalars = new double[scalars];
            ScalarSpecs = new TensorSpec[scalars];
            StateTensors = new Tensor[state.Length];
            var feeds = new StepInput[sources.Length];
            for (int i = 0; i < sources.Length; i++)
            {
                var s = sources[i];
                feeds[i] = s.Kind switch
                {
                    InputSource.State => new StepInput(StepInputKind.State, s.Index),
                    InputSource.LateState => new StepInput(StepInputKind.State, declaredState + s.Index),
                    InputSource.Arg => new StepInput(StepInputKind.Argument, s.Index),
                    _ => new StepInput(StepInputKind.Scalar, s.Index),
                };
                if (s.Kind == InputSource.Scalar) ScalarSpecs[s.Index] = graph.Inputs[i].Spec;
            }
            Feeds = feeds;
            if (exe is IStepExecutable step)
            {
                step.PrepareSteps(feeds, results);
                Step = step;
            }
        }

        /// <summary>The trace created state without branching on its absence: its graph also serves the state list
        /// that includes the created state (inputs in the same order: declared state, then created).</summary>
        public bool CreatedStateReusable { get; init; }

        /// <summary>For a symbolic graph: what checks it at sizes it has not run at yet.</summary>
        public SymbolicCheck? Check { get; set; }

        /// <summary>The anomaly checks of a debug build (its last result is their flag vector), or null.</summary>
        public GraphAnomalyChecks? Anomaly { get; init; }

        public IExecutable Exe { get; }
        public IStepExecutable? Step { get; }
        public InputSource[] Sources { get; }
        public StepInput[] Feeds { get; }
        public Variable[] State { get; }
        public int Results { get; }
        public Action<double[]>[] Host { get; }
        public double[] Scalars { get; }
        public TensorSpec[] ScalarSpecs { get; }

        // Reused every step for the variables' current values (no per-step array).
        public Tensor[] StateTensors { get; }
    }

    private static ReadOnlySpan<Tensor> RunStep(Entry e, scoped ReadOnlySpan<Tensor> args)
    {
        foreach (var h in e.Host) h(e.Scalars);
        var state = e.StateTensors;
        for (int j = 0; j < state.Length; j++) state[j] = e.State[j].Value;
        try
        {
            return e.Step!.RunStep(state, args, e.Scalars);
        }
        finally
        {
            Array.Clear(state); // hold no tensors between steps
        }
    }

    // Any backend: inputs as tensors, outputs as new tensors assigned to the state variables and returned as results.
    private static Tensor[] RunGeneric(Entry e, IComputeBackend backend, Tensor[] args)
    {
        foreach (var h in e.Host) h(e.Scalars);
        var inputs = new Tensor[e.Feeds.Length];
        using var scope = TensorScope.Begin();
        for (int i = 0; i < inputs.Length; i++)
        {
            var f = e.Feeds[i];
            inputs[i] = f.Kind switch
            {
                StepInputKind.State => e.State[f.Index].Value,
                StepInputKind.Argument => args[f.Index],
                _ => ScalarTensor(e.Scalars[f.Index], e.ScalarSpecs[f.Index].DType, backend),
            };
        }
        var outs = e.Exe.Run(inputs);
        for (int i = 0; i < e.State.Length; i++)
        {
            var v = e.State[i];
            var o = outs[e.Results + i];
            if (!ReferenceEquals(o, v.Value)) v.Assign(o);
        }
        var results = outs[..e.Results];
        scope.Keep(results);
        return results;
    }

    // Takes ownership of the generic path's results (not of inputs returned as results) and frees the previous call's.
    private void OwnResults(Tensor[] results, Tensor[] inputs)
    {
        var previous = _owned.ToArray();
        _owned.Clear();
        foreach (var r in results)
        {
            if (Array.IndexOf(inputs, r) >= 0 || _owned.Contains(r)) continue;
            TensorScope.Release(r);
            _owned.Add(r);
        }
        foreach (var p in previous)
            if (!_owned.Contains(p) && Array.IndexOf(inputs, p) < 0) p.Dispose();
    }

    private static Tensor ScalarTensor(double value, DType dtype, IComputeBackend backend) => dtype switch
    {
        DType.Float32 => Tensor.Scalar((float)value, backend),
        DType.Float64 => Tensor.Scalar(value, backend),
        _ => Ops.Cast(Tensor.Scalar(value, backend), dtype),
    };

    // A new tensor of the current scope holding a copy of t.
    private static Tensor Copy(Tensor t)
    {
        int n = checked((int)(t.NumElements * t.DType.ElementSize()));
        var buffer = ArrayPool<byte>.Shared.Rent(n);
        try
        {
            t.CopyBytesTo(buffer.AsSpan(0, n));
            return Tensor.FromBytes(buffer.AsSpan(0, n), t.Spec, t.Backend);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Frees the compiled executables and the results handed out by <see cref="CallReusingResults"/> (not the
    /// state variables).</summary>
    public void Dispose()
    {
        foreach (var t in _owned) t.Dispose();
        _owned.Clear();
        foreach (var e in _cache.Values) e.Exe.Dispose();
        _cache.Clear();
        _last = null;
    }
}
