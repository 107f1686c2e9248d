using System.Globalization;
using System.Runtime.InteropServices;
using Microsoft.AspNetCore.Http;

namespace DualFramework.Serving;

/// <summary>
/// The binary form of the predict API, for speed: the body is one raw little-endian tensor, described by headers
/// (<c>X-Shape: 1,1,28,28</c>, <c>X-Dtype: float32</c>, optional <c>X-Input-Name</c>); the answer is one raw output
/// (<c>X-Output-Name</c> picks it; the first by default) with the same headers plus <c>X-Model-Name</c>, <c>X-Model-Version</c>.
/// </summary>
public static class BinaryTensorCodec
{
    /// <summary>The content type of the binary form.</summary>
    public const string ContentType = "application/octet-stream";

    /// <summary>Header names of the binary form.</summary>
    public const string ShapeHeader = "X-Shape", DTypeHeader = "X-Dtype", InputNameHeader = "X-Input-Name",
        OutputNameHeader = "X-Output-Name", ModelNameHeader = "X-Model-Name", ModelVersionHeader = "X-Model-Version";

    /// <summary>Parses <c>1,1,28,28</c>; null when malformed.</summary>
    public static long[]? ParseShape(string? text)
    {
        if (text is null) return null;
        var parts = text.Split(',', StringSplitOptions.TrimEntries);
        if (parts.Length == 1 && parts[0].Length == 0) return [];
        var shape = new long[parts.Length];
        for (int i = 0; i < parts.Length; i++)
            if (!long.TryParse(parts[i], NumberStyles.None, CultureInfo.InvariantCulture, out shape[i])) return null;
        return shape;
    }

    /// <summary>Formats a shape as the <c>X-Shape</c> header does.</summary>
    public static string FormatShape(IReadOnlyList<long> shape) => string.Join(",", shape);

    /// <summary>Reads the request's one tensor (shape and dtype from its headers, its exact size checked) before any version is leased.</summary>
    internal static async Task<(string? Name, NamedTensor Tensor)> ReadAsync(HttpRequest request, long maxBytes, CancellationToken ct)
    {
        var shape = ParseShape(request.Headers[ShapeHeader].ToString() is { Length: > 0 } s ? s : null)
            ?? throw ServingException.BadRequest($"the binary form needs an {ShapeHeader} header such as '1,1,28,28' (got '{request.Headers[ShapeHeader]}')");
        var dtypeText = request.Headers[DTypeHeader].ToString();
        var dtype = dtypeText.Length == 0 ? TensorDType.Float32 : TensorDTypes.Parse(dtypeText)
            ?? throw ServingException.BadRequest($"unknown {DTypeHeader} '{dtypeText}': use float32, float64, int32 or int64");
        long count = NamedTensor.ElementCount(shape);
        if (count < 0 || count * dtype.Size() > int.MaxValue)
            throw ServingException.BadRequest($"shape {TensorSignature.FormatShape(shape)} is too large");
        long bytes = count * dtype.Size();
        if (bytes > maxBytes) throw ServingException.BodyTooLarge(maxBytes);
        if (request.ContentLength is { } length && length != bytes)
            throw ServingException.BadRequest($"the body has {length} bytes; shape {TensorSignature.FormatShape(shape)} of {dtype.Name()} needs {bytes}");
        var data = dtype.Allocate((int)count);
        var buffer = AsBytes(data);
        int read = 0;
        while (read < buffer.Length)
        {
            int n = await request.Body.ReadAsync(buffer[read..], ct).ConfigureAwait(false);
            if (n == 0) break;
            read += n;
        }
        if (read < buffer.Length || await request.Body.ReadAsync(new byte[1], ct).ConfigureAwait(false) > 0)
            throw ServingException.BadRequest($"the body does not hold exactly {bytes} bytes (shape {TensorSignature.FormatShape(shape)} of {dtype.Name()})");
        var name = request.Headers[InputNameHeader].ToString();
        return (name.Length == 0 ? null : name, new NamedTensor(name, dtype, shape, data));
    }

    /// <summary>The leased version's input for a binary request: named, or the only one; dtype and shape checked.</summary>
    internal static NamedTensor Bind(string? name, NamedTensor tensor, IReadOnlyList<TensorSignature> inputs)
    {
        TensorSignature signature;
        if (name is null)
        {
            if (inputs.Count != 1)
                throw ServingException.BadRequest($"the model has {inputs.Count} inputs ({string.Join(", ", inputs.Select(i => i.Name))}): name one in {InputNameHeader}, or use the JSON form");
            signature = inputs[0];
        }
        else
        {
            PredictValidation.CheckNames([name], inputs);
            signature = inputs.Single(i => i.Name == name);
        }
        PredictValidation.CheckDType(signature, tensor.DType);
        PredictValidation.CheckShape(signature, tensor.Shape);
        return tensor with { Name = signature.Name };
    }

    /// <summary>The output a binary request asked for (<c>X-Output-Name</c>), or the first.</summary>
    internal static NamedTensor PickOutput(HttpRequest request, IReadOnlyList<NamedTensor> outputs)
    {
        var name = request.Headers[OutputNameHeader].ToString();
        if (name.Length == 0) return outputs[0];
        return outputs.FirstOrDefault(o => o.Name == name)
            ?? throw ServingException.BadRequest($"the model has no output '{name}'; its outputs: {string.Join(", ", outputs.Select(o => o.Name))}");
    }

    /// <summary>The raw little-endian bytes of a tensor's data.</summary>
    public static Memory<byte> AsBytes(Array data) => data switch
    {
        float[] a => new ArrayMemory<float>(a).Memory,
        double[] a => new ArrayMemory<double>(a).Memory,
        int[] a => new ArrayMemory<int>(a).Memory,
        long[] a => new ArrayMemory<long>(a).Memory,
        _ => throw new ArgumentException($"unsupported tensor data {data.GetType().Name}", nameof(data)),
    };

    // A byte view of a typed array without copying (the server assumes a little-endian host, as ONNX Runtime's CPU builds are).
    private sealed class ArrayMemory<T>(T[] array) : System.Buffers.MemoryManager<byte> where T : unmanaged
    {
        public override Span<byte> GetSpan() => MemoryMarshal.AsBytes(array.AsSpan());

        public override System.Buffers.MemoryHandle Pin(int elementIndex = 0)
        {
            var handle = GCHandle.Alloc(array, GCHandleType.Pinned);
            unsafe { return new System.Buffers.MemoryHandle((byte*)handle.AddrOfPinnedObject() + elementIndex, handle); }
        }

        public override void Unpin() { }

        protected override void Dispose(bool disposing) { }
    }
}
