using System.Globalization;
using System.Net.Http.Headers;
using System.Text.Json;

namespace DualFramework.Serving;

/// <summary>What a predict call returned: which version answered, and the outputs.</summary>
/// <param name="Model">Model name.</param>
/// <param name="Version">The version that answered.</param>
/// <param name="Outputs">The outputs (the binary form returns one; the JSON form returns all, as float64).</param>
public sealed record PredictResult(string Model, long Version, IReadOnlyList<NamedTensor> Outputs);

/// <summary>A small HTTP client of the model server's predict API (binary and JSON forms), for samples, tests and load drivers.</summary>
public sealed class ServingClient : IDisposable
{
    private readonly HttpClient _http;

    /// <summary>A client of the server at <paramref name="address"/>; <paramref name="handler"/> defaults to a pooled
    /// <see cref="SocketsHttpHandler"/> (one connection per concurrent request).</summary>
    public ServingClient(Uri address, HttpMessageHandler? handler = null)
    {
        ArgumentNullException.ThrowIfNull(address);
        _http = new HttpClient(handler ?? new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(10) })
        {
            BaseAddress = address,
            Timeout = TimeSpan.FromSeconds(60),
        };
    }

    /// <summary>The underlying HTTP client (for the status endpoints).</summary>
    public HttpClient Http => _http;

    /// <summary>Predicts with the binary form: one raw input tensor in, the first (or <paramref name="outputName"/>) output back.</summary>
    public async Task<PredictResult> PredictBinaryAsync(string model, NamedTensor input, long? version = null, string? outputName = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(input);
        using var request = new HttpRequestMessage(HttpMethod.Post, PredictPath(model, version));
        var content = new ReadOnlyMemoryContent(BinaryTensorCodec.AsBytes(input.Data));
        content.Headers.ContentType = new MediaTypeHeaderValue(BinaryTensorCodec.ContentType);
        request.Content = content;
        request.Headers.Add(BinaryTensorCodec.ShapeHeader, BinaryTensorCodec.FormatShape(input.Shape));
        request.Headers.Add(BinaryTensorCodec.DTypeHeader, input.DType.Name());
        if (input.Name.Length > 0) request.Headers.Add(BinaryTensorCodec.InputNameHeader, input.Name);
        if (outputName != null) request.Headers.Add(BinaryTensorCodec.OutputNameHeader, outputName);
        using var response = await _http.SendAsync(request, cancellationToken).ConfigureAwait(false);
        await ThrowOnErrorAsync(response, cancellationToken).ConfigureAwait(false);
        var headers = response.Headers;
        var dtype = TensorDTypes.Parse(Header(headers, BinaryTensorCodec.DTypeHeader)) ?? throw new InvalidDataException("the response has no valid X-Dtype");
        var shape = BinaryTensorCodec.ParseShape(Header(headers, BinaryTensorCodec.ShapeHeader)) ?? throw new InvalidDataException("the response has no valid X-Shape");
        var bytes = await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
        var data = dtype.Allocate(checked((int)NamedTensor.ElementCount(shape)));
        if (bytes.Length != data.Length * dtype.Size()) throw new InvalidDataException($"the response has {bytes.Length} bytes for shape {TensorSignature.FormatShape(shape)} of {dtype.Name()}");
        bytes.CopyTo(BinaryTensorCodec.AsBytes(data));
        return new PredictResult(Header(headers, BinaryTensorCodec.ModelNameHeader) ?? model, ParseVersion(Header(headers, BinaryTensorCodec.ModelVersionHeader)),
            [new NamedTensor(Header(headers, BinaryTensorCodec.OutputNameHeader) ?? "", dtype, shape, data)]);
    }

    /// <summary>Predicts with the JSON form (every output comes back, read as float64).</summary>
    public async Task<PredictResult> PredictJsonAsync(string model, IReadOnlyList<NamedTensor> inputs, long? version = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        var body = new MemoryStream();
        using (var w = new Utf8JsonWriter(body))
        {
            w.WriteStartObject();
            w.WriteStartObject("inputs");
            foreach (var t in inputs)
            {
                w.WritePropertyName(t.Name);
                JsonTensorCodec.WriteTensor(w, t);
            }
            w.WriteEndObject();
            w.WriteEndObject();
        }
        using var content = new ByteArrayContent(body.GetBuffer(), 0, (int)body.Length);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        using var response = await _http.PostAsync(PredictPath(model, version), content, cancellationToken).ConfigureAwait(false);
        await ThrowOnErrorAsync(response, cancellationToken).ConfigureAwait(false);
        using var doc = JsonDocument.Parse(await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false));
        var root = doc.RootElement;
        var spec = root.GetProperty("model_spec");
        var outputs = root.GetProperty("outputs").EnumerateObject().Select(p => ReadDoubles(p.Name, p.Value)).ToArray();
        return new PredictResult(spec.GetProperty("name").GetString() ?? model, ParseVersion(spec.GetProperty("version").GetString()), outputs);
    }

    /// <summary>The path of the predict endpoint.</summary>
    public static string PredictPath(string model, long? version) =>
        version is { } v ? $"v1/models/{Uri.EscapeDataString(model)}/versions/{v.ToString(CultureInfo.InvariantCulture)}:predict" : $"v1/models/{Uri.EscapeDataString(model)}:predict";

    /// <inheritdoc />
    public void Dispose() => _http.Dispose();

    private static NamedTensor ReadDoubles(string name, JsonElement value)
    {
        var shape = new List<long>();
        var e = value;
        while (e.ValueKind == JsonValueKind.Array)
        {
            shape.Add(e.GetArrayLength());
            if (e.GetArrayLength() == 0) break;
            e = e[0];
        }
        var data = new List<double>();
        Flatten(value, data);
        return new NamedTensor(name, TensorDType.Float64, shape.ToArray(), data.ToArray());
    }

    private static void Flatten(JsonElement e, List<double> into)
    {
        if (e.ValueKind == JsonValueKind.Array)
            foreach (var item in e.EnumerateArray()) Flatten(item, into);
        else if (e.ValueKind == JsonValueKind.String)
            into.Add(double.Parse(e.GetString()!, CultureInfo.InvariantCulture)); // "NaN", "Infinity", "-Infinity"
        else
            into.Add(e.GetDouble());
    }

    private static async Task ThrowOnErrorAsync(HttpResponseMessage response, CancellationToken ct)
    {
        if (response.IsSuccessStatusCode) return;
        var text = await response.Content.ReadAsStringAsync(ct).ConfigureAwait(false);
        string message = text;
        try
        {
            using var doc = JsonDocument.Parse(text);
            if (doc.RootElement.TryGetProperty("error", out var error)) message = error.GetString() ?? text;
        }
        catch (JsonException) { }
        throw new ServingException((int)response.StatusCode, message);
    }

    private static string? Header(HttpResponseHeaders headers, string name) =>
        headers.TryGetValues(name, out var values) ? values.FirstOrDefault() : null;

    private static long ParseVersion(string? text) =>
        long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out long v) ? v : throw new InvalidDataException($"the response names no valid model version ('{text}')");
}
