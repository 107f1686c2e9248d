using DualFramework.Serving;
using FluentAssertions;
using NUnit.Framework;

namespace DualFramework.Tests.Serving;

[TestFixture]
public class ModelRepositoryTests
{
    private string _root = "";

    [SetUp]
    public void SetUp() => _root = ServingModels.NewRoot();

    [TearDown]
    public void TearDown() => Directory.Delete(_root, recursive: true);

    private ModelRepository Open(VersionPolicy? policy = null, TimeSpan? settle = null) =>
        new(new ServingOptions { ModelRoot = _root, VersionPolicy = policy ?? VersionPolicy.Latest(), SettleTime = settle ?? TimeSpan.Zero });

    private string VersionDir(long v) => Path.Combine(_root, ServingModels.Model, v.ToString(System.Globalization.CultureInfo.InvariantCulture));

    [Test]
    public void Latest_policy_serves_the_highest_version_only()
    {
        ServingModels.WriteVersion(_root, 1, seed: 1);
        ServingModels.WriteVersion(_root, 2, seed: 2);
        using var repo = Open();
        repo.Scan();

        repo.LiveVersions(ServingModels.Model).Select(v => v.Version).Should().Equal(2);
        using (var lease = repo.Lease(ServingModels.Model)) lease.Version.Version.Should().Be(2);
        var missing = () => repo.Lease(ServingModels.Model, 1);
        missing.Should().Throw<ServingException>().Where(e => e.StatusCode == 404 && e.Message.Contains("no available version 1") && e.Message.Contains("available: 2"));
        var unknown = () => repo.Lease("nope");
        unknown.Should().Throw<ServingException>().Where(e => e.StatusCode == 404 && e.Message.Contains("model 'nope' is not served"));
    }

    [Test]
    public void All_and_specific_policies_choose_their_versions()
    {
        foreach (var v in new[] { 1L, 2, 3 }) ServingModels.WriteVersion(_root, v, seed: (int)v);
        using (var all = Open(VersionPolicy.All))
        {
            all.Scan();
            all.LiveVersions(ServingModels.Model).Select(v => v.Version).Should().Equal(1, 2, 3);
        }
        using var specific = Open(VersionPolicy.Parse("specific:1,3"));
        specific.Scan();
        specific.LiveVersions(ServingModels.Model).Select(v => v.Version).Should().Equal(1, 3);
        using var latest2 = Open(VersionPolicy.Parse("latest:2"));
        latest2.Scan();
        latest2.LiveVersions(ServingModels.Model).Select(v => v.Version).Should().Equal(2, 3);
    }

    [TestCase("latest", "latest")]
    [TestCase("latest:3", "latest:3")]
    [TestCase("all", "all")]
    [TestCase("specific:4,2", "specific:2,4")]
    public void Version_policy_parses(string text, string expected) => VersionPolicy.Parse(text).ToString().Should().Be(expected);

    [TestCase("newest")]
    [TestCase("latest:0")]
    [TestCase("specific:")]
    [TestCase("specific:a")]
    public void Bad_version_policy_names_the_text(string text)
    {
        var parse = () => VersionPolicy.Parse(text);
        parse.Should().Throw<FormatException>().WithMessage($"*'{text}'*");
    }

    [Test]
    public void A_new_version_takes_traffic_before_the_old_one_retires_and_the_old_one_is_disposed_only_after_it_drains()
    {
        ServingModels.WriteVersion(_root, 1, seed: 1);
        using var repo = Open();
        repo.Scan();
        var inFlight = repo.Lease(ServingModels.Model);
        var old = inFlight.Version;

        ServingModels.WriteVersion(_root, 2, seed: 2);
        repo.Scan();

        repo.LiveVersions(ServingModels.Model).Select(v => v.Version).Should().Equal(2);
        old.IsDisposed.Should().BeFalse("a request still runs on version 1");
        repo.Status(ServingModels.Model)!.Select(s => (s.Version, s.State)).Should().Equal((2L, "AVAILABLE"), (1L, "UNLOADING"));
        // The in-flight request still runs on its version.
        old.RunSession([ServingModels.Input(ServingModels.Image(0))])[0].As<float>().Should().HaveCount(10);

        inFlight.Dispose();
        old.IsDisposed.Should().BeTrue();
        repo.Status(ServingModels.Model)!.Select(s => s.Version).Should().Equal(2);
        var events = repo.History().Select(e => (e.Version, e.Kind)).ToList();
        events.Should().Equal((1L, VersionEventKind.Published), (2L, VersionEventKind.Published), (1L, VersionEventKind.Retired), (1L, VersionEventKind.Disposed));
        old.TryAcquire().Should().BeFalse("a disposed version never takes a lease again");
    }

    [Test]
    public void A_broken_version_is_reported_and_never_served_and_is_retried_only_when_its_files_change()
    {
        ServingModels.WriteVersion(_root, 1, seed: 1);
        using var repo = Open();
        repo.Scan();
        ServingModels.WriteBrokenVersion(_root, 2);
        repo.Scan();
        repo.Scan();

        repo.LiveVersions(ServingModels.Model).Select(v => v.Version).Should().Equal(1);
        var failed = repo.Status(ServingModels.Model)!.Single(s => s.Version == 2);
        failed.State.Should().Be("FAILED");
        failed.Error.Should().Contain("model.onnx");
        repo.History().Count(e => e.Kind == VersionEventKind.Failed).Should().Be(1, "an unchanged broken version is not tried again");

        File.Copy(ServingModels.CnnFile(2), Path.Combine(VersionDir(2), ModelRepository.ModelFileName), overwrite: true);
        repo.Scan();
        repo.LiveVersions(ServingModels.Model).Select(v => v.Version).Should().Equal(2);
        repo.Status(ServingModels.Model)!.Should().NotContain(s => s.State == "FAILED");
    }

    [Test]
    public void Invalid_metadata_fails_the_version_with_a_message()
    {
        ServingModels.WriteVersion(_root, 1, seed: 1);
        File.WriteAllText(Path.Combine(VersionDir(1), ModelRepository.MetadataFileName), "{ not json");
        using var repo = Open();
        repo.Scan();
        repo.LiveVersions(ServingModels.Model).Should().BeEmpty();
        repo.Status(ServingModels.Model)!.Single().Error.Should().Contain("metadata.json is not valid JSON");
        var lease = () => repo.Lease(ServingModels.Model);
        lease.Should().Throw<ServingException>().Where(e => e.StatusCode == 404 && e.Message.Contains("metadata.json"));
    }

    [Test]
    public void The_warm_up_runs_the_metadata_example_and_a_version_whose_example_does_not_fit_is_not_served()
    {
        ServingModels.WriteVersion(_root, 1, seed: 1);
        var pixels = ServingModels.Image(3).Select(v => v.ToString("R", System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        var rows = Enumerable.Range(0, 28).Select(r => "[" + string.Join(", ", pixels[(r * 28)..((r + 1) * 28)]) + "]");
        File.WriteAllText(Path.Combine(VersionDir(1), ModelRepository.MetadataFileName), $"{{\"warmup\": {{\"inputs\": {{\"input\": [[[{string.Join(", ", rows)}]]]}}}}}}");
        using var repo = Open();
        repo.Scan();
        repo.LiveVersions(ServingModels.Model).Select(v => v.Version).Should().Equal(1);

        // 27 rows instead of 28: the example names the right input but has the wrong shape, so version 2 is never served.
        ServingModels.WriteVersion(_root, 2, seed: 2);
        File.WriteAllText(Path.Combine(VersionDir(2), ModelRepository.MetadataFileName), $"{{\"warmup\": {{\"inputs\": {{\"input\": [[[{string.Join(", ", rows.Skip(1))}]]]}}}}}}");
        repo.Scan();
        repo.Status(ServingModels.Model)!.Single(s => s.Version == 2).Error.Should().Contain("\"warmup\" example in metadata.json does not fit the model");
        repo.LiveVersions(ServingModels.Model).Select(v => v.Version).Should().Equal(1);
    }

    [Test]
    public void A_partly_written_version_is_skipped_until_its_model_file_is_there_and_stable()
    {
        ServingModels.WriteVersion(_root, 1, seed: 1);
        using var repo = Open(settle: TimeSpan.FromHours(1));
        repo.Scan();
        repo.Scan(); // version 1 was written just now: it loads on the second scan, once its files are seen unchanged
        repo.LiveVersions(ServingModels.Model).Select(v => v.Version).Should().Equal(1);

        Directory.CreateDirectory(VersionDir(2));
        repo.Scan();
        repo.LiveVersions(ServingModels.Model).Select(v => v.Version).Should().Equal(1);

        // Half the file so far: not loaded (and not failed) while it changes between scans.
        var bytes = File.ReadAllBytes(ServingModels.CnnFile(2));
        var path = Path.Combine(VersionDir(2), ModelRepository.ModelFileName);
        File.WriteAllBytes(path, bytes[..(bytes.Length / 2)]);
        repo.Scan();
        File.WriteAllBytes(path, bytes);
        repo.Scan();
        repo.LiveVersions(ServingModels.Model).Select(v => v.Version).Should().Equal(1);
        repo.History().Should().NotContain(e => e.Kind == VersionEventKind.Failed);

        repo.Scan();
        repo.LiveVersions(ServingModels.Model).Select(v => v.Version).Should().Equal(2);
    }

    [Test]
    public void A_removed_version_is_retired()
    {
        ServingModels.WriteVersion(_root, 1, seed: 1);
        ServingModels.WriteVersion(_root, 2, seed: 2);
        using var repo = Open();
        repo.Scan();
        Directory.Delete(VersionDir(2), recursive: true);
        repo.Scan();
        repo.LiveVersions(ServingModels.Model).Select(v => v.Version).Should().Equal(1); // the latest remaining version takes over
    }
}
