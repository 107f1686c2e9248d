namespace DualFramework.Serving;

/// <summary>Checks of a request's inputs against a version's signatures, each failing with a 400 that names the problem.</summary>
internal static class PredictValidation
{
    public static void CheckNames(IEnumerable<string> given, IReadOnlyList<TensorSignature> signatures)
    {
        var names = given.ToHashSet(StringComparer.Ordinal);
        var expected = string.Join(", ", signatures.Select(s => s.Name));
        foreach (var n in names)
            if (!signatures.Any(s => s.Name == n))
                throw ServingException.BadRequest($"the model has no input '{n}'; its inputs: {expected}");
        foreach (var s in signatures)
            if (!names.Contains(s.Name))
                throw ServingException.BadRequest($"input '{s.Name}' is missing; the model's inputs: {expected}");
    }

    public static void CheckShape(TensorSignature signature, long[] shape)
    {
        if (NamedTensor.ElementCount(shape) is < 0 or > int.MaxValue)
            throw ServingException.BadRequest($"input '{signature.Name}': shape {TensorSignature.FormatShape(shape)} is invalid or too large");
        if (!signature.Accepts(shape))
            throw ServingException.BadRequest($"input '{signature.Name}' has shape {TensorSignature.FormatShape(shape)}; the model expects {signature.ShapeText} (-1: any size)");
    }

    public static void CheckDType(TensorSignature signature, TensorDType dtype)
    {
        if (signature.DType != dtype)
            throw ServingException.BadRequest($"input '{signature.Name}' is {dtype.Name()}; the model expects {signature.DType.Name()}");
    }
}
