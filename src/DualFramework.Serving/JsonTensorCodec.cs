using System.Text.Json;

namespace DualFramework.Serving;

/// <summary>
/// The JSON form of the predict API: <c>{"inputs": {"NAME": nested arrays}}</c> (or <c>{"inputs": nested arrays}</c> for a
/// one-input model) in, <c>{"model_spec": {...}, "outputs": {"NAME": nested arrays}}</c> out.
/// </summary>
internal static class JsonTensorCodec
{
    /// <summary>Parses the body; a 400 names what is malformed.</summary>
    public static JsonDocument Parse(ReadOnlyMemory<byte> body)
    {
        try
        {
            return JsonDocument.Parse(body, new JsonDocumentOptions { MaxDepth = 64 });
        }
        catch (JsonException e)
        {
            throw ServingException.BadRequest($"malformed JSON: {e.Message}");
        }
    }

    /// <summary>Reads the request's inputs as the model's signatures say (names, dtypes, shapes are checked).</summary>
    public static NamedTensor[] ReadInputs(JsonElement root, IReadOnlyList<TensorSignature> signatures)
    {
        if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("inputs", out var inputs))
            throw ServingException.BadRequest("the body must be a JSON object with an \"inputs\" field: {\"inputs\": {\"NAME\": [[...]]}}");
        var given = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
        if (inputs.ValueKind == JsonValueKind.Object)
        {
            foreach (var p in inputs.EnumerateObject()) given[p.Name] = p.Value;
        }
        else if (signatures.Count == 1)
        {
            given[signatures[0].Name] = inputs; // the one-input shorthand
        }
        else
        {
            throw ServingException.BadRequest($"\"inputs\" must be an object naming each of the model's inputs ({string.Join(", ", signatures.Select(s => s.Name))})");
        }
        PredictValidation.CheckNames(given.Keys, signatures);
        return signatures.Select(s => ReadTensor(s, given[s.Name])).ToArray();
    }

    private static NamedTensor ReadTensor(TensorSignature signature, JsonElement value)
    {
        var shape = new List<long>();
        var e = value;
        while (e.ValueKind == JsonValueKind.Array)
        {
            int n = e.GetArrayLength();
            shape.Add(n);
            if (n == 0) break;
            e = e[0];
        }
        // Structure first (rectangular, numbers), then the shape: the message names the first thing wrong.
        long count = NamedTensor.ElementCount(shape);
        if (count is < 0 or > int.MaxValue) PredictValidation.CheckShape(signature, shape.ToArray());
        var data = signature.DType.Allocate((int)count);
        int written = 0;
        Fill(signature, value, shape, 0, data, ref written);
        PredictValidation.CheckShape(signature, shape.ToArray());
        return new NamedTensor(signature.Name, signature.DType, shape.ToArray(), data);
    }

    private static void Fill(TensorSignature s, JsonElement e, List<long> shape, int depth, Array data, ref int index)
    {
        if (depth == shape.Count)
        {
            if (e.ValueKind != JsonValueKind.Number)
                throw ServingException.BadRequest($"input '{s.Name}': expected a number at depth {depth}, found {Describe(e)} (nested arrays must be rectangular)");
            Store(s, e, data, index++);
            return;
        }
        if (e.ValueKind != JsonValueKind.Array || e.GetArrayLength() != shape[depth])
            throw ServingException.BadRequest($"input '{s.Name}': expected an array of {shape[depth]} at depth {depth}, found {Describe(e)} (nested arrays must be rectangular)");
        foreach (var item in e.EnumerateArray()) Fill(s, item, shape, depth + 1, data, ref index);
    }

    private static void Store(TensorSignature s, JsonElement e, Array data, int i)
    {
        bool ok;
        switch (data)
        {
            case float[] f:
                ok = e.TryGetDouble(out double d) && (float.IsFinite((float)d) || !double.IsFinite(d));
                f[i] = (float)d;
                break;
            case double[] f:
                ok = e.TryGetDouble(out f[i]);
                break;
            case int[] f:
                ok = e.TryGetInt32(out f[i]);
                break;
            default:
                ok = e.TryGetInt64(out ((long[])data)[i]);
                break;
        }
        if (!ok) throw ServingException.BadRequest($"input '{s.Name}' is {s.DType.Name()}: {e.GetRawText()} does not fit");
    }

    private static string Describe(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.Array => $"an array of {e.GetArrayLength()}",
        JsonValueKind.Number => "a number",
        JsonValueKind.String => "a string",
        JsonValueKind.Object => "an object",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        _ => "null",
    };

    /// <summary>Writes the response: which version answered and every output as nested arrays (non-finite floats as strings).</summary>
    public static void WriteResponse(Utf8JsonWriter w, ServedVersion version, IReadOnlyList<NamedTensor> outputs)
    {
        w.WriteStartObject();
        w.WriteStartObject("model_spec");
        w.WriteString("name", version.Model);
        w.WriteString("version", version.Version.ToString(System.Globalization.CultureInfo.InvariantCulture));
        w.WriteEndObject();
        w.WriteStartObject("outputs");
        foreach (var o in outputs)
        {
            w.WritePropertyName(o.Name);
            WriteTensor(w, o);
        }
        w.WriteEndObject();
        w.WriteEndObject();
    }

    /// <summary>Writes a tensor as nested arrays.</summary>
    public static void WriteTensor(Utf8JsonWriter w, NamedTensor t)
    {
        int index = 0;
        WriteNested(w, t, 0, ref index);
    }

    private static void WriteNested(Utf8JsonWriter w, NamedTensor t, int depth, ref int index)
    {
        if (depth == t.Shape.Length)
        {
            switch (t.Data)
            {
                case float[] f: WriteFloat(w, f[index]); break;
                case double[] f: WriteFloat(w, f[index]); break;
                case int[] f: w.WriteNumberValue(f[index]); break;
                default: w.WriteNumberValue(((long[])t.Data)[index]); break;
            }
            index++;
            return;
        }
        w.WriteStartArray();
        for (long i = 0; i < t.Shape[depth]; i++) WriteNested(w, t, depth + 1, ref index);
        w.WriteEndArray();
    }

    // JSON has no NaN or infinity: they go out as the strings "NaN", "Infinity", "-Infinity".
    private static void WriteFloat(Utf8JsonWriter w, double v)
    {
        if (double.IsFinite(v)) w.WriteNumberValue(v);
        else w.WriteStringValue(double.IsNaN(v) ? "NaN" : v > 0 ? "Infinity" : "-Infinity");
    }

    private static void WriteFloat(Utf8JsonWriter w, float v)
    {
        if (float.IsFinite(v)) w.WriteNumberValue(v);
        else w.WriteStringValue(float.IsNaN(v) ? "NaN" : v > 0 ? "Infinity" : "-Infinity");
    }

    /// <summary>Writes <c>{"error": message}</c>.</summary>
    public static void WriteError(Utf8JsonWriter w, string message)
    {
        w.WriteStartObject();
        w.WriteString("error", message);
        w.WriteEndObject();
    }
}
