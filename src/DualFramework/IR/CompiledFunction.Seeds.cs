using DualFramework.NN;
using DualFramework.Operators;

namespace DualFramework.IR;

// Per-run seeds for the random ops of a traced function (see RandomSeedInputs).
public sealed partial class CompiledFunction
{
    // The generators whose draws while tracing become per-run seeds: the model's layers' and the ones given explicitly.
    private Generator[] TrackedGenerators()
    {
        var all = new List<Generator>(_generators);
        if (_model != null)
            foreach (var (_, m) in _model.NamedModules())
                if (m is IHasGenerator g) all.Add(g.Generator);
        return all.Distinct(ReferenceEqualityComparer.Instance).Cast<Generator>().ToArray();
    }

    // Rewinds every generator to where it was before tracing (the trace stands for all later runs, which draw again) and
    // returns the seeds each one handed out while tracing, in draw order.
    private static (Generator Generator, ulong[] Seeds)[] UndoDraws(Generator[] generators, long[] before)
    {
        var drawn = new List<(Generator, ulong[])>();
        for (int i = 0; i < generators.Length; i++)
        {
            var g = generators[i];
            long count = g.Draws - before[i];
            if (count <= 0) continue;
            g.Restore(before[i]);
            var seeds = new ulong[count];
            for (long k = 0; k < count; k++) seeds[k] = g.NextSeed();
            g.Restore(before[i]);
            drawn.Add((g, seeds));
        }
        return drawn.ToArray();
    }

    // For each seed a random op of the graph was traced with: two int64 scalar inputs (its keys) that a host action fills
    // from the generator's next draws before every run; the generator advances by as many draws as the trace made.
    private static void AddSeedInputs(TraceContext ctx, (Generator Generator, ulong[] Seeds)[] drawn)
    {
        if (drawn.Length == 0) return;
        var used = new HashSet<ulong>();
        foreach (var n in ctx.Graph.Nodes)
            if (n.Attrs is ISeededAttrs r) used.Add(r.Seed);
        foreach (var (g, seeds) in drawn)
        {
            var lo = new int[seeds.Length];
            var hi = new int[seeds.Length];
            for (int k = 0; k < seeds.Length; k++)
            {
                lo[k] = hi[k] = -1;
                if (!used.Contains(seeds[k])) continue;
                lo[k] = ctx.ScalarSlot(RandomSeedInputs.InputName(seeds[k], false), DType.Int64);
                hi[k] = ctx.ScalarSlot(RandomSeedInputs.InputName(seeds[k], true), DType.Int64);
            }
            var generator = g;
            ctx.HostActions.Add(values =>
            {
                for (int k = 0; k < lo.Length; k++)
                {
                    ulong seed = generator.NextSeed();
                    if (lo[k] < 0) continue;
                    values[lo[k]] = RandomSeedInputs.Low(seed);
                    values[hi[k]] = RandomSeedInputs.High(seed);
                }
            });
        }
    }
}
