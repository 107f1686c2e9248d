using System.Diagnostics;
using System.Globalization;
using DualFramework.Backends;
using DualFramework.Distributed;
using DualFramework.Distributed.Mpi;
using DualFramework.Losses;
using DualFramework.NN;
using DualFramework.Optim;
using DualFramework.Training;

namespace DualFramework.Benchmarks;

/// <summary>
/// <c>--ratio allreduce</c>, run under <c>mpirun -np 2</c>: DualFramework's AllReduce of a 25 MB float32 buffer against a
/// plain MPI_Allreduce of the same buffer, then the CNN train step of 2 ranks × batch 32 against 1 process × batch 64.
/// Every rank runs the same fixed sequence of collectives (no time-based loop counts, which would desynchronise ranks).
/// </summary>
public static class AllReduceWorkloads
{
    private static string F(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);

    public static int Run(int pairs)
    {
        using var comm = MpiCommunicator.Initialize();
        bool root = comm.Rank == 0;
        var buffer = new float[25 * 1024 * 1024 / 4];
        for (int i = 0; i < buffer.Length; i++) buffer[i] = (i % 97) * 1e-3f;
        const int inner = 5;
        double Time(Action a)
        {
            comm.Barrier();
            var sw = Stopwatch.StartNew();
            for (int i = 0; i < inner; i++) a();
            return sw.Elapsed.TotalSeconds / inner;
        }
        void Ours() => comm.AllReduce(buffer.AsSpan(), ReduceOp.Sum);
        void OursMean() => comm.AllReduce(buffer.AsSpan(), ReduceOp.Mean);
        void Raw() => comm.RawAllReduceSum(buffer);
        for (int i = 0; i < 4; i++) { Raw(); Ours(); }
        var ratios = new double[pairs];
        var raws = new double[pairs];
        var means = new double[pairs];
        for (int p = 0; p < pairs; p++)
        {
            double r, o;
            if (p % 2 == 0) { r = Time(Raw); o = Time(Ours); }
            else { o = Time(Ours); r = Time(Raw); }
            ratios[p] = o / r;
            raws[p] = r;
            means[p] = Time(OursMean) / r;
        }

        var (single, parallel) = CnnSteps(comm);
        if (root)
        {
            Console.WriteLine(F($"allreduce 25 MB float32 over {comm.Size} ranks: raw MPI_Allreduce {Median(raws) * 1e3:F2} ms; ours (sum) median ratio {Median(ratios):F4}; ours (mean) {Median(means):F4}"));
            Console.WriteLine(F($"cnn train step: 1 process x batch 64 {single * 1e3:F1} ms; {comm.Size} ranks x batch {64 / comm.Size} {parallel * 1e3:F1} ms (ratio {parallel / single:F3})"));
            Console.WriteLine(F($"{{\"suite\":\"allreduce\",\"ours_vs_raw\":{Median(ratios):F4}}}"));
        }
        return 0;
    }

    // Median step time of the Fashion-MNIST CNN: first rank 0 alone with batch 64 (the other ranks wait in a barrier),
    // then every rank with batch 64 / size through DataParallel.
    private static (double Single, double Parallel) CnnSteps(ICommunicator comm)
    {
        const int warm = 3, steps = 15;
        var backend = BackendRegistry.Get("torch");
        BackendRegistry.Default = backend;
        Module Cnn() => new Sequential(new Conv2d(1, 32, 3, padding: 1, rng: new SeededRandom(1)), new ReLU(), new MaxPool2d(2),
            new Conv2d(32, 64, 3, padding: 1, rng: new SeededRandom(2)), new ReLU(), new MaxPool2d(2), new Flatten(),
            new Linear(64 * 7 * 7, 128, rng: new SeededRandom(3)), new ReLU(), new Linear(128, 10, rng: new SeededRandom(4)));
        double Measure(Trainer t, int batch)
        {
            using var scope = TensorScope.Begin();
            var rng = new SeededRandom(5);
            var x = Tensor.FromArray(Enumerable.Range(0, batch * 784).Select(_ => (float)rng.Uniform(-1, 1)).ToArray(), new Shape(batch, 1, 28, 28), backend);
            var y = Tensor.FromArray(Enumerable.Range(0, batch).Select(i => (long)(i % 10)).ToArray(), new Shape(batch), backend);
            for (int i = 0; i < warm; i++) t.TrainStep(x, y);
            var times = new double[steps];
            for (int i = 0; i < steps; i++)
            {
                var sw = Stopwatch.StartNew();
                t.TrainStep(x, y);
                times[i] = sw.Elapsed.TotalSeconds;
            }
            return Median(times);
        }
        double single = 0;
        if (comm.Rank == 0)
        {
            using var m = Cnn();
            using var opt = new Adam(m.Parameters(), 1e-3);
            var t = new Trainer(m);
            t.Compile(opt, new CrossEntropyLoss());
            single = Measure(t, 64);
        }
        comm.Barrier();
        using var model = Cnn();
        using var adam = new Adam(model.Parameters(), 1e-3);
        var trainer = new Trainer(model, new DataParallel(comm));
        trainer.Compile(adam, new CrossEntropyLoss());
        double parallel = Measure(trainer, 64 / comm.Size);
        return (single, parallel);
    }

    private static double Median(double[] xs)
    {
        var a = xs.OrderBy(v => v).ToArray();
        return a.Length % 2 == 1 ? a[a.Length / 2] : (a[a.Length / 2 - 1] + a[a.Length / 2]) / 2;
    }
}
