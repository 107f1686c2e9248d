using System.Diagnostics;
using System.Reflection;
using DualFramework.Autodiff;
using DualFramework.Backends;
using DualFramework.Losses;
using DualFramework.NN;
using DualFramework.Onnx;
using DualFramework.Onnx.Proto;
using DualFramework.Optim;
using DualFramework.Tests.NN;
using FluentAssertions;
using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using NUnit.Framework;

namespace DualFramework.Tests.Onnx;

[TestFixture]
public class ImportTests
{
    private static readonly IComputeBackend Torch = BackendRegistry.Get("torch");
    private static readonly IComputeBackend GraphBackend = BackendRegistry.Get("graph");

    private static Tensor Rand(int seed, params long[] shape) =>
        Tensor.FromArray(NNRef.RandF(seed, (int)new Shape(shape).NumElements, -2, 2), new Shape(shape));

    private static double MaxDiff(double[] a, double[] b)
    {
        a.Length.Should().Be(b.Length);
        return a.Zip(b, (x, y) => Math.Abs(x - y)).Max();
    }

    private static string TempDir()
    {
        var d = Path.Combine(Path.GetTempPath(), "df-import-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(d);
        return d;
    }

    private static Sequential Mlp()
    {
        var r = new SeededRandom(1);
        var m = new Sequential(new Linear(6, 16, rng: r), new ReLU(), new Linear(16, 4, rng: r), new Tanh());
        NNRef.RandomizeParameters(m, 100);
        return m;
    }

    private static Sequential Cnn()
    {
        var r = new SeededRandom(2);
        var m = new Sequential(
            new Conv2d(3, 8, 3, padding: 1, rng: r), new BatchNorm2d(8), new ReLU(), new MaxPool2d(2),
            new Conv2d(8, 4, 3, rng: r), new ReLU(), new AvgPool2d(2), new Flatten(), new Linear(4, 5, rng: r));
        NNRef.RandomizeParameters(m, 300);
        return m;
    }

    private static double[] Eval(DualFramework.NN.Module m, Tensor x)
    {
        m.Eval();
        using (Autograd.NoGrad()) return m.Forward(x).ToDoubleArray();
    }

    [TestCase("mlp")]
    [TestCase("cnn")]
    public void RoundTrip_ExportedModule_SameOutputsOnBothBackends(string kind)
    {
        using var s = TensorScope.Begin();
        var (m, x) = kind == "mlp" ? (Mlp(), Rand(5, 3, 6)) : (Cnn(), Rand(6, 2, 3, 10, 10));
        var want = Eval(m, x);
        var bytes = ModuleExporter.ToModel(m, [x], new ModuleExportOptions { DynamicBatch = false }).ToByteArray();
        using var model = OnnxImporter.FromBytes(bytes);
        model.InputSpecs.Should().Equal(x.Spec);
        MaxDiff(model.Run(Torch, x)[0].ToDoubleArray(), want).Should().BeLessThan(1e-5);
        MaxDiff(model.Run(GraphBackend, x)[0].ToDoubleArray(), want).Should().BeLessThan(1e-5);
        MaxDiff(model.Forward(x).ToDoubleArray(), want).Should().BeLessThan(1e-5);
    }

    // ---- the pretrained ResNet18 (CNTK export, opset 8) ----

    internal static string ResNet18Path()
    {
        var dir = typeof(ImportTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().FirstOrDefault(a => a.Key == "ResNet18PackagePath")?.Value;
        if (string.IsNullOrEmpty(dir))
            dir = Path.Combine(Environment.GetEnvironmentVariable("NUGET_PACKAGES") ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages"),
                "microsoft.ml.dnnimagefeaturizer.resnet18", "0.23.1");
        var path = Path.Combine(dir, "tools", "DnnImageModels", "ResNet18Onnx", "ResNet18.onnx");
        if (!File.Exists(path)) Assert.Inconclusive($"ResNet18.onnx not found at {path} (restore the test project).");
        return path;
    }

    [Test]
    public void ResNet18_MatchesOnnxRuntimeOnBothBackends()
    {
        using var s = TensorScope.Begin();
        var path = ResNet18Path();
        using var model = OnnxImporter.Load(path);
        model.Opset.Should().Be(8);
        model.InputSpecs.Should().ContainSingle().Which.Should().Be(new TensorSpec(new Shape(1, 3, 224, 224), DType.Float32));
        model.OutputSpecs.Should().ContainSingle().Which.Shape.Should().Be(new Shape(1, 512, 1, 1));
        var x = Tensor.FromArray(NNRef.RandF(42, 3 * 224 * 224, 0, 1), new Shape(1, 3, 224, 224));

        double[] want;
        using (var options = new SessionOptions { LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR })
        using (var session = new InferenceSession(path, options))
            want = OrtHarness.Run(session, [new OrtHarness.HostTensor(x.Spec, OrtHarness.Bytes(x))])[0].ToDoubles();

        double dTorch = MaxDiff(model.Run(Torch, x)[0].ToDoubleArray(), want);
        double dGraph = MaxDiff(model.Run(GraphBackend, x)[0].ToDoubleArray(), want);
        TestContext.Out.WriteLine($"ResNet18 max |diff| vs ORT on the original file: torch {dTorch:G3}, graph {dGraph:G3}; max |y| {want.Max(Math.Abs):G3}");
        dTorch.Should().BeLessThanOrEqualTo(1e-4);
        dGraph.Should().BeLessThanOrEqualTo(1e-4);
    }

    // ---- errors ----

    private static ModelProto Model(int opset, params NodeProto[] nodes)
    {
        var g = new GraphProto { Name = "g" };
        g.Input.Add(Info("x", 2, 3));
        g.Node.AddRange(nodes);
        g.Output.Add(Info(nodes.Last().Output[0], 2, 3));
        var m = new ModelProto { IrVersion = 8, Graph = g };
        m.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = opset });
        return m;
    }

    private static ValueInfoProto Info(string name, params long[] dims)
    {
        var shape = new TensorShapeProto();
        foreach (var d in dims) shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimValue = d });
        return new ValueInfoProto { Name = name, Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = 1, Shape = shape } } };
    }

    private static NodeProto N(string op, string input, string output) => new() { OpType = op, Name = output, Input = { input }, Output = { output } };

    [Test]
    public void UnsupportedOps_AllListedOnceSorted()
    {
        var m = Model(13, N("Relu", "x", "a"), N("Zzz", "a", "b"), N("Mystery", "b", "c"), N("Zzz", "c", "d"));
        var act = () => OnnxImporter.FromBytes(m.ToByteArray());
        var e = act.Should().Throw<OnnxImportException>().Which;
        e.UnsupportedOps.Should().Equal("Mystery", "Zzz");
        e.Message.Should().Contain("Mystery, Zzz");
    }

    [TestCase(0)]
    [TestCase(18)]
    public void UnsupportedOpset_Rejected(int opset)
    {
        var act = () => OnnxImporter.FromBytes(Model(opset, N("Relu", "x", "a")).ToByteArray());
        act.Should().Throw<OnnxImportException>().WithMessage($"*opset {opset}*");
    }

    [Test]
    public void EmptyAndRandomBytes_Rejected()
    {
        var dir = TempDir();
        var empty = Path.Combine(dir, "empty.onnx");
        File.WriteAllBytes(empty, []);
        ((Action)(() => OnnxImporter.Load(empty))).Should().Throw<OnnxImportException>().WithMessage("*empty*");
        var rng = new Random(7);
        for (int i = 0; i < 5; i++)
        {
            var bytes = new byte[100 + 300 * i];
            rng.NextBytes(bytes);
            ((Action)(() => OnnxImporter.FromBytes(bytes))).Should().Throw<OnnxImportException>();
        }
    }

    [Test]
    public void TooLargeFile_RejectedBeforeReading()
    {
        var dir = TempDir();
        var path = Path.Combine(dir, "big.onnx");
        File.WriteAllBytes(path, new byte[4096]);
        ((Action)(() => OnnxImporter.Load(path, new OnnxImportOptions { MaxModelBytes = 1000 }))).Should().Throw<OnnxImportException>().WithMessage("*limit*");
    }

    [Test]
    public void TruncatedResNet18_Rejected()
    {
        var bytes = File.ReadAllBytes(ResNet18Path());
        foreach (var len in new[] { 1, 17, 1000, 100_000, bytes.Length / 2, bytes.Length - 1 })
        {
            var sw = Stopwatch.StartNew();
            ((Action)(() => OnnxImporter.FromBytes(bytes[..len]))).Should().Throw<OnnxImportException>($"length {len}");
            sw.Elapsed.TotalSeconds.Should().BeLessThan(10);
        }
    }

    private static ModelProto WithInitializer(TensorProto init)
    {
        var m = Model(13, new NodeProto { OpType = "Add", Name = "y", Input = { "x", init.Name }, Output = { "y" } });
        m.Graph.Initializer.Add(init);
        return m;
    }

    [TestCase(-1L)]
    [TestCase(1L << 40)]
    public void AbsurdDims_Rejected(long dim)
    {
        var t = new TensorProto { Name = "w", DataType = 1, Dims = { dim, dim, 3 } };
        ((Action)(() => OnnxImporter.FromBytes(WithInitializer(t).ToByteArray()))).Should().Throw<OnnxImportException>().WithMessage("*dim*");
    }

    [Test]
    public void RawDataOfWrongSize_Rejected()
    {
        var t = new TensorProto { Name = "w", DataType = 1, Dims = { 3 }, RawData = ByteString.CopyFrom(new byte[8]) };
        ((Action)(() => OnnxImporter.FromBytes(WithInitializer(t).ToByteArray()))).Should().Throw<OnnxImportException>().WithMessage("*raw_data*");
    }

    private static TensorProto External(string location, long offset)
    {
        var t = new TensorProto { Name = "w", DataType = 1, Dims = { 3 }, DataLocation = TensorProto.Types.DataLocation.External };
        t.ExternalData.Add(new StringStringEntryProto { Key = "location", Value = location });
        t.ExternalData.Add(new StringStringEntryProto { Key = "offset", Value = offset.ToString() });
        return t;
    }

    private static ImportedModel LoadWith(string dir, TensorProto init)
    {
        var path = Path.Combine(dir, "m.onnx");
        File.WriteAllBytes(path, WithInitializer(init).ToByteArray());
        return OnnxImporter.Load(path);
    }

    [Test]
    public void ExternalData_InsideFolder_Loads()
    {
        using var s = TensorScope.Begin();
        var dir = TempDir();
        File.WriteAllBytes(Path.Combine(dir, "w.bin"), new byte[4].Concat(new[] { 1f, 2f, 3f }.SelectMany(BitConverter.GetBytes)).ToArray());
        using var m = LoadWith(dir, External("w.bin", 4));
        var x = Tensor.FromArray(new float[6], new Shape(2, 3));
        m.Run(Torch, x)[0].ToDoubleArray().Should().Equal(1, 2, 3, 1, 2, 3);
    }

    [Test]
    public void ExternalData_Escaping_Rejected()
    {
        var root = TempDir();
        var dir = Path.Combine(root, "model");
        Directory.CreateDirectory(dir);
        File.WriteAllBytes(Path.Combine(root, "secret.bin"), new byte[64]);
        ((Action)(() => LoadWith(dir, External("../secret.bin", 0)))).Should().Throw<OnnxImportException>().WithMessage("*escapes*");
        ((Action)(() => LoadWith(dir, External(Path.Combine(root, "secret.bin"), 0)))).Should().Throw<OnnxImportException>().WithMessage("*relative*");
        File.CreateSymbolicLink(Path.Combine(dir, "link.bin"), Path.Combine(root, "secret.bin"));
        ((Action)(() => LoadWith(dir, External("link.bin", 0)))).Should().Throw<OnnxImportException>().WithMessage("*outside*");
    }

    [Test]
    public void ExternalData_ThroughLinkedFolder_Rejected()
    {
        var root = TempDir();
        var dir = Path.Combine(root, "model");
        var outside = Path.Combine(root, "outside");
        Directory.CreateDirectory(dir);
        Directory.CreateDirectory(outside);
        File.WriteAllBytes(Path.Combine(outside, "w.bin"), new byte[12]);
        Directory.CreateSymbolicLink(Path.Combine(dir, "sub"), outside);
        ((Action)(() => LoadWith(dir, External("sub/w.bin", 0)))).Should().Throw<OnnxImportException>().WithMessage("*outside*");
    }

    [Test]
    public void InitializersListedAsInputs_AreNotModelInputs()
    {
        using var s = TensorScope.Begin();
        var m = WithInitializer(new TensorProto { Name = "w", DataType = 1, Dims = { 3 }, FloatData = { 1f, 2f, 3f } });
        m.Graph.Input.Add(Info("w", 3)); // IR < 4 style
        m.IrVersion = 3;
        using var model = OnnxImporter.FromBytes(m.ToByteArray());
        model.InputNames.Should().Equal("x");
        model.Run(Torch, Tensor.FromArray(new float[6], new Shape(2, 3)))[0].ToDoubleArray().Should().Equal(1, 2, 3, 1, 2, 3);
    }

    [Test]
    public void ExternalData_OffsetPastEnd_Rejected()
    {
        var dir = TempDir();
        File.WriteAllBytes(Path.Combine(dir, "w.bin"), new byte[12]);
        ((Action)(() => LoadWith(dir, External("w.bin", 4)))).Should().Throw<OnnxImportException>().WithMessage("*past the end*");
        ((Action)(() => LoadWith(dir, External("w.bin", long.MaxValue)))).Should().Throw<OnnxImportException>().WithMessage("*past the end*");
    }

    // ---- fine-tuning ----

    [Test]
    public void Initializers_are_state_and_Sgd_reduces_the_loss()
    {
        using var s = TensorScope.Begin();
        var m = Mlp();
        var x = Rand(11, 8, 6);
        var bytes = ModuleExporter.ToModel(m, [x], new ModuleExportOptions { DynamicBatch = false }).ToByteArray();
        using var model = OnnxImporter.FromBytes(bytes, new OnnxImportOptions { Backend = Torch });
        model.Parameters().Should().HaveCount(4);
        var target = Tensor.FromArray(NNRef.RandF(12, 8 * 4, -0.5, 0.5), new Shape(8, 4));
        var opt = new Sgd(model.Parameters(), 0.1);
        double first = 0, last = 0;
        for (int step = 0; step < 10; step++)
        {
            using var it = TensorScope.Begin();
            opt.ZeroGrad();
            var loss = LossFunctions.Mse(model.Forward(x), target);
            last = loss.ToDoubleArray()[0];
            if (step == 0) first = last;
            loss.Backward();
            opt.Step();
        }
        last.Should().BeLessThan(first * 0.9);
        // The compiled graph sees the updated parameters too.
        using (Autograd.NoGrad())
            MaxDiff(model.Run(Torch, x)[0].ToDoubleArray(), model.Forward(x).ToDoubleArray()).Should().BeLessThan(1e-6);
    }

    // ---- per-op mappings against ONNX Runtime on hand-built one-node models ----

    public sealed record In(string Name, long[] Shape, bool Init, double Lo = -2, double Hi = 2, long[]? Ints = null)
    {
        public override string ToString() => Name;
    }

    private static In X(string name, params long[] shape) => new(name, shape, false);
    private static In Pos(string name, params long[] shape) => new(name, shape, false, 0.1, 2);
    private static In W(string name, params long[] shape) => new(name, shape, true);
    private static In I64(string name, params long[] values) => new(name, [values.Length], true, Ints: values);

    private static AttributeProto AI(string name, long v) => new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = v };
    private static AttributeProto AF(string name, float v) => new() { Name = name, Type = AttributeProto.Types.AttributeType.Float, F = v };
    private static AttributeProto AInts(string name, params long[] v) => new() { Name = name, Type = AttributeProto.Types.AttributeType.Ints, Ints = { v } };
    private static AttributeProto AS(string name, string v) => new() { Name = name, Type = AttributeProto.Types.AttributeType.String, S = ByteString.CopyFromUtf8(v) };

    public sealed record OpCase(string Name, int Opset, string Op, In[] Inputs, AttributeProto[] Attrs)
    {
        public override string ToString() => Name;
    }

    private static OpCase C(string name, int opset, string op, In[] ins, params AttributeProto[] attrs) => new(name, opset, op, ins, attrs);

    private static readonly OpCase[] OpCases =
    [
        C("relu", 13, "Relu", [X("a", 2, 3)]),
        C("sigmoid", 13, "Sigmoid", [X("a", 2, 3)]),
        C("tanh", 13, "Tanh", [X("a", 2, 3)]),
        C("exp", 13, "Exp", [X("a", 2, 3)]),
        C("log", 13, "Log", [Pos("a", 2, 3)]),
        C("sqrt", 13, "Sqrt", [Pos("a", 2, 3)]),
        C("neg", 13, "Neg", [X("a", 2, 3)]),
        C("abs", 13, "Abs", [X("a", 2, 3)]),
        C("leaky_relu", 13, "LeakyRelu", [X("a", 2, 3)], AF("alpha", 0.2f)),
        C("add_broadcast", 13, "Add", [X("a", 2, 3, 4), W("b", 4)]),
        C("sub_broadcast", 13, "Sub", [X("a", 2, 1, 4), X("b", 3, 1)]),
        C("mul", 13, "Mul", [X("a", 2, 3), X("b", 2, 3)]),
        C("div", 13, "Div", [X("a", 2, 3), Pos("b", 3)]),
        C("pow", 13, "Pow", [Pos("a", 2, 3), W("b", 3)]),
        C("identity", 13, "Identity", [X("a", 2, 3)]),
        C("dropout_inference", 12, "Dropout", [X("a", 2, 3)]),
        C("clip_attrs_opset9", 9, "Clip", [X("a", 2, 3)], AF("min", -0.5f), AF("max", 0.7f)),
        C("clip_inputs_opset13", 13, "Clip", [X("a", 2, 3), new In("lo", [], true, -0.5, -0.5), new In("hi", [], true, 0.7, 0.7)]),
        C("clip_min_only", 13, "Clip", [X("a", 2, 3), new In("lo", [], true, -0.5, -0.5)]),
        C("matmul_batched", 13, "MatMul", [X("a", 2, 3, 4), W("b", 4, 5)]),
        C("gemm_transB_bias", 13, "Gemm", [X("a", 3, 5), W("b", 4, 5), W("c", 4)], AI("transB", 1)),
        C("gemm_alpha_beta_matrix_bias", 13, "Gemm", [X("a", 3, 5), W("b", 5, 4), W("c", 3, 4)], AF("alpha", 0.5f), AF("beta", 2f)),
        C("gemm_transA_no_bias", 11, "Gemm", [X("a", 5, 3), W("b", 5, 4)], AI("transA", 1)),
        C("flatten_axis2", 13, "Flatten", [X("a", 2, 3, 4, 5)], AI("axis", 2)),
        C("flatten_axis0", 9, "Flatten", [X("a", 2, 3, 4)], AI("axis", 0)),
        C("reshape_zero_minus1", 13, "Reshape", [X("a", 2, 3, 4), I64("s", 0, -1)]),
        C("reshape_minus1_first", 7, "Reshape", [X("a", 2, 3, 4), I64("s", -1, 2, 2)]),
        C("softmax_opset11_coerced", 11, "Softmax", [X("a", 2, 3, 4)], AI("axis", 1)),
        C("softmax_opset11_default", 11, "Softmax", [X("a", 2, 3, 4)]),
        C("softmax_opset13_axis1", 13, "Softmax", [X("a", 2, 3, 4)], AI("axis", 1)),
        C("concat", 13, "Concat", [X("a", 2, 3), X("b", 2, 2), W("c", 2, 1)], AI("axis", -1)),
        C("transpose_perm", 13, "Transpose", [X("a", 2, 3, 4)], AInts("perm", 2, 0, 1)),
        C("transpose_default", 13, "Transpose", [X("a", 2, 3, 4)]),
        C("reduce_mean_axes_attr", 13, "ReduceMean", [X("a", 2, 3, 4)], AInts("axes", -1, 1), AI("keepdims", 0)),
        C("reduce_mean_all", 11, "ReduceMean", [X("a", 2, 3, 4)]),
        C("reduce_sum_axes_input", 13, "ReduceSum", [X("a", 2, 3, 4), I64("axes", 1)]),
        C("reduce_sum_opset11", 11, "ReduceSum", [X("a", 2, 3, 4)], AInts("axes", 0, 2), AI("keepdims", 0)),
        C("unsqueeze_attr", 11, "Unsqueeze", [X("a", 2, 3)], AInts("axes", 0, -1)),
        C("unsqueeze_input", 13, "Unsqueeze", [X("a", 2, 3), I64("axes", 1, 3)]),
        C("squeeze_attr", 11, "Squeeze", [X("a", 2, 1, 3, 1)], AInts("axes", 1)),
        C("squeeze_all", 13, "Squeeze", [X("a", 2, 1, 3, 1)]),
        C("squeeze_input", 13, "Squeeze", [X("a", 2, 1, 3, 1), I64("axes", -1)]),
        C("conv_bias_pads", 13, "Conv", [X("a", 1, 2, 7, 6), W("w", 3, 2, 3, 3), W("b", 3)], AInts("pads", 1, 1, 1, 1)),
        C("conv_group_dilation_stride", 13, "Conv", [X("a", 1, 4, 9, 9), W("w", 4, 2, 3, 3)], AI("group", 2), AInts("dilations", 2, 1), AInts("strides", 2, 1)),
        C("conv_asym_pads_begin_larger", 8, "Conv", [X("a", 1, 2, 10, 9), W("w", 3, 2, 5, 5)], AInts("strides", 2, 2), AInts("pads", 2, 2, 1, 1)),
        C("conv_asym_pads_end_larger", 13, "Conv", [X("a", 1, 2, 6, 5), W("w", 3, 2, 2, 2)], AInts("pads", 0, 0, 1, 1)),
        C("conv_valid", 13, "Conv", [X("a", 1, 2, 6, 5), W("w", 3, 2, 3, 3)], AS("auto_pad", "VALID")),
        C("conv1d", 13, "Conv", [X("a", 2, 2, 8), W("w", 3, 2, 3), W("b", 3)], AInts("pads", 1, 1)),
        C("maxpool", 13, "MaxPool", [X("a", 1, 2, 7, 7)], AInts("kernel_shape", 3, 3), AInts("strides", 2, 2), AInts("pads", 1, 1, 1, 1)),
        C("maxpool_asym", 8, "MaxPool", [X("a", 1, 2, 8, 8)], AInts("kernel_shape", 3, 3), AInts("strides", 2, 2), AInts("pads", 1, 1, 0, 0)),
        C("maxpool_ceil", 13, "MaxPool", [X("a", 1, 2, 8, 8)], AInts("kernel_shape", 3, 3), AInts("strides", 2, 2), AI("ceil_mode", 1)),
        C("avgpool_exclude_pad", 13, "AveragePool", [X("a", 1, 2, 7, 7)], AInts("kernel_shape", 3, 3), AInts("strides", 2, 2), AInts("pads", 1, 1, 1, 1)),
        C("avgpool_include_pad", 13, "AveragePool", [X("a", 1, 2, 7, 7)], AInts("kernel_shape", 3, 3), AInts("pads", 1, 1, 1, 1), AI("count_include_pad", 1)),
        C("avgpool_asym_exclude", 8, "AveragePool", [X("a", 1, 2, 8, 8)], AInts("kernel_shape", 2, 2), AInts("strides", 2, 2), AInts("pads", 1, 1, 0, 0)),
        C("global_avgpool", 13, "GlobalAveragePool", [X("a", 2, 3, 4, 5)]),
        C("batchnorm_opset9", 9, "BatchNormalization", [X("a", 2, 3, 4, 4), W("g", 3), W("b", 3), W("m", 3), new In("v", [3], true, 0.5, 2)], AF("epsilon", 1e-3f)),
        C("batchnorm_opset15", 15, "BatchNormalization", [X("a", 2, 3, 5), W("g", 3), W("b", 3), W("m", 3), new In("v", [3], true, 0.5, 2)]),
    ];

    private static (byte[] Model, List<OrtHarness.HostTensor> Feeds) Build(OpCase c, int seed)
    {
        var g = new GraphProto { Name = c.Name };
        var node = new NodeProto { OpType = c.Op, Name = "n0", Output = { "y" } };
        node.Attribute.AddRange(c.Attrs);
        var feeds = new List<OrtHarness.HostTensor>();
        foreach (var i in c.Inputs)
        {
            node.Input.Add(i.Name);
            if (i.Ints != null)
            {
                g.Initializer.Add(new TensorProto { Name = i.Name, DataType = 7, Dims = { i.Shape }, Int64Data = { i.Ints } });
                continue;
            }
            var n = (int)new Shape(i.Shape).NumElements;
            var data = NNRef.RandF(seed++, n, i.Lo, i.Hi);
            if (i.Init) g.Initializer.Add(new TensorProto { Name = i.Name, DataType = 1, Dims = { i.Shape }, FloatData = { data } });
            else
            {
                g.Input.Add(Info(i.Name, i.Shape));
                feeds.Add(new OrtHarness.HostTensor(new TensorSpec(new Shape(i.Shape), DType.Float32), data.SelectMany(BitConverter.GetBytes).ToArray()));
            }
        }
        g.Node.Add(node);
        g.Output.Add(new ValueInfoProto { Name = "y", Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = 1 } } });
        var m = new ModelProto { IrVersion = c.Opset < 9 ? 3 : 7, Graph = g };
        m.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = c.Opset });
        return (m.ToByteArray(), feeds);
    }

    private static IEnumerable<OpCase> Cases() => OpCases;

    [TestCaseSource(nameof(Cases))]
    public void Op_MatchesOnnxRuntime(OpCase c)
    {
        using var s = TensorScope.Begin();
        var (bytes, feeds) = Build(c, 1000);
        var want = OrtHarness.Run(bytes, feeds)[0];
        using var model = OnnxImporter.FromBytes(bytes);
        var inputs = feeds.Select(f => Tensor.FromBytes(f.Data, f.Spec)).ToArray();
        foreach (var backend in new[] { Torch, GraphBackend })
        {
            var got = model.Run(backend, inputs)[0];
            got.Spec.Should().Be(want.Spec, $"{c.Name} on {backend.Name}");
            var w = want.ToDoubles();
            var gd = got.ToDoubleArray();
            for (int k = 0; k < w.Length; k++)
                Math.Abs(gd[k] - w[k]).Should().BeLessThanOrEqualTo(1e-5 + 1e-5 * Math.Abs(w[k]), $"{c.Name} on {backend.Name}, element {k}");
        }
    }

    [Test]
    public void ConstantNode_FeedsLaterNodes()
    {
        using var s = TensorScope.Begin();
        var t = new TensorProto { Name = "k", DataType = 1, Dims = { 3 }, FloatData = { 1f, -2f, 3f } };
        var m = Model(13,
            new NodeProto { OpType = "Constant", Name = "k", Output = { "k" }, Attribute = { new AttributeProto { Name = "value", Type = AttributeProto.Types.AttributeType.Tensor, T = t } } },
            new NodeProto { OpType = "Constant", Name = "s", Output = { "s" }, Attribute = { new AttributeProto { Name = "value_ints", Type = AttributeProto.Types.AttributeType.Ints, Ints = { 3, 2 } } } },
            new NodeProto { OpType = "Mul", Name = "y0", Input = { "x", "k" }, Output = { "y0" } },
            new NodeProto { OpType = "Reshape", Name = "y", Input = { "y0", "s" }, Output = { "y" } });
        m.Graph.Output[0] = Info("y", 3, 2);
        using var model = OnnxImporter.FromBytes(m.ToByteArray());
        var x = Tensor.FromArray(new float[] { 1, 1, 1, 2, 2, 2 }, new Shape(2, 3));
        var y = model.Run(Torch, x)[0];
        y.Shape.Should().Be(new Shape(3, 2));
        y.ToDoubleArray().Should().Equal(1, -2, 3, 2, -4, 6);
    }

    [Test]
    public void UnsupportedAttributes_ClearErrors()
    {
        var bogus = C("bogus", 13, "Conv", [X("a", 1, 2, 6, 5), W("w", 3, 2, 3, 3)], AS("auto_pad", "SAME_MIDDLE"));
        ((Action)(() => OnnxImporter.FromBytes(Build(bogus, 1).Model))).Should().Throw<OnnxImportException>().WithMessage("*auto_pad 'SAME_MIDDLE' is not supported*");
        // A float shape input is a shape input like any other: its dtype is rejected when the graph is built for its value.
        using var s = TensorScope.Begin();
        var shape = C("shape", 13, "Reshape", [X("a", 2, 3), X("s", 2)]);
        using var model = OnnxImporter.FromBytes(Build(shape, 1).Model);
        model.ShapeInputNames.Should().Equal("s");
        var run = () => model.Run(Torch, Tensor.FromArray(new float[6], new Shape(2, 3)), Tensor.FromArray(new float[] { 3, 2 }));
        run.Should().Throw<OnnxImportException>().WithMessage("*input 's' must be int64*");
    }
}
