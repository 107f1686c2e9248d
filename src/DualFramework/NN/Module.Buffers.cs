namespace DualFramework.NN;

public abstract partial class Module
{
    /// <summary>
    /// Registers a non-trainable buffer on this module from outside it (PyTorch's public <c>register_buffer</c>), e.g. a
    /// pruning mask: it is saved in the state dict and checkpoints like the module's own buffers. Takes ownership of
    /// <paramref name="init"/>. Compiled steps built before the call do not see the buffer (compile them again).
    /// </summary>
    public Variable AddBuffer(string name, Tensor init)
    {
        ArgumentNullException.ThrowIfNull(init);
        return RegisterBuffer(name, init);
    }

    /// <summary>Unregisters and frees this module's own buffer <paramref name="name"/>; returns false when there is none.</summary>
    public bool RemoveBuffer(string name)
    {
        int i = _buffers.FindIndex(b => b.Name == name);
        if (i < 0) return false;
        var v = _buffers[i].V;
        _buffers.RemoveAt(i);
        v.Dispose();
        return true;
    }
}
