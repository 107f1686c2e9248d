using System.Diagnostics;

namespace DualFramework.Fuzz;

/// <summary>
/// Feeds a target's inputs to its loader one at a time, each on a fresh worker thread bounded in time, and classifies
/// each outcome: a result, a documented exception, a crash (any other exception, or an allocation over the target's
/// bound) or a hang (over the time bound; the worker is abandoned and the run goes on).
/// </summary>
public sealed class FuzzRunner
{
    /// <summary>Time one input may take before it counts as a hang.</summary>
    public TimeSpan TimeBound { get; init; } = TimeSpan.FromSeconds(20);

    /// <summary>Called for each crash or hang as it happens (e.g. to save the input).</summary>
    public Action<FuzzFailure>? OnFailure { get; init; }

    /// <summary>The generator of input <paramref name="index"/> of a run with <paramref name="seed"/>: inputs are
    /// independent, so one can be regenerated alone.</summary>
    public static Random InputRandom(int seed, int index) => new(HashCode.Combine(seed, index, 0x5eed));

    /// <summary>Runs inputs <paramref name="first"/> to <paramref name="first"/> + <paramref name="count"/> − 1.</summary>
    public FuzzReport Run(FuzzTarget target, int count, int seed, int first = 0)
    {
        var report = new FuzzReport(target.Name);
        for (int index = first; index < first + count; index++)
        {
            var input = target.Generate(InputRandom(seed, index), index);
            var (outcome, detail, ms, alloc) = RunOne(target, input);
            report.Inputs++;
            if (outcome == Outcome.Valid) report.Valid++;
            else if (outcome == Outcome.Rejected) report.Rejected++;
            else
            {
                var failure = new FuzzFailure(index, outcome, detail, input);
                report.Failures.Add(failure);
                OnFailure?.Invoke(failure);
            }
            if (outcome != Outcome.Hang) report.MaxMs = Math.Max(report.MaxMs, ms);
            report.MaxAllocBytes = Math.Max(report.MaxAllocBytes, alloc);
        }
        return report;
    }

    /// <summary>Loads one input and classifies the outcome; <c>Detail</c> names the exception or the bound exceeded.</summary>
    public (Outcome Outcome, string Detail, double Ms, long AllocBytes) RunOne(FuzzTarget target, byte[] input)
    {
        Exception? error = null;
        long managed = 0, native = 0;
        double ms = 0;
        var worker = new Thread(() =>
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            var clock = Stopwatch.StartNew();
            try
            {
                native = target.Load(input);
            }
            catch (Exception e)
            {
                error = e;
            }
            ms = clock.Elapsed.TotalMilliseconds;
            managed = GC.GetAllocatedBytesForCurrentThread() - before;
        })
        { IsBackground = true, Name = "fuzz-load" };
        worker.Start();
        // A hung load cannot be stopped safely; its thread is left behind (background) and the run goes on.
        if (!worker.Join(TimeBound)) return (Outcome.Hang, $"no result after {TimeBound.TotalSeconds:0} s", TimeBound.TotalMilliseconds, 0);
        long alloc = managed + native;
        if (error != null && !target.IsDocumented(error)) return (Outcome.Crash, error.ToString(), ms, alloc);
        long bound = target.AllocationBound(input);
        if (alloc > bound)
            return (Outcome.Crash, $"allocated {alloc} bytes for a {input.Length}-byte input, over the bound of {bound} ({error?.GetType().Name ?? "valid"})", ms, alloc);
        return (error == null ? Outcome.Valid : Outcome.Rejected, error?.Message ?? "", ms, alloc);
    }
}
