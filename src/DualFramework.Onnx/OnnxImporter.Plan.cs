using DualFramework.IR;
using DualFramework.IR.Passes;
using DualFramework.Onnx.Proto;

namespace DualFramework.Onnx;

public static partial class OnnxImporter
{
    /// <summary>The graph built by <see cref="ImportPlan.Build"/> (null when some node needed an unknown shape-input value)
    /// and the inputs whose values it used (or would need).</summary>
    internal sealed record BuildResult(Graph? Graph, IReadOnlyList<string> ShapeInputs);

    /// <summary>
    /// Everything needed to (re)build the graph of a model: its live nodes, inputs, initializer data (read once and shared
    /// by every build) and outputs. A build with no input values is the import-time probe; a build with the values of a
    /// run makes the graph specialised for them.
    /// </summary>
    internal sealed class ImportPlan(OnnxImportOptions options, int opset, IReadOnlyList<NodeProto> live, IReadOnlySet<string> needed,
        IReadOnlyList<(string Name, TensorSpec Spec)> inputs, IReadOnlyList<(string Name, TensorSpec Spec, byte[] Data)> constants,
        IReadOnlyList<(string Name, TensorSpec Spec)> trainable, IReadOnlyList<string> outputNames)
    {
        public IReadOnlyList<string> OutputNames => outputNames;

        /// <param name="inputValue">The value of a model input by name, or null for the probe (values unknown).</param>
        public BuildResult Build(Func<string, (TensorSpec Spec, byte[] Data)>? inputValue)
        {
            var b = new Builder(options, opset, needed, inputValue);
            foreach (var (name, spec) in inputs) b.AddDataInput(name, spec);
            foreach (var (name, spec, data) in constants)
            {
                b.Values[name] = b.Graph.AddConstant(spec, data, name);
                b.ConstData[name] = (spec, data);
            }
            foreach (var (name, spec) in trainable) b.Values[name] = b.Graph.AddInput(spec, name);
            foreach (var n in live) b.Import(n);
            if (b.HasDeferred) return new BuildResult(null, b.ShapeInputs);
            foreach (var o in outputNames) b.Graph.AddOutput(b.Get(o, "graph output"));
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
            return new BuildResult(b.Graph, b.ShapeInputs);
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
        "AveragePool", "Constant", "Equal", "Less", "Greater", "PRelu", "ThresholdedRelu",
    };

    private static void CheckLegacyOpset(IEnumerable<NodeProto> live, int opset)
    {
        foreach (var n in live)
        {
            if (!LegacySafe.Contains(n.OpType))
                throw new OnnxImportException($"{n.OpType} node '{n.Name}': opset {opset} is not supported for this op (its meaning changed in opset 7).");
            // Before opset 7 binary ops broadcast only when asked, with their own axis rule.
            if (n.Attribute.FirstOrDefault(a => a.Name == "broadcast") is { I: not 0 })
                throw new OnnxImportException($"{n.OpType} node '{n.Name}': the legacy broadcast attribute is not supported.");
        }
    }
}
