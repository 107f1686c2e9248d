namespace DualFramework.IR;

/// <summary>
/// The signature of one argument of a <see cref="CompiledFunction"/> with open dims, as <c>tf.TensorSpec([None, 784])</c>:
/// each dim is a size, a symbol name (dims with the same name have the same size in every call) or null (open, its own
/// symbol). One trace serves every size of the open dims.
/// </summary>
public sealed class TensorSignature
{
    private readonly object?[] _dims;

    /// <summary>Creates a signature: <paramref name="dims"/> holds per axis a size (<see cref="long"/> or <see cref="int"/>),
    /// a symbol name (<see cref="string"/>) or null.</summary>
    /// <exception cref="ArgumentException">A dim is of another type, negative, or an empty name.</exception>
    public TensorSignature(DType dtype, params object?[] dims)
    {
        ArgumentNullException.ThrowIfNull(dims);
        DType = dtype;
        _dims = new object?[dims.Length];
        for (int a = 0; a < dims.Length; a++)
        {
            _dims[a] = dims[a] switch
            {
                null => null,
                int i when i >= 0 => (long)i,
                long l when l >= 0 => l,
                string s when s.Length > 0 => Dim.Symbol(s).SymbolName,
                _ => throw new ArgumentException($"Dim {a} of a signature must be a non-negative size, a symbol name or null, got {dims[a] ?? "null"}.", nameof(dims)),
            };
        }
    }

    /// <summary>The dtype.</summary>
    public DType DType { get; }

    /// <summary>Number of dims.</summary>
    public int Rank => _dims.Length;

    /// <summary>The size of dim <paramref name="axis"/>, or null when it is open.</summary>
    public long? SizeAt(int axis) => _dims[axis] as long?;

    /// <summary>The symbol name of dim <paramref name="axis"/>, or null when it is a size or an unnamed open dim.</summary>
    public string? NameAt(int axis) => _dims[axis] as string;

    /// <summary>True when dim <paramref name="axis"/> is open (named or not).</summary>
    public bool IsOpen(int axis) => _dims[axis] is not long;

    /// <summary>True when <paramref name="spec"/> fits: same dtype and rank, the sizes of the fixed dims.</summary>
    public bool Accepts(TensorSpec spec)
    {
        if (spec.DType != DType || spec.Shape.Rank != Rank) return false;
        for (int a = 0; a < Rank; a++)
            if (SizeAt(a) is { } s && spec.Shape[a] != s) return false;
        return true;
    }

    /// <summary>Formats as <c>float32[batch, 784]</c> (<c>?</c> for an unnamed open dim).</summary>
    public override string ToString() => $"{DType.Name()}[{string.Join(", ", _dims.Select(d => d?.ToString() ?? "?"))}]";
}

/// <summary>
/// Which dims of a <see cref="CompiledFunction"/>'s arguments are open (symbolic): given per argument
/// (<see cref="Of"/>), or the leading axis of every argument (<see cref="SymbolicBatch"/>, what the Trainer uses so that a
/// last partial batch reuses the trace).
/// </summary>
public sealed class InputSignature
{
    private InputSignature(IReadOnlyList<TensorSignature>? arguments) => Arguments = arguments;

    /// <summary>The per-argument signatures, or null for <see cref="SymbolicBatch"/>.</summary>
    public IReadOnlyList<TensorSignature>? Arguments { get; }

    /// <summary>A signature per argument (count, dtypes, ranks and fixed sizes are checked on every call).</summary>
    public static InputSignature Of(params TensorSignature[] arguments)
    {
        ArgumentNullException.ThrowIfNull(arguments);
        if (arguments.Any(a => a == null)) throw new ArgumentNullException(nameof(arguments), "A signature is null.");
        return new(arguments);
    }

    /// <summary>Axis 0 of every argument of rank ≥ 1 is the symbol <c>batch</c>; the other dims, the dtypes and the ranks are
    /// those of the call (another rank, dtype or other size traces anew).</summary>
    public static InputSignature SymbolicBatch { get; } = new(null);

    /// <summary>The symbol name of each dim of each argument of a call (null for a fixed dim): open dims without a name are
    /// called <c>argI.A</c>.</summary>
    internal string?[][] Names(ReadOnlySpan<Tensor> args)
    {
        var names = new string?[args.Length][];
        for (int i = 0; i < args.Length; i++)
        {
            names[i] = new string?[args[i].Rank];
            for (int a = 0; a < names[i].Length; a++)
                names[i][a] = Arguments == null ? (a == 0 ? "batch" : null) : Arguments[i].IsOpen(a) ? Arguments[i].NameAt(a) ?? $"arg{i}.{a}" : null;
        }
        return names;
    }

    /// <inheritdoc />
    public override string ToString() => Arguments == null ? "(batch, …)" : $"({string.Join(", ", Arguments)})";
}
