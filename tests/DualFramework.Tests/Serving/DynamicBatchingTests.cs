using DualFramework.Serving;
using FluentAssertions;
using NUnit.Framework;

namespace DualFramework.Tests.Serving;

[TestFixture]
public class DynamicBatchingTests
{
    [Test]
    public async Task Concurrent_requests_share_runs_and_each_gets_its_own_rows()
    {
        var root = ServingModels.NewRoot();
        ServingModels.WriteVersion(root, 1, seed: 1);
        try
        {
            // A long wait with a batch limit equal to the rows sent: the runs fill up as soon as the requests arrive.
            const int Requests = 15;
            await using var server = await ModelServer.StartAsync(new ServingOptions
            {
                ModelRoot = root,
                Port = 0,
                Batching = new BatchingOptions { MaxBatch = Requests + 1, MaxWait = TimeSpan.FromSeconds(2) },
            });
            using var client = new ServingClient(server.Address);
            var images = Enumerable.Range(10, Requests).Select(ServingModels.Image).ToArray();
            var single = images.Select(i => client.PredictBinaryAsync(ServingModels.Model, ServingModels.Input(i))).ToArray();
            // One request of two rows among them.
            var pair = client.PredictBinaryAsync(ServingModels.Model, new NamedTensor("input", TensorDType.Float32, [2, 1, 28, 28], images[0].Concat(images[1]).ToArray()));
            await Task.WhenAll([.. single, pair]);

            for (int i = 0; i < Requests; i++)
            {
                var output = single[i].Result.Outputs[0];
                output.Shape.Should().Equal(1, 10);
                ServingModels.MaxAbsDifference(output.As<float>(), ServingModels.Expected(1, images[i])).Should().BeLessThan(1e-5f);
            }
            pair.Result.Outputs[0].Shape.Should().Equal(2, 10);
            ServingModels.MaxAbsDifference(pair.Result.Outputs[0].As<float>(), [.. ServingModels.Expected(1, images[0]), .. ServingModels.Expected(1, images[1])]).Should().BeLessThan(1e-5f);
            var stats = server.Repository.LiveVersions(ServingModels.Model)[0].BatchStatistics!.Value;
            stats.Rows.Should().Be(Requests + 2, "every row went through the batcher (the warm-up run does not)");
            stats.Runs.Should().BeLessThan(Requests + 1, "requests were joined");
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }
}
