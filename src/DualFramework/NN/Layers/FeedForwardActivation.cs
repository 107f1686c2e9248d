namespace DualFramework.NN;

/// <summary>The activation of a transformer block's feed-forward network (PyTorch's <c>activation='relu'|'gelu'</c>).</summary>
public enum FeedForwardActivation
{
    /// <summary>max(x, 0).</summary>
    Relu,

    /// <summary>Exact GELU (<see cref="GeluApproximation.None"/>).</summary>
    Gelu,
}
