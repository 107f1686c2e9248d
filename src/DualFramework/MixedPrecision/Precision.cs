using DualFramework.MixedPrecision;

namespace DualFramework;

/// <summary>
/// The process-wide dtype policy (Keras 3's <c>keras.mixed_precision.set_global_policy</c>): what a module without a policy
/// of its own computes in. Read once from <c>DUALFRAMEWORK_PRECISION</c> (a policy name; default <c>float32</c>).
/// </summary>
public static class Precision
{
    /// <summary>The environment variable that sets the initial global policy.</summary>
    public const string EnvironmentVariable = "DUALFRAMEWORK_PRECISION";

    private static DTypePolicy? _global;

    /// <summary>The global policy: <see cref="SetGlobalPolicy(DTypePolicy)"/>'s, else <c>DUALFRAMEWORK_PRECISION</c>'s, else float32.</summary>
    public static DTypePolicy GlobalPolicy
    {
        get
        {
            if (_global != null) return _global;
            var env = Environment.GetEnvironmentVariable(EnvironmentVariable);
            DTypePolicy p;
            try
            {
                p = string.IsNullOrWhiteSpace(env) ? DTypePolicy.Float32 : DTypePolicy.Parse(env);
            }
            catch (ArgumentException e)
            {
                throw new InvalidOperationException($"{EnvironmentVariable}: {e.Message}", e);
            }
            return _global = p;
        }
    }

    /// <summary>Sets the global policy.</summary>
    public static void SetGlobalPolicy(DTypePolicy policy) => _global = policy ?? throw new ArgumentNullException(nameof(policy));

    /// <summary>Sets the global policy by name (<c>float32</c>, <c>mixed_bfloat16</c>, <c>mixed_float16</c>, <c>bfloat16</c>,
    /// <c>float16</c>).</summary>
    public static void SetGlobalPolicy(string name) => SetGlobalPolicy(DTypePolicy.Parse(name));
}
