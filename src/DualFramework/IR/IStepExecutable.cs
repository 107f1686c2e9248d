namespace DualFramework.IR;

/// <summary>Where a graph input of a compiled step gets its value from.</summary>
public enum StepInputKind
{
    /// <summary>A state tensor (a variable's value), updated in place by the step.</summary>
    State,

    /// <summary>An argument of the call.</summary>
    Argument,

    /// <summary>A host scalar (learning rate, bias correction, random seed) computed before each step.</summary>
    Scalar,
}

/// <summary>The feed of one graph input: its kind and the index among the state tensors, arguments or host scalars.</summary>
/// <param name="Kind">Where the value comes from.</param>
/// <param name="Index">Index into the state tensors, the arguments or the scalars passed to
/// <see cref="IStepExecutable.RunStep"/>.</param>
public readonly record struct StepInput(StepInputKind Kind, int Index);

/// <summary>
/// An executable that runs the repeated steps of a compiled function without managed allocation: it owns buffers for the
/// arguments (copied in), the host scalars and the results, binds them once, and keeps each state tensor's value in two
/// alternating buffers of its own memory (the new value is written into one while the other is read, then swapped into
/// the state tensor, which stays the same object).
/// </summary>
public interface IStepExecutable : IExecutable
{
    /// <summary>
    /// Fixes the feed of every graph input (in graph input order) and the number of results: outputs
    /// <c>0 .. results−1</c> are results, output <c>results + j</c> is the new value of state tensor j. Every state tensor
    /// must be fed to exactly one input. Called once, before <see cref="RunStep"/>.
    /// </summary>
    void PrepareSteps(ReadOnlySpan<StepInput> inputs, int results);

    /// <summary>
    /// Runs one step: copies <paramref name="args"/> into the executable's buffers, writes <paramref name="scalars"/>
    /// (converted to each input's dtype), runs, and swaps each state tensor's buffer with the one holding its new value.
    /// Returns the results: tensors owned by the executable, overwritten by the next step and freed with it.
    /// </summary>
    ReadOnlySpan<Tensor> RunStep(scoped ReadOnlySpan<Tensor> state, scoped ReadOnlySpan<Tensor> args, scoped ReadOnlySpan<double> scalars);
}
