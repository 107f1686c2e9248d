using DualFramework.Checkpoints;
using DualFramework.Fuzz.Mutators;
using DualFramework.NN;

namespace DualFramework.Fuzz.Targets;

/// <summary>
/// <see cref="Checkpoint.Load"/> and <see cref="Checkpoint.LoadInto"/> (strict and not; both read through
/// <see cref="SafeTensors"/>) on mutations of files the project writes itself: a training checkpoint of a small CNN with
/// optimizer state and progress, the same without optimizer state, and a weight file with every supported dtype, a
/// scalar and an empty tensor. Documented: <see cref="CheckpointException"/>, and <see cref="StateDictException"/> when
/// the file's tensors do not fit the model of <see cref="Checkpoint.LoadInto"/>.
/// </summary>
public sealed class SafeTensorsTarget : FuzzTarget
{
    private readonly List<byte[]> _seeds = [];
    private readonly Module _model;
    private readonly string _dir;
    private readonly string _file;

    /// <summary>Writes the seed files with the project's own writers (seeded weights, so every run has the same seeds).</summary>
    public SafeTensorsTarget()
    {
        _dir = Directory.CreateTempSubdirectory("df-fuzz-st-").FullName;
        _file = Path.Combine(_dir, "input.safetensors");
        _model = NewModel();
        using var scope = TensorScope.Begin();
        var seedPath = Path.Combine(_dir, "seed.safetensors");
        var optimizer = new Dictionary<string, Tensor>
        {
            ["step"] = Tensor.Scalar(120L),
            ["lr"] = Tensor.Scalar(0.002),
            ["3.weight.step"] = Tensor.Scalar(120L),
            ["3.weight.exp_avg"] = Init.Normal(new Shape(3, 8), 0, 0.01, new SeededRandom(1)),
            ["3.weight.exp_avg_sq"] = Init.Uniform(new Shape(3, 8), 0, 1e-4, new SeededRandom(2)),
        };
        var progress = new TrainingProgress
        {
            Epoch = 3,
            Step = 120,
            RngState = "seed=0;draws=7",
            DataPosition = "shard=0;index=64",
            Metadata = new Dictionary<string, string> { ["note"] = "fuzz seed" },
        };
        Checkpoint.Save(seedPath, _model, optimizer, progress);
        _seeds.Add(File.ReadAllBytes(seedPath));
        Checkpoint.Save(seedPath, _model);
        _seeds.Add(File.ReadAllBytes(seedPath));
        var rng = new SeededRandom(3);
        var mixed = new Dictionary<string, Tensor>();
        foreach (var dtype in new[] { DType.Float32, DType.Float64, DType.Float16, DType.BFloat16, DType.Int64, DType.Int32, DType.Int8, DType.UInt8, DType.Bool })
            mixed[dtype.ToString()] = Init.Uniform(new Shape(2, 3), 0, 2, rng).To(dtype);
        mixed["scalar"] = Tensor.Scalar(1.5f);
        mixed["empty"] = Tensor.FromArray(Array.Empty<float>(), new Shape(0, 4));
        SafeTensors.Save(seedPath, mixed, new Dictionary<string, string> { ["producer"] = "fuzz" });
        _seeds.Add(File.ReadAllBytes(seedPath));
    }

    /// <summary>The model the checkpoints are written from and loaded into: conv, batch norm (with an int64 buffer), linear.</summary>
    public static Module NewModel() =>
        new Sequential(new Conv2d(1, 2, 3, rng: new SeededRandom(7)), new BatchNorm2d(2), new Flatten(), new Linear(8, 3, rng: new SeededRandom(8)));

    /// <inheritdoc/>
    public override string Name => "safetensors";

    /// <inheritdoc/>
    public override string Extension => ".safetensors";

    /// <inheritdoc/>
    public override IEnumerable<byte[]> Seeds() => _seeds;

    /// <inheritdoc/>
    public override byte[] Generate(Random rng, int index)
    {
        var seed = _seeds[rng.Next(_seeds.Count)];
        return rng.Next(10) switch
        {
            < 7 => SafeTensorsMutator.Mutate(rng, seed),
            < 9 => ByteMutator.Mutate(rng, seed, other: _seeds[rng.Next(_seeds.Count)]),
            _ => ByteMutator.Mutate(rng, SafeTensorsMutator.Mutate(rng, seed), maxSteps: 2),
        };
    }

    /// <inheritdoc/>
    public override long Load(byte[] input)
    {
        File.WriteAllBytes(_file, input);
        using var scope = TensorScope.Begin();
        // The entry point is a function of the input, so a saved input replays the same way.
        switch (input.Length % 3)
        {
            case 0:
                using (var contents = Checkpoint.Load(_file))
                    return contents.Model.Values.Concat(contents.Optimizer.Values).Sum(t => t.NumElements * t.DType.ElementSize());
            default:
                using (var state = Checkpoint.LoadInto(_file, _model, strict: input.Length % 3 == 1))
                    return state.Optimizer.Values.Sum(t => t.NumElements * t.DType.ElementSize());
        }
    }

    /// <inheritdoc/>
    public override bool IsDocumented(Exception e) => e is CheckpointException or StateDictException;

    /// <inheritdoc/>
    public override void Dispose()
    {
        Directory.Delete(_dir, recursive: true);
        base.Dispose();
    }
}
