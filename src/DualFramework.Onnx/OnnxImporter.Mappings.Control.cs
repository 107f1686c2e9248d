using DualFramework.IR;
using DualFramework.Onnx.Proto;
using DualFramework.Operators;

namespace DualFramework.Onnx;

public static partial class OnnxImporter
{
    /// <summary>Most iterations a Loop or Scan is unrolled to (each iteration copies the body into the graph).</summary>
    public const int MaxUnrolledIterations = 4096;

    /// <summary>Most nodes a graph may reach while bodies are traced into it (nested loops multiply their bodies).</summary>
    public const int MaxTracedNodes = 1 << 20;

    private sealed partial class Builder
    {
        /// <summary>Control flow with static shapes: subgraph bodies are traced into the graph (TraceBody). If takes the branch
        /// its condition selects when the condition is known while building, else computes both and selects with where;
        /// Loop and Scan are unrolled, so a Loop's trip count and condition must be known while building. If branches and
        /// Loop-carried values may be sequences or optionals.</summary>
        private void AddControl()
        {
            _slotMappings.Add("If", () =>
            {
                var cond = In(0);
                if (cond.Spec.Shape.NumElements != 1) throw Bad($"the condition must have one element, got {cond.Spec.Shape}");
                GraphProto thenBody = GraphAttr("then_branch"), elseBody = GraphAttr("else_branch");
                // A condition from constants, or a model input itself, is known while building (the graph is specialised
                // on the input's value); one computed from run-time data keeps both branches when they can be selected.
                bool known = !DependsOnInputs(cond) || (cond.IsInput && _dataInputs.ContainsKey(cond));
                if (known && KnownCondition(cond, "the condition") is { } c) return TraceSlots(c ? thenBody : elseBody, [], c ? "then_branch" : "else_branch");
                var a = TraceSlots(thenBody, [], "then_branch");
                var b = TraceSlots(elseBody, [], "else_branch");
                if (a.Length != b.Length) throw Bad($"then_branch has {a.Length} outputs, else_branch {b.Length}");
                if (a.Zip(b).All(p => p is (TensorSlot x, TensorSlot y) && x.Value.Spec == y.Value.Spec))
                {
                    var scalar = Reshape(cond.Spec.DType == DType.Bool ? cond : Bin(OpSet.NotEqual, cond, Sc(0, cond)), []);
                    return [.. a.Zip(b).Select(p => (Slot)new TensorSlot(Select(scalar, ((TensorSlot)p.First).Value, ((TensorSlot)p.Second).Value)))];
                }
                // Sequences, optionals, or branches of different shapes or dtypes: only a condition known while building can choose.
                var chosen = KnownCondition(cond, "the condition")
                    ?? throw Bad($"branches with outputs that are not tensors of one type ({Describe(a)} vs {Describe(b)}) under a run-time condition are not supported");
                return chosen ? a : b;
            });
            _slotMappings.Add("Loop", () =>
            {
                var body = GraphAttr("body");
                if (!Has(0) && !Has(1)) throw Bad("a Loop without trip count and condition (an endless loop) is not supported");
                long? trips = null;
                if (Has(0))
                {
                    if (KnownValue(0) == null) throw Bad("a trip count computed from run-time data is not supported (it must be a constant or a model input)");
                    trips = ConstInts(0) is [var t] ? t : throw Bad($"the trip count must be a scalar, got {In(0).Spec.Shape}");
                }
                bool cond = !Has(1) || (KnownCondition(In(1), "the condition") ?? throw Bad("a condition computed from run-time data is not supported (it must be a constant or a model input)"));
                // Loop-carried values may be sequences or optionals (importer-side values threaded through the unrolled bodies).
                var carried = Enumerable.Range(2, Math.Max(0, _n.Input.Count - 2)).Select(SlotIn).ToArray();
                int nScan = body.Output.Count - 1 - carried.Length;
                if (nScan < 0) throw Bad($"the body has {body.Output.Count} outputs for {carried.Length} loop-carried values");
                var scans = Enumerable.Range(0, nScan).Select(_ => new List<Value>()).ToArray();
                for (long i = 0; (trips == null || i < trips) && cond; i++)
                {
                    if (i >= MaxUnrolledIterations) throw Bad($"more than {MaxUnrolledIterations} iterations are not supported (the loop is unrolled)");
                    var ins = new Slot[] { new TensorSlot(Scalar(i, DType.Int64)), new TensorSlot(Scalar(1, DType.Bool)) }.Concat(carried).ToArray();
                    var outs = TraceSlots(body, ins, "body");
                    var next = outs[0] as TensorSlot ?? throw Bad($"the body's condition output is a {KindName(outs[0])}");
                    cond = KnownCondition(next.Value, "the body's condition output")
                        ?? throw Bad("a condition computed from run-time data is not supported (the loop is unrolled while building)");
                    carried = outs[1..(1 + carried.Length)];
                    for (int k = 0; k < nScan; k++)
                        scans[k].Add(outs[1 + carried.Length + k] is TensorSlot s ? s.Value : throw Bad($"scan output {k} is a {KindName(outs[1 + carried.Length + k])}; only tensors are supported"));
                }
                if (nScan > 0 && scans[0].Count == 0) throw Bad("scan outputs of a loop that runs zero times are not supported (their shape is unknown)");
                return [.. carried, .. scans.Select(s => (Slot)new TensorSlot(Stack(s, 0)))];
            });
            Map("Scan", _ =>
            {
                var body = GraphAttr("body");
                int nScanIn = (int)Int("num_scan_inputs", 0);
                if (nScanIn < 1) throw Bad("num_scan_inputs must be at least 1");
                if (opset < 9) return ScanBatched(body, nScanIn);
                var ins = Enumerable.Range(0, _n.Input.Count).Select(In).ToArray();
                int nState = ins.Length - nScanIn;
                if (nState < 0) throw Bad($"{ins.Length} inputs for {nScanIn} scan inputs");
                var inAxes = Ints("scan_input_axes") ?? new long[nScanIn];
                var inDirs = Ints("scan_input_directions") ?? new long[nScanIn];
                int nScanOut = body.Output.Count - nState;
                var outAxes = Ints("scan_output_axes") ?? new long[Math.Max(0, nScanOut)];
                var outDirs = Ints("scan_output_directions") ?? new long[Math.Max(0, nScanOut)];
                return Outputs(ScanCore(body, ins[..nState], ins[nState..], inAxes, inDirs, outAxes, outDirs));
            });
        }

        private static string Describe(Slot[] slots) =>
            string.Join(", ", slots.Select(s => s is TensorSlot t ? t.Value.Spec.ToString() : KindName(s)));

        /// <summary>Returns the first value; the rest become the node's further outputs.</summary>
        private Value Outputs(Value[] values)
        {
            if (values.Length == 0) throw Bad("has no outputs");
            _more.AddRange(values[1..]);
            return values[0];
        }

        /// <summary>Stacks same-shaped values along a new axis <paramref name="axis"/> (unsqueeze each, concat).</summary>
        private Value Stack(IReadOnlyList<Value> values, int axis)
        {
            var d = values[0].Spec.Shape.ToArray().ToList();
            foreach (var v in values)
                if (v.Spec != values[0].Spec) throw Bad($"stacked values differ: {values[0].Spec} and {v.Spec}");
            d.Insert(axis, 1);
            var parts = values.Select(v => Reshape(v, d.ToArray())).ToArray();
            return parts.Length == 1 ? parts[0] : Node(OpSet.Concat, new ConcatAttrs(axis), parts);
        }

        /// <summary>The slices of <paramref name="x"/> along <paramref name="axis"/>, with that axis removed.</summary>
        private Value[] Unstack(Value x, int axis)
        {
            long n = x.Spec.Shape[axis];
            var d = x.Spec.Shape.ToArray().Where((_, i) => i != axis).ToArray();
            if (n == 1) return [Reshape(x, d)];
            return Nodes(OpSet.Split, new SplitAttrs(axis, Enumerable.Repeat(1L, (int)n).ToArray()), x).Select(p => Reshape(p, d)).ToArray();
        }

        /// <summary>Scan (opset ≥ 9) unrolled over the scan axis: final states, then the stacked scan outputs.</summary>
        private Value[] ScanCore(GraphProto body, Value[] states, Value[] scanIns, long[] inAxes, long[] inDirs, long[] outAxes, long[] outDirs)
        {
            if (inAxes.Length != scanIns.Length || inDirs.Length != scanIns.Length) throw Bad("scan_input_axes / scan_input_directions need one entry per scan input");
            int nScanOut = body.Output.Count - states.Length;
            if (nScanOut < 0 || outAxes.Length != nScanOut || outDirs.Length != nScanOut)
                throw Bad("scan_output_axes / scan_output_directions need one entry per scan output");
            var axes = scanIns.Select((x, k) => Axis(inAxes[k], x.Spec.Shape.Rank)).ToArray();
            long len = scanIns[0].Spec.Shape[axes[0]];
            for (int k = 0; k < scanIns.Length; k++)
                if (scanIns[k].Spec.Shape[axes[k]] != len) throw Bad($"scan inputs have different lengths: {scanIns[0].Spec.Shape} and {scanIns[k].Spec.Shape}");
            if (len == 0) throw Bad("a scan of length 0 is not supported (its outputs' shapes are unknown)");
            if (len > MaxUnrolledIterations) throw Bad($"a scan of length {len} is not supported (more than {MaxUnrolledIterations}; it is unrolled)");
            var slices = scanIns.Select((x, k) => Unstack(x, axes[k])).ToArray();
            var outs = Enumerable.Range(0, nScanOut).Select(_ => new List<Value>()).ToArray();
            for (int t = 0; t < len; t++)
            {
                var ins = states.Concat(slices.Select((s, k) => s[inDirs[k] != 0 ? len - 1 - t : t])).ToArray();
                var r = TraceBody(body, ins, "body");
                states = r[..states.Length];
                for (int k = 0; k < nScanOut; k++) outs[k].Add(r[states.Length + k]);
            }
            var stacked = outs.Select((o, k) =>
            {
                if (outDirs[k] != 0) o.Reverse();
                return Stack(o, Axis(outAxes[k], o[0].Spec.Shape.Rank + 1));
            });
            return states.Concat(stacked).ToArray();
        }

        /// <summary>Scan opset 8: a batch axis 0 on every input (scan axis 1 on scan inputs), each batch element scanned on its own.</summary>
        private Value ScanBatched(GraphProto body, int nScanIn)
        {
            if (Has(0)) throw Bad("sequence_lens is not supported");
            var ins = Enumerable.Range(1, Math.Max(0, _n.Input.Count - 1)).Select(In).ToArray();
            int nState = ins.Length - nScanIn;
            if (nState < 0) throw Bad($"{ins.Length} inputs for {nScanIn} scan inputs");
            var dirs = Ints("directions") ?? new long[nScanIn];
            int nScanOut = body.Output.Count - nState;
            if (ins.Any(x => x.Spec.Shape.Rank == 0)) throw Bad("every input needs a batch axis");
            long batch = ins[0].Spec.Shape[0];
            if (batch is 0 or > MaxUnrolledIterations) throw Bad($"a batch of {batch} is not supported (1 to {MaxUnrolledIterations}; it is unrolled)");
            if (ins.Any(x => x.Spec.Shape[0] != batch)) throw Bad($"inputs have different batch sizes: {string.Join(", ", ins.Select(x => x.Spec.Shape))}");
            var perBatch = ins.Select(x => Unstack(x, 0)).ToArray();
            var results = new List<Value[]>();
            for (int b = 0; b < batch; b++)
            {
                var xs = perBatch.Select(p => p[b]).ToArray();
                results.Add(ScanCore(body, xs[..nState], xs[nState..], new long[nScanIn], dirs, new long[Math.Max(0, nScanOut)], new long[Math.Max(0, nScanOut)]));
            }
            return Outputs(Enumerable.Range(0, body.Output.Count).Select(k => Stack(results.Select(r => r[k]).ToArray(), 0)).ToArray());
        }
    }
}
