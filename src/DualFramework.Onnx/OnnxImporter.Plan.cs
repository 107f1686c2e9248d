using DualFramework.IR;
using DualFramework.IR.Passes;
using DualFramework.Onnx.Proto;

namespace DualFramework.Onnx;

public static partial class OnnxImporter
{
    /// <summary>The graph built by <see cref="ImportPlan.Build"/> (null when some node needed an unknown shape-input value
    /// or the structure of a sequence or optional input), the inputs whose values it used (or would need), the nodes that
    /// behave differently in training mode, and the layout of each model output over the graph's outputs (null without a graph).</summary>
    internal sealed record BuildResult(Graph? Graph, IReadOnlyList<string> ShapeInputs, TrainingNodes Training, IReadOnlyList<ValueLayout>? OutputLayouts);

    /// <summary>Nodes of a built graph that behave differently in training mode: BatchNormalization nodes (imported in
    /// inference form) with their ONNX momentum, and the no-op nodes that mark where a Dropout node was, with its ratio.</summary>
    internal sealed class TrainingNodes
    {
        public Dictionary<Node, double> BatchNormMomentum { get; } = new(ReferenceEqualityComparer.Instance);
        public Dictionary<Node, double> DropoutRatio { get; } = new(ReferenceEqualityComparer.Instance);
    }

    /// <summary>
    /// Everything needed to (re)build the graph of a model: its live nodes, inputs, initializer data (read once and shared
    /// by every build) and outputs. A build with no input values is the import-time probe; a build with the values of a
    /// run makes the graph specialised for them.
    /// </summary>
    internal sealed class ImportPlan(OnnxImportOptions options, int opset, IReadOnlyList<NodeProto> live, IReadOnlySet<string> needed,
        IReadOnlyList<(string Name, BoundaryType Type)> inputs, IReadOnlyList<(string Name, TensorSpec Spec, byte[] Data)> constants,
        IReadOnlyList<(string Name, TensorSpec Spec)> state, IReadOnlyList<string> outputNames)
    {
        public IReadOnlyList<string> OutputNames => outputNames;

        /// <summary>The live ONNX nodes, in order.</summary>
        public IReadOnlyList<NodeProto> Nodes => live;

        /// <param name="inputValue">The value of a model input by name, or null for the probe (values unknown).</param>
        /// <param name="inputSpecs">Specs of the graph tensors standing for the model inputs in this build (see
        /// <paramref name="layouts"/>); null for the declared ones.</param>
        /// <param name="layouts">The structure of each model input in this build; null: tensors, and sequence or optional
        /// inputs of unknown structure (the probe defers what uses them).</param>
        public BuildResult Build(Func<string, (TensorSpec Spec, byte[] Data)>? inputValue, IReadOnlyList<TensorSpec>? inputSpecs = null,
            IReadOnlyList<ValueLayout>? layouts = null)
        {
            var b = new Builder(options, opset, needed, inputValue);
            int flat = 0;
            for (int i = 0; i < inputs.Count; i++)
            {
                var (name, type) = inputs[i];
                if (layouts == null && type.Kind != OnnxValueKind.Tensor) b.DeferInput(name);
                else if (layouts == null || layouts[i].Kind == OnnxValueKind.Tensor) b.AddDataInput(name, inputSpecs?[flat++] ?? type.Spec);
                else
                {
                    b.AddBoundaryInput(name, layouts[i], inputSpecs!.Skip(flat).Take(layouts[i].Count).ToArray());
                    flat += layouts[i].Count;
                }
            }
            foreach (var (name, spec, data) in constants)
            {
                b.Values[name] = b.Graph.AddConstant(spec, data, name);
                b.ConstData[name] = (spec, data);
            }
            foreach (var (name, spec) in state) b.AddStateInput(name, spec);
            foreach (var n in live) b.Import(n);
            if (b.HasDeferred) return new BuildResult(null, b.ShapeInputs, b.Training, null);
            var outputLayouts = outputNames.Select(b.AddBoundaryOutput).ToArray();
            try
            {
                b.Graph.Verify();
            }
            catch (InvalidOperationException e)
            {
                throw new OnnxImportException($"The imported graph is inconsistent: {e.Message}", e);
            }
            // Nodes that only computed shape arguments (folded into attributes) are dropped.
            new DeadCodeElimination().Run(b.Graph);
            return new BuildResult(b.Graph, b.ShapeInputs, b.Training, outputLayouts);
        }
    }

    // Ops whose opset 1–6 forms the mappings below handle as they are (other ops changed meaning before opset 7).
    private static readonly HashSet<string> LegacySafe = new(StringComparer.Ordinal)
    {
        "Relu", "Sigmoid", "Tanh", "Exp", "Log", "Sqrt", "Neg", "Abs", "Reciprocal", "Floor", "Ceil", "Elu", "Selu", "HardSigmoid",
        "LeakyRelu", "Softplus", "Softsign", "Not", "And", "Or", "Xor", "Add", "Sub", "Mul", "Div", "Identity", "Softmax",
        "LogSoftmax", "Transpose", "Concat", "Flatten", "GlobalAveragePool", "GlobalMaxPool", "ReduceMax", "ReduceMin", "ReduceSum",
        "ReduceMean", "ReduceProd", "ReduceSumSquare", "ReduceL1", "ReduceL2", "ReduceLogSum", "ReduceLogSumExp", "ArgMax", "ArgMin",
        "Shape", "Size", "Squeeze", "Unsqueeze", "InstanceNormalization", "MatMul", "Sum", "Max", "Min", "Mean", "Conv", "MaxPool",
        "AveragePool", "Constant", "Equal", "Less", "Greater", "PRelu", "ThresholdedRelu", "Pad", "TopK",
        // Unchanged since opset 1 apart from attributes these mappings ignore (consumed_inputs) or read by opset.
        "BatchNormalization", "Dropout", "Reshape", "Slice", "Gather", "DepthToSpace", "SpaceToDepth", "Hardmax", "Clip",
        "ConvTranspose", "LRN",
    };

    private static void CheckLegacyOpset(IEnumerable<NodeProto> live, int opset)
    {
        foreach (var n in live)
        {
            if (!LegacySafe.Contains(n.OpType) && !LegacyMapped.Contains(n.OpType))
                throw new OnnxImportException($"{n.OpType} node '{n.Name}': opset {opset} is not supported for this op (its meaning changed in opset 7).");
        }
    }
}
