namespace DualFramework.NN;

/// <summary>A module that draws random numbers (e.g. dropout) from its own <see cref="DualFramework.Generator"/>;
/// checkpoints save and restore the generator's position so a resumed run draws the same numbers.</summary>
public interface IHasGenerator
{
    /// <summary>The module's generator.</summary>
    Generator Generator { get; }
}
