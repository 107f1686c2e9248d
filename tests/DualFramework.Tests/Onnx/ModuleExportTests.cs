using System.Diagnostics;
using DualFramework.Autodiff;
using DualFramework.IR;
using DualFramework.NN;
using DualFramework.Onnx;
using DualFramework.Onnx.Proto;
using DualFramework.Tests.NN;
using FluentAssertions;
using Microsoft.ML.OnnxRuntime;
using NUnit.Framework;

namespace DualFramework.Tests.Onnx;

[TestFixture]
public class ModuleExportTests
{
    private const double Tol = 1e-5;

    private static Tensor Rand(int seed, params long[] shape) =>
        Tensor.FromArray(NNRef.RandF(seed, (int)new Shape(shape).NumElements, -2, 2), new Shape(shape));

    private static OrtHarness.HostTensor Host(Tensor t) => new(t.Spec, OrtHarness.Bytes(t));

    // Non-trivial running statistics, so the inference-mode normalisation (and its folding) is exercised.
    private static void RandomizeStats(Module m, int seed)
    {
        foreach (var (_, bn) in m.NamedModules().Where(x => x.Module is BatchNormBase).Select(x => (x.Name, (BatchNormBase)x.Module)))
        {
            int n = (int)bn.NumFeatures;
            bn.RunningMean!.Assign(Tensor.FromArray(NNRef.RandF(seed++, n, -0.5, 0.5), new Shape(n)));
            bn.RunningVar!.Assign(Tensor.FromArray(NNRef.RandF(seed++, n, 0.5, 2), new Shape(n)));
        }
    }

    /// <summary>The eager result in evaluation mode; the model is put back in training mode.</summary>
    private static Tensor[] Eager(Module model, Func<Tensor[], Tensor[]> forward, params Tensor[] inputs)
    {
        model.Eval();
        try
        {
            using (Autograd.NoGrad()) return forward(inputs);
        }
        finally
        {
            model.Train();
        }
    }

    private static Sequential Mlp()
    {
        var r = new SeededRandom(1);
        var m = new Sequential(new Linear(6, 16, rng: r), new BatchNorm1d(16), new ReLU(), new Dropout(0.3, r), new Linear(16, 4, rng: r));
        NNRef.RandomizeParameters(m, 100);
        RandomizeStats(m, 200);
        return m;
    }

    private static Sequential Cnn()
    {
        var r = new SeededRandom(2);
        var m = new Sequential(
            new Conv2d(3, 8, 3, padding: 1, rng: r), new BatchNorm2d(8), new ReLU(), new MaxPool2d(2),
            new Conv2d(8, 4, 3, rng: r), new BatchNorm2d(4), new ReLU(), new AvgPool2d(2), new Flatten(), new Dropout(0.2, r),
            new Linear(4, 5, rng: r));
        NNRef.RandomizeParameters(m, 300);
        RandomizeStats(m, 400);
        return m;
    }

    private static (Sequential Model, TransformerEncoderLayer Encoder, Linear Head) Transformer()
    {
        var r = new SeededRandom(3);
        var enc = new TransformerEncoderLayer(8, 2, 16, dropout: 0.1, rng: r);
        var head = new Linear(8, 3, rng: r);
        var m = new Sequential(enc, head);
        NNRef.RandomizeParameters(m, 500);
        return (m, enc, head);
    }

    private static Func<Tensor[], Tensor[]> CallForward(Module m) => a => [m.Call(a[0])];

    private static string TempDir() => Directory.CreateTempSubdirectory("df_module_export_").FullName;

    private static OrtHarness.HostTensor[] RunFile(string path, params Tensor[] inputs)
    {
        using var options = new SessionOptions { LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR };
        using var session = new InferenceSession(path, options);
        return OrtHarness.Run(session, inputs.Select(Host).ToArray());
    }

    private static void AssertMatches(string path, Module model, Func<Tensor[], Tensor[]> forward, string what, params Tensor[] inputs)
    {
        var want = Eager(model, forward, inputs);
        var got = RunFile(path, inputs);
        got.Should().HaveCount(want.Length);
        for (int i = 0; i < want.Length; i++) OrtHarness.AssertClose(got[i], want[i], Tol, Tol, $"{what}, output {i}");
    }

    private static void AssertNoTrainingOps(ModelProto m)
    {
        var ops = m.Graph.Node.Select(n => n.OpType).ToList();
        ops.Should().NotContain(o => o.Contains("Dropout") || o.Contains("Random"));
    }

    [Test]
    public void Mlp_with_dropout_and_batch_norm_matches_eager_at_another_batch_size()
    {
        using var s = TensorScope.Begin();
        using var model = Mlp();
        var dir = TempDir();
        try
        {
            var path = Path.Combine(dir, "mlp.onnx");
            var m = ModuleExporter.Export(model, Rand(1, 3, 6), path);
            model.Training.Should().BeTrue("the training mode is restored");
            model.NamedModules().Should().OnlyContain(x => x.Module.Training);

            m.Graph.Input.Select(i => i.Name).Should().Equal("input");
            m.Graph.Output.Select(o => o.Name).Should().Equal("output");
            m.Graph.Input[0].Type.TensorType.Shape.Dim[0].DimParam.Should().Be("batch");
            m.Graph.Input[0].Type.TensorType.Shape.Dim[1].DimValue.Should().Be(6);
            m.OpsetImport.Single().Version.Should().Be(17);
            m.Graph.Initializer.Select(i => i.Name).Should().Contain(["0.weight", "0.bias", "4.weight", "4.bias", "1.running_mean", "1.running_var"]);
            AssertNoTrainingOps(m);

            foreach (long batch in new long[] { 3, 7, 1 })
                AssertMatches(path, model, CallForward(model), $"batch {batch}", Rand(10 + (int)batch, batch, 6));
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    /// <summary>A text model whose forward reshapes with sizes it reads ([batch·sequence, 8] and back): exported with a
    /// (batch, sequence) signature, both dims are dim_params and the file runs at any size in ONNX Runtime.</summary>
    [Test]
    public void A_text_model_exports_with_symbolic_batch_and_sequence()
    {
        using var s = TensorScope.Begin();
        var rng = new SeededRandom(3);
        using var model = new Sequential(new Embedding(50, 8, rng), new Linear(8, 4, rng: rng));
        Tensor[] Forward(Tensor[] a)
        {
            var h = model.Call(a[0]);                                      // [batch, sequence, 4]
            var flat = Ops.Reshape(h, h.Shape[0] * h.Shape[1], 4);         // sizes read while tracing
            return [Ops.Reshape(Ops.Softmax(flat, 1), h.Shape[0], h.Shape[1], 4), Ops.Mean(h, [1])];
        }
        Tensor Ids(int seed, long b, long l) => Tensor.FromArray(Enumerable.Range(0, (int)(b * l)).Select(i => (long)((i * 7 + seed) % 50)).ToArray(), new Shape(b, l));
        var dir = TempDir();
        try
        {
            var path = Path.Combine(dir, "text.onnx");
            var options = new ModuleExportOptions
            {
                Forward = Forward,
                InputSignature = InputSignature.Of(new TensorSignature(DType.Int64, "batch", "sequence")),
            };
            var m = ModuleExporter.Export(model, [Ids(0, 2, 5)], path, options);
            m.Graph.Input[0].Type.TensorType.Shape.Dim.Select(d => d.DimParam).Should().Equal("batch", "sequence");
            m.Graph.Output[0].Type.TensorType.Shape.Dim.Select(d => d.DimParam).Should().Equal("batch", "sequence", "");
            m.Graph.Output[1].Type.TensorType.Shape.Dim.Select(d => d.DimParam).Should().Equal("batch", "");
            foreach (var (b, l) in new[] { (2L, 5L), (1L, 13L), (4L, 1L) })
                AssertMatches(path, model, Forward, $"[{b}, {l}]", Ids((int)(b + l), b, l));
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Test]
    public void Cnn_folds_batch_norm_into_the_convolutions_and_matches_eager()
    {
        using var s = TensorScope.Begin();
        using var model = Cnn();
        var dir = TempDir();
        try
        {
            var path = Path.Combine(dir, "cnn.onnx");
            var m = ModuleExporter.Export(model, Rand(2, 2, 3, 8, 8), path, new ModuleExportOptions { InputNames = ["image"], OutputNames = ["logits"] });
            var ops = m.Graph.Node.Select(n => n.OpType).ToList();
            ops.Should().NotContain("BatchNormalization");
            ops.Count(o => o == "Conv").Should().Be(2);
            AssertNoTrainingOps(m);
            m.Graph.Input.Single().Name.Should().Be("image");
            m.Graph.Output.Single().Name.Should().Be("logits");
            // Folded weights replace the conv weights; the unfolded head keeps its parameter names.
            m.Graph.Initializer.Select(i => i.Name).Should().Contain(["10.weight", "10.bias"]).And.NotContain("1.running_mean");

            foreach (long batch in new long[] { 2, 5 })
                AssertMatches(path, model, CallForward(model), $"batch {batch}", Rand(20 + (int)batch, batch, 3, 8, 8));
            model.Training.Should().BeTrue();
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Test]
    public void Transformer_encoder_with_linear_head_matches_eager_at_another_batch_size()
    {
        using var s = TensorScope.Begin();
        var (model, _, _) = Transformer();
        using var _m = model;
        var dir = TempDir();
        try
        {
            var path = Path.Combine(dir, "encoder.onnx");
            var m = ModuleExporter.Export(model, Rand(3, 2, 5, 8), path);
            AssertNoTrainingOps(m);
            m.Graph.Initializer.Select(i => i.Name).Should().Contain(["1.weight", "0.norm1.weight", "0.linear1.weight"]);
            foreach (long batch in new long[] { 2, 4 })
                AssertMatches(path, model, CallForward(model), $"batch {batch}", Rand(30 + (int)batch, batch, 5, 8));
            model.NamedModules().Should().OnlyContain(x => x.Module.Training);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    private static Tensor PaddingMask(long batch, long seq)
    {
        // Additive float mask: the last key of every other sample is padding.
        var data = new float[batch * seq];
        for (int b = 0; b < batch; b += 2) data[b * seq + seq - 1] = float.NegativeInfinity;
        return Tensor.FromArray(data, new Shape(batch, seq));
    }

    [Test]
    public void Multi_input_forward_with_custom_delegate_and_names_at_opset_13()
    {
        using var s = TensorScope.Begin();
        var (model, enc, head) = Transformer();
        using var _m = model;
        Func<Tensor[], Tensor[]> forward = a =>
        {
            var h = enc.Forward(a[0], null, a[1]);
            return [head.Call(h), Ops.Mean(h, 1)];
        };
        var dir = TempDir();
        try
        {
            var path = Path.Combine(dir, "encoder_masked.onnx");
            var options = new ModuleExportOptions { Forward = forward, Onnx = { Opset = 13 }, InputNames = ["src", "key_padding"], OutputNames = ["logits", "pooled"] };
            var m = ModuleExporter.Export(model, [Rand(4, 2, 5, 8), PaddingMask(2, 5)], path, options);
            m.OpsetImport.Single().Version.Should().Be(13);
            m.Graph.Input.Select(i => i.Name).Should().Equal("src", "key_padding");
            m.Graph.Input.Should().OnlyContain(i => i.Type.TensorType.Shape.Dim[0].DimParam == "batch");
            m.Graph.Output.Select(o => o.Name).Should().Equal("logits", "pooled");
            m.Graph.Node.Select(n => n.OpType).Should().NotContain("LayerNormalization", "opset 13 decomposes layer norm");
            AssertNoTrainingOps(m);
            foreach (long batch in new long[] { 2, 3 })
                AssertMatches(path, model, forward, $"batch {batch}", Rand(40 + (int)batch, batch, 5, 8), PaddingMask(batch, 5));
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Test]
    public void Static_shapes_when_the_dynamic_batch_is_disabled()
    {
        using var s = TensorScope.Begin();
        using var model = Mlp();
        var m = ModuleExporter.ToModel(model, [Rand(5, 3, 6)], new ModuleExportOptions { DynamicBatch = false });
        m.Graph.Input[0].Type.TensorType.Shape.Dim.Select(d => d.DimValue).Should().Equal(3, 6);
        m.Graph.Input[0].Type.TensorType.Shape.Dim.Should().OnlyContain(d => string.IsNullOrEmpty(d.DimParam));
        m.Graph.Output[0].Type.TensorType.Shape.Dim.Select(d => d.DimValue).Should().Equal(3, 4);
    }

    [Test]
    public void External_data_with_a_small_threshold_goes_to_a_side_file()
    {
        using var s = TensorScope.Begin();
        using var model = Mlp();
        var dir = TempDir();
        try
        {
            var path = Path.Combine(dir, "mlp_ext.onnx");
            var sample = Rand(6, 3, 6);
            long inlineSize = ModuleExporter.ToModel(model, [sample]).CalculateSize();
            var m = ModuleExporter.Export(model, sample, path, new ModuleExportOptions { ExternalDataThreshold = 64 });
            var dataPath = path + ".data";
            File.Exists(dataPath).Should().BeTrue();

            var onDisk = ModelProto.Parser.ParseFrom(File.ReadAllBytes(path));
            onDisk.Should().Be(m);
            var external = onDisk.Graph.Initializer.Where(t => t.DataLocation == TensorProto.Types.DataLocation.External).ToList();
            external.Select(t => t.Name).Should().Contain(["0.weight", "4.weight"]);
            long expectedBytes = 0;
            foreach (var t in external)
            {
                t.RawData.IsEmpty.Should().BeTrue();
                var kv = t.ExternalData.ToDictionary(e => e.Key, e => e.Value);
                kv["location"].Should().Be("mlp_ext.onnx.data");
                long length = long.Parse(kv["length"], System.Globalization.CultureInfo.InvariantCulture);
                length.Should().BeGreaterThanOrEqualTo(64);
                long.Parse(kv["offset"], System.Globalization.CultureInfo.InvariantCulture).Should().Be(expectedBytes);
                expectedBytes += length;
            }
            new FileInfo(dataPath).Length.Should().Be(expectedBytes);
            // Small tensors stay inline.
            onDisk.Graph.Initializer.Where(t => t.DataLocation != TensorProto.Types.DataLocation.External).Should().OnlyContain(t => t.RawData.Length < 64);
            new FileInfo(path).Length.Should().BeLessThan(inlineSize - expectedBytes / 2, "the moved bytes left the .onnx");

            // The parameter bytes in the side file are the weights.
            var w = OrtHarness.Bytes(model.StateDict()["0.weight"]);
            var first = external.First(t => t.Name == "0.weight").ExternalData.ToDictionary(e => e.Key, e => e.Value);
            File.ReadAllBytes(dataPath).AsSpan((int)long.Parse(first["offset"], System.Globalization.CultureInfo.InvariantCulture), w.Length).ToArray().Should().Equal(w);

            foreach (long batch in new long[] { 3, 6 })
                AssertMatches(path, model, CallForward(model), $"external, batch {batch}", Rand(50 + (int)batch, batch, 6));
            OnnxChecker.CheckDirectory(dir);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Test]
    public void Small_models_are_written_inline_by_default()
    {
        using var s = TensorScope.Begin();
        using var model = Mlp();
        var dir = TempDir();
        try
        {
            var path = Path.Combine(dir, "mlp.onnx");
            var m = ModuleExporter.Export(model, Rand(7, 2, 6), path);
            File.Exists(path + ".data").Should().BeFalse();
            m.Graph.Initializer.Should().OnlyContain(t => t.DataLocation != TensorProto.Types.DataLocation.External && t.ExternalData.Count == 0);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Test]
    public void Metadata_producer_and_graph_name()
    {
        using var s = TensorScope.Begin();
        using var model = Mlp();
        var options = new ModuleExportOptions
        {
            Onnx = { DocString = "an mlp", ModelVersion = 3, Metadata = { ["author"] = "tests", ["task"] = "classification" } },
        };
        var m = ModuleExporter.ToModel(model, [Rand(8, 2, 6)], options);
        m.ProducerName.Should().Be("DualFramework");
        m.ProducerVersion.Should().NotBeNullOrEmpty();
        m.DocString.Should().Be("an mlp");
        m.ModelVersion.Should().Be(3);
        m.Graph.Name.Should().Be("Sequential");
        var meta = m.MetadataProps.ToDictionary(p => p.Key, p => p.Value);
        meta["author"].Should().Be("tests");
        meta["task"].Should().Be("classification");
        meta["framework"].Should().Be("DualFramework");
        meta["framework_version"].Should().Be(m.ProducerVersion);
        meta["model_class"].Should().Be(typeof(Sequential).FullName);
        var custom = ModuleExporter.ToModel(model, [Rand(8, 2, 6)], new ModuleExportOptions { Onnx = { ProducerVersion = "1.2.3", GraphName = "g" } });
        custom.ProducerVersion.Should().Be("1.2.3");
        custom.Graph.Name.Should().Be("g");
    }

    [Test]
    public void Training_modes_are_restored_exactly_even_when_tracing_fails()
    {
        using var s = TensorScope.Begin();
        using var model = Mlp();
        model.Train();
        ((Module)model.Single(c => c is Dropout)).Eval();
        var before = model.NamedModules().Select(x => x.Module.Training).ToList();
        ModuleExporter.ToModel(model, [Rand(9, 2, 6)]);
        model.NamedModules().Select(x => x.Module.Training).Should().Equal(before);

        bool sawEval = false;
        var failing = new ModuleExportOptions
        {
            Forward = a =>
            {
                sawEval = model.NamedModules().All(x => !x.Module.Training);
                throw new InvalidOperationException("boom");
            },
        };
        ((Action)(() => ModuleExporter.ToModel(model, [Rand(9, 2, 6)], failing))).Should().Throw<InvalidOperationException>().WithMessage("boom");
        sawEval.Should().BeTrue("the forward is traced in evaluation mode");
        model.NamedModules().Select(x => x.Module.Training).Should().Equal(before);
    }

    [Test]
    public void Unoptimized_export_keeps_batch_norm_and_still_matches()
    {
        using var s = TensorScope.Begin();
        using var model = Cnn();
        var dir = TempDir();
        try
        {
            var path = Path.Combine(dir, "cnn_raw.onnx");
            var m = ModuleExporter.Export(model, Rand(11, 2, 3, 8, 8), path, new ModuleExportOptions { Optimize = false });
            m.Graph.Node.Select(n => n.OpType).Should().Contain("BatchNormalization");
            m.Graph.Initializer.Select(i => i.Name).Should().Contain(["0.weight", "1.running_mean", "1.running_var"]);
            AssertMatches(path, model, CallForward(model), "unoptimized", Rand(12, 3, 3, 8, 8));
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Test]
    public void Bad_arguments_are_rejected()
    {
        using var s = TensorScope.Begin();
        using var model = Mlp();
        var x = Rand(13, 2, 6);
        ((Action)(() => ModuleExporter.ToModel(model, [x], new ModuleExportOptions { Onnx = { Opset = 12 } }))).Should().Throw<ArgumentOutOfRangeException>().WithMessage("*13*17*");
        ((Action)(() => ModuleExporter.ToModel(model, [x, x]))).Should().Throw<ArgumentException>().WithMessage("*Forward*");
        ((Action)(() => ModuleExporter.ToModel(model, []))).Should().Throw<ArgumentException>();
        ((Action)(() => ModuleExporter.ToModel(model, [x], new ModuleExportOptions { InputNames = ["a", "b"] }))).Should().Throw<ArgumentException>().WithMessage("*InputNames*");
        ((Action)(() => ModuleExporter.ToModel(model, [x], new ModuleExportOptions { OutputNames = ["y", "z"] }))).Should().Throw<ArgumentException>().WithMessage("*OutputNames*");
        ((Action)(() => ModuleExporter.ToModel(model, [x], new ModuleExportOptions { InputNames = ["t"], OutputNames = ["t"] }))).Should().Throw<ArgumentException>().WithMessage("*both an input and an output*");
        ((Action)(() => ModuleExporter.ToModel(model, [x], new ModuleExportOptions { OutputNames = ["0.weight"] }))).Should().Throw<ArgumentException>().WithMessage("*0.weight*");
        model.Training.Should().BeTrue();
    }

    /// <summary>onnx.checker (full_check) over every model the exporter writes in these tests.</summary>
    [Test]
    public void Exported_models_pass_the_onnx_checker()
    {
        OnnxChecker.SkipWhenUnavailable();
        using var s = TensorScope.Begin();
        var dir = TempDir();
        try
        {
            using (var mlp = Mlp()) ModuleExporter.Export(mlp, Rand(14, 3, 6), Path.Combine(dir, "mlp.onnx"));
            using (var cnn = Cnn())
            {
                ModuleExporter.Export(cnn, Rand(15, 2, 3, 8, 8), Path.Combine(dir, "cnn.onnx"));
                ModuleExporter.Export(cnn, Rand(15, 2, 3, 8, 8), Path.Combine(dir, "cnn13.onnx"), new ModuleExportOptions { Onnx = { Opset = 13 } });
            }
            var (model, enc, head) = Transformer();
            using (model)
            {
                ModuleExporter.Export(model, Rand(16, 2, 5, 8), Path.Combine(dir, "encoder.onnx"));
                ModuleExporter.Export(model, [Rand(16, 2, 5, 8), PaddingMask(2, 5)], Path.Combine(dir, "encoder_masked.onnx"),
                    new ModuleExportOptions { Forward = a => [head.Call(enc.Forward(a[0], null, a[1]))], Onnx = { Opset = 15 } });
            }
            Directory.GetFiles(dir, "*.onnx").Should().HaveCount(5);
            OnnxChecker.CheckDirectory(dir);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }
}
