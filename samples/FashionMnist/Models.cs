using DualFramework.NN;

namespace DualFramework.Samples.FashionMnist;

/// <summary>The two models of the main job.</summary>
public static class Models
{
    /// <summary>784-256-10 multilayer perceptron.</summary>
    public static Module Mlp(SeededRandom rng) => new Sequential(
        new Flatten(),
        new Linear(28 * 28, 256, rng: rng),
        new ReLU(),
        new Linear(256, 10, rng: rng));

    /// <summary>conv32-pool-conv64-pool-fc128-fc10 (3×3 convolutions with padding 1, 2×2 max pooling).</summary>
    public static Module Cnn(SeededRandom rng) => new Sequential(
        new Conv2d(1, 32, 3, padding: 1, rng: rng),
        new ReLU(),
        new MaxPool2d(2),
        new Conv2d(32, 64, 3, padding: 1, rng: rng),
        new ReLU(),
        new MaxPool2d(2),
        new Flatten(),
        new Linear(64 * 7 * 7, 128, rng: rng),
        new ReLU(),
        new Linear(128, 10, rng: rng));

    /// <summary>The model called <paramref name="name"/>.</summary>
    public static Module Create(string name, SeededRandom rng) => name switch
    {
        "mlp" => Mlp(rng),
        "cnn" => Cnn(rng),
        _ => throw new ArgumentException($"unknown model '{name}' (mlp or cnn)"),
    };
}
