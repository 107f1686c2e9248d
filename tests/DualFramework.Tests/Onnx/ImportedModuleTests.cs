using DualFramework.Autodiff;
using DualFramework.Backends;
using DualFramework.Data;
using DualFramework.Distributed;
using DualFramework.Losses;
using DualFramework.NN;
using DualFramework.Onnx;
using DualFramework.Onnx.Proto;
using DualFramework.Optim;
using DualFramework.Tests.Support;
using DualFramework.Training;
using FluentAssertions;
using Google.Protobuf;
using NUnit.Framework;

namespace DualFramework.Tests.Onnx;

/// <summary>An imported ONNX model is a <see cref="Module"/> (issue #16, item 2): state dict with the initializer names,
/// trainable or frozen per initializer, training-mode BatchNormalization and Dropout, usable in Sequential, the Trainer and
/// export.</summary>
[TestFixture]
public class ImportedModuleTests
{
    private static readonly IComputeBackend Torch = BackendRegistry.Get("torch");
    private static readonly IComputeBackend GraphBackend = BackendRegistry.Get("graph");

    private static Dataset<Batch> Data(long seed) => ClusterData.Batches(seed);

    // The feature extractor exported to ONNX (eval mode: BatchNormalization with its running statistics as initializers).
    private static Sequential Features() =>
        new(new Linear(8, 16, bias: false, rng: new SeededRandom(5)), new BatchNorm1d(16), new ReLU());

    private static byte[] FeaturesOnnx()
    {
        using var s = TensorScope.Begin();
        using var m = Features();
        // Non-trivial running statistics, so inference and training modes differ.
        using (Autograd.NoGrad())
            foreach (var b in Data(9).WithEpoch(0)) m.Call(Tensor.FromArray(b.Features, b.FeatureShape));
        m.Eval();
        return ModuleExporter.ToModel(m, [Tensor.FromArray(new float[2 * 8], new Shape(2, 8))]).ToByteArray();
    }

    private static readonly byte[] Bytes = FeaturesOnnx();

    private static string[] FloatInitializers(byte[] bytes) =>
        ModelProto.Parser.ParseFrom(bytes).Graph.Initializer.Where(t => t.DataType == (int)TensorProto.Types.DataType.Float).Select(t => t.Name).ToArray();

    [Test]
    public void State_dict_keys_are_the_initializer_names_and_running_statistics_are_buffers()
    {
        using var s = TensorScope.Begin();
        using var model = OnnxImporter.FromBytes(Bytes, new OnnxImportOptions { Backend = Torch });
        var names = FloatInitializers(Bytes);
        names.Should().Contain(["0.weight", "1.weight", "1.bias", "1.running_mean", "1.running_var"]);
        model.StateDict().Keys.Should().BeEquivalentTo(names);
        model.NamedParameters().Select(p => p.Name).Should().BeEquivalentTo(["0.weight", "1.weight", "1.bias"]);
        model.NamedBuffers().Select(p => p.Name).Should().BeEquivalentTo(["1.running_mean", "1.running_var"]);
        // Inside a container the variables are renamed once, to their path from the new root.
        using var seq = new Sequential(model, new Linear(16, 4, rng: new SeededRandom(1)));
        model.Parameters().Select(p => p.Name).Should().BeEquivalentTo(["0.0.weight", "0.1.weight", "0.1.bias"]);
        model.StateDict().Keys.Should().BeEquivalentTo(names, "the module's own state dict keeps the ONNX names");
    }

    [Test]
    public void Trainable_option_Freeze_and_InitializersAfter_select_what_trains()
    {
        using var s = TensorScope.Begin();
        using var model = OnnxImporter.FromBytes(Bytes, new OnnxImportOptions { Backend = Torch, Trainable = n => n.StartsWith("1.", StringComparison.Ordinal) });
        model.Parameters().Select(p => p.Name).Should().BeEquivalentTo(["1.weight", "1.bias"]);
        model.StateDict().Keys.Should().Contain("0.weight");
        var gemm = ModelProto.Parser.ParseFrom(Bytes).Graph.Node.First(n => n.Input.Contains("0.weight")).Output[0];
        model.InitializersAfter(gemm).Should().BeEquivalentTo(["1.weight", "1.bias", "1.running_mean", "1.running_var"]);
        model.Freeze().Should().Be(2);
        model.Parameters().Should().BeEmpty();
        model.Unfreeze(n => n == "0.weight").Should().Be(1);
        model.Parameters().Select(p => p.Name).Should().Equal("0.weight");
        FluentActions.Invoking(() => model.InitializersAfter("no_such_value")).Should().Throw<ArgumentException>().WithMessage("*no_such_value*");
        using var constants = OnnxImporter.FromBytes(Bytes, new OnnxImportOptions { Backend = Torch, InitializersAsConstants = true });
        constants.StateDict().Should().BeEmpty();
    }

    [Test]
    public void Training_mode_batch_norm_matches_the_native_layer_and_updates_running_statistics()
    {
        using var s = TensorScope.Begin();
        using var model = OnnxImporter.FromBytes(Bytes, new OnnxImportOptions { Backend = Torch });
        // The native layers the model was exported from, with the same state (an independent implementation of the
        // training-mode semantics: PyTorch's BatchNorm1d, momentum 0.1 = 1 − the ONNX default 0.9).
        using var native = Features();
        native.LoadStateDict(model.StateDict().Concat([new KeyValuePair<string, Tensor>("1.num_batches_tracked", Tensor.Scalar(0L))]).ToDictionary());
        var x = Tensor.FromArray(Enumerable.Range(0, 16 * 8).Select(i => (float)Math.Sin(i * 0.37) * 2).ToArray(), new Shape(16, 8));
        var before = model.StateDict()["1.running_mean"].ToFloatArray();
        var yEval = model.Eval().Call(x).ToFloatArray();
        model.StateDict()["1.running_mean"].ToFloatArray().Should().Equal(before, "evaluation leaves the statistics alone");
        var y = model.Train().Call(x).ToFloatArray();
        var want = native.Train().Call(x).ToFloatArray();
        // Fan-in 8 (the matmul) and the batch statistics over 16 rows, twice.
        double gamma = Fp32ErrorModel.Gamma(8 + 32);
        Fp32ErrorModel.Distance(y, want).Should().BeLessThanOrEqualTo(4 * gamma * Fp32ErrorModel.Norm(want) + 1e-7);
        Fp32ErrorModel.Distance(y, yEval).Should().BeGreaterThan(1e-3, "training mode uses batch statistics");
        foreach (var key in new[] { "1.running_mean", "1.running_var" })
        {
            var got = model.StateDict()[key].ToFloatArray();
            var exp = native.StateDict()[key].ToFloatArray();
            Fp32ErrorModel.Distance(got, exp).Should().BeLessThanOrEqualTo(4 * gamma * Fp32ErrorModel.Norm(exp) + 1e-7, key);
            got.Should().NotEqual(before);
        }

        // With its scale and bias frozen, the node keeps inference mode (Keras's frozen BatchNormalization).
        model.Freeze(n => n.StartsWith("1.", StringComparison.Ordinal));
        var stats = model.StateDict()["1.running_mean"].ToFloatArray();
        var frozen = model.Train().Call(x).ToFloatArray();
        model.StateDict()["1.running_mean"].ToFloatArray().Should().Equal(stats);
        frozen.Should().Equal(model.Eval().Call(x).ToFloatArray());
    }

    [Test]
    public void Dropout_is_active_only_in_training_mode()
    {
        using var s = TensorScope.Begin();
        static ValueInfoProto Info(string name) => new()
        {
            Name = name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = 1, Shape = new TensorShapeProto { Dim = { new TensorShapeProto.Types.Dimension { DimValue = 4 }, new TensorShapeProto.Types.Dimension { DimValue = 500 } } } } },
        };
        var proto = new ModelProto
        {
            IrVersion = 8,
            OpsetImport = { new OperatorSetIdProto { Version = 13 } },
            Graph = new GraphProto
            {
                Name = "dropout",
                Node = { new NodeProto { OpType = "Dropout", Name = "drop", Input = { "x", "ratio" }, Output = { "y" } } },
                // A float initializer the graph needs as a constant: it stays out of the state.
                Initializer = { new TensorProto { Name = "ratio", DataType = 1, FloatData = { 0.25f } } },
                Input = { Info("x") },
                Output = { Info("y") },
            },
        };
        using var model = OnnxImporter.FromModel(proto, new OnnxImportOptions { Backend = Torch, DropoutSeed = 7 });
        model.StateDict().Should().BeEmpty();
        var x = Tensor.FromArray(Enumerable.Repeat(1f, 2000).ToArray(), new Shape(4, 500));
        model.Eval().Call(x).ToFloatArray().Should().OnlyContain(v => v == 1f);
        var y = model.Train().Call(x).ToFloatArray();
        y.Should().OnlyContain(v => v == 0f || v == 1f / 0.75f);
        // 2000 Bernoulli(0.25) drops: mean 500, standard deviation ≈ 19.4; ±6σ.
        y.Count(v => v == 0).Should().BeInRange(384, 616);
        model.Run(Torch, x)[0].ToFloatArray().Should().OnlyContain(v => v == 1f, "Run always computes inference semantics");
    }

    private const int StepsPerEpoch = 6;

    // Longest path of reductions, as in CompiledTrainerParityTests: forward fan-ins 8 and 16, batch statistics (16,
    // twice), the 4-way softmax; backward fan-outs 4 and 16, the batch-norm backward sums; weight gradients over 16.
    private static readonly double Gamma = Fp32ErrorModel.Gamma((8 + 32 + 16 + 4) + (4 + 16 + 32) + 16);

    private static (History History, Sequential Model, Sgd Opt) Fit(IComputeBackend backend)
    {
        using (BackendRegistry.Use(backend))
        {
            var imported = OnnxImporter.FromBytes(Bytes, new OnnxImportOptions { Backend = backend });
            var model = new Sequential(imported, new Linear(16, 4, rng: new SeededRandom(6)));
            var opt = new Sgd(model.Parameters(), 0.05, momentum: 0.9);
            using var trainer = new Trainer(model);
            trainer.Compile(opt, new CrossEntropyLoss(), [new Accuracy()]);
            var history = trainer.Fit(Data(1), 3, validation: Data(2));
            return (history, model, opt);
        }
    }

    [Test]
    [Category("Parity")]
    public void Imported_model_in_Sequential_trains_alike_on_torch_and_graph_backends()
    {
        var (ht, mt, ot) = Fit(Torch);
        var (hg, mg, og) = Fit(GraphBackend);
        using (mt) using (ot) using (mg) using (og)
        {
            ht["loss"][2].Should().BeLessThan(ht["loss"][0], "the model learns");
            double logits;
            using (TensorScope.Begin())
            using (BackendRegistry.Use(Torch))
            {
                mt.Eval();
                logits = Data(1).WithEpoch(0).SelectMany(b => mt.Call(Tensor.FromArray(b.Features, b.FeatureShape)).ToFloatArray()).Max(v => Math.Abs((double)v));
            }
            foreach (var key in new[] { "loss", "val_loss" })
                for (int e = 0; e < 3; e++)
                {
                    double bound = 2 * Gamma * (e + 1) * StepsPerEpoch * (Math.Abs(ht[key][e]) + logits);
                    Math.Abs(hg[key][e] - ht[key][e]).Should().BeLessThanOrEqualTo(bound, $"{key} at epoch {e}: {hg[key][e]} vs {ht[key][e]}");
                }
            hg["accuracy"].Should().Equal(ht["accuracy"]);
            var pt = mt.StateDict();
            pt.Keys.Should().BeEquivalentTo(mg.StateDict().Keys);
            pt.Keys.Should().Contain(["0.1.running_mean", "0.0.weight", "1.weight"]);
            foreach (var (name, value) in mg.StateDict())
            {
                var a = value.ToFloatArray();
                var b = pt[name].ToFloatArray();
                Fp32ErrorModel.Distance(a, b).Should().BeLessThanOrEqualTo(2 * Gamma * 3 * StepsPerEpoch * Fp32ErrorModel.Norm(b), name);
            }
        }
    }

    [Test]
    public void Sequential_with_an_imported_model_exports_and_matches_onnx_runtime()
    {
        using var s = TensorScope.Begin();
        using var imported = OnnxImporter.FromBytes(Bytes, new OnnxImportOptions { Backend = Torch });
        using var seq = new Sequential(imported, new Linear(16, 4, rng: new SeededRandom(3))).Eval();
        var x = Tensor.FromArray(Enumerable.Range(0, 5 * 8).Select(i => (float)Math.Cos(i * 0.91) * 2).ToArray(), new Shape(5, 8));
        float[] want;
        using (Autograd.NoGrad()) want = seq.Call(x).ToFloatArray();
        var bytes = ModuleExporter.ToModel(seq, [x]).ToByteArray();
        var got = OrtHarness.Run(bytes, [new OrtHarness.HostTensor(x.Spec, OrtHarness.Bytes(x))])[0];
        got.Spec.Should().Be(new TensorSpec(new Shape(5, 4), DType.Float32));
        var g = got.ToDoubles().Select(v => (float)v).ToArray();
        // Two matmuls (fan-in 8 and 16) and the normalisation, in either implementation.
        Fp32ErrorModel.Distance(g, want).Should().BeLessThanOrEqualTo(2 * Fp32ErrorModel.Gamma(8 + 16 + 4) * Fp32ErrorModel.Norm(want) + 1e-6);
        // The state went into the file as initializers, and the exported file imports back as a module with that state.
        using var back = OnnxImporter.FromBytes(bytes, new OnnxImportOptions { Backend = Torch });
        // (The exporter folds the transposed first weight into a constant of its own name.)
        back.StateDict().Keys.Should().BeEquivalentTo(FloatInitializers(bytes));
        back.StateDict().Keys.Should().Contain(["0.1.weight", "0.1.running_mean", "1.weight", "1.bias"]);
    }

    // Replicas of an imported model (no BatchNorm: replicas would normalise with their own shard's statistics) trained by
    // DataParallel on half batches end where one process training on whole batches ends.
    private static Dictionary<string, float[]> TrainDataParallel(byte[] onnx, DataParallel? strategy)
    {
        int rank = strategy?.Rank ?? 0;
        using var scope = TensorScope.Begin();
        using var onBackend = BackendRegistry.Use(Torch);
        var imported = OnnxImporter.FromBytes(onnx, new OnnxImportOptions { Backend = Torch });
        // The head starts from a different seed on each rank: DataParallel's broadcast must replace it.
        using var model = new Sequential(imported, new Linear(16, 4, rng: new SeededRandom(10 + rank)));
        using var opt = new Sgd(model.Parameters(), 0.05, momentum: 0.9);
        using var trainer = new Trainer(model, strategy);
        trainer.Compile(opt, new CrossEntropyLoss());
        trainer.Fit(Data(1), 1);
        return model.NamedVariables().ToDictionary(kv => kv.Key, kv => kv.Value.Value.ToFloatArray());
    }

    [Test]
    public void Imported_model_trains_data_parallel_like_one_process()
    {
        byte[] onnx;
        using (TensorScope.Begin())
        using (var features = new Sequential(new Linear(8, 16, rng: new SeededRandom(5)), new Tanh()))
            onnx = ModuleExporter.ToModel(features, [Tensor.FromArray(new float[2 * 8], new Shape(2, 8))]).ToByteArray();
        var single = TrainDataParallel(onnx, null);
        var replicas = InProcessGroup.Run(2, c => TrainDataParallel(onnx, new DataParallel(c)), TimeSpan.FromMinutes(2));
        single.Keys.Should().Contain(["0.0.weight", "0.0.bias", "1.weight"]);
        // The whole batch's gradient sums 16 rows; the replicas sum 8 and average two partial sums: γ_K with K from the
        // forward fan-ins (8, 16, 4), the softmax and the batch sums, per step, carried by SGD over 6 steps.
        double gamma = Fp32ErrorModel.Gamma(8 + 16 + 4 + 4 + 16 + 2);
        foreach (var r in replicas)
        {
            r.Keys.Should().BeEquivalentTo(single.Keys);
            foreach (var (name, want) in single)
                Fp32ErrorModel.Distance(r[name], want).Should().BeLessThanOrEqualTo(2 * gamma * StepsPerEpoch * Fp32ErrorModel.Norm(want), name);
        }
        replicas[1].Should().BeEquivalentTo(replicas[0], o => o.WithStrictOrdering(), "replicas apply identical updates");
    }
}
