using DualFramework.NN;

namespace DualFramework.Samples.FashionMnist;

/// <summary>The two models of the main job.</summary>
public static class Models
{
    /// <summary>784-256-10 multilayer perceptron (with <paramref name="dropout"/> &gt; 0, dropout before the last layer).</summary>
    public static Module Mlp(SeededRandom rng, double dropout = 0) => new Sequential(
        [new Flatten(),
        new Linear(28 * 28, 256, rng: rng),
        new ReLU(),
        .. Dropped(dropout, rng),
        new Linear(256, 10, rng: rng)]);

    /// <summary>conv32-pool-conv64-pool-fc128-fc10 (3×3 convolutions with padding 1, 2×2 max pooling; with
    /// <paramref name="dropout"/> &gt; 0, dropout before the last layer).</summary>
    public static Module Cnn(SeededRandom rng, double dropout = 0) => new Sequential(
        [new Conv2d(1, 32, 3, padding: 1, rng: rng),
        new ReLU(),
        new MaxPool2d(2),
        new Conv2d(32, 64, 3, padding: 1, rng: rng),
        new ReLU(),
        new MaxPool2d(2),
        new Flatten(),
        new Linear(64 * 7 * 7, 128, rng: rng),
        new ReLU(),
        .. Dropped(dropout, rng),
        new Linear(128, 10, rng: rng)]);

    // A dropout layer seeded from the model's generator (its masks then repeat run to run), or none.
    private static Module[] Dropped(double p, SeededRandom rng) => p > 0 ? [new Dropout(p, rng)] : [];

    /// <summary>The model called <paramref name="name"/>.</summary>
    public static Module Create(string name, SeededRandom rng, double dropout = 0) => name switch
    {
        "mlp" => Mlp(rng, dropout),
        "cnn" => Cnn(rng, dropout),
        _ => throw new ArgumentException($"unknown model '{name}' (mlp or cnn)"),
    };
}
