namespace DualFramework.IR;

/// <summary>
/// Generalisation: one graph serving every size of its symbolic dims, recovered from builds (traces or imports) of the same
/// computation at a few sample bindings of the symbols. The builds must have the same structure (ops, wiring, constants);
/// every value dim and integer attribute entry that differs between them is fitted as a <see cref="Dim"/> over the symbols
/// (<see cref="DimFit"/>). What differs in another way (a constant's data, a structure) cannot be generalised, and the
/// caller keeps specialising. Building per sample instead of teaching each op's rule symbols means every op, mapping and
/// composition that works for one size works symbolically, and reshape targets computed by user code or by an ONNX
/// model's <c>Shape</c>→<c>Gather</c>→<c>Concat</c> arithmetic become expressions without special cases.
/// </summary>
public static class SymbolicGraphs
{
    // Distinct primes per (symbol, sample): no two symbols, and no symbol at two samples, share a size, and products of
    // different monomials differ, so a fit is unique. Sample 0 is the hint the generalised graph's specs show. None is
    // small enough to take size-1 broadcasting paths, and each symbol's sizes stay close together, the first symbols'
    // lowest (67–79, 83–101, …), for models with bounded tables (a position table of 128 entries takes two symbols).
    private static readonly long[][] Primes =
    [
        [67, 71, 73, 79], [83, 89, 97, 101], [103, 107, 109, 113], [127, 131, 137, 139],
        [149, 151, 157, 163], [167, 173, 179, 181], [191, 193, 197, 199], [211, 223, 227, 229],
    ];

    [ThreadStatic] private static int _sampleBuilds;

    /// <summary>True while this thread builds or optimises a graph at a sample size (see <see cref="SampleBuild"/>).</summary>
    public static bool InSampleBuild => _sampleBuilds > 0;

    /// <summary>Marks the current thread as building graphs at sample sizes until disposed: size-driven choices of passes
    /// (constant folding of fills) are then made the same way at every size.</summary>
    public static IDisposable SampleBuild()
    {
        _sampleBuilds++;
        return new Scope();
    }

    private sealed class Scope : IDisposable
    {
        private bool _done;

        public void Dispose()
        {
            if (_done) return;
            _done = true;
            _sampleBuilds--;
        }
    }

    /// <summary>Number of sample builds <see cref="Generalize"/> needs.</summary>
    public const int SampleCount = 4;

    /// <summary>Most symbols a graph may have.</summary>
    public const int MaxSymbols = 8;

    /// <summary>The sample bindings of <paramref name="symbols"/> to build at (<see cref="SampleCount"/> of them).</summary>
    public static IReadOnlyList<IReadOnlyDictionary<string, long>> SamplePoints(IReadOnlyList<string> symbols)
    {
        if (symbols.Count > MaxSymbols) throw new SymbolicShapeException($"At most {MaxSymbols} symbolic dims are supported, got {symbols.Count} ({string.Join(", ", symbols)}).");
        return Enumerable.Range(0, SampleCount).Select(p => (IReadOnlyDictionary<string, long>)symbols.Select((s, k) => (s, Primes[k][p]))
            .ToDictionary(x => x.s, x => x.Item2, StringComparer.Ordinal)).ToArray();
    }

    /// <summary>
    /// Annotates <c>builds[0]</c> (and returns it) with the symbols, each value's symbolic shape and each node's symbolic
    /// attribute entries, recovered from <paramref name="builds"/> made at <paramref name="points"/>.
    /// </summary>
    /// <exception cref="SymbolicShapeException">The builds differ in a way no symbolic dim explains (the message says where).</exception>
    public static Graph Generalize(IReadOnlyList<Graph> builds, IReadOnlyList<IReadOnlyDictionary<string, long>> points, IReadOnlyList<DimSymbol> symbols)
    {
        if (builds.Count != points.Count || builds.Count < 3) throw new ArgumentException("One build per sample point (at least 3) is needed.", nameof(builds));
        var g = builds[0];
        void Same(bool ok, Func<string> what)
        {
            if (!ok) throw new SymbolicShapeException($"The graph cannot serve every size: {what()} changes with the sizes.");
        }
        foreach (var b in builds)
        {
            Same(b.Inputs.Count == g.Inputs.Count && b.Nodes.Count == g.Nodes.Count && b.Outputs.Count == g.Outputs.Count
                && b.Constants.Count == g.Constants.Count, () => "the graph's structure (inputs, constants, nodes, outputs: " +
                string.Join("; ", builds.Select(x => $"{x.Inputs.Count}, {x.Constants.Count}, {x.Nodes.Count}, {x.Outputs.Count}")) + ")" + FirstDifference(g, b));
        }
        // Values by position, so that each build's wiring can be compared with the first's.
        var index = builds.Select(Index).ToArray();
        // Scalar constants computed from sizes (a mean's 1/n in its gradient, an index offset) become nodes computing them.
        var sized = new List<(Value Constant, Dim Dim, double Numerator)>();
        for (int k = 0; k < g.Constants.Count; k++)
        {
            var c = g.Constants[k];
            foreach (var b in builds) Same(b.Constants[k].Spec == c.Spec, () => $"the shape of constant {c.Name} ({c.Spec})");
            if (builds.All(b => b.Constants[k].ConstantData.AsSpan().SequenceEqual(c.ConstantData))) continue;
            var sizedConstant = SizedScalar(builds.Select(b => b.Constants[k]).ToArray(), points);
            Same(sizedConstant != null, () => $"constant {c.Name} ({c.Spec})");
            sized.Add((c, sizedConstant!.Value.Dim, sizedConstant.Value.Numerator));
        }
        for (int i = 0; i < g.Inputs.Count; i++) Shape(g.Inputs[i], builds.Select(b => b.Inputs[i]).ToArray(), points, $"input {g.Inputs[i].Name}");
        for (int k = 0; k < g.Nodes.Count; k++)
        {
            var n = g.Nodes[k];
            var all = builds.Select(b => b.Nodes[k]).ToArray();
            string What() => $"node {n.Op.Name}{(n.LayerPath is { } p ? $" ({p})" : "")}";
            foreach (var m in all)
                Same(ReferenceEquals(m.Op, n.Op) && m.Attrs.GetType() == n.Attrs.GetType() && m.Inputs.Length == n.Inputs.Length,
                    () => $"node {k} ({n.Op.Name}{(n.LayerPath is { } p ? $" in {p}" : "")} at the first sample size, {m.Op.Name} at another)");
            for (int j = 0; j < n.Inputs.Length; j++)
                for (int b = 1; b < builds.Count; b++)
                    Same(index[b][all[b].Inputs[j]] == index[0][n.Inputs[j]], () => $"operand {j} of {What()}");
            var entries = all.Select(m => AttrEntries.Read(m.Attrs).ToArray()).ToArray();
            var dims = new List<AttrDim>();
            for (int e = 0; e < entries[0].Length; e++)
            {
                var (prop, idx, v0) = entries[0][e];
                var values = entries.Select(x => x.Length == entries[0].Length ? x[e].Value : null).ToArray();
                if (values.All(v => Equals(v, v0))) continue;
                // Integer entries, or floating ones holding whole numbers (a fill value that is a size).
                Same(idx >= -1 && (values.All(v => v is long) || values.All(v => v is double d && d == Math.Round(d) && Math.Abs(d) < 1e15)),
                    () => $"attribute {prop} of {What()}");
                var fit = DimFit.Fit(points, values.Select(v => v is long l ? l : (long)(double)v!).ToArray());
                Same(fit != null, () => $"attribute {prop}{(idx >= 0 ? $"[{idx}]" : "")} of {What()} (values {string.Join(", ", values)}, no polynomial in the symbols fits)");
                dims.Add(new AttrDim(prop, idx, fit!));
            }
            n.SymbolicAttrs = dims.Count > 0 ? dims : null;
            for (int j = 0; j < n.Outputs.Length; j++)
                Shape(n.Outputs[j], all.Select(m => m.Outputs[j]).ToArray(), points, $"output {j} of {What()}");
        }
        for (int i = 0; i < g.Outputs.Count; i++)
            for (int b = 1; b < builds.Count; b++)
                Same(index[b][builds[b].Outputs[i]] == index[0][g.Outputs[i]], () => $"graph output {i}");
        g.SetSymbols(symbols, points);
        foreach (var (c, dim, numerator) in sized) ReplaceSized(g, c, dim, numerator);
        return g;
    }

    // A scalar constant whose value is a dim d (Numerator NaN), or numerator / d, at every sample.
    private static (Dim Dim, double Numerator)? SizedScalar(Value[] all, IReadOnlyList<IReadOnlyDictionary<string, long>> points)
    {
        var spec = all[0].Spec;
        if (spec.Shape.NumElements != 1 || spec.DType is not (DType.Float32 or DType.Float64 or DType.Int64 or DType.Int32)) return null;
        var ys = all.Select(v => Scalar(v)).ToArray();
        if (ys.All(y => y == Math.Round(y) && Math.Abs(y) < 1e15) && DimFit.Fit(points, ys.Select(y => (long)y).ToArray()) is { } d) return (d, double.NaN);
        if (!spec.DType.IsFloating()) return null;
        // 1 / d (a mean's scale in its gradient), reproduced exactly in the constant's precision.
        if (ys.All(y => y != 0 && Math.Abs(1 / y - Math.Round(1 / y)) < 1e-3 && Math.Abs(1 / y) < 1e15)
            && DimFit.Fit(points, ys.Select(y => (long)Math.Round(1 / y)).ToArray()) is { } inv
            && ys.Select((y, p) => Same(1.0 / inv.Evaluate(points[p]), y, spec.DType)).All(ok => ok))
            return (inv, 1);
        // numerator / monomial: the products agree (to the constant's precision) and reproduce every value exactly.
        foreach (var m in DimFit.MonomialDims(points[0].Keys))
        {
            double num = ys[0] * m.Evaluate(points[0]);
            if (spec.DType == DType.Float32) num = (float)num;
            bool ok = true;
            for (int p = 0; ok && p < ys.Length; p++) ok = Same(num / m.Evaluate(points[p]), ys[p], spec.DType);
            if (ok) return (m, num);
        }
        return null;
    }

    private static bool Same(double computed, double stored, DType dtype) => dtype == DType.Float32 ? (float)computed == (float)stored : computed == stored;

    private static double Scalar(Value v) => v.Spec.DType switch
    {
        DType.Float32 => BitConverter.ToSingle(v.ConstantData!),
        DType.Float64 => BitConverter.ToDouble(v.ConstantData!),
        DType.Int64 => BitConverter.ToInt64(v.ConstantData!),
        _ => BitConverter.ToInt32(v.ConstantData!),
    };

    // Replaces the uses of constant c by full(shape, d) (or numerator / full(shape, d)), placed first in the node list.
    private static void ReplaceSized(Graph g, Value c, Dim d, double numerator)
    {
        var shape = c.Spec.Shape.ToArray();
        var dims = new List<AttrDim> { new(nameof(Operators.FullAttrs.Value), -1, d) };
        var full = g.CreateDetachedNode(Operators.OpSet.Full, new Operators.FullAttrs(shape, d.Evaluate(g.SamplePoints[0]), c.Spec.DType), []);
        full.SymbolicAttrs = dims;
        var added = new List<Node> { full };
        var value = full.Outputs[0];
        if (!double.IsNaN(numerator))
        {
            var num = g.AddConstant(c.Spec, NumberBytes(numerator, c.Spec.DType), c.Name + ".numerator");
            var div = g.CreateDetachedNode(Operators.OpSet.Div, Operators.OpAttrs.None, [num, value]);
            added.Add(div);
            value = div.Outputs[0];
        }
        g.ReplaceNodes(added.Concat(g.Nodes.ToArray()));
        foreach (var n in g.Nodes)
            for (int i = 0; i < n.Inputs.Length; i++)
                if (ReferenceEquals(n.Inputs[i], c)) n.Inputs[i] = value;
        for (int i = 0; i < g.Outputs.Count; i++)
            if (ReferenceEquals(g.Outputs[i], c)) g.SetOutput(i, value);
        g.ReplaceNodes(g.Nodes.ToArray()); // drops the replaced constant
    }

    private static byte[] NumberBytes(double x, DType dtype) => dtype == DType.Float32 ? BitConverter.GetBytes((float)x) : BitConverter.GetBytes(x);

    /// <summary>A copy of a symbolic graph whose specs (and attributes) hold the sizes of <paramref name="point"/> instead of
    /// the hint, with the same names, symbolic dims and symbols: lowering it and the original must give the same model
    /// wherever a lowering computes sizes from the symbols (the exporter checks this).</summary>
    internal static Graph AtPoint(Graph graph, IReadOnlyDictionary<string, long> point)
    {
        var g = new Graph();
        var map = new Dictionary<Value, Value>(ReferenceEqualityComparer.Instance);
        foreach (var i in graph.Inputs)
        {
            var v = g.AddInput(new TensorSpec(new Shape(Enumerable.Range(0, i.Spec.Shape.Rank).Select(a => i.DimAt(a).Evaluate(point)).ToArray()), i.Spec.DType), i.Name);
            v.SymbolicShape = i.SymbolicShape;
            map[i] = v;
        }
        foreach (var c in graph.Constants) map[c] = g.AddConstant(c.Spec, c.ConstantData!, c.Name);
        Value Map(Value v) => map.TryGetValue(v, out var m) ? m : map[v] = g.AddConstant(v.Spec, v.ConstantData!, v.Name);
        long Size(string s) => point[s];
        foreach (var n in graph.Nodes)
        {
            var outs = g.AddNode(n.Op, n.AttrsFor(Size), n.Inputs.Select(Map).ToArray(), n.LayerPath);
            g.Nodes[^1].SymbolicAttrs = n.SymbolicAttrs;
            for (int k = 0; k < outs.Length; k++)
            {
                outs[k].Name = n.Outputs[k].Name;
                outs[k].SymbolicShape = n.Outputs[k].SymbolicShape;
                map[n.Outputs[k]] = outs[k];
            }
        }
        foreach (var o in graph.Outputs) g.AddOutput(Map(o));
        g.SetSymbols(graph.Symbols, graph.SamplePoints);
        return g;
    }

    // Where two builds' node lists part, for the message.
    private static string FirstDifference(Graph a, Graph b)
    {
        int k = 0;
        while (k < a.Nodes.Count && k < b.Nodes.Count && ReferenceEquals(a.Nodes[k].Op, b.Nodes[k].Op)) k++;
        if (k == a.Nodes.Count && k == b.Nodes.Count) return "";
        string At(Graph g) => k < g.Nodes.Count ? $"{g.Nodes[k].Op.Name}{(g.Nodes[k].LayerPath is { } p ? $" ({p})" : "")}" : "the end";
        return $"; node {k} is {At(a)} at the first sample size, {At(b)} at another";
    }

    private static void Shape(Value v, Value[] all, IReadOnlyList<IReadOnlyDictionary<string, long>> points, string what)
    {
        int rank = v.Spec.Shape.Rank;
        if (all.Any(x => x.Spec.Shape.Rank != rank || x.Spec.DType != v.Spec.DType))
            throw new SymbolicShapeException($"The graph cannot serve every size: the rank or dtype of {what} changes with the sizes ({string.Join(", ", all.Select(x => x.Spec))}).");
        var dims = new Dim[rank];
        bool symbolic = false;
        for (int a = 0; a < rank; a++)
        {
            var ys = all.Select(x => x.Spec.Shape[a]).ToArray();
            dims[a] = DimFit.Fit(points, ys)
                ?? throw new SymbolicShapeException($"The graph cannot serve every size: dim {a} of {what} takes sizes {string.Join(", ", ys)}, which no polynomial in the symbols fits.");
            symbolic |= !dims[a].IsConstant;
        }
        v.SymbolicShape = symbolic ? dims : null;
    }

    private static Dictionary<Value, int> Index(Graph g)
    {
        var d = new Dictionary<Value, int>(ReferenceEqualityComparer.Instance);
        foreach (var i in g.Inputs) d[i] = d.Count;
        foreach (var c in g.Constants) d[c] = d.Count;
        foreach (var n in g.Nodes)
            foreach (var o in n.Outputs) d[o] = d.Count;
        // Constants that passes left out of the list are keyed by their bytes' position in the node list.
        foreach (var n in g.Nodes)
            foreach (var i in n.Inputs) d.TryAdd(i, d.Count);
        return d;
    }
}
