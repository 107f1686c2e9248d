using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using DualFramework.Serving;
using FluentAssertions;
using NUnit.Framework;

namespace DualFramework.Tests.Serving;

/// <summary>The HTTP API on loopback: both predict forms, the status endpoints, and a 4xx naming the problem for bad input.</summary>
[TestFixture]
public class ServingApiTests
{
    private const int BodyLimit = 64 * 1024;
    private string _root = "";
    private ModelServer _server = null!;
    private ServingClient _client = null!;

    [OneTimeSetUp]
    public async Task StartServer()
    {
        _root = ServingModels.NewRoot();
        ServingModels.WriteVersion(_root, 1, seed: 1);
        _server = await ModelServer.StartAsync(new ServingOptions
        {
            ModelRoot = _root,
            Port = 0,
            SettleTime = TimeSpan.Zero,
            MaxBodyBytes = BodyLimit,
        });
        _client = new ServingClient(_server.Address);
    }

    [OneTimeTearDown]
    public async Task StopServer()
    {
        _client.Dispose();
        await _server.DisposeAsync();
        Directory.Delete(_root, recursive: true);
    }

    [Test]
    public async Task Binary_and_json_predictions_match_in_process_onnx_runtime()
    {
        var image = ServingModels.Image(3);
        var expected = ServingModels.Expected(1, image);

        var binary = await _client.PredictBinaryAsync(ServingModels.Model, ServingModels.Input(image));
        binary.Version.Should().Be(1);
        binary.Outputs.Single().Shape.Should().Equal(1, 10);
        ServingModels.MaxAbsDifference(binary.Outputs[0].As<float>(), expected).Should().Be(0f, "the server runs the same file with the same runtime");

        var json = await _client.PredictJsonAsync(ServingModels.Model, [ServingModels.Input(image)], version: 1);
        json.Version.Should().Be(1);
        json.Model.Should().Be(ServingModels.Model);
        ServingModels.MaxAbsDifference(json.Outputs.Single().As<double>().Select(d => (float)d).ToArray(), expected)
            .Should().Be(0f, "float32 values round-trip through JSON exactly");
    }

    [Test]
    public async Task Json_shorthand_and_a_batch_of_two_work()
    {
        var a = ServingModels.Image(4);
        var b = ServingModels.Image(5);
        var rows = string.Join(",", new[] { a, b }.Select(img => "[[" + string.Join(",", Enumerable.Range(0, 28).Select(r =>
            "[" + string.Join(",", img.Skip(r * 28).Take(28).Select(v => v.ToString("R", System.Globalization.CultureInfo.InvariantCulture))) + "]")) + "]]"));
        using var response = await Post(ServingClient.PredictPath(ServingModels.Model, null), "{\"inputs\": [" + rows + "]}", "application/json");
        response.StatusCode.Should().Be(HttpStatusCode.OK);
        using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var output = doc.RootElement.GetProperty("outputs").GetProperty("output");
        output.GetArrayLength().Should().Be(2);
        output[1].EnumerateArray().Select(e => e.GetSingle()).Should().Equal(ServingModels.Expected(1, b));
    }

    [Test]
    public async Task Status_health_and_metrics_report_the_model()
    {
        await _client.PredictBinaryAsync(ServingModels.Model, ServingModels.Input(ServingModels.Image(6)));

        using var status = JsonDocument.Parse(await _client.Http.GetStringAsync("v1/models/fmnist"));
        var version = status.RootElement.GetProperty("model_version_status").EnumerateArray().Single();
        version.GetProperty("version").GetString().Should().Be("1");
        version.GetProperty("state").GetString().Should().Be("AVAILABLE");
        version.GetProperty("inputs")[0].GetProperty("shape").EnumerateArray().Select(e => e.GetInt64()).Should().Equal(-1, 1, 28, 28);
        version.GetProperty("metadata").GetProperty("seed").GetInt32().Should().Be(1);

        using var health = JsonDocument.Parse(await _client.Http.GetStringAsync("healthz"));
        health.RootElement.GetProperty("live_versions").GetInt32().Should().Be(1);

        var metrics = await _client.Http.GetStringAsync("metrics");
        metrics.Should().Contain("dualfx_serving_requests_total{model=\"fmnist\",version=\"1\"}");
        metrics.Should().Contain("dualfx_serving_request_duration_seconds_bucket{model=\"fmnist\",version=\"1\",le=\"+Inf\"}");
        metrics.Should().Contain("dualfx_serving_live_versions{model=\"fmnist\"} 1");
        metrics.Should().Contain("dualfx_serving_version_events_total{model=\"fmnist\",event=\"published\"} 1");
    }

    public static IEnumerable<TestCaseData> BadRequests()
    {
        var image = ServingModels.Image(1);
        string Json(string inputs) => "{\"inputs\": " + inputs + "}";
        string Zeros(int n) => "[" + string.Join(",", Enumerable.Repeat("0", n)) + "]";
        string Image28() => "[[" + string.Join(",", Enumerable.Repeat(Zeros(28), 28)) + "]]";
        yield return new TestCaseData("v1/models/nope:predict", Json("[" + Image28() + "]"), "application/json", null, 404, "model 'nope' is not served").SetName("Unknown model");
        yield return new TestCaseData("v1/models/fmnist/versions/9:predict", Json("[" + Image28() + "]"), "application/json", null, 404, "no available version 9").SetName("Unknown version");
        yield return new TestCaseData("v1/models/fmnist/versions/x:predict", Json("[" + Image28() + "]"), "application/json", null, 400, "version 'x' is not a positive integer").SetName("Non-numeric version");
        yield return new TestCaseData("v1/models/fmnist:predict", Json("{\"pixels\": [" + Image28() + "]}"), "application/json", null, 400, "has no input 'pixels'").SetName("Wrong input name");
        yield return new TestCaseData("v1/models/fmnist:predict", Json("[" + Zeros(784) + "]"), "application/json", null, 400, "expects [-1,1,28,28]").SetName("Wrong shape");
        yield return new TestCaseData("v1/models/fmnist:predict", Json("[[[[1, 2], [3]]]]"), "application/json", null, 400, "rectangular").SetName("Ragged arrays");
        yield return new TestCaseData("v1/models/fmnist:predict", Json("[[[[\"a\"]]]]"), "application/json", null, 400, "expected a number").SetName("String element");
        yield return new TestCaseData("v1/models/fmnist:predict", "{\"inputs\": [[[", "application/json", null, 400, "malformed JSON").SetName("Malformed JSON");
        yield return new TestCaseData("v1/models/fmnist:predict", "[1, 2]", "application/json", null, 400, "\"inputs\" field").SetName("No inputs field");
        yield return new TestCaseData("v1/models/fmnist:predict", Json("[" + string.Join(",", Enumerable.Repeat(Image28(), 100)) + "]"), "application/json", null, 413, "larger than the limit of 65536 bytes").SetName("Body too large");
        yield return new TestCaseData("v1/models/fmnist:predict", "x", "text/plain", null, 415, "unsupported content type").SetName("Wrong content type");
        yield return new TestCaseData("v1/models/fmnist:classify", Json("[]"), "application/json", null, 404, "unknown method ':classify'").SetName("Unknown verb");
        yield return new TestCaseData("v2/whatever", "", "application/json", null, 404, "no such endpoint").SetName("Unknown endpoint");
        var longs = new long[784];
        yield return new TestCaseData("v1/models/fmnist:predict", Bytes(longs), BinaryTensorCodec.ContentType, new[] { ("X-Shape", "1,1,28,28"), ("X-Dtype", "int64") }, 400, "the model expects float32").SetName("Binary wrong dtype");
        yield return new TestCaseData("v1/models/fmnist:predict", Bytes(image), BinaryTensorCodec.ContentType, new[] { ("X-Shape", "1,28,28") }, 400, "expects [-1,1,28,28]").SetName("Binary wrong shape");
        yield return new TestCaseData("v1/models/fmnist:predict", Bytes(new float[30 * 784]), BinaryTensorCodec.ContentType, new[] { ("X-Shape", "30,1,28,28") }, 413, "larger than the limit of 65536 bytes").SetName("Binary body too large");
        yield return new TestCaseData("v1/models/fmnist:predict", Bytes(image[..700]), BinaryTensorCodec.ContentType, new[] { ("X-Shape", "1,1,28,28") }, 400, "needs 3136").SetName("Binary short body");
        yield return new TestCaseData("v1/models/fmnist:predict", Bytes(image), BinaryTensorCodec.ContentType, new[] { ("X-Dtype", "float32") }, 400, "X-Shape header").SetName("Binary without shape");
        yield return new TestCaseData("v1/models/fmnist:predict", Bytes(image), BinaryTensorCodec.ContentType, new[] { ("X-Shape", "1,1,28,28"), ("X-Dtype", "float16") }, 400, "unknown X-Dtype 'float16'").SetName("Binary unknown dtype");
        yield return new TestCaseData("v1/models/fmnist:predict", Bytes(image), BinaryTensorCodec.ContentType, new[] { ("X-Shape", "1,1,28,28"), ("X-Input-Name", "x") }, 400, "has no input 'x'").SetName("Binary wrong input name");
    }

    private static byte[] Bytes<T>(T[] data) where T : unmanaged => System.Runtime.InteropServices.MemoryMarshal.AsBytes(data.AsSpan()).ToArray();

    [TestCaseSource(nameof(BadRequests))]
    public async Task Bad_input_gets_a_4xx_naming_the_problem(string path, object body, string contentType, (string, string)[]? headers, int status, string message)
    {
        using var response = await Post(path, body, contentType, headers);
        ((int)response.StatusCode).Should().Be(status);
        using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        doc.RootElement.GetProperty("error").GetString().Should().Contain(message);
        // The server is still up and answers correctly.
        (await _client.PredictBinaryAsync(ServingModels.Model, ServingModels.Input(ServingModels.Image(2)))).Version.Should().Be(1);
    }

    [Test]
    public async Task Get_on_predict_is_405()
    {
        using var response = await _client.Http.GetAsync("v1/models/fmnist:predict");
        ((int)response.StatusCode).Should().Be(405);
        (await response.Content.ReadAsStringAsync()).Should().Contain("use POST");
    }

    [Test]
    public async Task Errors_are_counted_per_status_code()
    {
        using (await Post("v1/models/fmnist:predict", "{", "application/json")) { }
        var metrics = await _client.Http.GetStringAsync("metrics");
        metrics.Should().Contain("dualfx_serving_errors_total{model=\"fmnist\",version=\"\",code=\"400\"}");
    }

    private async Task<HttpResponseMessage> Post(string path, object body, string contentType, (string, string)[]? headers = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path);
        var content = body is byte[] bytes ? new ByteArrayContent(bytes) : new ByteArrayContent(Encoding.UTF8.GetBytes((string)body));
        content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        request.Content = content;
        foreach (var (k, v) in headers ?? []) request.Headers.Add(k, v);
        return await _client.Http.SendAsync(request);
    }
}
