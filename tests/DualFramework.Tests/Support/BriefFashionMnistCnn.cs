using DualFramework.Backends;
using DualFramework.Data;
using DualFramework.Losses;
using DualFramework.NN;
using DualFramework.Optim;
using DualFramework.Samples.FashionMnist;
using DualFramework.Training;

namespace DualFramework.Tests.Support;

/// <summary>The sample's CNN briefly trained on Fashion-MNIST, for the export tests that need a trained model on real data.</summary>
internal static class BriefFashionMnistCnn
{
    /// <summary>
    /// Trains <c>Models.Cnn</c> (seed 0) on the torch backend over the first <paramref name="images"/> shuffled training
    /// images (Adam 2e-3, batch 64, standardised pixels), then hands the model and a 1×1×28×28 sample input to
    /// <paramref name="export"/> (inside a tensor scope).
    /// </summary>
    public static void Train(FashionMnistData data, int images, Action<Module, Tensor> export)
    {
        // No tensor scope around training: it would keep every step's tensors alive until the end (the trainer frees them).
        using (BackendRegistry.Use(BackendRegistry.Get("torch")))
        using (var net = Models.Cnn(new SeededRandom(0)))
        {
            var train = data.Train.ToDataset().Shuffle(0).Take(images).Map(FashionMnistJob.Standardize).Batch(64).Prefetch(4);
            using var optimizer = new Adam(net.Parameters(), 2e-3);
            using var trainer = new Trainer(net);
            trainer.Compile(optimizer, new CrossEntropyLoss());
            trainer.Fit(train, 1);
            using var scope = TensorScope.Begin();
            export(net, Tensor.FromArray(new float[28 * 28], new Shape(1, 1, 28, 28)));
        }
    }
}
