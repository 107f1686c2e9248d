// Runs one distributed scenario as one rank; launched by the tests as
//   mpirun --allow-run-as-root --oversubscribe -np 2 dotnet DualFramework.DistributedWorker.dll SCENARIO [options]
// (or, without mpirun, `dotnet DualFramework.DistributedWorker.dll repeat [--backend B] [--steps N]`: see RepeatRun)
// Scenarios: collectives | train [--out FILE] [--backend B] [--steps N] [--batch N] [--hand-loop] [--batchnorm]
//            [--fail-rank R --fail-step S --fail-mode throw|kill|hang] [--mismatch-rank R] [--timeout-after-first-step S]
using System.Globalization;
using DualFramework.Checkpoints;
using DualFramework.Distributed;
using DualFramework.Distributed.Mpi;
using DualFramework.DistributedWorker;

if (args.Length == 0)
{
    Console.Error.WriteLine("usage: DualFramework.DistributedWorker collectives|train [options]");
    return 2;
}
if (args[0] == "repeat") return RepeatRun.Run(args);
using var comm = MpiCommunicator.Initialize();
switch (args[0])
{
    case "collectives":
        CollectiveChecks.Run(comm);
        Console.WriteLine($"rank {comm.Rank}: collectives ok");
        return 0;
    case "train":
        {
            var spec = new TrainSpec();
            string? output = null;
            for (int i = 1; i < args.Length; i++)
            {
                string Next() => args[++i];
                int NextInt() => int.Parse(Next(), CultureInfo.InvariantCulture);
                switch (args[i])
                {
                    case "--out": output = Next(); break;
                    case "--backend": spec = spec with { Backend = Next() }; break;
                    case "--steps": spec = spec with { Steps = NextInt() }; break;
                    case "--batch": spec = spec with { GlobalBatch = NextInt() }; break;
                    case "--hand-loop": spec = spec with { HandLoop = true }; break;
                    case "--batchnorm": spec = spec with { BatchNorm = true }; break;
                    case "--fail-rank": spec = spec with { FailRank = NextInt() }; break;
                    case "--fail-step": spec = spec with { FailAtStep = NextInt() }; break;
                    case "--fail-mode": spec = spec with { FailMode = Next() }; break;
                    case "--mismatch-rank": spec = spec with { MismatchRank = NextInt() }; break;
                    case "--timeout-after-first-step": spec = spec with { TimeoutAfterFirstStep = double.Parse(Next(), CultureInfo.InvariantCulture) }; break;
                    default: throw new ArgumentException($"unknown argument '{args[i]}'");
                }
            }
            var dp = new DataParallel(comm);
            var final = Scenarios.Train(spec, dp);
            // Every rank writes its own result so the test can check that replicas agree.
            if (output != null)
            {
                using var scope = DualFramework.TensorScope.Begin();
                var tensors = final.ToDictionary(kv => kv.Key, kv => DualFramework.Tensor.FromArray(kv.Value, new DualFramework.Shape(kv.Value.Length)));
                SafeTensors.Save(output.Replace("{rank}", comm.Rank.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal), tensors);
            }
            Console.WriteLine($"rank {comm.Rank}: trained {spec.Steps} steps");
            return 0;
        }
    default:
        Console.Error.WriteLine($"unknown scenario '{args[0]}'");
        return 2;
}
