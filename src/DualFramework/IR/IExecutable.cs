namespace DualFramework.IR;

/// <summary>A graph compiled by a backend for execution.</summary>
public interface IExecutable : IDisposable
{
    /// <summary>Runs the graph on concrete <paramref name="inputs"/> (in graph input order) and returns its outputs. The
    /// outputs belong to the current <see cref="TensorScope"/>; an output that is a graph input is the input tensor itself.</summary>
    Tensor[] Run(Tensor[] inputs);
}
