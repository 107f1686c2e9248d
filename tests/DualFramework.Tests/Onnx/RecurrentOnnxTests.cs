using DualFramework.Backends;
using DualFramework.Losses;
using DualFramework.NN;
using DualFramework.Onnx;
using DualFramework.Onnx.Conformance;
using DualFramework.Optim;
using DualFramework.Tests.NN;
using DualFramework.Training;
using FluentAssertions;
using Google.Protobuf;
using NUnit.Framework;

namespace DualFramework.Tests.Onnx;

/// <summary>LSTM, GRU and RNN through ONNX: the node suite's cases, export of models with recurrent layers as ONNX
/// LSTM/GRU/RNN nodes run by ONNX Runtime, import of the exported files, and a compiled training step on the graph
/// backend against the eager backend.</summary>
[TestFixture]
public class RecurrentOnnxTests
{
    private static readonly string[] NodeTests =
    [
        "test_lstm_batchwise", "test_lstm_defaults", "test_lstm_with_initial_bias", "test_lstm_with_peepholes",
        "test_gru_batchwise", "test_gru_defaults", "test_gru_seq_length", "test_gru_with_initial_bias",
        "test_rnn_seq_length", "test_simple_rnn_batchwise", "test_simple_rnn_defaults", "test_simple_rnn_with_initial_bias",
    ];

    [TestCase("torch")]
    [TestCase("graph")]
    public void Onnx_node_tests_pass(string backendName) => OnnxNodeCases.AssertNodeTestsPass(backendName, NodeTests);

    private const long T = 3, B = 2, I = 4, H = 5;

    private static Sequential Model(string kind, int seed)
    {
        var rng = new SeededRandom(seed);
        Module rnn = kind switch
        {
            "LSTM" => new LSTM(I, H, numLayers: 2, batchFirst: true, bidirectional: true, rng: rng),
            "GRU" => new GRU(I, H, numLayers: 2, batchFirst: true, bidirectional: true, rng: rng),
            _ => new RNN(I, H, nonlinearity: Operators.RnnActivation.Relu, batchFirst: true, rng: rng),
        };
        long features = T * H * (kind == "RNN" ? 1 : 2);
        return new Sequential(rnn, new Flatten(), new Linear(features, 3, rng: rng));
    }

    private static Tensor Input(IComputeBackend? backend = null) =>
        Tensor.FromArray(NNRef.RandF(11, (int)(B * T * I), -2, 2), new Shape(B, T, I), backend);

    [TestCase("LSTM")]
    [TestCase("GRU")]
    [TestCase("RNN")]
    public void Exported_model_runs_in_onnx_runtime_and_imports_back_on_both_backends(string kind)
    {
        using var s = TensorScope.Begin();
        using var model = Model(kind, 3);
        var x = Input();
        var want = model.Forward(x).ToFloatArray().Select(v => (double)v).ToArray();
        var onnx = ModuleExporter.ToModel(model, [x], new ModuleExportOptions { Optimize = false });
        int layers = kind == "RNN" ? 1 : 2;
        onnx.Graph.Node.Count(n => n.OpType == kind).Should().Be(layers, "each layer is one ONNX recurrent node");
        var ort = OrtHarness.Run(onnx.ToByteArray(), [new OrtHarness.HostTensor(x.Spec, OrtHarness.Bytes(x))])[0].ToDoubles();
        Support.GradCheck.AssertClose(ort, want, 1e-5, 1e-5, "ONNX Runtime against the eager model");

        foreach (var name in new[] { "torch", "graph" })
        {
            var backend = BackendRegistry.Get(name);
            using var imported = OnnxImporter.FromModel(onnx, new OnnxImportOptions { Backend = backend });
            imported.Graph.Nodes.Count(n => n.Op.Name == kind.ToLowerInvariant()).Should().Be(layers, "the nodes import as the recurrent ops");
            var got = imported.Run(backend, Input(backend))[0].ToFloatArray();
            Support.GradCheck.AssertClose(got, want, 1e-5, 1e-5, $"imported model on {name}");
        }
    }

    [Test]
    public void Compiled_training_step_on_the_graph_backend_matches_eager_training()
    {
        float[][] Train(string backendName, out bool compiled)
        {
            var backend = BackendRegistry.Get(backendName);
            using var use = BackendRegistry.Use(backend);
            using var s = TensorScope.Begin();
            using var model = Model("LSTM", 5);
            using var opt = new Sgd(model.Parameters(), 0.1);
            using var trainer = new Trainer(model);
            trainer.Compile(opt, new CrossEntropyLoss());
            var x = Input(backend);
            var y = Tensor.FromArray(new long[] { 2, 0 }, new Shape(B), backend);
            for (int i = 0; i < 3; i++) trainer.TrainStep(x, y);
            compiled = trainer.CompiledTrainStep != null;
            return model.Parameters().Select(p => p.Value.ToFloatArray()).ToArray();
        }

        var eager = Train("torch", out bool eagerCompiled);
        var graph = Train("graph", out bool graphCompiled);
        eagerCompiled.Should().BeFalse();
        graphCompiled.Should().BeTrue("the graph backend trains with one compiled step");
        using var initScope = TensorScope.Begin();
        using var init = Model("LSTM", 5);
        var initial = init.Parameters().Select(p => p.Value.ToFloatArray()).ToArray();
        for (int i = 0; i < eager.Length; i++)
        {
            Support.GradCheck.AssertClose(graph[i], eager[i].Select(v => (double)v).ToArray(), 1e-4, 1e-5, $"parameter {i} after three steps");
            eager[i].Should().NotEqual(initial[i], $"parameter {i} trained");
        }
    }
}
