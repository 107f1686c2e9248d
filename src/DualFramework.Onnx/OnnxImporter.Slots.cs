using System.Collections.Immutable;
using DualFramework.IR;

namespace DualFramework.Onnx;

public static partial class OnnxImporter
{
    /// <summary>
    /// The structure of one model input or output in one build, and how many graph tensors stand for it: a tensor is one;
    /// a sequence its <see cref="Count"/> elements; an optional none when empty (<see cref="Element"/> null), else its
    /// element's. The graph stays tensor-only; a model is built per structure of its non-tensor inputs.
    /// </summary>
    internal readonly record struct ValueLayout(OnnxValueKind Kind, int Count, OnnxValueKind? Element = null)
    {
        public static ValueLayout Tensor { get; } = new(OnnxValueKind.Tensor, 1);

        /// <summary>The layout of <paramref name="value"/>.</summary>
        public static ValueLayout Of(OnnxValue value) => value.Kind switch
        {
            OnnxValueKind.Tensor => Tensor,
            OnnxValueKind.Sequence => new(OnnxValueKind.Sequence, value.Elements.Count),
            _ => value.Element is { } e ? new(OnnxValueKind.Optional, Of(e).Count, e.Kind) : new(OnnxValueKind.Optional, 0),
        };

        /// <summary>The graph tensors of <paramref name="value"/>, in order.</summary>
        public static IEnumerable<Tensor> Flatten(OnnxValue value) => value.Kind switch
        {
            OnnxValueKind.Tensor => [value.Tensor],
            OnnxValueKind.Sequence => value.Elements,
            _ => value.Element is { } e ? Flatten(e) : [],
        };

        /// <summary>The value this layout gives to <paramref name="tensors"/> (exactly <see cref="Count"/> of them).</summary>
        public OnnxValue Assemble(IReadOnlyList<Tensor> tensors) => Kind switch
        {
            OnnxValueKind.Tensor => OnnxValue.FromTensor(tensors[0]),
            OnnxValueKind.Sequence => OnnxValue.FromSequence(tensors),
            _ => Element is { } e ? OnnxValue.Optional(new ValueLayout(e, Count).Assemble(tensors)) : OnnxValue.EmptyOptional,
        };
    }

    private sealed partial class Builder
    {
        /// <summary>An ONNX value while building: a tensor (a graph value), a sequence of known length (graph values), or an
        /// optional (empty, or holding a tensor or a sequence). Sequences and optionals exist only here.</summary>
        private abstract record Slot;

        private sealed record TensorSlot(Value Value) : Slot;

        private sealed record SeqSlot(ImmutableList<Value> Items) : Slot;

        private sealed record OptSlot(Slot? Element) : Slot;

        /// <summary>Optional values by ONNX name (tensors are in <see cref="Values"/>, sequences in <see cref="_sequences"/>).</summary>
        private readonly Dictionary<string, OptSlot> _optionals = new(StringComparer.Ordinal);

        /// <summary>Entries of the ops whose outputs may be sequences or optionals (If, Loop, SequenceMap, Optional,
        /// OptionalGetElement): they return every output.</summary>
        private readonly Dictionary<string, Func<Slot[]>> _slotMappings = new(StringComparer.Ordinal);

        /// <summary>Builds a node of <see cref="_slotMappings"/>, or an Identity of an optional (true); false for any other node.</summary>
        private bool ImportSlots(string key)
        {
            Slot[] outs;
            if (_slotMappings.TryGetValue(key, out var mapping)) outs = mapping();
            else if (key == "Identity" && _n.Input.Count == 1 && _optionals.TryGetValue(_n.Input[0], out var o)) outs = [o];
            else return false;
            for (int i = 0; i < _n.Output.Count; i++)
            {
                var name = _n.Output[i];
                if (name == "") continue;
                if (i < outs.Length) SetSlot(name, outs[i]);
                else if (needed.Contains(name) || _bodyUses.Contains(name)) throw Bad($"output {i} ('{name}') is not supported");
            }
            return true;
        }

        /// <summary>Operand <paramref name="i"/> of the current node, of whatever kind.</summary>
        private Slot SlotIn(int i) => Has(i) ? GetSlot(_n.Input[i], Where) : throw Bad($"missing input {i}");

        /// <summary>The value named <paramref name="name"/>, of whatever kind.</summary>
        private Slot GetSlot(string name, string what)
        {
            if (_deferred.TryGetValue(name, out var input)) throw new ShapeInputNeededException(input);
            if (_sequences.TryGetValue(name, out var s)) return new SeqSlot(s);
            if (_optionals.TryGetValue(name, out var o)) return o;
            return Values.TryGetValue(name, out var v) ? new TensorSlot(v) : throw new OnnxImportException($"{what} uses value '{name}', which is never defined.");
        }

        /// <summary>Binds <paramref name="name"/> to <paramref name="slot"/> (forgetting a value of another kind under that name).</summary>
        private void SetSlot(string name, Slot slot)
        {
            Values.Remove(name);
            _sequences.Remove(name);
            _optionals.Remove(name);
            ConstData.Remove(name);
            _deferred.Remove(name);
            switch (slot)
            {
                case TensorSlot t: Values[name] = t.Value; break;
                case SeqSlot q: _sequences[name] = q.Items; break;
                case OptSlot o: _optionals[name] = o; break;
            }
        }

        private static string KindName(Slot s) => s switch
        {
            TensorSlot => "tensor",
            SeqSlot => "sequence",
            _ => "optional",
        };

        /// <summary>Adds the graph inputs standing for model input <paramref name="name"/> with this run's
        /// <paramref name="layout"/> (element k of a sequence is named <c>name[k]</c>) and binds the name.</summary>
        public void AddBoundaryInput(string name, ValueLayout layout, IReadOnlyList<TensorSpec> specs)
        {
            Value Add(TensorSpec spec, string flatName)
            {
                var v = Graph.AddInput(spec, flatName);
                _dataInputs[v] = flatName;
                return v;
            }
            Slot Content(OnnxValueKind kind) => kind == OnnxValueKind.Tensor ? new TensorSlot(Add(specs[0], name))
                : new SeqSlot([.. specs.Select((s, k) => Add(s, $"{name}[{k}]"))]);
            SetSlot(name, layout.Kind == OnnxValueKind.Optional
                ? new OptSlot(layout.Element is { } e ? Content(e) : null)
                : Content(layout.Kind));
        }

        /// <summary>Probe: a sequence or optional model input has no structure yet, so whatever uses it is built per run.</summary>
        public void DeferInput(string name) => _deferred[name] = name;

        /// <summary>Adds the graph outputs standing for model output <paramref name="name"/>; returns its layout.</summary>
        public ValueLayout AddBoundaryOutput(string name)
        {
            var slot = GetSlot(name, "graph output");
            (ValueLayout Layout, IReadOnlyList<Value> Values) Flat(Slot s)
            {
                switch (s)
                {
                    case TensorSlot t: return (ValueLayout.Tensor, [t.Value]);
                    case SeqSlot q: return (new ValueLayout(OnnxValueKind.Sequence, q.Items.Count), q.Items);
                    case OptSlot { Element: { } e }:
                        var (inner, vs) = Flat(e);
                        return (new ValueLayout(OnnxValueKind.Optional, inner.Count, inner.Kind), vs);
                    default: return (new ValueLayout(OnnxValueKind.Optional, 0), []);
                }
            }
            var (layout, values) = Flat(slot);
            foreach (var v in values) Graph.AddOutput(v);
            return layout;
        }
    }
}
