using System.Collections.Immutable;
using DualFramework.IR;
using DualFramework.Operators;

namespace DualFramework.Onnx;

public static partial class OnnxImporter
{
    private sealed partial class Builder
    {
        /// <summary>Sequence values by ONNX name: importer-side lists of graph values (the graph itself has only tensors).</summary>
        private readonly Dictionary<string, ImmutableList<Value>> _sequences = new(StringComparer.Ordinal);

        /// <summary>Entries of the ops whose output is a sequence (kept apart from <see cref="_mappings"/>, whose entries
        /// return a tensor).</summary>
        private readonly Dictionary<string, Func<ImmutableList<Value>>> _sequenceMappings = new(StringComparer.Ordinal);

        /// <summary>Sequence ops inside a model, resolved while building: positions and split sizes must be known then
        /// (constants, or model inputs specialised like shape inputs), so every sequence has a known length and each
        /// element is a graph value. Sequence model inputs are specialised on their structure (length and element specs, see
        /// <see cref="AddBoundaryInput"/>); sequences pass through If branches and Loop bodies as importer-side values.</summary>
        private void AddSequence()
        {
            _sequenceMappings.Add("SequenceConstruct", () =>
            {
                var ins = Inputs();
                if (ins.Length == 0) throw Bad("needs at least one input");
                foreach (var v in ins)
                    if (v.Spec.DType != ins[0].Spec.DType) throw Bad($"elements of different dtypes ({ins[0].Spec.DType.Name()}, {v.Spec.DType.Name()})");
                return [.. ins];
            });
            _sequenceMappings.Add("SequenceEmpty", () => []);
            _sequenceMappings.Add("SequenceInsert", () =>
            {
                var seq = Seq(0);
                var x = In(1);
                if (seq.Count > 0 && x.Spec.DType != seq[0].Spec.DType) throw Bad($"inserting {x.Spec.DType.Name()} into a sequence of {seq[0].Spec.DType.Name()}");
                return seq.Insert(Position(2, seq.Count, seq.Count, inclusiveEnd: true), x);
            });
            _sequenceMappings.Add("SequenceErase", () =>
            {
                var seq = Seq(0);
                if (seq.Count == 0) throw Bad("erasing from an empty sequence");
                return seq.RemoveAt(Position(1, seq.Count, seq.Count - 1, inclusiveEnd: false));
            });
            _sequenceMappings.Add("SplitToSequence", () =>
            {
                var x = In(0);
                int axis = Axis(Int("axis", 0), x.Spec.Shape.Rank);
                long size = x.Spec.Shape[axis];
                long[] sizes;
                bool keep = true;
                if (!Has(1))
                {
                    // No split: pieces of 1, the axis removed unless keepdims.
                    sizes = Enumerable.Repeat(1L, (int)Math.Min(size, MaxUnrolledIterations + 1L)).ToArray();
                    keep = Int("keepdims", 1) != 0;
                }
                else if (KnownValue(1) is { Spec.Shape.Rank: 0 })
                {
                    long chunk = ConstInts(1)[0];
                    if (chunk <= 0) throw Bad($"split {chunk} must be positive");
                    sizes = Enumerable.Range(0, (int)Math.Min((size + chunk - 1) / chunk, MaxUnrolledIterations + 1L))
                        .Select(k => Math.Min(chunk, size - k * chunk)).ToArray();
                }
                else sizes = ConstInts(1);
                if (sizes.Length > MaxUnrolledIterations) throw Bad($"more than {MaxUnrolledIterations} pieces are not supported");
                if (sizes.Any(s => s < 0) || sizes.Sum() != size) throw Bad($"split [{string.Join(", ", sizes)}] does not add up to axis size {size}");
                if (sizes.Length == 0) return [];
                var parts = sizes.Length == 1 ? [x] : Nodes(OpSet.Split, new SplitAttrs(axis, sizes), x);
                return keep ? [.. parts] : [.. parts.Select(p => Reshape(p, p.Spec.Shape.ToArray().Where((_, i) => i != axis).ToArray()))];
            });
            _slotMappings.Add("SequenceMap", SequenceMap);
            Map("SequenceAt", _ =>
            {
                var seq = Seq(0);
                if (seq.Count == 0) throw Bad("reading from an empty sequence");
                return seq[Position(1, seq.Count, null, inclusiveEnd: false)];
            });
            Map("SequenceLength", _ => Const(new TensorSpec(Shape.Scalar, DType.Int64), OnnxTypes.ScalarBytes(Seq(0).Count, DType.Int64)));
            Map("ConcatFromSequence", _ =>
            {
                var seq = Seq(0);
                if (seq.Count == 0) throw Bad("concatenating an empty sequence (its element shape is unknown) is not supported");
                if (Attr("axis") == null) throw Bad("axis is required");
                bool stack = Int("new_axis", 0) != 0;
                int rank = seq[0].Spec.Shape.Rank;
                int axis = Axis(Int("axis", 0), stack ? rank + 1 : rank);
                return stack ? Stack(seq, axis) : seq.Count == 1 ? seq[0] : Node(OpSet.Concat, new ConcatAttrs(axis), [.. seq]);
            });
        }

        /// <summary>SequenceMap unrolled over the sequence's known length: the body is traced once per position, on the
        /// elements there of the input sequence and of further sequence inputs (further tensor inputs are passed whole);
        /// each body output gathers into an output sequence.</summary>
        private Slot[] SequenceMap()
        {
            var body = GraphAttr("body");
            var seq = Seq(0);
            var extra = Enumerable.Range(1, Math.Max(0, _n.Input.Count - 1)).Select(SlotIn).ToArray();
            foreach (var e in extra)
            {
                if (e is OptSlot) throw Bad("an optional input is not supported (tensors and sequences are)");
                if (e is SeqSlot q && q.Items.Count != seq.Count) throw Bad($"the input sequences have different lengths ({seq.Count} and {q.Items.Count})");
            }
            var outs = Enumerable.Range(0, body.Output.Count).Select(_ => ImmutableList.CreateBuilder<Value>()).ToArray();
            for (int i = 0; i < seq.Count; i++)
            {
                var ins = extra.Select(e => e is SeqSlot q ? q.Items[i] : ((TensorSlot)e).Value).Prepend(seq[i]).ToArray();
                var r = TraceBody(body, ins, "body");
                for (int k = 0; k < outs.Length; k++) outs[k].Add(r[k]);
            }
            return [.. outs.Select(o => (Slot)new SeqSlot(o.ToImmutable()))];
        }

        /// <summary>The sequence operand <paramref name="i"/>.</summary>
        private ImmutableList<Value> Seq(int i)
        {
            if (!Has(i)) throw Bad($"missing input {i}");
            var name = _n.Input[i];
            if (_deferred.TryGetValue(name, out var input)) throw new ShapeInputNeededException(input);
            return _sequences.TryGetValue(name, out var s) ? s : throw Bad($"input '{name}' is not a sequence (or sequences of this origin are not supported)");
        }

        /// <summary>A position operand known while building, in [−n, n) (or [−n, n] with <paramref name="inclusiveEnd"/>),
        /// made non-negative; <paramref name="dflt"/> when absent.</summary>
        private int Position(int i, int n, int? dflt, bool inclusiveEnd)
        {
            if (!Has(i)) return dflt ?? throw Bad($"missing input {i}");
            long p = ConstInts(i) is [var v] ? v : throw Bad("position must be a scalar");
            long hi = inclusiveEnd ? n : n - 1;
            if (p < -n || p > hi) throw Bad($"position {p} is out of range for a sequence of {n}");
            return (int)(p < 0 ? p + n : p);
        }

        /// <summary>Builds a node whose output is a sequence (true), or tells that it is not one (false). Identity of a
        /// sequence is one too.</summary>
        private bool ImportSequence(string key)
        {
            if (_sequenceMappings.TryGetValue(key, out var mapping))
            {
                _sequences[_n.Output[0]] = mapping();
                return true;
            }
            if (key == "Identity" && _n.Input.Count == 1 && _sequences.TryGetValue(_n.Input[0], out var s))
            {
                _sequences[_n.Output[0]] = s;
                return true;
            }
            return false;
        }
    }
}
