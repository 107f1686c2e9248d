namespace DualFramework;

/// <summary>
/// Owns the tensors created on this thread while it is the innermost open scope, and disposes them when it is disposed.
/// </summary>
/// <remarks>
/// The lifetime rule: every tensor belongs to the innermost scope open on its thread when it was created, or to the caller
/// when no scope is open (then dispose it yourself). Wrap each loop iteration in <c>using var s = TensorScope.Begin();</c>
/// and hand the few tensors that must outlive the iteration to the enclosing scope with <see cref="Keep(Tensor)"/>
/// (or detach them with <see cref="Tensor.DetachFromScope"/>). Nothing created inside then survives the iteration, so native
/// memory stays flat however long the loop runs. Scopes nest and must be disposed in reverse order of creation.
/// </remarks>
public sealed class TensorScope : IDisposable
{
    [ThreadStatic] private static TensorScope? _current;

    private readonly TensorScope? _parent;
    private readonly List<Tensor> _owned = [];
    private bool _disposed;

    private TensorScope(TensorScope? parent) => _parent = parent;

    /// <summary>The innermost open scope on this thread, or null.</summary>
    public static TensorScope? Current => _current;

    /// <summary>Opens a new innermost scope.</summary>
    public static TensorScope Begin() => _current = new TensorScope(_current);

    /// <summary>Number of live tensors this scope owns.</summary>
    public int Count => _owned.Count(t => t.Scope == this && !t.IsDisposed);

    internal static void Track(Tensor t)
    {
        var s = _current;
        if (s == null) return;
        t.Scope = s;
        s._owned.Add(t);
    }

    /// <summary>Moves <paramref name="tensor"/> to the enclosing scope (or to the caller when there is none) and returns it.</summary>
    public Tensor Keep(Tensor tensor)
    {
        if (tensor.Scope != this) return tensor;
        tensor.Scope = _parent;
        _parent?._owned.Add(tensor);
        return tensor;
    }

    /// <summary>Moves every tensor in <paramref name="tensors"/> to the enclosing scope.</summary>
    public void Keep(IEnumerable<Tensor> tensors)
    {
        foreach (var t in tensors) Keep(t);
    }

    internal static void Release(Tensor t)
    {
        t.Scope = null;
    }

    /// <summary>Disposes every tensor still owned and closes the scope.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        if (_current != this)
            throw new InvalidOperationException("TensorScope disposed out of order: dispose the innermost scope first.");
        _current = _parent;
        foreach (var t in _owned)
            if (t.Scope == this) t.DisposeHandle();
        _owned.Clear();
    }
}
