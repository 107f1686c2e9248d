namespace DualFramework.Backends;

/// <summary>
/// Deterministic mode (as <c>torch.use_deterministic_algorithms</c> or Keras' <c>enable_op_determinism</c>): the same
/// program with the same seeds, data, thread count, library versions and CPU gives bit-identical results run to run,
/// on each backend. Turn it on with <see cref="Enable"/> or the environment variable
/// <c>DUALFRAMEWORK_DETERMINISTIC=1</c>, before models are built. See docs/determinism.md for what it sets in each
/// engine, what it does not promise (other thread counts or CPU kinds), and what it costs.
/// </summary>
public static class Determinism
{
    /// <summary>The environment variable that turns the mode on at start-up (<c>1</c> or <c>true</c>).</summary>
    public const string EnvironmentVariable = "DUALFRAMEWORK_DETERMINISTIC";

    private static readonly Lock Gate = new();
    private static bool s_enabled = FromEnvironment();

    /// <summary>True while deterministic mode is on.</summary>
    public static bool IsEnabled
    {
        get
        {
            lock (Gate) return s_enabled;
        }
    }

    /// <summary>Raised (with the new state) when the mode changes; each backend applies it to its engine.</summary>
    public static event Action<bool>? Changed;

    /// <summary>Turns deterministic mode on for the whole process. Call it before building models: a backend applies it
    /// to work started afterwards (compiled functions traced earlier keep the sessions they made).</summary>
    public static void Enable() => Set(true);

    /// <summary>Turns deterministic mode off again (the engines' defaults return).</summary>
    public static void Disable() => Set(false);

    private static void Set(bool enabled)
    {
        Action<bool>? changed;
        lock (Gate)
        {
            if (s_enabled == enabled) return;
            s_enabled = enabled;
            changed = Changed;
        }
        changed?.Invoke(enabled);
    }

    private static bool FromEnvironment() =>
        Environment.GetEnvironmentVariable(EnvironmentVariable)?.Trim().ToLowerInvariant() is "1" or "true" or "yes" or "on";
}
