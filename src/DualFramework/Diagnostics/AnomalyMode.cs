using DualFramework.Autodiff;
using DualFramework.IR;
using DualFramework.NN;
using DualFramework.Operators;

namespace DualFramework.Diagnostics;

/// <summary>
/// Opt-in anomaly detection (like <c>torch.autograd.detect_anomaly</c>): finds the FIRST op that produced a NaN or an
/// infinity and throws a <see cref="NumericalAnomalyException"/> naming the op and the layer path. Off by default, and then
/// it costs one flag test per op. Turn it on with <see cref="Enable"/>, <see cref="Detect"/> (a scope) or
/// <c>DUALFRAMEWORK_DETECT_ANOMALY=1</c>.
/// </summary>
/// <remarks>
/// <para>Eager ops (either backend, outside a compiled function): every floating output is checked as the op runs (a host
/// synchronisation per op), so the exception comes from the op itself, before later ops run. On the torch backend the
/// backward pass runs inside libtorch: the trainer then checks each parameter's gradient and names the parameter.</para>
/// <para>Compiled functions (<see cref="CompiledFunction"/>, the graph backend's train step): a function traced while the
/// mode is on is a debug build whose graph also computes, for every node's floating outputs, whether they are finite, as
/// one extra output read after each run; the first failing node in graph order (forward, backward, optimizer update) is
/// reported. Toggling the mode retraces; with the mode off the graph has no checks and no extra host read.</para>
/// <para>Values that are infinite by design (a −∞ attention mask, loss scaling's overflow probe) are reported too.</para>
/// </remarks>
public static class AnomalyMode
{
    /// <summary>The environment variable that turns the mode on for the process ("1" or "true").</summary>
    public const string EnvironmentVariable = "DUALFRAMEWORK_DETECT_ANOMALY";

    private static volatile bool _enabled = Environment.GetEnvironmentVariable(EnvironmentVariable) is "1" or "true";
    [ThreadStatic] private static bool _checking;

    /// <summary>Whether the mode is on.</summary>
    public static bool IsEnabled => _enabled;

    /// <summary>Turns the mode on for the process.</summary>
    public static void Enable() => _enabled = true;

    /// <summary>Turns the mode off.</summary>
    public static void Disable() => _enabled = false;

    /// <summary>Turns the mode on until the returned scope is disposed (then restores the previous setting).</summary>
    public static Scope Detect()
    {
        bool previous = _enabled;
        _enabled = true;
        return new Scope(previous);
    }

    /// <summary>Restores the previous setting when disposed.</summary>
    public readonly struct Scope : IDisposable
    {
        private readonly bool _previous;
        internal Scope(bool previous) => _previous = previous;

        /// <summary>Restores the setting from before <see cref="Detect"/>.</summary>
        public void Dispose() => _enabled = _previous;
    }

    // Called by the dispatcher after an eager op ran (mode on, not tracing).
    internal static void CheckEager(Op op, ReadOnlySpan<Tensor> inputs, ReadOnlySpan<Tensor> outputs)
    {
        if (_checking) return; // the checks' own ops
        for (int i = 0; i < outputs.Length; i++)
        {
            if (!outputs[i].DType.IsFloating() || IsFinite(outputs[i])) continue;
            var bad = new List<int>();
            for (int k = 0; k < inputs.Length; k++)
                if (inputs[k].DType.IsFloating() && !IsFinite(inputs[k])) bad.Add(k);
            string origin = bad.Count == 0
                ? "its operands were finite"
                : $"operand(s) {string.Join(", ", bad)} were already non-finite (they came from outside the checked ops: a parameter, a buffer or the data)";
            throw new NumericalAnomalyException(op.Name, LayerPath.Current, "eager op",
                $"Anomaly: op '{op.Name}' in layer '{LayerPath.Current ?? "<no layer>"}' produced a non-finite value in output {i} ({outputs[i].Spec}); {origin}.");
        }
    }

    // Called by the trainer after an eager backward pass on a backend with native autograd.
    internal static void CheckGradients(Module model)
    {
        foreach (var (name, p) in model.NamedParameters())
            if (p.Grad is { } g && g.DType.IsFloating() && !IsFinite(g))
                throw new NumericalAnomalyException("backward", name, "gradient",
                    $"Anomaly: the gradient of parameter '{name}' ({g.Spec}) is not finite (the forward pass was finite: the backward pass produced it).");
    }

    private static bool IsFinite(Tensor t)
    {
        _checking = true;
        try
        {
            using var scope = TensorScope.Begin();
            using var noGrad = Autograd.NoGrad();
            // x·0 is 0 for finite x and NaN for ±inf and NaN: one sum finds both.
            var x = t.DType == DType.Float32 || t.DType == DType.Float64 ? t : Ops.Cast(t, DType.Float32);
            return !double.IsNaN(Ops.Sum(Ops.Mul(x, 0.0)).Item());
        }
        finally
        {
            _checking = false;
        }
    }
}
