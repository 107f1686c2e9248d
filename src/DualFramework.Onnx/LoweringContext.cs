using System.Runtime.InteropServices;
using DualFramework.IR;
using DualFramework.Onnx.Proto;
using DualFramework.Operators;
using Google.Protobuf;

namespace DualFramework.Onnx;

/// <summary>
/// Emits the ONNX nodes and initializers of one model. While a graph node is lowered it also exposes that node's
/// operands (<see cref="In"/>), output specs and preferred output names (<see cref="Out"/>); a lowering binds each of its
/// node's outputs to an ONNX name with <see cref="Set"/> or <see cref="Result"/>.
/// </summary>
internal sealed class LoweringContext
{
    private readonly GraphProto _graph;
    private readonly HashSet<string> _names;
    private readonly Dictionary<Value, string> _valueNames;
    private readonly Dictionary<string, string> _constCache = new(StringComparer.Ordinal);
    private int _tmp;
    private string[] _outNames = [];
    private string?[] _bound = [];

    public LoweringContext(GraphProto graph, int opset, HashSet<string> names, Dictionary<Value, string> valueNames)
    {
        _graph = graph;
        Opset = opset;
        _names = names;
        _valueNames = valueNames;
    }

    /// <summary>The target opset.</summary>
    public int Opset { get; }

    /// <summary>The ONNX name of the graph input called <paramref name="irName"/> in the IR graph, or null when there is none
    /// (used for per-run seeds, see <see cref="RandomSeedInputs"/>).</summary>
    public string? GraphInput(string irName)
    {
        foreach (var (v, name) in _valueNames)
            if (v.IsInput && v.Name == irName) return name;
        return null;
    }

    /// <summary>The node being lowered.</summary>
    public Node Node { get; private set; } = null!;

    /// <summary>The node's attributes as <typeparamref name="T"/>.</summary>
    public T Attrs<T>() where T : OpAttrs => (T)Node.Attrs;

    /// <summary>Number of operands.</summary>
    public int InCount => Node.Inputs.Length;

    /// <summary>ONNX name of operand <paramref name="i"/>.</summary>
    public string In(int i) => _valueNames[Node.Inputs[i]];

    /// <summary>Spec of operand <paramref name="i"/>.</summary>
    public TensorSpec InSpec(int i) => Node.Inputs[i].Spec;

    /// <summary>Spec of output <paramref name="i"/>.</summary>
    public TensorSpec OutSpec(int i) => Node.Outputs[i].Spec;

    /// <summary>The preferred ONNX name of output <paramref name="i"/> (use it as the last node's output).</summary>
    public string Out(int i) => _outNames[i];

    /// <summary>Binds output <paramref name="i"/> to the ONNX value <paramref name="name"/>.</summary>
    public void Set(int i, string name) => _bound[i] = name;

    /// <summary>Emits <paramref name="opType"/> writing output <paramref name="i"/> under its preferred name.</summary>
    public void Result(int i, string opType, string[] inputs, params AttributeProto[] attrs)
    {
        Emit(opType, inputs, [Out(i)], attrs);
        Set(i, Out(i));
    }

    /// <summary>Values some node or the graph's outputs read; null means all are taken as read.</summary>
    internal HashSet<Value>? UsedValues { get; set; }

    /// <summary>Whether anything reads output <paramref name="i"/>. A lowering may leave an unread output unbound (and skip
    /// computing it, e.g. max pooling's indices in an inference graph).</summary>
    public bool IsUsed(int i) => UsedValues?.Contains(Node.Outputs[i]) ?? true;

    internal void Begin(Node node)
    {
        Node = node;
        _outNames = node.Outputs.Select(o => Unique(o.Name)).ToArray();
        _bound = new string?[node.Outputs.Length];
    }

    internal string[] End()
    {
        for (int i = 0; i < _bound.Length; i++)
            if (_bound[i] == null && !IsUsed(i)) _bound[i] = "";
            else if (_bound[i] == null) throw new InvalidOperationException($"ONNX lowering of '{Node.Op.Name}' did not produce output {i}.");
        return _bound!;
    }

    /// <summary>A fresh value name derived from <paramref name="hint"/>.</summary>
    public string Unique(string hint)
    {
        if (string.IsNullOrEmpty(hint)) hint = "v";
        if (_names.Add(hint)) return hint;
        for (int k = 1; ; k++)
        {
            var n = $"{hint}_{k}";
            if (_names.Add(n)) return n;
        }
    }

    /// <summary>Appends a node with explicit output names.</summary>
    public void Emit(string opType, string[] inputs, string[] outputs, params AttributeProto[] attrs)
    {
        var n = new NodeProto { OpType = opType, Name = Unique($"{opType}_{_graph.Node.Count}") };
        n.Input.AddRange(inputs);
        n.Output.AddRange(outputs);
        n.Attribute.AddRange(attrs);
        if (Node?.LayerPath is { } path) n.DocString = path;
        _graph.Node.Add(n);
    }

    /// <summary>Appends a single-output node and returns its (fresh) output name.</summary>
    public string Op(string opType, string[] inputs, params AttributeProto[] attrs)
    {
        var o = Unique($"_t{_tmp++}");
        Emit(opType, inputs, [o], attrs);
        return o;
    }

    /// <summary>Appends a single-output node without attributes.</summary>
    public string Op(string opType, params string[] inputs) => Op(opType, inputs, []);

    /// <summary>Casts <paramref name="x"/> from <paramref name="from"/> to <paramref name="to"/> (no node when equal).</summary>
    public string Cast(string x, DType from, DType to) =>
        from == to ? x : Op("Cast", [x], OnnxAttr.Int("to", (long)OnnxTypes.ToOnnx(to)));

    /// <summary>An initializer holding <paramref name="data"/> (deduplicated by content).</summary>
    public string Const(DType dtype, long[] dims, byte[] data, string hint = "_c")
    {
        var key = $"{dtype}|{string.Join(",", dims)}|{Convert.ToBase64String(data)}";
        if (_constCache.TryGetValue(key, out var name)) return name;
        name = Unique(hint);
        _graph.Initializer.Add(Tensor(name, dtype, dims, data));
        _constCache[key] = name;
        return name;
    }

    /// <summary>A rank-0 constant of <paramref name="dtype"/> (value converted as <see cref="OnnxTypes.ScalarBytes"/>).</summary>
    public string Scalar(double value, DType dtype) => Const(dtype, [], OnnxTypes.ScalarBytes(value, dtype));

    /// <summary>A 1-D int64 constant.</summary>
    public string Ints(params long[] values) => IntTensor([values.Length], values);

    /// <summary>An int64 constant of shape <paramref name="dims"/> holding <paramref name="values"/> (row-major).</summary>
    public string IntTensor(long[] dims, long[] values) => Const(DType.Int64, dims, MemoryMarshal.AsBytes(values.AsSpan()).ToArray());

    /// <summary>A 1-D int64 constant.</summary>
    public string Ints(IEnumerable<int> values) => Ints(values.Select(v => (long)v).ToArray());

    /// <summary>A constant of <paramref name="dtype"/> from double values (converted element-wise).</summary>
    public string Doubles(double[] values, long[] dims, DType dtype) =>
        Const(dtype, dims, values.SelectMany(v => OnnxTypes.ScalarBytes(v, dtype)).ToArray());

    /// <summary>A 1-element tensor (for ConstantOfShape's value attribute).</summary>
    public static TensorProto OneElement(double value, DType dtype) => Tensor("value", dtype, [1], OnnxTypes.ScalarBytes(value, dtype));

    /// <summary>The IR graph being lowered (its symbols say where symbolic sizes are read).</summary>
    internal Graph? IrGraph { get; set; }

    private readonly Dictionary<string, string> _dimCache = new(StringComparer.Ordinal);

    /// <summary>A 1-D int64 tensor holding <paramref name="dims"/>: a constant when all are, else computed in the model from
    /// the graph inputs' shapes (<c>Shape</c>, <c>Slice</c>, <c>Mul</c>, <c>Add</c>, <c>Concat</c>), so one model serves
    /// every size.</summary>
    public string Dims(IReadOnlyList<Dim> dims)
    {
        if (dims.All(d => d.IsConstant)) return Ints(dims.Select(d => d.Value).ToArray());
        return dims.Count == 1 ? DimTensor(dims[0]) : Op("Concat", dims.Select(DimTensor).ToArray(), OnnxAttr.Int("axis", 0));
    }

    /// <summary>The shape of output <paramref name="i"/> as a 1-D int64 tensor (computed when it has symbolic dims).</summary>
    public string OutShape(int i) => Dims(Enumerable.Range(0, OutSpec(i).Shape.Rank).Select(Node.Outputs[i].DimAt).ToArray());

    /// <summary>True when output <paramref name="i"/> has symbolic dims.</summary>
    public bool OutIsSymbolic(int i) => Node.Outputs[i].HasSymbolicDims;

    /// <summary>The attribute array <paramref name="property"/> (values <paramref name="hint"/>) as a 1-D int64 tensor, with
    /// the entries that depend on the symbols (<see cref="Node.SymbolicAttrs"/>) computed in the model.</summary>
    public string AttrInts(string property, long[] hint)
    {
        var sym = Node.SymbolicAttrs?.Where(d => d.Property == property).ToArray() ?? [];
        if (sym.Length == 0) return Ints(hint);
        var dims = hint.Select(v => Dim.Const(v)).ToArray();
        foreach (var d in sym) dims[d.Index] = d.Dim;
        return Dims(dims);
    }

    /// <summary>A [1] int64 tensor holding one dim (computed from the inputs' shapes when it is symbolic).</summary>
    public string DimTensor(Dim d)
    {
        var key = d.ToString();
        if (_dimCache.TryGetValue(key, out var name)) return name;
        string? sum = null;
        foreach (var (symbols, coef) in d.Terms)
        {
            string? term = coef == 1 && symbols.Length > 0 ? null : Ints(coef);
            foreach (var s in symbols) term = term == null ? SymbolTensor(s) : Op("Mul", term, SymbolTensor(s));
            sum = sum == null ? term : Op("Add", sum, term!);
        }
        return _dimCache[key] = sum ?? Ints(0);
    }

    private string SymbolTensor(string symbol)
    {
        var key = "$" + symbol;
        if (_dimCache.TryGetValue(key, out var name)) return name;
        var def = IrGraph?.Symbols.FirstOrDefault(s => s.Name == symbol)
            ?? throw new InvalidOperationException($"ONNX lowering of '{Node.Op.Name}': symbol '{symbol}' is not defined by the graph.");
        var input = _valueNames[IrGraph.Inputs[def.Input]];
        return _dimCache[key] = Op("Slice", Op("Shape", input), Ints(def.Axis), Ints(def.Axis + 1));
    }

    /// <summary>A TensorProto with raw little-endian data.</summary>
    public static TensorProto Tensor(string name, DType dtype, long[] dims, byte[] data)
    {
        var t = new TensorProto { Name = name, DataType = (int)OnnxTypes.ToOnnx(dtype), RawData = ByteString.CopyFrom(data) };
        t.Dims.AddRange(dims);
        return t;
    }
}
