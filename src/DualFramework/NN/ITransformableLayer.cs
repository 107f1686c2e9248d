namespace DualFramework.NN;

/// <summary>
/// A layer with a weight (<see cref="Linear"/>, <see cref="Conv1d"/>, <see cref="Conv2d"/>) whose forward can pass its
/// input and its weight through optional transform modules before the layer's own op. Quantization-aware training uses
/// them to insert fake quantization (see <c>docs/quantization.md ("Quantization-aware training")</c>); any shape- and dtype-preserving map fits (weight noise,
/// weight normalisation, input clipping).
/// </summary>
/// <remarks>
/// The transforms are registered as child modules named <see cref="InputTransformName"/> and
/// <see cref="WeightTransformName"/>, so their buffers join the state dict (e.g. <c>0.input_transform.min_val</c>) while
/// the layer's own variables keep their names (<c>0.weight</c>, <c>0.bias</c>), and they follow the layer's
/// training/evaluation mode. Attaching happens once per transform: modules cannot be unregistered.
/// </remarks>
public interface ITransformableLayer
{
    /// <summary>Child name of the input transform.</summary>
    const string InputTransformName = "input_transform";

    /// <summary>Child name of the weight transform.</summary>
    const string WeightTransformName = "weight_transform";

    /// <summary>The weight the layer reads (the transform sees its current value).</summary>
    Variable Weight { get; }

    /// <summary>Module applied (through <see cref="Module.Call"/>) to the input before the layer's op, or null.</summary>
    Module? InputTransform { get; }

    /// <summary>Module applied (through <see cref="Module.Call"/>) to the weight's value in every forward, or null; gradients
    /// reach the weight through it.</summary>
    Module? WeightTransform { get; }

    /// <summary>
    /// Attaches transforms (null leaves that slot as it is). Each must return a tensor of its operand's shape and dtype.
    /// The attached modules take the layer's current training mode.
    /// </summary>
    /// <exception cref="InvalidOperationException">A slot being set already holds a transform.</exception>
    void SetTransforms(Module? inputTransform, Module? weightTransform);
}

// Shared implementation of ITransformableLayer for Linear and ConvNd (which own the protected RegisterModule).
internal static class LayerTransforms
{
    public static void CheckFree(string layer, Module? current, Module? next, string slot)
    {
        if (next != null && current != null)
            throw new InvalidOperationException($"{layer}: the {slot} transform is already set ({current.GetType().Name}); transforms can be attached once.");
    }

    public static T Attach<T>(T module, bool training, Func<string, T, T> register, string name) where T : Module
    {
        module.SetTraining(training);
        return register(name, module);
    }

    // Runs a transform and checks it kept the operand's spec: a reshaping transform would otherwise fail later, in the
    // layer's op, with a message that does not name the transform.
    public static Tensor Apply(string layer, Module? transform, Tensor x)
    {
        if (transform == null) return x;
        var y = transform.Call(x);
        if (y.Spec != x.Spec)
            throw LayerChecks.InputError(layer, x, $"transform {transform.GetType().Name} must keep the operand's {x.Spec}, returned {y.Spec}");
        return y;
    }
}
