using System.Collections;

namespace DualFramework.NN;

/// <summary>
/// Runs its children in order, each on the previous one's output (PyTorch's <c>nn.Sequential</c>). Children passed to the
/// constructor or <see cref="Append"/> are named by position ("0", "1", …), so parameters read <c>0.weight</c>,
/// <c>2.bias</c>…; <see cref="Add"/> names them explicitly.
/// </summary>
public sealed class Sequential : Module, IEnumerable<Module>
{
    private readonly List<Module> _modules = [];

    /// <summary>Creates the container from <paramref name="modules"/>, named "0", "1", ….</summary>
    public Sequential(params Module[] modules)
    {
        ArgumentNullException.ThrowIfNull(modules);
        foreach (var m in modules) Append(m);
    }

    /// <summary>Appends <paramref name="module"/> under the name of its position; returns this.</summary>
    public Sequential Append(Module module) => Add(_modules.Count.ToString(System.Globalization.CultureInfo.InvariantCulture), module);

    /// <summary>Appends <paramref name="module"/> under <paramref name="name"/> (unique, no '.'); returns this.</summary>
    public Sequential Add(string name, Module module)
    {
        ArgumentNullException.ThrowIfNull(module);
        if (ReferenceEquals(module, this)) throw new ArgumentException($"{nameof(Sequential)}: a module cannot contain itself.", nameof(module));
        RegisterModule(name, module);
        _modules.Add(module);
        return this;
    }

    /// <summary>Number of children.</summary>
    public int Count => _modules.Count;

    /// <summary>The child at <paramref name="index"/>.</summary>
    public Module this[int index] => _modules[index];

    /// <summary>Feeds the input through every child (with the child on the layer path).</summary>
    public override Tensor Forward(Tensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var x = input;
        foreach (var m in _modules) x = m.Call(x);
        return x;
    }

    /// <inheritdoc />
    public IEnumerator<Module> GetEnumerator() => _modules.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
