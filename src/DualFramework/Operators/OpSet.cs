namespace DualFramework.Operators;

/// <summary>
/// The op set: one static instance per op, each declaring its shape/dtype rule and its gradient rule. Grouped by family
/// in the <c>OpSet.*.cs</c> files. The user-facing functions that apply these ops are in <see cref="DualFramework.Ops"/>.
/// </summary>
public static partial class OpSet
{
    private static readonly int Initialized = OpRegistry.Count;

    /// <summary>Forces every op of the set to register (touching any static member does).</summary>
    internal static void EnsureInitialized() => _ = Initialized;
}
