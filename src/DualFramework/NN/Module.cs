namespace DualFramework.NN;

/// <summary>
/// Base class of layers and models: owns parameters (trainable <see cref="Variable"/>s), buffers (non-trainable ones) and
/// child modules, all with hierarchical names; switches between training and evaluation; saves and loads a state dict.
/// Written only against <see cref="Ops"/>, so a module runs unchanged on every backend.
/// </summary>
/// <remarks>
/// Register state in the constructor with <see cref="RegisterParameter"/>, <see cref="RegisterBuffer"/> and
/// <see cref="RegisterModule{T}"/>. Implement <see cref="Forward(Tensor)"/> (or a forward of your own signature wrapped in
/// <see cref="EnterLayer"/>), and call modules through <see cref="Call(Tensor)"/> so errors carry the layer path.
/// </remarks>
public abstract class Module : IDisposable
{
    private readonly List<(string Name, Variable V)> _parameters = [];
    private readonly List<(string Name, Variable V)> _buffers = [];
    private readonly List<(string Name, Module M)> _children = [];
    private bool _disposed;

    /// <summary>Name of this module inside its parent ("" for a root).</summary>
    public string LocalName { get; private set; } = "";

    /// <summary>True in training mode (the default); affects dropout and batch normalisation.</summary>
    public bool Training { get; private set; } = true;

    /// <summary>Registers a trainable parameter that takes ownership of <paramref name="init"/>.</summary>
    protected Variable RegisterParameter(string name, Tensor init) => Register(_parameters, name, new Variable(init, trainable: true, name));

    /// <summary>Registers a non-trainable buffer (saved in the state dict, not optimised).</summary>
    protected Variable RegisterBuffer(string name, Tensor init) => Register(_buffers, name, new Variable(init, trainable: false, name));

    private Variable Register(List<(string, Variable)> list, string name, Variable v)
    {
        CheckName(name);
        list.Add((name, v));
        return v;
    }

    /// <summary>Registers a child module under <paramref name="name"/>.</summary>
    protected T RegisterModule<T>(string name, T module) where T : Module
    {
        CheckName(name);
        if (!string.IsNullOrEmpty(module.LocalName)) throw new ArgumentException($"Module '{module.LocalName}' is already registered in another parent.", nameof(module));
        module.LocalName = name;
        _children.Add((name, module));
        return module;
    }

    private void CheckName(string name)
    {
        if (string.IsNullOrEmpty(name) || name.Contains('.'))
            throw new ArgumentException($"Invalid name '{name}': names must be non-empty and contain no '.'.", nameof(name));
        if (_parameters.Any(p => p.Name == name) || _buffers.Any(b => b.Name == name) || _children.Any(c => c.Name == name))
            throw new ArgumentException($"'{name}' is already registered in {GetType().Name}.", nameof(name));
    }

    /// <summary>Direct children with their names.</summary>
    public IEnumerable<(string Name, Module Module)> NamedChildren() => _children.Select(c => (c.Name, c.M));

    /// <summary>This module and all descendants, with dotted names ("" for this one).</summary>
    public IEnumerable<(string Name, Module Module)> NamedModules(string prefix = "")
    {
        yield return (prefix, this);
        foreach (var (n, m) in _children)
            foreach (var d in m.NamedModules(Join(prefix, n)))
                yield return d;
    }

    /// <summary>All trainable parameters with dotted names, in registration order (own first, then children's).</summary>
    public IEnumerable<(string Name, Variable Parameter)> NamedParameters(string prefix = "") => Walk(prefix, m => m._parameters);

    /// <summary>All buffers with dotted names.</summary>
    public IEnumerable<(string Name, Variable Buffer)> NamedBuffers(string prefix = "") => Walk(prefix, m => m._buffers);

    /// <summary>All trainable parameters.</summary>
    public IEnumerable<Variable> Parameters() => NamedParameters().Select(p => p.Parameter);

    /// <summary>Total number of trainable scalars.</summary>
    public long ParameterCount() => Parameters().Sum(p => p.Spec.Shape.NumElements);

    private IEnumerable<(string, Variable)> Walk(string prefix, Func<Module, List<(string Name, Variable V)>> select)
    {
        foreach (var (n, v) in select(this))
        {
            v.Name = Join(prefix, n);
            yield return (v.Name, v);
        }
        foreach (var (n, m) in _children)
            foreach (var d in m.Walk(Join(prefix, n), select))
                yield return d;
    }

    private static string Join(string prefix, string name) => prefix.Length == 0 ? name : prefix + "." + name;

    /// <summary>Sets training mode on this module and all descendants; returns this.</summary>
    public Module Train(bool training = true)
    {
        foreach (var (_, m) in NamedModules()) m.Training = training;
        return this;
    }

    /// <summary>Sets evaluation mode (same as <c>Train(false)</c>).</summary>
    public Module Eval() => Train(false);

    /// <summary>Current values of every parameter and buffer by dotted name (live tensors, not copies).</summary>
    public IReadOnlyDictionary<string, Tensor> StateDict()
    {
        var d = new Dictionary<string, Tensor>();
        foreach (var (n, v) in NamedParameters()) d[n] = v.Value;
        foreach (var (n, v) in NamedBuffers()) d[n] = v.Value;
        return d;
    }

    /// <summary>All variables (parameters then buffers) by dotted name.</summary>
    public IReadOnlyDictionary<string, Variable> NamedVariables()
    {
        var d = new Dictionary<string, Variable>();
        foreach (var (n, v) in NamedParameters()) d[n] = v;
        foreach (var (n, v) in NamedBuffers()) d[n] = v;
        return d;
    }

    /// <summary>
    /// Copies values into the module's variables. Checks names, shapes and dtypes first and reports every mismatch in one
    /// exception (nothing is changed then). With <paramref name="strict"/> false, missing and unexpected names are allowed.
    /// </summary>
    public void LoadStateDict(IReadOnlyDictionary<string, Tensor> state, bool strict = true)
    {
        var mine = NamedVariables();
        var problems = new List<string>();
        foreach (var (n, v) in mine)
        {
            if (!state.TryGetValue(n, out var t))
            {
                if (strict) problems.Add($"missing '{n}' ({v.Spec})");
            }
            else if (t.Spec != v.Spec) problems.Add($"'{n}': expected {v.Spec}, got {t.Spec}");
        }
        if (strict)
            foreach (var n in state.Keys.Where(k => !mine.ContainsKey(k)).Order())
                problems.Add($"unexpected '{n}'");
        if (problems.Count > 0)
            throw new StateDictException($"Cannot load state dict into {GetType().Name}: {problems.Count} problem(s): {string.Join("; ", problems)}", problems);
        foreach (var (n, v) in mine)
        {
            if (!state.TryGetValue(n, out var t)) continue;
            var copy = Tensor.FromBytes(ToBytes(t), t.Spec, v.Value.Backend);
            v.Assign(copy);
        }
    }

    private static byte[] ToBytes(Tensor t) => t.ToBytes();

    /// <summary>Enters this module's name on the layer path (dispose to leave); for forwards with custom signatures.</summary>
    protected LayerPath.Scope EnterLayer() => LayerPath.Enter(LocalName.Length == 0 ? GetType().Name : LocalName);

    /// <summary>Runs <see cref="Forward(Tensor)"/> with this module on the layer path.</summary>
    public Tensor Call(Tensor input)
    {
        using var _ = EnterLayer();
        return Forward(input);
    }

    /// <summary>The computation for one input. Modules with other signatures override nothing and define their own.</summary>
    public virtual Tensor Forward(Tensor input) =>
        throw new NotSupportedException($"{GetType().Name} does not take a single tensor input.");

    /// <summary>Frees every variable of this module and its descendants.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        foreach (var (_, v) in _parameters) v.Dispose();
        foreach (var (_, v) in _buffers) v.Dispose();
        foreach (var (_, m) in _children) m.Dispose();
        GC.SuppressFinalize(this);
    }
}
