using DualFramework.NN;

namespace DualFramework.Data;

/// <summary>Where an item sits in a pass: passed to context-aware <c>Map</c> functions.</summary>
/// <param name="Epoch">The epoch being enumerated.</param>
/// <param name="Index">Position of the item in the <c>Map</c>'s input stream for this pass (0-based).</param>
public readonly record struct ItemContext(long Epoch, long Index)
{
    /// <summary>
    /// A generator determined by (<paramref name="seed"/>, <see cref="Epoch"/>, <see cref="Index"/>) only, so random
    /// augmentations are reproducible whatever the parallelism and however a run was resumed.
    /// </summary>
    /// <param name="seed">The augmentation seed.</param>
    public SeededRandom CreateRandom(long seed) => new(DataSeeds.Derive(seed, Epoch, Index));
}
