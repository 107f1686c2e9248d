using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime;

namespace DualFramework.Fuzz;

/// <summary>
/// Feeds a target's inputs to its loader one at a time on a worker thread, each bounded in time, and classifies
/// each outcome: a result, a documented exception, a crash (any other exception, or an allocation over the target's
/// bound) or a hang (over the time bound; the worker is abandoned and the run goes on).
/// </summary>
public sealed class FuzzRunner
{
    /// <summary>Time one input may take before it counts as a hang.</summary>
    public TimeSpan TimeBound { get; init; } = TimeSpan.FromSeconds(20);

    /// <summary>Called for each crash or hang as it happens (e.g. to save the input).</summary>
    public Action<FuzzFailure>? OnFailure { get; init; }

    /// <summary>Called after each input with its index, outcome, time in ms and the input (e.g. for --verbose).</summary>
    public Action<int, Outcome, double, byte[]>? OnInput { get; init; }

    /// <summary>How often <see cref="OnProgress"/> is called.</summary>
    public int ProgressEvery { get; init; } = 1000;

    /// <summary>Called after every <see cref="ProgressEvery"/>th input with the report so far.</summary>
    public Action<FuzzReport>? OnProgress { get; init; }

    /// <summary>The generator of input <paramref name="index"/> of a run with <paramref name="seed"/>: inputs are
    /// independent, so one can be regenerated alone.</summary>
    public static Random InputRandom(int seed, int index)
    {
        // SplitMix64 of (seed, index): HashCode.Combine would differ from process to process.
        ulong z = ((ulong)(uint)seed << 32 | (uint)index) + 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return new Random((int)(z ^ (z >> 31)));
    }

    /// <summary>Runs inputs <paramref name="first"/> to <paramref name="first"/> + <paramref name="count"/> − 1.</summary>
    public FuzzReport Run(FuzzTarget target, int count, int seed, int first = 0)
    {
        var report = new FuzzReport(target.Name);
        for (int index = first; index < first + count; index++)
        {
            var input = target.Generate(InputRandom(seed, index), index);
            var (outcome, detail, ms, alloc) = RunOne(target, input);
            report.Inputs++;
            OnInput?.Invoke(index, outcome, ms, input);
            if (outcome == Outcome.Valid) report.Valid++;
            else if (outcome == Outcome.Rejected) report.Rejected++;
            else
            {
                var failure = new FuzzFailure(target.Name, index, outcome, detail, input);
                report.Failures.Add(failure);
                OnFailure?.Invoke(failure);
            }
            if (outcome != Outcome.Hang) report.MaxMs = Math.Max(report.MaxMs, ms);
            report.MaxAllocBytes = Math.Max(report.MaxAllocBytes, alloc);
            // Each ResNet18 input leaves hundreds of MB of garbage that the GC, seeing a large machine, would keep for a
            // while: collecting after big inputs keeps the run's footprint flat on a shared machine.
            if (alloc > 32 << 20 || input.Length > 32 << 20 || report.Inputs % 200 == 0)
            {
                GCSettings.LargeObjectHeapCompactionMode = GCLargeObjectHeapCompactionMode.CompactOnce;
                GC.Collect();
            }
            if (report.Inputs % ProgressEvery == 0) OnProgress?.Invoke(report);
        }
        return report;
    }

    /// <summary>Loads one input and classifies the outcome; <c>Detail</c> names the exception or the bound exceeded.</summary>
    public (Outcome Outcome, string Detail, double Ms, long AllocBytes) RunOne(FuzzTarget target, byte[] input)
    {
        var job = new Job(target, input);
        // One long-lived worker (one malloc arena for the native tensors, no thread start per input); a hung load cannot be
        // stopped safely, so its worker is abandoned (a background thread) and the next input gets a new one.
        _worker ??= new Worker();
        _worker.Queue.Add(job);
        if (!job.Done.Wait(TimeBound))
        {
            _worker.Queue.CompleteAdding();
            _worker = null;
            return (Outcome.Hang, $"no result after {TimeBound.TotalSeconds:0.#} s", TimeBound.TotalMilliseconds, 0);
        }
        job.Done.Dispose();
        long alloc = job.Managed + job.Native;
        if (job.Error != null && !target.IsDocumented(job.Error)) return (Outcome.Crash, job.Error.ToString(), job.Ms, alloc);
        long bound = target.AllocationBound(input);
        if (alloc > bound)
            return (Outcome.Crash, $"allocated {alloc} bytes for a {input.Length}-byte input, over the bound of {bound} ({job.Error?.GetType().Name ?? "valid"})", job.Ms, alloc);
        return (job.Error == null ? Outcome.Valid : Outcome.Rejected, job.Error?.Message ?? "", job.Ms, alloc);
    }

    private Worker? _worker;

    private sealed class Job(FuzzTarget target, byte[] input)
    {
        public ManualResetEventSlim Done { get; } = new();
        public Exception? Error { get; private set; }
        public long Managed { get; private set; }
        public long Native { get; private set; }
        public double Ms { get; private set; }

        public void Run()
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            var clock = Stopwatch.StartNew();
            try
            {
                Native = target.Load(input);
            }
            catch (Exception e)
            {
                Error = e;
            }
            Ms = clock.Elapsed.TotalMilliseconds;
            Managed = GC.GetAllocatedBytesForCurrentThread() - before;
            Done.Set();
        }
    }

    private sealed class Worker
    {
        public BlockingCollection<Job> Queue { get; } = [];

        public Worker() => new Thread(() =>
        {
            foreach (var job in Queue.GetConsumingEnumerable()) job.Run();
        })
        { IsBackground = true, Name = "fuzz-load" }.Start();
    }
}
