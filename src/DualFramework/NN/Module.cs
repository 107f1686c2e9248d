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
public abstract partial class Module : IDisposable
{
    private readonly List<(string Name, Variable V)> _parameters = [];
    private readonly List<(string Name, Variable V)> _buffers = [];
    private readonly List<(string Name, Module M)> _children = [];
    private Module? _parent;
    private bool _disposed;

    /// <summary>Name of this module inside its parent ("" for a root).</summary>
    public string LocalName { get; private set; } = "";

    /// <summary>Dotted path of this module from the root module that owns it ("" for a root), e.g. <c>encoder.fc1</c>.
    /// Every variable's <see cref="Variable.Name"/> is this path joined with the variable's local name.</summary>
    public string FullName => _parent == null ? "" : Join(_parent.FullName, LocalName);

    /// <summary>True in training mode (the default); affects dropout and batch normalisation.</summary>
    public bool Training { get; private set; } = true;

    /// <summary>Registers a trainable parameter that takes ownership of <paramref name="init"/>.</summary>
    protected Variable RegisterParameter(string name, Tensor init) => Register(_parameters, name, new Variable(InPolicyDType(init), trainable: true));

    /// <summary>Registers a non-trainable buffer (saved in the state dict, not optimised).</summary>
    protected Variable RegisterBuffer(string name, Tensor init) => Register(_buffers, name, new Variable(InPolicyDType(init), trainable: false));

    /// <summary>
    /// Registers an existing variable, taking ownership of it: as a parameter when <see cref="Variable.Trainable"/>, else as
    /// a buffer. Unlike <see cref="RegisterParameter"/>, <paramref name="name"/> may contain '.' (for state whose names come
    /// from elsewhere, e.g. ONNX initializers named <c>layer1.0.conv1.weight</c>); its first segment must not be the name of
    /// a child module.
    /// </summary>
    protected Variable RegisterVariable(string name, Variable variable)
    {
        ArgumentNullException.ThrowIfNull(variable);
        if (string.IsNullOrEmpty(name)) throw new ArgumentException("A variable name must be non-empty.", nameof(name));
        CheckUnique(name);
        return Add(variable.Trainable ? _parameters : _buffers, name, variable);
    }

    private Variable Register(List<(string, Variable)> list, string name, Variable v)
    {
        CheckName(name);
        return Add(list, name, v);
    }

    private Variable Add(List<(string, Variable)> list, string name, Variable v)
    {
        list.Add((name, v));
        // The name is assigned here, once: the full path from the root (updated once more if this module is attached to
        // a parent later), never by enumeration.
        v.Name = Join(FullName, name);
        return v;
    }

    /// <summary>
    /// Registers a child module under <paramref name="name"/>. The child's variables are renamed once, here, to their full
    /// dotted path from this module's root (a module built before it was attached had names relative to itself).
    /// </summary>
    protected T RegisterModule<T>(string name, T module) where T : Module
    {
        ArgumentNullException.ThrowIfNull(module);
        CheckName(name);
        if (module._parent != null)
            throw new ArgumentException($"Module '{module.FullName}' ({module.GetType().Name}) is already registered in another parent.", nameof(module));
        if (ReferenceEquals(module, this) || NamedModules().Any(m => ReferenceEquals(m.Module, module)) || module.NamedModules().Any(m => ReferenceEquals(m.Module, this)))
            throw new ArgumentException($"Registering {module.GetType().Name} as '{name}' in {GetType().Name} would make a cycle or share a module.", nameof(module));
        module.LocalName = name;
        module._parent = this;
        _children.Add((name, module));
        module.RenameVariables();
        return module;
    }

    // Gives every variable of this subtree its full path from the root; runs when the subtree is attached to a parent.
    private void RenameVariables()
    {
        var prefix = FullName;
        foreach (var (n, v) in Walk(prefix, m => m._parameters, trainableOnly: false)) v.Name = n;
        foreach (var (n, v) in Walk(prefix, m => m._buffers, trainableOnly: false)) v.Name = n;
    }

    private void CheckName(string name)
    {
        if (string.IsNullOrEmpty(name) || name.Contains('.'))
            throw new ArgumentException($"Invalid name '{name}': names must be non-empty and contain no '.'.", nameof(name));
        CheckUnique(name);
    }

    private void CheckUnique(string name)
    {
        var head = name.Split('.')[0];
        if (_parameters.Any(p => p.Name == name) || _buffers.Any(b => b.Name == name) || _children.Any(c => c.Name == name || c.Name == head)
            || _parameters.Concat(_buffers).Any(p => p.Name.Split('.')[0] == name))
            throw new ArgumentException($"'{name}' is already registered in {GetType().Name}.", nameof(name));
    }

    /// <summary>Direct children with their names.</summary>
    public IEnumerable<(string Name, Module Module)> NamedChildren() => _children.Select(c => (c.Name, c.M));

    /// <summary>This module and all descendants, with dotted names relative to this module, after
    /// <paramref name="prefix"/> ("" for this one).</summary>
    public IEnumerable<(string Name, Module Module)> NamedModules(string prefix = "")
    {
        yield return (prefix, this);
        foreach (var (n, m) in _children)
            foreach (var d in m.NamedModules(Join(prefix, n)))
                yield return d;
    }

    /// <summary>
    /// Trainable parameters of this module and its descendants (own first, then children's, in registration order), with
    /// dotted names relative to this module after <paramref name="prefix"/>. Frozen parameters (see <see cref="Freeze"/>)
    /// are left out. Enumerating renames nothing: <see cref="Variable.Name"/> stays the full path from the root.
    /// </summary>
    public IEnumerable<(string Name, Variable Parameter)> NamedParameters(string prefix = "") => Walk(prefix, m => m._parameters, trainableOnly: true);

    /// <summary>All buffers with dotted names relative to this module after <paramref name="prefix"/>.</summary>
    public IEnumerable<(string Name, Variable Buffer)> NamedBuffers(string prefix = "") => Walk(prefix, m => m._buffers, trainableOnly: false);

    /// <summary>All trainable (not frozen) parameters.</summary>
    public IEnumerable<Variable> Parameters() => NamedParameters().Select(p => p.Parameter);

    /// <summary>Total number of trainable scalars.</summary>
    public long ParameterCount() => Parameters().Sum(p => p.Spec.Shape.NumElements);

    private IEnumerable<(string, Variable)> Walk(string prefix, Func<Module, List<(string Name, Variable V)>> select, bool trainableOnly)
    {
        foreach (var (n, v) in select(this))
            if (!trainableOnly || v.Trainable)
                yield return (Join(prefix, n), v);
        foreach (var (n, m) in _children)
            foreach (var d in m.Walk(Join(prefix, n), select, trainableOnly))
                yield return d;
    }

    private static string Join(string prefix, string name) => prefix.Length == 0 ? name : prefix + "." + name;

    /// <summary>
    /// Freezes the parameters of this module and its descendants whose names (relative to this module) match
    /// <paramref name="where"/> (all when null): they stay in the state dict but stop requiring gradients and leave
    /// <see cref="Parameters"/>. Create optimizers (and compile trainers) after freezing. Returns how many changed.
    /// </summary>
    public int Freeze(Func<string, bool>? where = null) => SetTrainable(false, where);

    /// <summary>Makes frozen parameters whose names (relative to this module) match <paramref name="where"/> (all when null)
    /// trainable again; returns how many changed.</summary>
    public int Unfreeze(Func<string, bool>? where = null) => SetTrainable(true, where);

    private int SetTrainable(bool trainable, Func<string, bool>? where)
    {
        int changed = 0;
        foreach (var (n, v) in Walk("", m => m._parameters, trainableOnly: false))
            if (v.Trainable != trainable && (where == null || where(n)))
            {
                v.SetTrainable(trainable);
                changed++;
            }
        return changed;
    }

    /// <summary>Sets training mode on this module and all descendants. The typed, fluent forms are the extension methods
    /// <see cref="ModuleExtensions.Train{T}(T, bool)"/> and <see cref="ModuleExtensions.Eval{T}(T)"/>.</summary>
    public void SetTraining(bool training)
    {
        foreach (var (_, m) in NamedModules()) m.Training = training;
    }

    /// <summary>Current values of every parameter (frozen or not) and buffer by dotted name (live tensors, not copies).</summary>
    public IReadOnlyDictionary<string, Tensor> StateDict()
    {
        var d = new Dictionary<string, Tensor>();
        foreach (var (n, v) in NamedVariables()) d[n] = v.Value;
        return d;
    }

    /// <summary>All variables (parameters, frozen ones included, then buffers) by dotted name relative to this module.</summary>
    public IReadOnlyDictionary<string, Variable> NamedVariables()
    {
        var d = new Dictionary<string, Variable>();
        foreach (var (n, v) in Walk("", m => m._parameters, trainableOnly: false)) d[n] = v;
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

    /// <summary>Enters this module's name on the layer path and its dtype policy (<see cref="Policy"/>) for the duration of
    /// a forward (dispose to leave both); for forwards with custom signatures.</summary>
    protected LayerScope EnterLayer() => new(LayerPath.Enter(LocalName.Length == 0 ? GetType().Name : LocalName), EnterPolicy());

    /// <summary>Runs <see cref="Forward(Tensor)"/> with this module on the layer path, under its dtype policy (a pure
    /// low-precision policy casts a floating <paramref name="input"/> to its compute dtype first, as Keras layers do).</summary>
    public Tensor Call(Tensor input)
    {
        using var scope = EnterLayer();
        return Forward(scope.CastInput(input));
    }

    /// <summary>The computation for one input. Modules with other signatures override nothing and define their own.</summary>
    public virtual Tensor Forward(Tensor input) =>
        throw new NotSupportedException($"{GetType().Name} does not take a single tensor input.");

    /// <summary>Frees every variable of this module and its descendants (see <see cref="Dispose(bool)"/>).</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        Dispose(disposing: true);
        GC.SuppressFinalize(this);
    }

    /// <summary>True once <see cref="Dispose()"/> ran.</summary>
    protected bool IsDisposed => _disposed;

    /// <summary>
    /// Frees what this module owns: its variables and child modules. Override to free more (compiled graphs, native
    /// handles), and call the base implementation. Runs once; <paramref name="disposing"/> is false only from a finalizer
    /// a derived class may add (then free only unmanaged state).
    /// </summary>
    protected virtual void Dispose(bool disposing)
    {
        if (!disposing) return;
        foreach (var (_, v) in _parameters) v.Dispose();
        foreach (var (_, v) in _buffers) v.Dispose();
        foreach (var (_, m) in _children) m.Dispose();
    }
}
