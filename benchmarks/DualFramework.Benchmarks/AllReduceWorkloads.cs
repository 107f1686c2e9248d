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
        // The one-process baseline is a child process of rank 0, started before MPI, without the launcher's variables and
        // on every online CPU: under mpirun, rank 0 is bound to one core and ThreadBudget splits the cores between local
        // ranks, so measured inside it "one process with every core" ran on one core (GEMM 80 against 165 GFLOP/s here).
        // The other ranks must not be inside MPI_Init meanwhile (Open MPI polls there); they sleep until rank 0 leaves a
        // file named after the job (PMIx namespace, shared by the job's ranks).
        bool first = Environment.GetEnvironmentVariable("OMPI_COMM_WORLD_RANK") is null or "0";
        string? gate = Environment.GetEnvironmentVariable("PMIX_NAMESPACE") is { Length: > 0 } ns
            ? Path.Combine(Path.GetTempPath(), $"dualframework-allreduce-{ns}.ready") : null;
        double gemm = 0, single = 0;
        if (first)
        {
            var (exit, last) = ChildRun.Run("--allreduce-baseline-child", unconfined: true);
            var v = last.Split(' ');
            if (exit != 0 || v.Length != 3)
            {
                Console.Error.WriteLine($"allreduce baseline child failed (exit {exit}): {last}");
                if (gate != null) File.WriteAllText(gate, "");
                return 1;
            }
            gemm = double.Parse(v[0], CultureInfo.InvariantCulture);
            single = double.Parse(v[1], CultureInfo.InvariantCulture);
            Hardware.PrintLine(gemm, $" (baseline process, {v[2]} threads)");
            if (gate != null) File.WriteAllText(gate, "");
        }
        else if (gate != null)
            while (!File.Exists(gate)) Thread.Sleep(20);
        using var comm = MpiCommunicator.Initialize();
        bool root = comm.Rank == 0;
        comm.Barrier();
        if (root && gate != null) File.Delete(gate);
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

        double parallel = CnnStep(comm, 64 / comm.Size);
        if (root)
        {
            Console.WriteLine(F($"allreduce 25 MB float32 over {comm.Size} ranks: raw MPI_Allreduce {Median(raws) * 1e3:F2} ms; ours (sum) median ratio {Median(ratios):F4}; ours (mean) {Median(means):F4}"));
            Console.WriteLine(F($"cnn train step: 1 process x batch 64 {single * 1e3:F1} ms; {comm.Size} ranks x batch {64 / comm.Size} {parallel * 1e3:F1} ms (ratio {parallel / single:F3})"));
            Console.WriteLine(F($"{{\"suite\":\"allreduce\",\"ours_vs_raw\":{Median(ratios):F4},\"cnn_single_ms\":{single * 1e3:F1},\"cnn_ranks_ms\":{parallel * 1e3:F1},{Hardware.JsonFields(gemm)}}}"));
        }
        return 0;
    }

    /// <summary>The one-process baseline (<c>--allreduce-baseline-child</c>): prints "GEMM-rate step-seconds threads" last.</summary>
    public static int BaselineChild()
    {
        double gemm = Hardware.GemmGflops();
        double single = CnnStep(null, 64);
        Console.WriteLine(F($"{gemm:R} {single:R} {TorchSharp.torch.get_num_threads()}"));
        return 0;
    }

    // Median train-step time of the Fashion-MNIST CNN on torch: one process with every core (no communicator), or one
    // DataParallel replica with its share of the cores (ThreadBudget).
    private static double CnnStep(ICommunicator? comm, int batch)
    {
        const int warm = 3, steps = 15;
        var backend = BackendRegistry.Get("torch");
        TorchSharp.torch.set_num_threads(comm == null ? Environment.ProcessorCount : ThreadBudget.PerProcess);
        BackendRegistry.Default = backend;
        using var model = new Sequential(new Conv2d(1, 32, 3, padding: 1, rng: new SeededRandom(1)), new ReLU(), new MaxPool2d(2),
            new Conv2d(32, 64, 3, padding: 1, rng: new SeededRandom(2)), new ReLU(), new MaxPool2d(2), new Flatten(),
            new Linear(64 * 7 * 7, 128, rng: new SeededRandom(3)), new ReLU(), new Linear(128, 10, rng: new SeededRandom(4)));
        using var adam = new Adam(model.Parameters(), 1e-3);
        var trainer = new Trainer(model, comm == null ? null : new DataParallel(comm));
        trainer.Compile(adam, new CrossEntropyLoss());
        using var scope = TensorScope.Begin();
        var rng = new SeededRandom(5);
        var x = Tensor.FromArray(Enumerable.Range(0, batch * 784).Select(_ => (float)rng.Uniform(-1, 1)).ToArray(), new Shape(batch, 1, 28, 28), backend);
        var y = Tensor.FromArray(Enumerable.Range(0, batch).Select(i => (long)(i % 10)).ToArray(), new Shape(batch), backend);
        for (int i = 0; i < warm; i++) trainer.TrainStep(x, y);
        var times = new double[steps];
        for (int i = 0; i < steps; i++)
        {
            var sw = Stopwatch.StartNew();
            trainer.TrainStep(x, y);
            times[i] = sw.Elapsed.TotalSeconds;
        }
        return Median(times);
    }

    private static double Median(double[] xs)
    {
        var a = xs.OrderBy(v => v).ToArray();
        return a.Length % 2 == 1 ? a[a.Length / 2] : (a[a.Length / 2 - 1] + a[a.Length / 2]) / 2;
    }
}
