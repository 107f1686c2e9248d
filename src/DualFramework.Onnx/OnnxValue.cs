namespace DualFramework.Onnx;

/// <summary>The kinds of ONNX values a model's inputs and outputs can be.</summary>
public enum OnnxValueKind
{
    /// <summary>A tensor.</summary>
    Tensor,

    /// <summary>A sequence of tensors (ONNX <c>seq(tensor)</c>).</summary>
    Sequence,

    /// <summary>An optional value: empty, or holding a tensor or a sequence (ONNX <c>optional(...)</c>).</summary>
    Optional,
}

/// <summary>
/// A value at an imported model's boundary (<see cref="ImportedModel.Run(IReadOnlyList{OnnxValue})"/>): a tensor, a
/// sequence of tensors, or an optional that is empty or holds a tensor or a sequence. A tensor converts implicitly.
/// </summary>
public sealed class OnnxValue
{
    private readonly Tensor? _tensor;
    private readonly IReadOnlyList<Tensor>? _elements;
    private readonly OnnxValue? _element;

    private OnnxValue(OnnxValueKind kind, Tensor? tensor, IReadOnlyList<Tensor>? elements, OnnxValue? element)
    {
        Kind = kind;
        _tensor = tensor;
        _elements = elements;
        _element = element;
    }

    /// <summary>Which kind of value this is.</summary>
    public OnnxValueKind Kind { get; }

    /// <summary>The tensor of a <see cref="OnnxValueKind.Tensor"/> value.</summary>
    /// <exception cref="InvalidOperationException">The value is not a tensor.</exception>
    public Tensor Tensor => _tensor ?? throw new InvalidOperationException($"The value is a {Describe()}, not a tensor.");

    /// <summary>The elements of a <see cref="OnnxValueKind.Sequence"/> value, in order.</summary>
    /// <exception cref="InvalidOperationException">The value is not a sequence.</exception>
    public IReadOnlyList<Tensor> Elements => _elements ?? throw new InvalidOperationException($"The value is a {Describe()}, not a sequence.");

    /// <summary>Whether an <see cref="OnnxValueKind.Optional"/> value holds an element.</summary>
    /// <exception cref="InvalidOperationException">The value is not an optional.</exception>
    public bool HasElement => Kind == OnnxValueKind.Optional ? _element != null
        : throw new InvalidOperationException($"The value is a {Describe()}, not an optional.");

    /// <summary>The element of an <see cref="OnnxValueKind.Optional"/> value (a tensor or a sequence); null when it is empty.</summary>
    /// <exception cref="InvalidOperationException">The value is not an optional.</exception>
    public OnnxValue? Element => Kind == OnnxValueKind.Optional ? _element
        : throw new InvalidOperationException($"The value is a {Describe()}, not an optional.");

    /// <summary>A tensor value.</summary>
    public static OnnxValue FromTensor(Tensor tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        return new OnnxValue(OnnxValueKind.Tensor, tensor, null, null);
    }

    /// <summary>A sequence of <paramref name="elements"/> (all of one dtype; shapes may differ; it may be empty).</summary>
    /// <exception cref="ArgumentException">An element is null or the dtypes differ.</exception>
    public static OnnxValue FromSequence(IEnumerable<Tensor> elements)
    {
        ArgumentNullException.ThrowIfNull(elements);
        var list = elements.ToArray();
        if (list.Any(t => t is null)) throw new ArgumentException("A sequence element is null.", nameof(elements));
        if (list.Any(t => t.DType != list[0].DType))
            throw new ArgumentException($"Sequence elements must share one dtype, got {string.Join(", ", list.Select(t => t.DType.Name()).Distinct())}.", nameof(elements));
        return new OnnxValue(OnnxValueKind.Sequence, null, list, null);
    }

    /// <summary>An optional holding <paramref name="element"/> (a tensor or a sequence), or an empty one when it is null.</summary>
    /// <exception cref="ArgumentException"><paramref name="element"/> is itself an optional.</exception>
    public static OnnxValue Optional(OnnxValue? element)
    {
        if (element?.Kind == OnnxValueKind.Optional) throw new ArgumentException("An optional cannot hold an optional.", nameof(element));
        return new OnnxValue(OnnxValueKind.Optional, null, null, element);
    }

    /// <summary>An empty optional.</summary>
    public static OnnxValue EmptyOptional => Optional(null);

    /// <summary>A tensor value.</summary>
    public static implicit operator OnnxValue(Tensor tensor) => FromTensor(tensor);

    /// <summary>A tensor value (for languages without implicit conversions).</summary>
    public static OnnxValue ToOnnxValue(Tensor tensor) => FromTensor(tensor);

    /// <summary>Describes the value: the tensor's spec, the sequence's element specs, or the optional's content.</summary>
    public override string ToString() => Describe();

    private string Describe() => Kind switch
    {
        OnnxValueKind.Tensor => $"tensor {_tensor!.Spec}",
        OnnxValueKind.Sequence => $"sequence of {_elements!.Count} [{string.Join(", ", _elements.Select(t => t.Spec))}]",
        _ => _element == null ? "empty optional" : $"optional holding a {_element.Describe()}",
    };
}
