using System.Diagnostics;
using System.Globalization;

namespace DualFramework.Benchmarks;

/// <summary>
/// Quick CI-sized comparison: baseline and ours run interleaved in one process, in pairs; the ratio of each pair is
/// ours/baseline and the reported figure is the median over pairs (robust to noise on shared machines).
/// </summary>
public static class RatioMode
{
    /// <summary>Runs the named suite and prints its JSON line last.</summary>
    public static int Run(string suite, int pairs)
    {
        // allreduce measures the rate itself on rank 0 before MPI starts (every rank runs this program).
        if (suite == "allreduce") return AllReduceWorkloads.Run(pairs);
        double gemm = Hardware.PrintLine();
        string hw = Hardware.JsonFields(gemm);
        switch (suite)
        {
            case "ops":
                {
                    using var w = new OpsWorkloads();
                    var chain = Pairs(w.RawChain, w.OursChain, pairs, 200);
                    var mm = Pairs(w.RawMatmulBackward, w.OursMatmulBackward, pairs, 20);
                    // One pair = one chain batch + one matmul batch for each side.
                    var combined = chain.Select((c, i) => (c.ours + mm[i].ours) / (c.raw + mm[i].raw)).ToArray();
                    Console.WriteLine(F($"chain100: median ratio {Median(chain.Select(p => p.ours / p.raw))}, raw {Median(chain.Select(p => p.raw)) / 200 * 1e6:F1} us/chain"));
                    Console.WriteLine(F($"matmul256+backward: median ratio {Median(mm.Select(p => p.ours / p.raw))}, raw {Median(mm.Select(p => p.raw)) / 20 * 1e6:F1} us/step"));
                    Console.WriteLine(F($"{{\"suite\":\"ops\",\"dispatch_ratio\":{Median(combined):F4},{hw}}}"));
                    return 0;
                }
            case "overhead":
                {
                    using var w = new OverheadWorkloads();
                    var mlp = Pairs(w.RawMlp, w.OursMlp, pairs, 20);
                    var cnn = Pairs(w.RawCnn, w.OursCnn, pairs, 3);
                    double mlpRatio = Median(mlp.Select(p => p.ours / p.raw)), cnnRatio = Median(cnn.Select(p => p.ours / p.raw));
                    double mlpOurs = Median(mlp.Select(p => p.ours)) / 20, cnnOurs = Median(cnn.Select(p => p.ours)) / 3;
                    Console.WriteLine(F($"mlp step: raw {Median(mlp.Select(p => p.raw)) / 20 * 1e3:F3} ms, ours {mlpOurs * 1e3:F3} ms, {StepFlops.Mlp(64) / 1e9:F3} GFLOP"));
                    Console.WriteLine(F($"cnn step: raw {Median(cnn.Select(p => p.raw)) / 3 * 1e3:F3} ms, ours {cnnOurs * 1e3:F3} ms, {StepFlops.Cnn(64) / 1e9:F3} GFLOP"));
                    Console.WriteLine(F($"{{\"suite\":\"overhead\",\"mlp_ratio\":{mlpRatio:F4},\"cnn_ratio\":{cnnRatio:F4},\"mlp_floor_fraction\":{StepFlops.FloorFraction(StepFlops.Mlp(64), gemm, mlpOurs):F3},\"cnn_floor_fraction\":{StepFlops.FloorFraction(StepFlops.Cnn(64), gemm, cnnOurs):F3},{hw}}}"));
                    return 0;
                }
            case "graph":
                {
                    // The same steps in raw TorchSharp (what a user would otherwise pick), timed before any ONNX Runtime session
                    // exists: interleaved with graph steps, ORT's and libtorch's thread pools contend for the cores and slow
                    // both down (libtorch's CNN took 32 ms there against 20 ms alone on a 2-core machine).
                    double rawMlp, rawCnn;
                    using (var raw = new OverheadWorkloads())
                    {
                        rawMlp = Median(Repeat(raw.RawMlp, pairs, 20)) / 20;
                        rawCnn = Median(Repeat(raw.RawCnn, pairs, 3)) / 3;
                    }
                    using var w = new GraphWorkloads();
                    w.Prepare();
                    // Graph steps alone too, before any eager step: R3/R4 compare the two engines each running by itself.
                    double graphMlpAlone = Median(Repeat(w.GraphMlp, pairs, 20)) / 20, graphCnnAlone = Median(Repeat(w.GraphCnn, pairs, 3)) / 3;
                    var mlp = Pairs(w.EagerMlp, w.GraphMlp, pairs, 20);
                    var cnn = Pairs(w.EagerCnn, w.GraphCnn, pairs, 3);
                    double r1 = Median(mlp.Select(p => p.ours / p.raw)), r2 = Median(cnn.Select(p => p.ours / p.raw));
                    double mlpGraph = Median(mlp.Select(p => p.ours)) / 20, cnnGraph = Median(cnn.Select(p => p.ours)) / 3;
                    double r3 = graphMlpAlone / rawMlp, r4 = graphCnnAlone / rawCnn;
                    // The symbolic-batch step against the one specialised to batch 64, interleaved (same engine).
                    var sym = Pairs(w.GraphCnnFixed, w.GraphCnn, pairs, 3);
                    double r5 = Median(sym.Select(p => p.ours / p.raw));
                    Console.WriteLine(F($"mlp step: eager {Median(mlp.Select(p => p.raw)) / 20 * 1e3:F3} ms, graph {mlpGraph * 1e3:F3} ms (interleaved); alone: raw torchsharp {rawMlp * 1e3:F3} ms, graph {graphMlpAlone * 1e3:F3} ms"));
                    Console.WriteLine(F($"cnn step: eager {Median(cnn.Select(p => p.raw)) / 3 * 1e3:F3} ms, graph {cnnGraph * 1e3:F3} ms (interleaved); alone: raw torchsharp {rawCnn * 1e3:F3} ms, graph {graphCnnAlone * 1e3:F3} ms; traces {w.CnnTraceCount}; specialised to batch 64 {Median(sym.Select(p => p.raw)) / 3 * 1e3:F3} ms vs symbolic {Median(sym.Select(p => p.ours)) / 3 * 1e3:F3} ms (compile {w.CnnFixedCompileMs:F0} vs {w.CnnCompileMs:F0} ms)"));
                    Console.WriteLine(F($"{{\"suite\":\"graph\",\"mlp_step_ratio\":{r1:F4},\"cnn_step_ratio\":{r2:F4},\"mlp_vs_raw_torch\":{r3:F4},\"cnn_vs_raw_torch\":{r4:F4},\"cnn_compile_ms\":{w.CnnCompileMs:F1},\"cnn_symbolic_vs_specialised\":{r5:F4},\"cnn_specialised_compile_ms\":{w.CnnFixedCompileMs:F1},\"mlp_floor_fraction\":{StepFlops.FloorFraction(StepFlops.Mlp(64), gemm, graphMlpAlone):F3},\"cnn_floor_fraction\":{StepFlops.FloorFraction(StepFlops.Cnn(64), gemm, graphCnnAlone):F3},{hw}}}"));
                    return 0;
                }
            case "recurrent":
                {
                    // Raw TorchSharp's nn.LSTM step alone, before any ONNX Runtime session exists (see "graph": the two
                    // engines' thread pools contend when interleaved).
                    double raw;
                    using (var r = new RawLstmWorkload()) raw = Median(Repeat(r.Step, pairs, 5)) / 5;
                    using var w = new RecurrentWorkloads();
                    w.Prepare();
                    double graphAlone = Median(Repeat(w.Graph, pairs, 5)) / 5;
                    var eg = Pairs(w.Eager, w.Graph, pairs, 5);
                    // The two compiled forms of the step, interleaved: ONNX Runtime's fused LSTM node (its kernel loops over
                    // the steps) against the cell unrolled in the graph.
                    var lu = Pairs(w.GraphFused, w.GraphUnrolled, pairs, 5);
                    double Ms(IEnumerable<double> xs) => Median(xs) / 5 * 1e3;
                    double eager = Ms(eg.Select(p => p.raw)), graph = Ms(eg.Select(p => p.ours)), fused = Ms(lu.Select(p => p.raw)), unrolled = Ms(lu.Select(p => p.ours));
                    double r1 = Median(eg.Select(p => p.ours / p.raw)), r2 = Median(lu.Select(p => p.raw / p.ours));
                    Console.WriteLine(F($"lstm step (TextLstm: batch {RecurrentWorkloads.Batch}, {RecurrentWorkloads.Steps} steps, hidden {RecurrentWorkloads.Hidden}): eager {eager:F2} ms, graph {graph:F2} ms (interleaved, default form: {w.DefaultForm}); alone: raw torchsharp nn.LSTM {raw * 1e3:F2} ms, graph {graphAlone * 1e3:F2} ms"));
                    Console.WriteLine(F($"compiled step forms (interleaved): fused ONNX LSTM node (loop in ORT's kernel) {fused:F2} ms, unrolled in the graph {unrolled:F2} ms; compile: default {w.CompileMs:F0} ms, fused {w.CompileFusedMs:F0} ms, unrolled {w.CompileUnrolledMs:F0} ms"));
                    Console.WriteLine(F($"{{\"suite\":\"recurrent\",\"graph_vs_eager\":{r1:F4},\"graph_vs_raw_torch\":{graphAlone / raw:F4},\"loop_vs_unrolled\":{r2:F4},\"default_form\":\"{w.DefaultForm}\",\"eager_ms\":{eager:F2},\"graph_ms\":{graph:F2},\"graph_loop_ms\":{fused:F2},\"graph_unrolled_ms\":{unrolled:F2},\"raw_torch_ms\":{raw * 1e3:F2},\"compile_ms\":{w.CompileMs:F1},\"compile_loop_ms\":{w.CompileFusedMs:F1},\"compile_unrolled_ms\":{w.CompileUnrolledMs:F1},{hw}}}"));
                    return 0;
                }
            case "deploy":
                {
                    using var w = new DeployWorkloads();
                    var pairsD = Pairs(w.Eager, w.Ort, pairs, 50);
                    double r = Median(pairsD.Select(p => p.ours / p.raw));
                    Console.WriteLine(F($"cnn batch-1 inference: eager torch {Median(pairsD.Select(p => p.raw)) / 50 * 1e6:F1} us, onnx runtime {Median(pairsD.Select(p => p.ours)) / 50 * 1e6:F1} us; max abs difference {w.MaxAbsDifference():E2}"));
                    Console.WriteLine(F($"{{\"suite\":\"deploy\",\"ort_vs_eager\":{r:F4},{hw}}}"));
                    return 0;
                }
            case "precision":
                {
                    // Each pair interleaves float32 and a mixed policy on one backend (the graph pairs run after the torch
                    // ones: interleaving the two engines makes their thread pools contend).
                    using var w = new PrecisionWorkloads();
                    var torch32 = w.Step("torch", "float32");
                    var bf = Pairs(torch32, w.Step("torch", "mixed_bfloat16"), pairs, 3);
                    var fp = Pairs(torch32, w.Step("torch", "mixed_float16"), pairs, 3);
                    var g = Pairs(w.Step("graph", "float32"), w.Step("graph", "mixed_bfloat16"), pairs, 3);
                    double r1 = Median(bf.Select(p => p.ours / p.raw)), r2 = Median(g.Select(p => p.ours / p.raw)), r3 = Median(fp.Select(p => p.ours / p.raw));
                    double Ms(IEnumerable<double> xs) => Median(xs) / 3 * 1e3;
                    double t32 = Ms(bf.Select(p => p.raw)), tbf = Ms(bf.Select(p => p.ours)), tfp = Ms(fp.Select(p => p.ours));
                    double g32 = Ms(g.Select(p => p.raw)), gbf = Ms(g.Select(p => p.ours));
                    Console.WriteLine(F($"cnn step, torch: float32 {t32:F2} ms, mixed_bfloat16 {tbf:F2} ms, mixed_float16 {tfp:F2} ms"));
                    Console.WriteLine(F($"cnn step, graph (compiled): float32 {g32:F2} ms, mixed_bfloat16 {gbf:F2} ms"));
                    var cpu = DualFramework.MixedPrecision.CpuFeatures.Current;
                    Console.WriteLine(F($"{{\"suite\":\"precision\",\"cpu\":\"{cpu.Kind}\",\"torch_bf16_vs_fp32\":{r1:F4},\"graph_bf16_vs_fp32\":{r2:F4},\"torch_fp16_vs_fp32\":{r3:F4},{hw}}}"));
                    return 0;
                }
            case "quant":
                {
                    // Accuracy and size first, then latency: each pair runs float32 and int8 back to back in one process.
                    int epochs = int.TryParse(Environment.GetEnvironmentVariable("DF_QUANT_EPOCHS"), out var e) && e > 0 ? e : 2;
                    using var w = new QuantWorkloads(epochs, Console.Out);
                    double acc32 = w.Accuracy("fp32"), acc8 = w.Accuracy("int8"), accDyn = w.Accuracy("dynamic");
                    double size = (double)w.Bytes(w.Static.OutputPath) / w.Bytes(w.Fp32Path);
                    var b1 = Pairs(w.Infer("fp32", 1), w.Infer("int8", 1), pairs, 200);
                    var b64 = Pairs(w.Infer("fp32", 64), w.Infer("int8", 64), pairs, 10);
                    var dyn = Pairs(w.Infer("fp32", 64), w.Infer("dynamic", 64), pairs, 10);
                    double r1 = Median(b1.Select(p => p.ours / p.raw)), r64 = Median(b64.Select(p => p.ours / p.raw)), rd = Median(dyn.Select(p => p.ours / p.raw));
                    double Us(IEnumerable<double> xs, int inner) => Median(xs) / inner * 1e6;
                    Console.WriteLine(F($"accuracy: fp32 {acc32:P2}, static int8 {acc8:P2}, dynamic {accDyn:P2}; sizes: fp32 {w.Bytes(w.Fp32Path)} B, int8 {w.Bytes(w.Static.OutputPath)} B, dynamic {w.Bytes(w.Dynamic.OutputPath)} B"));
                    Console.WriteLine(F($"batch 1: fp32 {Us(b1.Select(p => p.raw), 200):F1} us, int8 {Us(b1.Select(p => p.ours), 200):F1} us; batch 64: fp32 {Us(b64.Select(p => p.raw), 10) / 1e3:F3} ms, int8 {Us(b64.Select(p => p.ours), 10) / 1e3:F3} ms, dynamic {Us(dyn.Select(p => p.ours), 10) / 1e3:F3} ms"));
                    Console.WriteLine("ONNX Runtime picks its kernels from the CPU itself; ONEDNN_MAX_CPU_ISA / ATEN_CPU_CAPABILITY / MKL_ENABLE_INSTRUCTIONS limit libtorch only (training and the GEMM probe), and the Auto format reads ONEDNN_MAX_CPU_ISA.");
                    Console.WriteLine(F($"{{\"suite\":\"quant\",\"cpu\":\"{Hardware.IsaClass()}\",\"format\":\"{w.Static.Choice.Format}\",\"reduce_range\":{(w.Static.Choice.ReduceRange ? "true" : "false")},\"int8_vs_fp32_b1\":{r1:F4},\"int8_vs_fp32_b64\":{r64:F4},\"dynamic_vs_fp32_b64\":{rd:F4},\"size_ratio\":{size:F4},\"acc_drop_pts\":{(acc32 - acc8) * 100:F2},\"dynamic_acc_drop_pts\":{(acc32 - accDyn) * 100:F2},\"fp32_acc\":{acc32:F4},\"epochs\":{epochs},{hw}}}"));
                    return 0;
                }
            case "memory":
                return MemoryWorkloads.Run(steps: 300, hw);
            case "serve":
                return ServeWorkloads.Run(pairs, hw);
            default:
                Console.Error.WriteLine($"unknown ratio suite '{suite}' (known: ops, overhead, graph, recurrent, deploy, precision, quant, allreduce, memory, serve, longrun)");
                return 2;
        }
    }

    private static string F(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);

    private static (double raw, double ours)[] Pairs(Func<float> raw, Func<float> ours, int pairs, int inner)
    {
        // Warm up both paths (tiered JIT needs ~100 ms of calls to promote hot methods; allocator caches) for at least
        // one second and 4 × inner calls each, so no pair measures tier-0 code.
        var warm = Stopwatch.StartNew();
        for (int i = 0; i < inner * 4 || warm.Elapsed.TotalSeconds < 1.0; i++) { raw(); ours(); }
        var result = new (double, double)[pairs];
        for (int p = 0; p < pairs; p++)
        {
            // Alternate which side runs first so drift affects both equally.
            double r, o;
            if (p % 2 == 0) { r = Time(raw, inner); o = Time(ours, inner); }
            else { o = Time(ours, inner); r = Time(raw, inner); }
            result[p] = (r, o);
        }
        return result;
    }

    private static double[] Repeat(Func<float> f, int count, int inner)
    {
        var warm = Stopwatch.StartNew();
        for (int i = 0; i < inner * 4 || warm.Elapsed.TotalSeconds < 1.0; i++) f();
        return Enumerable.Range(0, count).Select(_ => Time(f, inner)).ToArray();
    }

    private static double Time(Func<float> f, int n)
    {
        var sw = Stopwatch.StartNew();
        for (int i = 0; i < n; i++) f();
        return sw.Elapsed.TotalSeconds;
    }

    private static double Median(IEnumerable<double> xs)
    {
        var a = xs.OrderBy(v => v).ToArray();
        return a.Length % 2 == 1 ? a[a.Length / 2] : (a[a.Length / 2 - 1] + a[a.Length / 2]) / 2;
    }
}
