using System.Globalization;
using DualFramework.Backends;
using DualFramework.Losses;
using DualFramework.NN;
using DualFramework.Optim;
using DualFramework.Training;

namespace DualFramework.DistributedWorker;

/// <summary>
/// The "repeat" scenario (no MPI): a seeded CNN with BatchNorm and dropout trained for a few Adam steps on seeded
/// data through the Trainer (eager on torch, compiled on graph), printing each step's loss as the bits of its double,
/// so that tests can compare two runs of the same program bit for bit.
/// </summary>
public static class RepeatRun
{
    public static int Run(string[] args)
    {
        string backend = "torch";
        int steps = 8;
        for (int i = 1; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--backend": backend = args[++i]; break;
                case "--steps": steps = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                default: throw new ArgumentException($"unknown argument '{args[i]}'");
            }
        }
        var b = BackendRegistry.Get(backend);
        using var use = BackendRegistry.Use(b);
        var rng = new SeededRandom(3);
        using var model = new Sequential(new Conv2d(1, 8, 3, padding: 1, rng: rng), new BatchNorm2d(8), new ReLU(), new MaxPool2d(2),
            new Conv2d(8, 16, 3, padding: 1, rng: rng), new ReLU(), new Flatten(), new Dropout(0.2, rng: rng),
            new Linear(16 * 7 * 7, 10, rng: rng));
        using var opt = new Adam(model.Parameters(), 1e-2);
        var trainer = new Trainer(model);
        trainer.Compile(opt, new CrossEntropyLoss());
        var data = new SeededRandom(11);
        const int batch = 32;
        Console.WriteLine($"deterministic {Determinism.IsEnabled}");
        for (int s = 0; s < steps; s++)
        {
            using var scope = TensorScope.Begin();
            var x = new float[batch * 14 * 14];
            for (int i = 0; i < x.Length; i++) x[i] = (float)data.Normal();
            var y = Enumerable.Range(0, batch).Select(i => (long)((i + s) % 10)).ToArray();
            double loss = trainer.TrainStep(Tensor.FromArray(x, new Shape(batch, 1, 14, 14)), Tensor.FromArray(y, new Shape(batch)));
            Console.WriteLine($"step {s} loss {BitConverter.DoubleToInt64Bits(loss):X16} {loss.ToString("R", CultureInfo.InvariantCulture)}");
        }
        return 0;
    }
}
