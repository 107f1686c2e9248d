using System.Diagnostics;
using System.Globalization;
using System.IO.Compression;
using System.Text;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using FluentAssertions;
using NUnit.Framework;

namespace DualFramework.PackageTests;

/// <summary>
/// The consumer check (docs/packages.md): packs every project in src/ with a version unique to this run, then, in a
/// temporary folder outside the repository, creates a console app with <c>dotnet new console</c>, adds
/// <c>DualFramework.All</c> from the packed folder and runs a Fashion-MNIST MLP for one epoch on both backends plus an
/// ONNX export — exactly what a user of the packages would write.
/// </summary>
[TestFixture]
[Category("Packaging")]
[NonParallelizable]
public class ConsumerCheckTests
{
    private const string DataDirectory = "/usr/share/datasets/fashion-mnist";

    private static readonly string[] ShippedPackages =
    [
        "DualFramework", "DualFramework.Torch", "DualFramework.Graph", "DualFramework.Onnx",
        "DualFramework.Distributed", "DualFramework.Quantization", "DualFramework.Serving", "DualFramework.All",
    ];

    // The meta-package leaves out the model server: it brings the ASP.NET Core shared framework, which a training app does not need.
    private static readonly string[] InMetaPackage = ShippedPackages.Except(["DualFramework.All", "DualFramework.Serving"]).ToArray();

    // What a user writes: the recipe of samples/FashionMnist (standardized pixels, Adam 2e-3 with cosine decay, batch 64)
    // for one epoch of the 784-256-10 MLP on each backend, then an ONNX export of each model.
    private const string ConsumerProgram = """
        using DualFramework;
        using DualFramework.Backends;
        using DualFramework.Data;
        using DualFramework.Losses;
        using DualFramework.NN;
        using DualFramework.Optim;
        using DualFramework.Training;

        var data = FashionMnist.Load();
        var train = data.Train.ToDataset().Shuffle(0).Map(Standardize).Batch(64);
        var test = data.Test.ToDataset().Map(Standardize).Batch(1000);
        foreach (var backend in new[] { "torch", "graph" })
        {
            using var scope = BackendRegistry.Use(BackendRegistry.Get(backend));
            var rng = new SeededRandom(0);
            using var net = new Sequential(new Flatten(), new Linear(28 * 28, 256, rng: rng), new ReLU(), new Linear(256, 10, rng: rng));
            using var optimizer = new Adam(net.Parameters(), 2e-3);
            using var trainer = new Trainer(net);
            trainer.Compile(optimizer, new CrossEntropyLoss(), [new Accuracy()]);
            trainer.Fit(train, epochs: 1, callbacks: [new LearningRateScheduler(new CosineLr((data.Train.Count + 63) / 64), perStep: true)]);
            double accuracy = trainer.Evaluate(test)["accuracy"];
            DualFramework.Onnx.ModuleExporter.Export(net, Tensor.FromArray(new float[28 * 28], new Shape(1, 1, 28, 28)), $"mlp-{backend}.onnx");
            Console.WriteLine(FormattableString.Invariant($"consumer-check {backend} accuracy {accuracy:F4}"));
        }

        // Fashion-MNIST's pixel mean and standard deviation.
        static Example Standardize(Example e) => e.WithFeatures(e.Features.ToArray().Select(p => (p - 0.2860f) / 0.3530f).ToArray());

        """;

    [Test]
    [CancelAfter(40 * 60 * 1000)]
    public void PackagesBuildAndTrainInANewConsoleApp(CancellationToken cancel)
    {
        Directory.Exists(DataDirectory).Should().BeTrue($"the check trains on Fashion-MNIST ({DataDirectory}: apt-get install dataset-fashion-mnist)");
        string repo = FindRepositoryRoot();
        // Unique per run: restore can never take a DualFramework package of this version from a cache filled by another run.
        string version = $"0.1.0-check.{DateTime.UtcNow:yyyyMMddHHmmss}.{Environment.ProcessId}";
        string root = Directory.CreateTempSubdirectory("dualframework-consumer-check-").FullName;
        var total = Stopwatch.StartNew();
        try
        {
            string feed = Path.Combine(root, "feed");
            Pack(repo, Path.Combine(root, "source"), feed, version, cancel);
            CheckPackages(feed, version);

            string app = Path.Combine(root, "app", "ConsumerApp");
            Directory.CreateDirectory(app);
            Step("dotnet new console", app, cancel, "new", "console", "--name", "ConsumerApp", "--output", app);
            WriteNuGetConfig(app, feed, root, MachinePackagesFolder(app, cancel));
            Step("dotnet add package", app, cancel, "add", "package", "DualFramework.All", "--version", version);
            File.WriteAllText(Path.Combine(app, "Program.cs"), ConsumerProgram);
            Step("dotnet build", app, cancel, "build", "-c", "Release", "--disable-build-servers", "-nodeReuse:false");

            // The normal output layout: TorchSharp's glue and libtorch under runtimes/linux-x64/native, where the
            // backend's native loader looks for them (and patches the glue on an old libstdc++).
            string output = Path.Combine(app, "bin", "Release", "net10.0");
            string natives = Path.Combine(output, "runtimes", "linux-x64", "native");
            File.Exists(Path.Combine(natives, "libLibTorchSharp.so")).Should().BeTrue("TorchSharp's glue comes with the Torch package");
            File.Exists(Path.Combine(natives, "libtorch_cpu.so")).Should().BeTrue("the CPU libtorch comes with the Torch package");
            File.Exists(Path.Combine(natives, "libonnxruntime.so")).Should().BeTrue("ONNX Runtime comes with the Graph package");

            string stdout = Step("run the app", output, cancel, Path.Combine(output, "ConsumerApp.dll"));
            foreach (string backend in new[] { "torch", "graph" })
            {
                var m = Regex.Match(stdout, $@"^consumer-check {backend} accuracy ([0-9.]+)$", RegexOptions.Multiline);
                m.Success.Should().BeTrue($"the app prints the {backend} accuracy; it printed:\n{stdout}");
                double accuracy = double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
                accuracy.Should().BeGreaterThanOrEqualTo(0.85, $"one epoch of the sample's MLP recipe reaches about 0.87");
                var onnx = new FileInfo(Path.Combine(output, $"mlp-{backend}.onnx"));
                onnx.Exists.Should().BeTrue();
                // The MLP's parameters alone are (784·256 + 256 + 256·10 + 10) floats.
                onnx.Length.Should().BeGreaterThan((784 * 256 + 256 + 256 * 10 + 10) * 4);
                TestContext.Out.WriteLine($"{backend}: test accuracy {accuracy:F4}, {onnx.Name} {onnx.Length} bytes");
            }

            TestContext.Out.WriteLine($"consumer check: {total.Elapsed.TotalSeconds:F0} s in all");
        }
        finally
        {
            DeleteDirectory(root);
        }
    }

    // Packs a copy of src/ (with the repository's build settings) so the check never rebuilds the repository's own
    // outputs with another version; one solution file over src/*/*.csproj packs everything in one build.
    private static void Pack(string repo, string source, string feed, string version, CancellationToken cancel)
    {
        foreach (string file in new[] { "Directory.Build.props", "Directory.Packages.props", "global.json", ".editorconfig" })
        {
            string from = Path.Combine(repo, file);
            if (File.Exists(from))
            {
                Directory.CreateDirectory(source);
                File.Copy(from, Path.Combine(source, file));
            }
        }

        CopySources(Path.Combine(repo, "src"), Path.Combine(source, "src"));
        var projects = Directory.GetFiles(Path.Combine(source, "src"), "*.csproj", SearchOption.AllDirectories)
            .Select(p => Path.GetRelativePath(source, p).Replace('\\', '/'))
            .Order(StringComparer.Ordinal)
            .ToList();
        var slnx = new XElement("Solution", projects.Select(p => new XElement("Project", new XAttribute("Path", p))));
        File.WriteAllText(Path.Combine(source, "Packages.slnx"), slnx.ToString());
        Step("dotnet pack", source, cancel, "pack", "Packages.slnx", "-c", "Release", "-o", feed, $"-p:Version={version}",
            "--disable-build-servers", "-nodeReuse:false");
    }

    private static void CheckPackages(string feed, string version)
    {
        var nupkgs = Directory.GetFiles(feed, "*.nupkg").Select(Path.GetFileName).Order(StringComparer.Ordinal).ToList();
        nupkgs.Should().BeEquivalentTo(ShippedPackages.Select(p => $"{p}.{version}.nupkg"), "one package per shipped project");
        foreach (string id in ShippedPackages.Where(p => p != "DualFramework.All"))
        {
            File.Exists(Path.Combine(feed, $"{id}.{version}.snupkg")).Should().BeTrue($"{id} ships symbols");
        }

        var torch = Dependencies(Path.Combine(feed, $"DualFramework.Torch.{version}.nupkg"));
        torch.Should().Contain(["TorchSharp", "libtorch-cpu-linux-x64", "DualFramework"]);
        Dependencies(Path.Combine(feed, $"DualFramework.All.{version}.nupkg"))
            .Should().BeEquivalentTo(InMetaPackage);
        using var onnx = ZipFile.OpenRead(Path.Combine(feed, $"DualFramework.Onnx.{version}.nupkg"));
        using var reader = new StreamReader(onnx.GetEntry("lib/net10.0/DualFramework.Onnx.xml")!.Open());
        reader.ReadToEnd().Should().NotContain("ConformanceRunner", "the ONNX conformance runner is a tool, not part of the package");
    }

    private static List<string> Dependencies(string nupkg)
    {
        using var zip = ZipFile.OpenRead(nupkg);
        var entry = zip.Entries.Single(e => e.FullName.EndsWith(".nuspec", StringComparison.Ordinal));
        using var stream = entry.Open();
        return XDocument.Load(stream).Descendants().Where(e => e.Name.LocalName == "dependency")
            .Select(e => (string)e.Attribute("id")!).Distinct().ToList();
    }

    private static string MachinePackagesFolder(string workingDirectory, CancellationToken cancel)
    {
        // "global-packages: /root/.nuget/packages/"
        string line = Step("dotnet nuget locals", workingDirectory, cancel, "nuget", "locals", "global-packages", "--list").Trim();
        return line[(line.IndexOf(':', StringComparison.Ordinal) + 1)..].Trim();
    }

    // The app restores from the packed folder and nuget.org. Its own package folder is private (deleted with the temp
    // folder), with the machine's folder as a read-only fallback: TorchSharp and libtorch (~500 MB) already there are
    // not downloaded again, and nothing of this run is left in the machine's cache.
    private static void WriteNuGetConfig(string app, string feed, string root, string machinePackages)
    {
        var config = new XElement("configuration",
            new XElement("config", new XElement("add", new XAttribute("key", "globalPackagesFolder"), new XAttribute("value", Path.Combine(root, "packages")))),
            new XElement("packageSources",
                new XElement("clear"),
                new XElement("add", new XAttribute("key", "local"), new XAttribute("value", feed)),
                new XElement("add", new XAttribute("key", "nuget.org"), new XAttribute("value", "https://api.nuget.org/v3/index.json"))),
            new XElement("fallbackPackageFolders",
                new XElement("clear"),
                new XElement("add", new XAttribute("key", "machine"), new XAttribute("value", machinePackages))));
        File.WriteAllText(Path.Combine(app, "nuget.config"), config.ToString());
    }

    // Runs `dotnet args...` (or `dotnet app.dll`), echoes how long it took and returns its stdout; a failure or a hang
    // (20 minutes) fails the test with the process's output.
    private static string Step(string name, string workingDirectory, CancellationToken cancel, params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { WorkingDirectory = workingDirectory, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in args) psi.ArgumentList.Add(a);
        // The test host inherits MSBuild's variables from `dotnet test`; a nested SDK command must start clean.
        foreach (string key in psi.Environment.Keys.Where(k => k.StartsWith("MSBUILD", StringComparison.OrdinalIgnoreCase) || k == "DOTNET_HOST_PATH").ToList())
        {
            psi.Environment.Remove(key);
        }

        psi.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        psi.Environment["DOTNET_NOLOGO"] = "1";
        psi.Environment["DOTNET_SKIP_FIRST_TIME_EXPERIENCE"] = "1";
        psi.Environment["MSBUILDDISABLENODEREUSE"] = "1";
        psi.Environment["UseSharedCompilation"] = "false";
        var sw = Stopwatch.StartNew();
        using var process = Process.Start(psi)!;
        var stdout = new StringBuilder();
        var stderr = new StringBuilder();
        process.OutputDataReceived += (_, e) => { if (e.Data != null) lock (stdout) stdout.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data != null) lock (stderr) stderr.AppendLine(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        using (cancel.Register(() => process.Kill(entireProcessTree: true)))
        {
            if (!process.WaitForExit(TimeSpan.FromMinutes(20)))
            {
                process.Kill(entireProcessTree: true);
                process.WaitForExit();
                Assert.Fail($"{name} did not finish in 20 minutes:\n{stdout}\n{stderr}");
            }

            process.WaitForExit(); // drains the asynchronous readers
        }

        TestContext.Out.WriteLine($"{name}: {sw.Elapsed.TotalSeconds:F1} s");
        if (process.ExitCode != 0)
        {
            Assert.Fail($"{name} (dotnet {string.Join(' ', args)}) exited with {process.ExitCode}:\n{stdout}\n{stderr}");
        }

        return stdout.ToString();
    }

    private static void CopySources(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (string file in Directory.GetFiles(from))
        {
            File.Copy(file, Path.Combine(to, Path.GetFileName(file)));
        }

        foreach (string dir in Directory.GetDirectories(from))
        {
            string name = Path.GetFileName(dir);
            if (name is not ("bin" or "obj"))
            {
                CopySources(dir, Path.Combine(to, name));
            }
        }
    }

    private static string FindRepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "DualFramework.sln")) && Directory.Exists(Path.Combine(dir.FullName, "src")))
            {
                return dir.FullName;
            }
        }

        throw new DirectoryNotFoundException($"no DualFramework.sln above {AppContext.BaseDirectory}");
    }

    private static void DeleteDirectory(string path)
    {
        for (int attempt = 0; ; attempt++)
        {
            try
            {
                if (Directory.Exists(path)) Directory.Delete(path, recursive: true);
                return;
            }
            catch (Exception e) when ((e is IOException or UnauthorizedAccessException) && attempt < 5)
            {
                Thread.Sleep(1000);
            }
        }
    }
}
