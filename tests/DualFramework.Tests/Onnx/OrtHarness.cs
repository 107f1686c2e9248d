using System.Runtime.InteropServices;
using DualFramework.IR;
using DualFramework.Onnx;
using DualFramework.Operators;
using FluentAssertions;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace DualFramework.Tests.Onnx;

/// <summary>Builds one-node graphs, exports them, runs them in ONNX Runtime and compares against the eager torch backend.</summary>
internal static class OrtHarness
{
    /// <summary>A host copy of a tensor: spec plus little-endian element bytes.</summary>
    public sealed record HostTensor(TensorSpec Spec, byte[] Data)
    {
        public double[] ToDoubles()
        {
            using var s = TensorScope.Begin();
            return Tensor.FromBytes(Data, Spec).ToDoubleArray();
        }
    }

    public static byte[] Bytes(Tensor t) => t.ToBytes();

    private static SessionOptions Options()
    {
        // Warnings only: ORT logs every constant-folded node at the default level.
        return new SessionOptions { LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR };
    }

    /// <summary>Runs <paramref name="model"/> with the given inputs (in graph-input order) in a fresh session.</summary>
    public static HostTensor[] Run(byte[] model, IReadOnlyList<HostTensor> inputs)
    {
        using var options = Options();
        using var session = new InferenceSession(model, options);
        return Run(session, inputs);
    }

    public static HostTensor[] Run(InferenceSession session, IReadOnlyList<HostTensor> inputs)
    {
        var names = session.InputNames;
        names.Count.Should().Be(inputs.Count);
        var values = new List<OrtValue>();
        try
        {
            foreach (var t in inputs)
            {
                var v = OrtValue.CreateAllocatedTensorValue(OrtAllocator.DefaultInstance, (TensorElementType)(int)OnnxTypes.ToOnnx(t.Spec.DType), t.Spec.Shape.ToArray());
                t.Data.CopyTo(v.GetTensorMutableRawData());
                values.Add(v);
            }
            using var runOptions = new RunOptions();
            using var outs = session.Run(runOptions, names, values, session.OutputNames);
            return outs.Select(o =>
            {
                var info = o.GetTensorTypeAndShape();
                var dt = OnnxTypes.FromOnnx((DualFramework.Onnx.Proto.TensorProto.Types.DataType)(int)info.ElementDataType);
                return new HostTensor(new TensorSpec(new Shape(info.Shape), dt), o.GetTensorMutableRawData().ToArray());
            }).ToArray();
        }
        finally
        {
            foreach (var v in values) v.Dispose();
        }
    }

    /// <summary>A graph applying <paramref name="op"/> to inputs (or constants, for indices in <paramref name="constants"/>).</summary>
    public static Graph OneNode(Op op, OpAttrs attrs, Tensor[] inputs, ISet<int>? constants = null)
    {
        var g = new Graph();
        var vals = new Value[inputs.Length];
        for (int i = 0; i < inputs.Length; i++)
            vals[i] = constants?.Contains(i) == true ? g.AddConstant(inputs[i].Spec, Bytes(inputs[i]), $"c{i}") : g.AddInput(inputs[i].Spec, $"x{i}");
        foreach (var o in g.AddNode(op, attrs, vals, "test.layer")) g.AddOutput(o);
        return g;
    }

    /// <summary>Graph inputs only (constants are baked into the model).</summary>
    public static HostTensor[] Feeds(Tensor[] inputs, ISet<int>? constants = null) =>
        inputs.Select((t, i) => (t, i)).Where(p => constants?.Contains(p.i) != true).Select(p => new HostTensor(p.t.Spec, Bytes(p.t))).ToArray();

    /// <summary>Eager results of <paramref name="op"/> on the torch backend.</summary>
    public static Tensor[] Eager(Op op, OpAttrs attrs, Tensor[] inputs) =>
        inputs.Length == 0 ? [Dispatcher.Create(op, attrs, null)] : Dispatcher.ApplyMulti(op, attrs, inputs);

    /// <summary>Asserts <paramref name="got"/> has the spec of <paramref name="want"/> and values within rtol/atol (NaN matches NaN).</summary>
    public static void AssertClose(HostTensor got, Tensor want, double rtol, double atol, string what)
    {
        got.Spec.Should().Be(want.Spec, $"{what}: ORT output spec");
        var g = got.ToDoubles();
        var w = want.ToDoubleArray();
        for (int i = 0; i < w.Length; i++)
        {
            if (double.IsNaN(w[i]) && double.IsNaN(g[i])) continue;
            if (w[i] == g[i]) continue;
            Math.Abs(g[i] - w[i]).Should().BeLessThanOrEqualTo(atol + rtol * Math.Abs(w[i]), $"{what}: element {i} (ORT {g[i]}, torch {w[i]})");
        }
    }
}
