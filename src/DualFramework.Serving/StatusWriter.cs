using System.Globalization;
using System.Text.Json;

namespace DualFramework.Serving;

/// <summary>The JSON of the status endpoints: <c>GET /v1/models</c>, <c>GET /v1/models/NAME[/versions/V]</c>, <c>GET /healthz</c>.</summary>
internal static class StatusWriter
{
    public static void WriteModel(Utf8JsonWriter w, ModelRepository repository, string model, long? version, VersionPolicy policy)
    {
        var status = repository.Status(model) ?? throw ServingException.NotFound($"model '{model}' is not served; models: {string.Join(", ", repository.ModelNames)}");
        if (version is { } v)
        {
            status = status.Where(s => s.Version == v).ToArray();
            if (status.Count == 0) throw ServingException.NotFound($"model '{model}' has no version {v}");
        }
        w.WriteStartObject();
        w.WriteString("model", model);
        w.WriteString("version_policy", policy.ToString());
        w.WriteStartArray("model_version_status");
        foreach (var s in status)
        {
            w.WriteStartObject();
            w.WriteString("version", s.Version.ToString(CultureInfo.InvariantCulture));
            w.WriteString("state", s.State);
            if (s.Error != null) w.WriteString("error", s.Error);
            if (s.Served is { } served)
            {
                WriteSignatures(w, "inputs", served.Inputs);
                WriteSignatures(w, "outputs", served.Outputs);
                if (served.Metadata is { } m)
                {
                    w.WritePropertyName("metadata");
                    m.WriteTo(w);
                }
            }
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteEndObject();
    }

    public static void WriteModels(Utf8JsonWriter w, ModelRepository repository)
    {
        w.WriteStartObject();
        w.WriteStartArray("models");
        foreach (var name in repository.ModelNames)
        {
            w.WriteStartObject();
            w.WriteString("name", name);
            w.WriteStartArray("live_versions");
            foreach (var v in repository.LiveVersions(name)) w.WriteStringValue(v.Version.ToString(CultureInfo.InvariantCulture));
            w.WriteEndArray();
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteEndObject();
    }

    public static void WriteHealth(Utf8JsonWriter w, ModelRepository repository)
    {
        w.WriteStartObject();
        w.WriteString("status", "ok");
        w.WriteNumber("models", repository.ModelNames.Count);
        w.WriteNumber("live_versions", repository.LiveVersionCount);
        w.WriteEndObject();
    }

    private static void WriteSignatures(Utf8JsonWriter w, string name, IReadOnlyList<TensorSignature> signatures)
    {
        w.WriteStartArray(name);
        foreach (var s in signatures)
        {
            w.WriteStartObject();
            w.WriteString("name", s.Name);
            w.WriteString("dtype", s.DType.Name());
            w.WriteStartArray("shape");
            foreach (var d in s.Shape) w.WriteNumberValue(d);
            w.WriteEndArray();
            w.WriteEndObject();
        }
        w.WriteEndArray();
    }
}
