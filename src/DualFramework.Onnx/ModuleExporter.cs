using System.Globalization;
using System.Reflection;
using DualFramework.Autodiff;
using DualFramework.IR;
using DualFramework.IR.Passes;
using DualFramework.NN;
using DualFramework.Onnx.Proto;
using Google.Protobuf;
using Module = DualFramework.NN.Module;

namespace DualFramework.Onnx;

/// <summary>
/// Exports a <see cref="Module"/> to an ONNX model for inference: the model is put in evaluation mode (its modes are
/// restored afterwards), its forward is traced on sample inputs into a graph whose parameters and buffers are constants
/// (ONNX initializers named by their dotted names, e.g. <c>"0.weight"</c>), the inference passes run (constant folding,
/// Conv+BatchNorm folding; dropout is already the identity in evaluation mode), and the graph is lowered by
/// <see cref="OnnxExporter"/> with named inputs/outputs, a symbolic batch axis, metadata and optional external data.
/// See <c>docs/onnx-export.md</c>.
/// </summary>
public static partial class ModuleExporter
{
    /// <summary>Smallest initializer (bytes) moved to the external data file when external data is used automatically.</summary>
    public const long DefaultExternalThreshold = 1024;

    /// <summary>Total initializer bytes above which external data is used automatically (protobuf messages cannot exceed
    /// 2 GiB; the margin leaves room for the graph itself).</summary>
    public const long AutoExternalLimit = (1L << 31) - (64L << 20);

    // Tensors at least this large start at a page-aligned offset of the data file, so runtimes can map them.
    private const long AlignThreshold = 1 << 20;
    private const long Alignment = 4096;

    /// <summary>Exports <paramref name="model"/> (called as <c>model.Call(sampleInput)</c>) to <paramref name="path"/>.</summary>
    /// <returns>The model as written (initializers moved to external data refer to the side file).</returns>
    public static ModelProto Export(Module model, Tensor sampleInput, string path, ModuleExportOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(sampleInput);
        return Export(model, [sampleInput], path, options);
    }

    /// <summary>
    /// Exports <paramref name="model"/> traced on <paramref name="inputs"/> (through <see cref="ModuleExportOptions.Forward"/>
    /// when set) to <paramref name="path"/>, writing large initializers to a side file when
    /// <see cref="ModuleExportOptions.ExternalDataThreshold"/> says so or the model would exceed 2 GiB.
    /// </summary>
    /// <returns>The model as written (initializers moved to external data refer to the side file).</returns>
    /// <exception cref="OnnxExportException">The traced graph uses ops without an ONNX lowering at the requested opset.</exception>
    public static ModelProto Export(Module model, Tensor[] inputs, string path, ModuleExportOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        options ??= new ModuleExportOptions();
        var m = ToModel(model, inputs, options);
        MoveToExternalData(m, path, options);
        using var fs = File.Create(path);
        m.WriteTo(fs);
        return m;
    }

    /// <summary>The ONNX model of <paramref name="model"/> traced on <paramref name="inputs"/>, all data inline (nothing is written).</summary>
    /// <exception cref="OnnxExportException">The traced graph uses ops without an ONNX lowering at the requested opset.</exception>
    public static ModelProto ToModel(Module model, Tensor[] inputs, ModuleExportOptions? options = null)
    {
        options ??= new ModuleExportOptions();
        CheckHalfOptions(options);
        var graph = Trace(model, inputs, options);
        var outputNames = Names(options.OutputNames, graph.Outputs.Count, "output", nameof(options.OutputNames));
        var inputNames = new HashSet<string>(graph.Inputs.Select(i => i.Name), StringComparer.Ordinal);
        if (outputNames.FirstOrDefault(inputNames.Contains) is { } clash)
            throw new ArgumentException($"'{clash}' is both an input and an output name.", nameof(options));

        string coreVersion = Version(typeof(Module).Assembly);
        var given = options.Onnx;
        var onnxOptions = new OnnxExportOptions
        {
            Opset = given.Opset,
            ProducerName = given.ProducerName,
            ProducerVersion = given.ProducerVersion ?? coreVersion,
            GraphName = given.GraphName ?? model.GetType().Name,
            DocString = given.DocString,
            ModelVersion = given.ModelVersion,
            DynamicDimName = given.DynamicDimName,
        };
        onnxOptions.Metadata["framework"] = "DualFramework";
        onnxOptions.Metadata["framework_version"] = coreVersion;
        onnxOptions.Metadata["model_class"] = model.GetType().FullName ?? model.GetType().Name;
        foreach (var (k, v) in given.Metadata) onnxOptions.Metadata[k] = v;

        var m = OnnxExporter.ToModel(graph, onnxOptions);
        RenameOutputs(m.Graph, outputNames);
        if (options.WeightsDType == DType.Float16) StoreWeightsAsFloat16(m.Graph);
        if (options.InputOutputDType == DType.Float16) UseFloat16InputsAndOutputs(m.Graph);
        return m;
    }

    /// <summary>
    /// The inference graph of <paramref name="model"/> on <paramref name="inputs"/> as exported: inputs named and marked
    /// dynamic per <paramref name="options"/>, parameters and buffers as named constants, inference passes applied.
    /// </summary>
    public static Graph Trace(Module model, Tensor[] inputs, ModuleExportOptions? options = null)
    {
        options ??= new ModuleExportOptions();
        if (model == null || inputs == null || inputs.Length == 0 || inputs.Any(i => i == null) || (options.InputSignature == null && !options.DynamicBatch))
            return TraceAt(model!, inputs!, options, dynamicBatch: options.DynamicBatch && options.InputSignature == null);
        try
        {
            return TraceSymbolic(model, inputs, options);
        }
        catch (SymbolicShapeException) when (options.InputSignature == null)
        {
            // The forward does not generalise over the batch: declare only the inputs' leading dims open.
            return TraceAt(model, inputs, options, dynamicBatch: true);
        }
    }

    // The graph traced at each sample size of the open dims, generalised: sizes that follow them are computed in the model.
    private static Graph TraceSymbolic(Module model, Tensor[] inputs, ModuleExportOptions options)
    {
        var signature = options.InputSignature ?? InputSignature.SymbolicBatch;
        if (signature.Arguments is { } args)
        {
            if (args.Count != inputs.Length) throw new ArgumentException($"The input signature {signature} has {args.Count} entries for {inputs.Length} inputs.", nameof(options));
            for (int i = 0; i < inputs.Length; i++)
                if (!args[i].Accepts(inputs[i].Spec)) throw new ArgumentException($"Sample input {i} ({inputs[i].Spec}) does not fit the input signature's {args[i]}.", nameof(options));
        }
        var names = signature.Names(inputs);
        var symbols = new List<DimSymbol>();
        for (int i = 0; i < names.Length; i++)
            for (int a = 0; a < names[i].Length; a++)
                if (names[i][a] is { } n && symbols.All(s => s.Name != n)) symbols.Add(new DimSymbol(n, i, a));
        if (symbols.Count == 0) return TraceAt(model, inputs, options, dynamicBatch: false);
        var points = SymbolicGraphs.SamplePoints(symbols.Select(s => s.Name).ToArray());
        var graphs = new Graph[points.Count];
        using var sampleBuild = SymbolicGraphs.SampleBuild();
        for (int p = 0; p < points.Count; p++)
        {
            using var scope = TensorScope.Begin();
            // Only the specs matter: the forward is traced, not run.
            var samples = inputs.Select((t, i) => Ops.Zeros(new Shape(t.Shape.ToArray().Select((d, a) => names[i][a] is { } n ? points[p][n] : d).ToArray()), t.DType, t.Backend)).ToArray();
            graphs[p] = TraceAt(model, samples, options, dynamicBatch: false);
        }
        var g = SymbolicGraphs.Generalize(graphs, points, symbols);
        g.Verify();
        return g;
    }

    private static Graph TraceAt(Module model, Tensor[] inputs, ModuleExportOptions options, bool dynamicBatch)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(inputs);
        options ??= new ModuleExportOptions();
        if (options.Onnx.Opset is < OnnxExportOptions.MinOpset or > OnnxExportOptions.MaxOpset)
            throw new ArgumentOutOfRangeException(nameof(options), options.Onnx.Opset, $"ONNX export supports opsets {OnnxExportOptions.MinOpset} to {OnnxExportOptions.MaxOpset}.");
        if (inputs.Length == 0) throw new ArgumentException("At least one sample input is required.", nameof(inputs));
        for (int i = 0; i < inputs.Length; i++)
            if (inputs[i] == null) throw new ArgumentNullException(nameof(inputs), $"Sample input {i} is null.");
        if (options.Forward == null && inputs.Length != 1)
            throw new ArgumentException($"{model.GetType().Name}.Call takes one input, got {inputs.Length}; pass a ModuleExportOptions.Forward for several inputs.", nameof(inputs));
        var inputNames = Names(options.InputNames, inputs.Length, "input", nameof(options.InputNames));
        var forward = options.Forward ?? (a => [model.Call(a[0])]);

        // Parameters and buffers by dotted name; a variable shared by several modules keeps its first name.
        var state = new List<Variable>();
        var stateNames = new List<string>();
        var seen = new HashSet<Variable>(ReferenceEqualityComparer.Instance);
        foreach (var (name, v) in model.NamedVariables())
            if (seen.Add(v))
            {
                state.Add(v);
                stateNames.Add(name);
            }

        var modes = model.NamedModules().Select(m => (m.Module, m.Module.Training)).ToList();
        Graph traced;
        int results = -1;
        model.Eval();
        try
        {
            // Tracing with the variables as state makes them named graph inputs; they become constants below. Passes run
            // later, on the graph with constants, so the trace itself is compiled as is.
            using var fn = new CompiledFunction(a =>
            {
                var r = forward(a) ?? throw new InvalidOperationException("The forward returned null.");
                if (r.Length == 0) throw new InvalidOperationException("The forward returned no tensors.");
                results = r.Length;
                return r;
            }, state, model: model, passes: (_, _) => PassPipeline.Empty, name: model.GetType().Name);
            using (Autograd.NoGrad())
            using (TensorScope.Begin())
                fn.TraceOnly(inputs[0].Backend, inputs.Select(t => t.Spec).ToArray());
            if (fn.State.Count != state.Count)
                throw new InvalidOperationException("The forward created new state while tracing (an optimizer step?); only inference forwards can be exported.");
            traced = fn.LastTracedGraph!;
        }
        finally
        {
            // Parents first: Train() recurses, so each later call fixes its own subtree.
            foreach (var (m, training) in modes) m.Train(training);
        }
        if (traced.Inputs.Count != state.Count + inputs.Length)
            throw new InvalidOperationException("The forward added graph inputs while tracing (host-side scalars); only inference forwards can be exported.");

        var g = new Graph();
        var map = new Dictionary<Value, Value>(ReferenceEqualityComparer.Instance);
        for (int i = 0; i < inputs.Length; i++)
        {
            var v = g.AddInput(inputs[i].Spec, inputNames[i]);
            if (dynamicBatch && inputs[i].Rank >= 1) v.DynamicAxes = [0];
            map[traced.Inputs[state.Count + i]] = v;
        }
        for (int i = 0; i < state.Count; i++)
            map[traced.Inputs[i]] = g.AddConstant(state[i].Spec, Bytes(state[i].Value), stateNames[i]);
        foreach (var c in traced.Constants) map[c] = g.AddConstant(c.Spec, c.ConstantData!, c.Name);
        Value Map(Value v) => map.TryGetValue(v, out var m) ? m
            : v.IsConstant ? map[v] = g.AddConstant(v.Spec, v.ConstantData!, v.Name)
            : throw new InvalidOperationException($"Traced graph uses {v.Name} before it is defined.");
        foreach (var n in traced.Nodes)
        {
            var outs = g.AddNode(n.Op, n.Attrs, n.Inputs.Select(Map).ToArray(), n.LayerPath);
            for (int k = 0; k < outs.Length; k++) map[n.Outputs[k]] = outs[k];
        }
        // The traced outputs are the results followed by the (unchanged) state; only the results are exported.
        for (int i = 0; i < results; i++) g.AddOutput(Map(traced.Outputs[i]));

        if (options.Optimize) PassPipeline.Default(inputs[0].Backend, training: false).Run(g);
        else new DeadCodeElimination().Run(g);
        g.Verify();
        return g;
    }

    /// <summary>
    /// Moves initializers of <paramref name="model"/> to the external data file next to <paramref name="path"/> (see
    /// <see cref="ModuleExportOptions.ExternalDataThreshold"/>); returns the data file's path, or null when nothing moved.
    /// </summary>
    public static string? MoveToExternalData(ModelProto model, string path, ModuleExportOptions options)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(options);
        if (options.ExternalDataThreshold is < 0)
            throw new ArgumentOutOfRangeException(nameof(options), options.ExternalDataThreshold, "ExternalDataThreshold must be ≥ 0.");
        long total = model.Graph.Initializer.Sum(t => (long)t.RawData.Length);
        long? threshold = options.ExternalDataThreshold ?? (total > AutoExternalLimit ? DefaultExternalThreshold : null);
        if (threshold is not { } min) return null;
        var moving = model.Graph.Initializer.Where(t => t.HasRawData && t.RawData.Length > 0 && t.RawData.Length >= min).ToList();
        if (moving.Count == 0) return null;

        var fileName = options.ExternalDataFileName ?? Path.GetFileName(path) + ".data";
        if (Path.IsPathRooted(fileName) || fileName.Split('/', '\\').Contains(".."))
            throw new ArgumentException($"ExternalDataFileName '{fileName}' must be relative to the model's folder (ONNX resolves locations from there).", nameof(options));
        var dataPath = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(path))!, fileName);
        Directory.CreateDirectory(Path.GetDirectoryName(dataPath)!);
        using var fs = File.Create(dataPath);
        foreach (var t in moving)
        {
            long length = t.RawData.Length;
            if (length >= AlignThreshold && fs.Position % Alignment != 0)
                fs.Write(new byte[Alignment - fs.Position % Alignment]);
            long offset = fs.Position;
            t.RawData.WriteTo(fs);
            t.ClearRawData();
            t.DataLocation = TensorProto.Types.DataLocation.External;
            t.ExternalData.Add(new StringStringEntryProto { Key = "location", Value = fileName.Replace('\\', '/') });
            t.ExternalData.Add(new StringStringEntryProto { Key = "offset", Value = offset.ToString(CultureInfo.InvariantCulture) });
            t.ExternalData.Add(new StringStringEntryProto { Key = "length", Value = length.ToString(CultureInfo.InvariantCulture) });
        }
        return dataPath;
    }

    private static string[] Names(IReadOnlyList<string>? given, int count, string stem, string option)
    {
        if (given == null) return count == 1 ? [stem] : Enumerable.Range(0, count).Select(i => stem + i.ToString(CultureInfo.InvariantCulture)).ToArray();
        if (given.Count != count)
            throw new ArgumentException($"{option} has {given.Count} name(s) for {count} {stem}(s).", "options");
        if (given.Any(string.IsNullOrEmpty)) throw new ArgumentException($"{option} contains an empty name.", "options");
        if (given.Distinct(StringComparer.Ordinal).Count() != count) throw new ArgumentException($"{option} contains a repeated name.", "options");
        return given.ToArray();
    }

    // The exporter names outputs after IR values ("%12"); give them the requested names everywhere they appear.
    private static void RenameOutputs(GraphProto g, string[] names)
    {
        var taken = new HashSet<string>(g.Input.Select(i => i.Name).Concat(g.Initializer.Select(i => i.Name)).Concat(g.Node.SelectMany(n => n.Output)), StringComparer.Ordinal);
        for (int i = 0; i < names.Length; i++)
        {
            string from = g.Output[i].Name, to = names[i];
            if (from == to) continue;
            if (taken.Contains(to))
                throw new ArgumentException($"Output name '{to}' is already the name of another value of the exported graph (an input or initializer).");
            foreach (var n in g.Node)
            {
                for (int k = 0; k < n.Input.Count; k++) if (n.Input[k] == from) n.Input[k] = to;
                for (int k = 0; k < n.Output.Count; k++) if (n.Output[k] == from) n.Output[k] = to;
            }
            g.Output[i].Name = to;
            taken.Remove(from);
            taken.Add(to);
        }
    }

    private static byte[] Bytes(Tensor t) => t.ToBytes();

    private static string Version(Assembly a) =>
        a.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? a.GetName().Version?.ToString() ?? "0";
}
