namespace DualFramework.Fuzz;

/// <summary>
/// Coverage-guided mode (scripts/fuzz-afl.sh): afl-fuzz drives the loader through SharpFuzz, whose instrumentation of
/// DualFramework.dll and DualFramework.Onnx.dll reports the branches each input reaches. A documented exception is a
/// normal ending; any other exception escapes to SharpFuzz, which reports it to afl-fuzz as a crash.
/// </summary>
public static class AflHarness
{
    /// <summary>Serves inputs from afl-fuzz until it stops the process (runs one input from stdin when not under afl).</summary>
    /// <param name="create">Makes the target on the first input: instrumented code may only run once SharpFuzz has mapped
    /// afl-fuzz's coverage map, i.e. inside <see cref="SharpFuzz.Fuzzer.Run(Action{Stream})"/>.</param>
    public static void Run(Func<FuzzTarget> create)
    {
        FuzzTarget? target = null;
        SharpFuzz.Fuzzer.Run(stream =>
        {
            target ??= create();
            using var buffer = new MemoryStream();
            stream.CopyTo(buffer);
            try
            {
                target.Load(buffer.ToArray());
            }
            catch (Exception e) when (target.IsDocumented(e))
            {
                // The loader rejected the input as it promises.
            }
        });
        target?.Dispose();
    }

    /// <summary>Writes the target's unmutated seeds (at most <paramref name="max"/>, small ones first) as afl-fuzz's
    /// starting corpus.</summary>
    public static int WriteSeeds(FuzzTarget target, string directory, int max = 64)
    {
        Directory.CreateDirectory(directory);
        int n = 0;
        foreach (var seed in target.Seeds().OrderBy(s => s.Length).Take(max))
            File.WriteAllBytes(Path.Combine(directory, $"seed-{n++:D3}{target.Extension}"), seed);
        return n;
    }
}
