namespace DualFramework.NN;

/// <summary>Fluent, typed mode switches for modules: <c>var net = new Net().Eval();</c> keeps the type <c>Net</c>.</summary>
public static class ModuleExtensions
{
    /// <summary>Sets training mode (or evaluation mode when <paramref name="training"/> is false) on
    /// <paramref name="module"/> and all its descendants; returns <paramref name="module"/> with its own type.</summary>
    public static T Train<T>(this T module, bool training = true) where T : Module
    {
        ArgumentNullException.ThrowIfNull(module);
        module.SetTraining(training);
        return module;
    }

    /// <summary>Sets evaluation mode (same as <c>Train(false)</c>); returns <paramref name="module"/> with its own type.</summary>
    public static T Eval<T>(this T module) where T : Module => module.Train(false);
}
