using System.Collections.Immutable;
using DualFramework.IR;
using DualFramework.Onnx.Proto;

namespace DualFramework.Onnx;

public static partial class OnnxImporter
{
    /// <summary><paramref name="nodes"/> and, recursively, the nodes of their graph attributes (If branches, Loop and
    /// Scan bodies).</summary>
    private static IEnumerable<NodeProto> WithSubgraphNodes(IEnumerable<NodeProto> nodes)
    {
        foreach (var n in nodes)
        {
            yield return n;
            foreach (var a in n.Attribute)
            {
                var graphs = a.G != null ? a.Graphs.Prepend(a.G) : a.Graphs;
                foreach (var g in graphs)
                    foreach (var m in WithSubgraphNodes(g.Node)) yield return m;
            }
        }
    }

    private sealed partial class Builder
    {
        // Names that traced bodies use (a body node's further output used there must be produced, as `needed` says outside).
        private readonly HashSet<string> _bodyUses = new(StringComparer.Ordinal);

        /// <summary>Traces a subgraph body whose inputs and outputs are tensors (see <see cref="TraceSlots"/>).</summary>
        private Value[] TraceBody(GraphProto body, IReadOnlyList<Value> inputs, string what)
        {
            var outs = TraceSlots(body, inputs.Select(v => (Slot)new TensorSlot(v)).ToArray(), what);
            return outs.Select((o, k) => o is TensorSlot t ? t.Value : throw Bad($"{what} output {k} is a {KindName(o)}; a tensor is needed here")).ToArray();
        }

        /// <summary>
        /// Traces a subgraph body into this builder's graph: its inputs are bound to <paramref name="inputs"/> (tensors,
        /// sequences or optionals), its nodes see the outer scope's values, and its outputs are returned. The body's names
        /// are forgotten afterwards, so a Loop can trace the same body once per iteration.
        /// </summary>
        private Slot[] TraceSlots(GraphProto body, IReadOnlyList<Slot> inputs, string what)
        {
            if (body.Input.Count != inputs.Count) throw Bad($"{what} has {body.Input.Count} inputs; expected {inputs.Count}");
            if (Graph.Nodes.Count > MaxTracedNodes) throw Bad($"unrolling to more than {MaxTracedNodes} graph nodes is not supported");
            var node = _n;
            var more = _more.ToArray();
            var values = new Dictionary<string, Value>(Values, StringComparer.Ordinal);
            var constData = new Dictionary<string, (TensorSpec, byte[])>(ConstData, StringComparer.Ordinal);
            var deferred = new Dictionary<string, string>(_deferred, StringComparer.Ordinal);
            var sequences = new Dictionary<string, ImmutableList<Value>>(_sequences, StringComparer.Ordinal);
            var optionals = new Dictionary<string, OptSlot>(_optionals, StringComparer.Ordinal);
            foreach (var n in body.Node) _bodyUses.UnionWith(n.Input);
            _bodyUses.UnionWith(body.Output.Select(o => o.Name));
            try
            {
                for (int i = 0; i < inputs.Count; i++) SetSlot(body.Input[i].Name, inputs[i]);
                foreach (var t in body.Initializer)
                {
                    var (spec, data) = TensorData.Read(t, options, null);
                    SetSlot(t.Name, new TensorSlot(Graph.AddConstant(spec, data, t.Name)));
                    ConstData[t.Name] = (spec, data);
                }
                foreach (var n in body.Node) Import(n);
                return body.Output.Select(o => GetSlot(o.Name, $"{node.OpType} node '{node.Name}': {what}")).ToArray();
            }
            finally
            {
                Restore(Values, values);
                Restore(ConstData, constData);
                Restore(_deferred, deferred);
                Restore(_sequences, sequences);
                Restore(_optionals, optionals);
                _n = node;
                _more.Clear();
                _more.AddRange(more);
            }
        }

        private static void Restore<T>(Dictionary<string, T> target, Dictionary<string, T> saved)
        {
            target.Clear();
            foreach (var (k, v) in saved) target[k] = v;
        }

        private GraphProto GraphAttr(string name) => Attr(name)?.G ?? throw Bad($"graph attribute {name} is required");

        /// <summary>True when <paramref name="v"/> is computed from graph inputs (model inputs or state variables).</summary>
        private static bool DependsOnInputs(Value v, HashSet<Value>? seen = null)
        {
            if (v.IsInput) return true;
            if (v.Producer is not { } p) return false;
            seen ??= new HashSet<Value>(ReferenceEqualityComparer.Instance);
            return seen.Add(v) && p.Inputs.Any(i => DependsOnInputs(i, seen));
        }

        /// <summary>A scalar condition's value when it is known while building (constants, or model inputs the graph is
        /// specialised on); null when it depends on run-time data that cannot be folded.</summary>
        private bool? KnownCondition(Value cond, string what)
        {
            if (cond.Spec.Shape.NumElements != 1) throw Bad($"{what} must have one element, got {cond.Spec.Shape}");
            if (Fold(cond) is not { } c) return null;
            return c.Data.Any(b => b != 0); // bool, or any numeric type: nonzero is true
        }
    }
}
