using DualFramework.Backends;
using DualFramework.Onnx.Conformance;

// Runs ONNX backend-test case folders on one backend; see docs/onnx-conformance.md.
// Usage: OnnxConformance --suite DIR --backend torch|graph [--filter TEXT] [--timeout SECONDS] [--rtol R] [--atol A]
string? suite = null, backendName = "torch", filter = null;
double timeout = 20, rtol = 1e-3, atol = 1e-7;
for (int i = 0; i < args.Length; i++)
{
    string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value.");
    switch (args[i])
    {
        case "--suite": suite = Next(); break;
        case "--backend": backendName = Next(); break;
        case "--filter": filter = Next(); break;
        case "--timeout": timeout = double.Parse(Next(), System.Globalization.CultureInfo.InvariantCulture); break;
        case "--rtol": rtol = double.Parse(Next(), System.Globalization.CultureInfo.InvariantCulture); break;
        case "--atol": atol = double.Parse(Next(), System.Globalization.CultureInfo.InvariantCulture); break;
        default:
            Console.Error.WriteLine($"Unknown argument '{args[i]}'.");
            return 2;
    }
}
if (suite == null || backendName is not ("torch" or "graph"))
{
    Console.Error.WriteLine("Usage: OnnxConformance --suite DIR --backend torch|graph [--filter TEXT] [--timeout SECONDS] [--rtol R] [--atol A]");
    return 2;
}
if (!Directory.Exists(suite))
{
    Console.Error.WriteLine($"Suite folder '{suite}' does not exist.");
    return 2;
}

var backend = BackendRegistry.Get(backendName);
var options = new ConformanceOptions
{
    Rtol = rtol,
    Atol = atol,
    Timeout = timeout > 0 ? TimeSpan.FromSeconds(timeout) : null,
    Filter = filter,
};
var summary = ConformanceRunner.RunSuite(suite, backend, options, r =>
{
    if (r.Outcome != CaseOutcome.Passed) Console.WriteLine($"{(r.Outcome == CaseOutcome.Failed ? "FAILED" : "UNSUPPORTED")} {r.Name}: {r.Reason}");
});
Console.Out.Flush();
Console.WriteLine(summary.ToJson());
return 0;
