// Fits a logistic regression to seeded synthetic data with DualFramework ops and autodiff, then prints one JSON line.
// Usage: dotnet run -c Release --project samples/LogisticRegression -- [--backend torch] [--steps N] [--seed N] [--tape]
using System.Diagnostics;
using System.Globalization;
using DualFramework;
using DualFramework.Autodiff;
using DualFramework.Backends;

string backendName = BackendRegistry.NameFromEnvironmentVariable();
int steps = 300, seed = 0;
bool tape = false;
for (int i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--backend": backendName = args[++i]; break;
        case "--steps": steps = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
        case "--seed": seed = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
        case "--tape": tape = true; break;
        default:
            Console.Error.WriteLine($"unknown argument '{args[i]}'");
            return 2;
    }
}
BackendRegistry.SetDefault(backendName);

// Synthetic data: two Gaussian blobs in 8 dimensions, labels from a known separating direction (plus label noise).
const int n = 2048, d = 8;
var rng = new Random(seed);
double Gauss() => Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());
var trueW = Enumerable.Range(0, d).Select(_ => Gauss()).ToArray();
var xs = new float[n * d];
var ys = new float[n];
for (int r = 0; r < n; r++)
{
    double z = 0.3;
    for (int c = 0; c < d; c++)
    {
        xs[r * d + c] = (float)Gauss();
        z += trueW[c] * xs[r * d + c];
    }
    ys[r] = rng.NextDouble() < 1 / (1 + Math.Exp(-3 * z)) ? 1f : 0f;
}
int trainN = n * 3 / 4;

using var root = TensorScope.Begin();
var xTrain = Tensor.FromArray(xs[..(trainN * d)], new Shape(trainN, d));
var yTrain = Tensor.FromArray(ys[..trainN], new Shape(trainN));
var xTest = Tensor.FromArray(xs[(trainN * d)..], new Shape(n - trainN, d));
var yTest = Tensor.FromArray(ys[trainN..], new Shape(n - trainN));
var w = Ops.Zeros(new Shape(d));
var b = Ops.Zeros(new Shape(1));

Tensor Logits(Tensor x) => Ops.Add(Ops.Sum(Ops.Mul(x, w), 1), b);

using var mode = tape ? Autograd.UseTape() : null;
var sw = Stopwatch.StartNew();
double lr = 0.5, loss = double.NaN;
for (int step = 1; step <= steps; step++)
{
    using var scope = TensorScope.Begin();
    w.RequiresGrad = true;
    b.RequiresGrad = true;
    var z = Logits(xTrain);
    // Binary cross-entropy with logits: softplus(z) − y·z, averaged.
    var l = Ops.Mean(Ops.Sub(Ops.Softplus(z), Ops.Mul(yTrain, z)));
    var g = Autograd.Grad([l], [w, b]);
    loss = l.Item();
    using (Autograd.NoGrad())
    {
        // The new parameters outlive this iteration: move them to the enclosing scope.
        var nw = scope.Keep(Ops.Sub(w.Detach(), Ops.Mul(g[0]!, lr)));
        var nb = scope.Keep(Ops.Sub(b.Detach(), Ops.Mul(g[1]!, lr)));
        w = nw;
        b = nb;
    }
    if (step % 50 == 0) Console.WriteLine($"step {step,4}  loss {loss:F4}");
}
double seconds = sw.Elapsed.TotalSeconds;

double accuracy;
using (var s = TensorScope.Begin())
using (Autograd.NoGrad())
{
    var predicted = Ops.Greater(Logits(xTest), 0.0);
    var truth = Ops.Greater(yTest, 0.5);
    accuracy = Ops.Mean(Ops.Cast(Ops.Equal(predicted, truth), DType.Float32)).Item();
}
Console.WriteLine($"test accuracy {accuracy:F4}");
Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"{{\"backend\":\"{backendName}\",\"model\":\"logistic_regression\",\"steps\":{steps},\"autodiff\":\"{(tape ? "tape" : "native")}\",\"final_loss\":{loss:F5},\"test_accuracy\":{accuracy:F4},\"train_seconds\":{seconds:F2}}}"));
return 0;
