using System.Runtime.InteropServices;
using DualFramework.Autodiff;
using DualFramework.Backends;
using DualFramework.IR;
using DualFramework.Onnx.Proto;
using DualFramework.Operators;

namespace DualFramework.Onnx;

public static partial class OnnxImporter
{
    /// <summary>Maps ONNX nodes onto graph nodes, tracking ONNX value names. The mapping table (ONNX op type → mapping)
    /// is in <c>OnnxImporter.Mappings.cs</c>, its entries in the per-family <c>OnnxImporter.Mappings.*.cs</c> files.</summary>
    private sealed partial class Builder
    {
        // Largest value folded at import to serve as a shape argument.
        private const long FoldLimit = 1 << 16;

        private readonly OnnxImportOptions options;
        private readonly int opset;
        private readonly IReadOnlySet<string> needed;
        private readonly Func<string, (TensorSpec Spec, byte[] Data)>? _inputValue;
        private readonly Dictionary<Value, string> _dataInputs = new(ReferenceEqualityComparer.Instance);
        private readonly Dictionary<Value, string> _stateInputs = new(ReferenceEqualityComparer.Instance);
        private readonly Dictionary<Value, (TensorSpec Spec, byte[] Data)> _folded = new(ReferenceEqualityComparer.Instance);
        private readonly Dictionary<string, string> _deferred = new(StringComparer.Ordinal);
        private readonly List<string> _shapeInputs = [];
        private NodeProto _n = null!;

        /// <param name="options">Import options.</param>
        /// <param name="opset">The model's default-domain opset.</param>
        /// <param name="needed">ONNX value names some graph output depends on.</param>
        /// <param name="inputValue">Run-time values of model inputs by name; null while probing at import.</param>
        public Builder(OnnxImportOptions options, int opset, IReadOnlySet<string> needed, Func<string, (TensorSpec Spec, byte[] Data)>? inputValue)
        {
            this.options = options;
            this.opset = opset;
            this.needed = needed;
            _inputValue = inputValue;
            AddMappings();
        }

        public Graph Graph { get; } = new();
        public Dictionary<string, Value> Values { get; } = new(StringComparer.Ordinal);
        public Dictionary<string, (TensorSpec Spec, byte[] Data)> ConstData { get; } = new(StringComparer.Ordinal);

        /// <summary>Model inputs whose values the graph depends on, in the order they were needed.</summary>
        public IReadOnlyList<string> ShapeInputs => _shapeInputs;

        /// <summary>True when some node could not be built because it needs a shape-input value (probe only).</summary>
        public bool HasDeferred => _deferred.Count > 0;

        /// <summary>Nodes that behave differently in training mode (see <see cref="TrainingNodes"/>).</summary>
        public TrainingNodes Training { get; } = new();

        public void AddDataInput(string name, TensorSpec spec)
        {
            var v = Graph.AddInput(spec, name);
            Values[name] = v;
            _dataInputs[v] = name;
        }

        /// <summary>Adds a graph input for a float initializer that is a state variable of the model.</summary>
        public void AddStateInput(string name, TensorSpec spec)
        {
            var v = Graph.AddInput(spec, name);
            Values[name] = v;
            _stateInputs[v] = name;
        }

        public Value Get(string name, string what)
        {
            if (_deferred.TryGetValue(name, out var input)) throw new ShapeInputNeededException(input);
            if (_sequences.ContainsKey(name)) throw new OnnxImportException($"{what} uses the sequence '{name}' where a tensor is needed; sequences are not supported there.");
            if (_optionals.ContainsKey(name)) throw new OnnxImportException($"{what} uses the optional '{name}' where a tensor is needed (OptionalGetElement takes its element); optionals are not supported there.");
            return Values.TryGetValue(name, out var v) ? v : throw new OnnxImportException($"{what} uses value '{name}', which is never defined.");
        }

        private string Where => $"{_n.OpType} node '{_n.Name}'";
        private OnnxImportException Bad(string reason) => new($"{Where}: {reason}");
        private Value In(int i) => i < _n.Input.Count && _n.Input[i] != "" ? Get(_n.Input[i], Where) : throw Bad($"missing input {i}");
        private bool Has(int i) => i < _n.Input.Count && _n.Input[i] != "";
        private AttributeProto? Attr(string name) => _n.Attribute.FirstOrDefault(a => a.Name == name);
        private long Int(string name, long dflt) => Attr(name) is { } a ? a.I : dflt;
        private float Float(string name, float dflt) => Attr(name) is { } a ? a.F : dflt;
        private long[]? Ints(string name) => Attr(name)?.Ints.ToArray();
        private float[]? Floats(string name) => Attr(name)?.Floats.ToArray();
        private string Str(string name, string dflt) => Attr(name) is { } a ? a.S.ToStringUtf8() : dflt;

        private Value Node(Op op, OpAttrs attrs, params Value[] inputs) => Nodes(op, attrs, inputs)[0];

        private Value[] Nodes(Op op, OpAttrs attrs, params Value[] inputs)
        {
            Value[] outs;
            try
            {
                outs = Graph.AddNode(op, attrs, inputs, _n.Name);
            }
            catch (OpException e)
            {
                throw Bad(e.Message);
            }
            // Intermediate values obey the limits of inputs and initializers: a chain of nodes that each add a dimension
            // would otherwise build ever larger shapes (quadratic time and memory in the node count) for a value no
            // backend could hold.
            foreach (var o in outs) TensorData.CheckDims(o.Spec.Shape.ToArray(), options, $"{Where}: an output");
            return outs;
        }

        // Outputs after the first that a mapping produces (e.g. pooling indices, Split parts).
        private readonly List<Value> _more = [];

        public void Import(NodeProto n)
        {
            _n = n;
            _more.Clear();
            if (n.Output.Count == 0) throw Bad("has no outputs");
            Value result;
            try
            {
                if (ImportSequence(MappingKey(n)) || ImportSlots(MappingKey(n))) return;
                result = MapNode(MappingKey(n));
            }
            catch (ShapeInputNeededException e) when (_inputValue == null)
            {
                // Probe: this node (and whatever uses it) is built when the model runs with the input's value.
                if (!_shapeInputs.Contains(e.Input)) _shapeInputs.Add(e.Input);
                foreach (var o in n.Output) if (o != "") _deferred[o] = e.Input;
                return;
            }
            Values[n.Output[0]] = result;
            for (int i = 1; i < n.Output.Count; i++)
            {
                var name = n.Output[i];
                if (name == "") continue;
                if (i - 1 < _more.Count) Values[name] = _more[i - 1];
                else if (needed.Contains(name) || _bodyUses.Contains(name)) throw Bad($"output {i} ('{name}') is not supported");
            }
        }

        /// <summary>
        /// The value of operand <paramref name="i"/> when it is known while building: an initializer or constant, a
        /// model input used as a shape input (its run-time value; unknown while probing), or a small result computed
        /// from such values (evaluated now). Null when it depends on run-time data.
        /// </summary>
        private (TensorSpec Spec, byte[] Data)? KnownValue(int i)
        {
            if (!Has(i)) return null;
            if (ConstData.TryGetValue(_n.Input[i], out var c)) return c;
            return Fold(In(i));
        }

        private (TensorSpec Spec, byte[] Data)? Fold(Value v)
        {
            if (v.ConstantData is { } data) return (v.Spec, data);
            if (_folded.TryGetValue(v, out var f)) return f;
            if (v.IsInput)
            {
                if (!_dataInputs.TryGetValue(v, out var name))
                    throw new InitializerNeededException(_stateInputs[v]); // a state variable: make it a constant and rebuild
                if (_inputValue == null) throw new ShapeInputNeededException(name);
                var value = _inputValue(name);
                if (!_shapeInputs.Contains(name)) _shapeInputs.Add(name);
                return _folded[v] = value;
            }
            var p = v.Producer;
            if (p == null || v.Spec.Shape.NumElements > FoldLimit || ReferenceEquals(p.Op, OpSet.RandomUniform)
                || ReferenceEquals(p.Op, OpSet.RandomNormal) || ReferenceEquals(p.Op, OpSet.Dropout)) return null;
            var args = new (TensorSpec Spec, byte[] Data)[p.Inputs.Length];
            for (int k = 0; k < args.Length; k++)
            {
                if (Fold(p.Inputs[k]) is not { } a) return null;
                args[k] = a;
            }
            var backend = options.Backend ?? BackendRegistry.Default;
            using var scope = TensorScope.Begin();
            using var noGrad = Autograd.NoGrad();
            var outs = Dispatcher.ApplyMulti(p.Op, p.Attrs, args.Select(a => Tensor.FromBytes(a.Data, a.Spec, backend)).ToArray());
            for (int k = 0; k < outs.Length; k++)
            {
                var bytes = new byte[outs[k].NumElements * outs[k].DType.ElementSize()];
                backend.ToBytes(outs[k].Handle, outs[k].Spec, bytes);
                _folded[p.Outputs[k]] = (outs[k].Spec, bytes);
            }
            return _folded[v];
        }

        private long[] ConstInts(int i)
        {
            if (!Has(i)) throw Bad($"missing input {i}");
            var name = _n.Input[i];
            var c = KnownValue(i) ?? throw Bad($"input '{name}' must be a constant (initializer or Constant node) or a model input");
            return c.Spec.DType switch
            {
                DType.Int64 => MemoryMarshal.Cast<byte, long>(c.Data).ToArray(),
                DType.Int32 => MemoryMarshal.Cast<byte, int>(c.Data).ToArray().Select(x => (long)x).ToArray(),
                _ => throw Bad($"input '{name}' must be int64"),
            };
        }

        private double[] ConstDoubles(int i)
        {
            if (!Has(i)) throw Bad($"missing input {i}");
            var c = KnownValue(i) ?? throw Bad($"input '{_n.Input[i]}' must be a constant (initializer or Constant node) or a model input");
            using var s = TensorScope.Begin();
            return Tensor.FromBytes(c.Data, c.Spec, options.Backend).ToDoubleArray();
        }

        private double? ConstScalar(int i)
        {
            if (!Has(i)) return null;
            var v = ConstDoubles(i);
            if (v.Length != 1) throw Bad($"input '{_n.Input[i]}' must be a scalar");
            return v[0];
        }

        private Value Scalar(double x, DType dtype) => Graph.AddConstant(new TensorSpec(Shape.Scalar, dtype), OnnxTypes.ScalarBytes(x, dtype));

        private Value Reshape(Value x, long[] shape) => x.Spec.Shape.ToArray().SequenceEqual(shape) ? x : Node(OpSet.Reshape, new ShapeAttrs(shape), x);

        private static long[] Fill(long[]? v, int n, long dflt) => v ?? Enumerable.Repeat(dflt, n).ToArray();

        private int Axis(long axis, int rank)
        {
            if (axis < -rank || axis >= rank) throw Bad($"axis {axis} is out of range for rank {rank}");
            return (int)(axis < 0 ? axis + rank : axis);
        }

        private Value Un(Op op, Value x) => Node(op, OpAttrs.None, x);
        private Value Bin(Op op, Value a, Value b) => Node(op, OpAttrs.None, a, b);
        private Value Sc(double v, Value like) => Scalar(v, like.Spec.DType);
        private Value CastTo(Value x, DType to) => x.Spec.DType == to ? x : Node(OpSet.Cast, new CastAttrs(to), x);
        private Value Select(Value cond, Value a, Value b) => Node(OpSet.Where, OpAttrs.None, cond, a, b);

        private Value Float(Value x)
        {
            if (!x.Spec.DType.IsFloating()) throw Bad($"{x.Spec.DType.Name()} inputs are not supported (floating only)");
            return x;
        }

        private Value Const(TensorSpec spec, byte[] data)
        {
            ConstData[_n.Output[0]] = (spec, data);
            return Graph.AddConstant(spec, data, _n.Output[0]);
        }

        private Value ConstLongs(long[] values, params long[] shape) =>
            Graph.AddConstant(new TensorSpec(new Shape(shape), DType.Int64), MemoryMarshal.AsBytes(values.AsSpan()).ToArray());

        // ONNX indices may be negative (counted from the end).
        private Value WrapIndex(Value idx, long size)
        {
            if (!idx.Spec.DType.IsInteger()) throw Bad($"{idx.Spec.DType.Name()} indices are not supported");
            // Constant indices that are all non-negative need no wrap (and keep the graph free of the axis size, so it
            // can stay symbolic).
            if (idx.ConstantData != null && idx.Spec.DType is DType.Int64 or DType.Int32
                && (idx.Spec.DType == DType.Int64 ? MemoryMarshal.Cast<byte, long>(idx.ConstantData).ToArray().All(v => v >= 0)
                    : MemoryMarshal.Cast<byte, int>(idx.ConstantData).ToArray().All(v => v >= 0)))
                return idx;
            var neg = Bin(OpSet.Less, idx, Sc(0, idx));
            return Select(neg, Bin(OpSet.Add, idx, Sc(size, idx)), idx);
        }

        private Value[] Inputs() => Enumerable.Range(0, _n.Input.Count).Where(Has).Select(In).ToArray();

        /// <summary>Moves axis <paramref name="axis"/> of <paramref name="x"/> to position <paramref name="to"/> (a permute, or x itself).</summary>
        private Value MoveAxis(Value x, int axis, int to)
        {
            if (axis == to) return x;
            var perm = Enumerable.Range(0, x.Spec.Shape.Rank).Where(a => a != axis).ToList();
            perm.Insert(to, axis);
            return Node(OpSet.Permute, new PermuteAttrs(perm.ToArray()), x);
        }

        /// <summary>Runs a Core composition on symbolic tensors over this graph's values; its nodes join the graph.</summary>
        private Value Traced(Func<Tensor[], Tensor> f, params Value[] inputs)
        {
            var backend = new SymbolicBackend(Graph, options.Backend ?? BackendRegistry.Default);
            using var scope = TensorScope.Begin();
            using var noGrad = Autograd.NoGrad();
            try
            {
                return (Value)f(inputs.Select(backend.Wrap).ToArray()).Handle;
            }
            catch (OpException e)
            {
                throw Bad(e.Message);
            }
        }
    }
}
