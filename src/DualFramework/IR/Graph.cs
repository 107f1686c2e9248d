using System.Text;
using DualFramework.Operators;

namespace DualFramework.IR;

/// <summary>A typed value of a <see cref="Graph"/>: a graph input, a constant, or an output of a node.</summary>
public sealed class Value
{
    internal Value(int id, TensorSpec spec, string name)
    {
        Id = id;
        Spec = spec;
        Name = name;
    }

    /// <summary>Unique id within its graph.</summary>
    public int Id { get; }

    /// <summary>Shape and dtype.</summary>
    public TensorSpec Spec { get; }

    /// <summary>Readable unique name ("x", "%12", "fc1.weight", …).</summary>
    public string Name { get; internal set; }

    /// <summary>The node computing this value; null for inputs and constants.</summary>
    public Node? Producer { get; internal set; }

    /// <summary>Index among the producer's outputs.</summary>
    public int OutputIndex { get; internal set; }

    /// <summary>Little-endian element bytes of a constant; null otherwise.</summary>
    public byte[]? ConstantData { get; internal set; }

    /// <summary>True for constants.</summary>
    public bool IsConstant => ConstantData != null;

    /// <summary>True for graph inputs.</summary>
    public bool IsInput { get; internal set; }

    /// <summary>Axes whose size is symbolic (e.g. the batch axis) when the graph is exported; empty otherwise.</summary>
    public IReadOnlyList<int> DynamicAxes { get; set; } = [];

    /// <summary>In a graph with symbolic dims (<see cref="Graph.IsSymbolic"/>): this value's dims as expressions over the
    /// symbols; null for a value of static shape (then <see cref="Spec"/> holds its sizes). <see cref="Spec"/> always holds
    /// the sizes of the first sample binding (the hint).</summary>
    public IReadOnlyList<Dim>? SymbolicShape { get; internal set; }

    /// <summary>True when some dim of the value is symbolic.</summary>
    public bool HasSymbolicDims => SymbolicShape?.Any(d => !d.IsConstant) == true;

    /// <summary>Dimension <paramref name="axis"/> as an expression (a constant for static values).</summary>
    public Dim DimAt(int axis) => SymbolicShape?[axis] ?? Dim.Const(Spec.Shape[axis]);

    /// <summary>Formats as <c>float32[batch, 384]</c> (symbolic dims by their expressions).</summary>
    public string TypeText => HasSymbolicDims ? $"{Spec.DType.Name()}[{string.Join(", ", SymbolicShape!)}]" : Spec.ToString();

    /// <inheritdoc />
    public override string ToString() => $"{Name}: {TypeText}";
}

/// <summary>An op application in a <see cref="Graph"/>.</summary>
public sealed class Node
{
    internal Node(Op op, OpAttrs attrs, Value[] inputs, Value[] outputs, string? layerPath)
    {
        Op = op;
        Attrs = attrs;
        Inputs = inputs;
        Outputs = outputs;
        LayerPath = layerPath;
    }

    /// <summary>The op.</summary>
    public Op Op { get; }

    /// <summary>Its attributes.</summary>
    public OpAttrs Attrs { get; }

    /// <summary>Operands.</summary>
    public Value[] Inputs { get; internal set; }

    /// <summary>Results.</summary>
    public Value[] Outputs { get; }

    /// <summary>The layer that applied the op while tracing, for error messages.</summary>
    public string? LayerPath { get; }

    /// <summary>In a graph with symbolic dims: the integer attribute entries that depend on the symbols (e.g. a reshape's
    /// target <c>[batch*sequence, 384]</c>); <see cref="Attrs"/> holds their values for the hint. Null when none do.</summary>
    public IReadOnlyList<AttrDim>? SymbolicAttrs { get; internal set; }

    /// <summary>The attributes for a binding of the symbols (<see cref="Attrs"/> when none depend on them).</summary>
    public OpAttrs AttrsFor(Func<string, long> symbol) => SymbolicAttrs is { Count: > 0 } d ? AttrEntries.Bind(Attrs, d, symbol) : Attrs;
}

/// <summary>
/// A dataflow graph of ops: inputs, constants, nodes in topological order, outputs. Built by tracing a function
/// (see <c>Function</c>) or by importers; transformed by passes; executed by a backend.
/// </summary>
public sealed class Graph
{
    private readonly List<Value> _inputs = [];
    private readonly List<Value> _outputs = [];
    private readonly List<Node> _nodes = [];
    private readonly List<Value> _constants = [];
    private readonly List<DimSymbol> _symbols = [];
    private int _nextId;

    /// <summary>The symbolic dims of the graph, each bound from one axis of one input; empty for a graph of static shapes.
    /// See <see cref="SymbolicGraphs"/>.</summary>
    public IReadOnlyList<DimSymbol> Symbols => _symbols;

    /// <summary>True when the graph serves many sizes (<see cref="Symbols"/> is not empty): bind it to the actual input
    /// shapes with <see cref="Bind"/>.</summary>
    public bool IsSymbolic => _symbols.Count > 0;

    /// <summary>The bindings of the symbols the graph was generalised from (the first is the hint its specs hold).</summary>
    public IReadOnlyList<IReadOnlyDictionary<string, long>> SamplePoints { get; private set; } = [];

    internal void SetSymbols(IEnumerable<DimSymbol> symbols, IReadOnlyList<IReadOnlyDictionary<string, long>> points)
    {
        _symbols.Clear();
        _symbols.AddRange(symbols);
        SamplePoints = points;
    }

    /// <summary>The concrete shapes, attributes and symbol values of this graph for inputs of <paramref name="inputs"/>' specs
    /// (for a static graph: the specs must be the inputs' own).</summary>
    /// <exception cref="SymbolicShapeException">The inputs do not fit the graph's signature, or an op rejects the sizes.</exception>
    public GraphBinding Bind(IReadOnlyList<TensorSpec> inputs) => new(this, inputs);

    /// <summary>Graph inputs in order.</summary>
    public IReadOnlyList<Value> Inputs => _inputs;

    /// <summary>Graph outputs in order.</summary>
    public IReadOnlyList<Value> Outputs => _outputs;

    /// <summary>Nodes in topological order.</summary>
    public IReadOnlyList<Node> Nodes => _nodes;

    /// <summary>Constants.</summary>
    public IReadOnlyList<Value> Constants => _constants;

    /// <summary>Adds an input.</summary>
    public Value AddInput(TensorSpec spec, string? name = null)
    {
        var v = new Value(_nextId++, spec, name ?? $"in{_inputs.Count}") { IsInput = true };
        _inputs.Add(v);
        return v;
    }

    /// <summary>Adds a constant holding <paramref name="data"/> (little-endian element bytes).</summary>
    public Value AddConstant(TensorSpec spec, byte[] data, string? name = null)
    {
        if (data.Length != spec.Shape.NumElements * spec.DType.ElementSize())
            throw new ArgumentException($"{data.Length} bytes do not hold a {spec} constant.", nameof(data));
        var v = new Value(_nextId++, spec, name ?? $"const{_constants.Count}") { ConstantData = data };
        _constants.Add(v);
        return v;
    }

    /// <summary>Appends a node applying <paramref name="op"/>; its output specs come from the op's rule.</summary>
    public Value[] AddNode(Op op, OpAttrs attrs, Value[] inputs, string? layerPath = null)
    {
        var specs = op.Infer(inputs.Select(i => i.Spec).ToArray(), attrs);
        var outs = new Value[specs.Length];
        for (int i = 0; i < specs.Length; i++) outs[i] = new Value(_nextId++, specs[i], "%" + _nextId) { OutputIndex = i };
        var node = new Node(op, attrs, inputs, outs, layerPath);
        foreach (var o in outs) o.Producer = node;
        _nodes.Add(node);
        return outs;
    }

    /// <summary>Marks <paramref name="value"/> as the next graph output.</summary>
    public void AddOutput(Value value) => _outputs.Add(value);

    // Inserts an output before the one at index (the anomaly checks' flag vector goes right after the function's results).
    internal void InsertOutput(int index, Value value) => _outputs.Insert(index, value);

    /// <summary>Replaces output <paramref name="index"/>.</summary>
    public void SetOutput(int index, Value value) => _outputs[index] = value;

    /// <summary>Replaces the node list (passes): <paramref name="nodes"/> must be in topological order.</summary>
    public void ReplaceNodes(IEnumerable<Node> nodes)
    {
        var list = nodes.ToList();
        _nodes.Clear();
        _nodes.AddRange(list);
        var used = new HashSet<Value>(_nodes.SelectMany(n => n.Inputs).Concat(_outputs));
        _constants.RemoveAll(c => !used.Contains(c));
    }

    /// <summary>Rewires every use of <paramref name="from"/> (node inputs and graph outputs) to <paramref name="to"/>.</summary>
    public void ReplaceAllUses(Value from, Value to)
    {
        if (from.Spec != to.Spec) throw new ArgumentException($"Cannot replace {from} with {to}: specs differ.");
        foreach (var n in _nodes)
            for (int i = 0; i < n.Inputs.Length; i++)
                if (ReferenceEquals(n.Inputs[i], from)) n.Inputs[i] = to;
        for (int i = 0; i < _outputs.Count; i++)
            if (ReferenceEquals(_outputs[i], from)) _outputs[i] = to;
    }

    /// <summary>A new node applying <paramref name="op"/> that is not yet placed in the node list (for passes).</summary>
    public Node CreateDetachedNode(Op op, OpAttrs attrs, Value[] inputs, string? layerPath = null)
    {
        var specs = op.Infer(inputs.Select(i => i.Spec).ToArray(), attrs);
        var outs = new Value[specs.Length];
        for (int i = 0; i < specs.Length; i++) outs[i] = new Value(_nextId++, specs[i], "%" + _nextId) { OutputIndex = i };
        var node = new Node(op, attrs, inputs, outs, layerPath);
        foreach (var o in outs) o.Producer = node;
        return node;
    }

    /// <summary>
    /// Re-checks the graph: every node's operands are defined before use, and its recorded output specs equal what the
    /// op's rule computes now. Throws <see cref="InvalidOperationException"/> naming the first bad node.
    /// </summary>
    public void Verify()
    {
        var defined = new HashSet<Value>(_inputs.Concat(_constants));
        foreach (var n in _nodes)
        {
            foreach (var i in n.Inputs)
                if (!defined.Contains(i) && !i.IsConstant)
                    throw new InvalidOperationException($"Graph verification: node {n.Op.Name} uses {i.Name} before it is defined.");
            TensorSpec[] specs;
            try { specs = n.Op.Infer(n.Inputs.Select(v => v.Spec).ToArray(), n.Attrs); }
            catch (OpException e) { throw new InvalidOperationException($"Graph verification: node {n.Op.Name} ({n.LayerPath}) is invalid: {e.Message}", e); }
            if (specs.Length != n.Outputs.Length || specs.Where((s, k) => s != n.Outputs[k].Spec).Any())
                throw new InvalidOperationException($"Graph verification: node {n.Op.Name} records outputs {string.Join(", ", n.Outputs.Select(o => o.Spec))} but its rule gives {string.Join(", ", specs)}.");
            foreach (var o in n.Outputs) defined.Add(o);
        }
        foreach (var o in _outputs)
            if (!defined.Contains(o) && !o.IsConstant) throw new InvalidOperationException($"Graph verification: output {o.Name} is never computed.");
        // A symbolic graph must also hold at the other sample bindings: every op's rule agrees with the recorded dims there.
        foreach (var point in SamplePoints.Skip(1))
        {
            try { Bind(_inputs.Select(i => new TensorSpec(new Shape(Enumerable.Range(0, i.Spec.Shape.Rank).Select(a => i.DimAt(a).Evaluate(point)).ToArray()), i.Spec.DType)).ToArray()); }
            catch (SymbolicShapeException e) { throw new InvalidOperationException($"Graph verification: {e.Message}", e); }
        }
    }

    /// <summary>A deep copy (same names, specs, constants, nodes and outputs; new <see cref="Value"/> objects), e.g. to keep
    /// the traced graph before passes rewrite it.</summary>
    public Graph Clone()
    {
        var g = new Graph();
        var map = new Dictionary<Value, Value>(ReferenceEqualityComparer.Instance);
        foreach (var i in _inputs)
        {
            map[i] = g.AddInput(i.Spec, i.Name);
            map[i].SymbolicShape = i.SymbolicShape;
            map[i].DynamicAxes = i.DynamicAxes;
        }
        g.SetSymbols(_symbols, SamplePoints);
        foreach (var c in _constants) map[c] = g.AddConstant(c.Spec, c.ConstantData!, c.Name);
        foreach (var n in _nodes)
        {
            var outs = g.AddNode(n.Op, n.Attrs, n.Inputs.Select(v => map.TryGetValue(v, out var m) ? m : Orphan(g, v, map)).ToArray(), n.LayerPath);
            g._nodes[^1].SymbolicAttrs = n.SymbolicAttrs;
            for (int k = 0; k < outs.Length; k++)
            {
                outs[k].Name = n.Outputs[k].Name;
                outs[k].SymbolicShape = n.Outputs[k].SymbolicShape;
                map[n.Outputs[k]] = outs[k];
            }
        }
        foreach (var o in _outputs) g.AddOutput(map.TryGetValue(o, out var m) ? m : Orphan(g, o, map));
        return g;
    }

    // A constant used by a node but not (or no longer) listed in Constants.
    private static Value Orphan(Graph g, Value v, Dictionary<Value, Value> map)
    {
        if (!v.IsConstant) throw new InvalidOperationException($"Graph.Clone: {v.Name} is used before it is defined.");
        return map[v] = g.AddConstant(v.Spec, v.ConstantData!, v.Name);
    }

    /// <summary>A readable listing: inputs, constants, one line per node, outputs.</summary>
    public string Dump()
    {
        var sb = new StringBuilder();
        sb.AppendLine($"graph({string.Join(", ", _inputs)})");
        if (IsSymbolic) sb.AppendLine($"  symbols {string.Join(", ", _symbols)}");
        foreach (var c in _constants) sb.AppendLine($"  const {c}");
        foreach (var n in _nodes)
        {
            var attrs = Attributes.Format(n.Attrs);
            if (n.SymbolicAttrs is { Count: > 0 } sa) attrs += (attrs.Length > 0 ? "; " : "") + "symbolic " + string.Join(", ", sa);
            sb.AppendLine($"  {string.Join(", ", n.Outputs.Select(o => o.ToString()))} = {n.Op.Name}({string.Join(", ", n.Inputs.Select(i => i.Name))}){(attrs.Length > 0 ? " {" + attrs + "}" : "")}");
        }
        sb.AppendLine($"  return {string.Join(", ", _outputs.Select(o => o.Name))}");
        return sb.ToString();
    }
}
