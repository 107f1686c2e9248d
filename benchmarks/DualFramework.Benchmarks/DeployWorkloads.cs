using DualFramework.Autodiff;
using DualFramework.Backends;
using DualFramework.NN;
using DualFramework.Onnx;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace DualFramework.Benchmarks;

/// <summary>
/// The "deploy" suite: batch-1 inference of the Fashion-MNIST CNN exported with <see cref="ModuleExporter"/> and run by a
/// plain ONNX Runtime session (as a deployment would), against eager inference of the same model on the torch backend.
/// </summary>
public sealed class DeployWorkloads : IDisposable
{
    private readonly Module _cnn;
    private readonly Tensor _x;
    private readonly InferenceSession _session;
    private readonly OrtValue _input, _output;
    private readonly string[] _inNames, _outNames;
    private readonly RunOptions _run = new();
    private readonly string _dir;

    public DeployWorkloads()
    {
        BackendRegistry.SetDefault("torch");
        var rng = new SeededRandom(0);
        _cnn = new Sequential(new Conv2d(1, 32, 3, padding: 1, rng: rng), new ReLU(), new MaxPool2d(2),
            new Conv2d(32, 64, 3, padding: 1, rng: rng), new ReLU(), new MaxPool2d(2), new Flatten(),
            new Linear(64 * 7 * 7, 128, rng: rng), new ReLU(), new Linear(128, 10, rng: rng));
        _cnn.Eval();
        var r = new Random(0);
        var pixels = Enumerable.Range(0, 784).Select(_ => (float)r.NextDouble()).ToArray();
        _x = Tensor.FromArray(pixels, new Shape(1, 1, 28, 28)).DetachFromScope();
        _dir = Directory.CreateTempSubdirectory("df-deploy-").FullName;
        var path = Path.Combine(_dir, "cnn.onnx");
        ModuleExporter.Export(_cnn, _x, path);
        _session = new InferenceSession(path);
        _inNames = _session.InputNames.ToArray();
        _outNames = _session.OutputNames.ToArray();
        _input = OrtValue.CreateTensorValueFromMemory(pixels, [1, 1, 28, 28]);
        _output = OrtValue.CreateAllocatedTensorValue(OrtAllocator.DefaultInstance, TensorElementType.Float, [1, 10]);
    }

    /// <summary>Eager inference on the torch backend.</summary>
    public float Eager()
    {
        using var s = TensorScope.Begin();
        using var ng = Autograd.NoGrad();
        return _cnn.Call(_x).NumElements;
    }

    /// <summary>The exported model in ONNX Runtime (preallocated input and output).</summary>
    public float Ort()
    {
        _session.Run(_run, _inNames, [_input], _outNames, [_output]);
        return _output.GetTensorDataAsSpan<float>()[0];
    }

    /// <summary>Largest absolute difference between the two outputs (a sanity check printed with the result).</summary>
    public double MaxAbsDifference()
    {
        Ort();
        using var s = TensorScope.Begin();
        using var ng = Autograd.NoGrad();
        var eager = _cnn.Call(_x).ToFloatArray();
        var ort = _output.GetTensorDataAsSpan<float>().ToArray();
        return eager.Zip(ort, (a, b) => (double)Math.Abs(a - b)).Max();
    }

    public void Dispose()
    {
        _session.Dispose();
        _input.Dispose();
        _output.Dispose();
        _run.Dispose();
        _x.Dispose();
        _cnn.Dispose();
        Directory.Delete(_dir, recursive: true);
    }
}
