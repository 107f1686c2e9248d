using DualFramework.Data;
using DualFramework.NN;

namespace DualFramework.Tests.Support;

/// <summary>A small seeded classification set for training tests: 96 samples of 8 features in 4 classes (feature j = class
/// gets +1.5, plus N(0, 0.5²) noise on every feature), shuffled and batched by 16.</summary>
public static class ClusterData
{
    public static Dataset<Batch> Batches(long seed)
    {
        var rng = new SeededRandom(seed);
        var x = new float[96 * 8];
        var y = new long[96];
        for (int i = 0; i < 96; i++)
        {
            y[i] = i % 4;
            for (int j = 0; j < 8; j++) x[i * 8 + j] = (float)((j == y[i] ? 1.5 : 0) + 0.5 * rng.Normal());
        }
        return Dataset.FromArrays(x, [8], y).Shuffle(3).Batch(16);
    }
}
