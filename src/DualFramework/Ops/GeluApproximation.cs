namespace DualFramework;

/// <summary>Which form of GELU is computed (PyTorch's <c>approximate='none'|'tanh'</c>).</summary>
public enum GeluApproximation
{
    /// <summary>Exact: x·Φ(x) = ½x(1 + erf(x/√2)).</summary>
    None,

    /// <summary>The tanh form: ½x(1 + tanh(√(2/π)(x + 0.044715x³))).</summary>
    Tanh,
}
