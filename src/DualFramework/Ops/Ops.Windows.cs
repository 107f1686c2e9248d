using DualFramework.Backends;

namespace DualFramework;

public static partial class Ops
{
    /// <summary>The Hann window <c>0.5 − 0.5 cos(2πn / M)</c> (PyTorch <c>torch.hann_window</c>, ONNX HannWindow), computed
    /// in float64 and rounded once to <paramref name="dtype"/>.</summary>
    /// <param name="size">Window length (≥ 0; a one-element window is [1]).</param>
    /// <param name="periodic">True: M = size (one period of a periodic window, for spectral analysis); false: M = size − 1
    /// (symmetric, for filter design).</param>
    /// <param name="dtype">Floating result dtype.</param>
    /// <param name="backend">Where the window lives (the default backend when null).</param>
    public static Tensor HannWindow(long size, bool periodic = true, DType dtype = DType.Float32, IComputeBackend? backend = null) =>
        Window("hann_window", size, periodic, dtype, backend, (n, m) => 0.5 - 0.5 * Math.Cos(2 * Math.PI * n / m));

    /// <summary>The Hamming window <c>α − β cos(2πn / M)</c> (PyTorch <c>torch.hamming_window</c>, whose defaults α = 0.54,
    /// β = 0.46 these are; ONNX HammingWindow uses α = 25/46, β = 21/46).</summary>
    /// <param name="size">Window length.</param>
    /// <param name="periodic">M = size when true, size − 1 otherwise.</param>
    /// <param name="alpha">Constant term.</param>
    /// <param name="beta">Cosine coefficient.</param>
    /// <param name="dtype">Floating result dtype.</param>
    /// <param name="backend">Where the window lives.</param>
    public static Tensor HammingWindow(long size, bool periodic = true, double alpha = 0.54, double beta = 0.46, DType dtype = DType.Float32,
        IComputeBackend? backend = null) =>
        Window("hamming_window", size, periodic, dtype, backend, (n, m) => alpha - beta * Math.Cos(2 * Math.PI * n / m));

    /// <summary>The Blackman window <c>0.42 − 0.5 cos(2πn / M) + 0.08 cos(4πn / M)</c> (PyTorch <c>torch.blackman_window</c>,
    /// ONNX BlackmanWindow).</summary>
    /// <param name="size">Window length.</param>
    /// <param name="periodic">M = size when true, size − 1 otherwise.</param>
    /// <param name="dtype">Floating result dtype.</param>
    /// <param name="backend">Where the window lives.</param>
    public static Tensor BlackmanWindow(long size, bool periodic = true, DType dtype = DType.Float32, IComputeBackend? backend = null) =>
        Window("blackman_window", size, periodic, dtype, backend,
            (n, m) => 0.42 - 0.5 * Math.Cos(2 * Math.PI * n / m) + 0.08 * Math.Cos(4 * Math.PI * n / m));

    private static Tensor Window(string name, long size, bool periodic, DType dtype, IComputeBackend? backend, Func<long, double, double> f)
    {
        if (size < 0) throw new OpException(name, [], $"window length {size} is negative", LayerPath.Current);
        if (!dtype.IsFloating()) throw new OpException(name, [], $"dtype {dtype.Name()} is not floating", LayerPath.Current);
        var values = new double[size];
        double m = periodic ? size : size - 1;
        for (long n = 0; n < size; n++) values[n] = size == 1 ? 1 : f(n, m);
        return Cast(Tensor.FromArray(values, new Shape(size), backend), dtype);
    }

    /// <summary>
    /// ONNX MelWeightMatrix: (⌊dftLength / 2⌋ + 1, numMelBins) triangular filters with peak 1 that map a one-sided linear
    /// spectrum to the mel scale mel(f) = 2595 log10(1 + f / 700). Band edges are spaced evenly in mel between the two
    /// edge frequencies (the ONNX reference divides the mel range into numMelBins + 2 steps) and snapped down to DFT bins
    /// ⌊(dftLength + 1) f / sampleRate⌋.
    /// </summary>
    /// <param name="numMelBins">Number of mel bands (columns).</param>
    /// <param name="dftLength">Length of the DFT whose one-sided bins are the rows.</param>
    /// <param name="sampleRate">Samples per second of the signal.</param>
    /// <param name="lowerEdgeHertz">Lower edge of the lowest band.</param>
    /// <param name="upperEdgeHertz">Upper edge of the highest band.</param>
    /// <param name="dtype">Result dtype.</param>
    /// <param name="backend">Where the matrix lives.</param>
    public static Tensor MelWeightMatrix(long numMelBins, long dftLength, long sampleRate, double lowerEdgeHertz, double upperEdgeHertz,
        DType dtype = DType.Float32, IComputeBackend? backend = null)
    {
        if (numMelBins < 0 || dftLength < 1 || sampleRate <= 0 || !(lowerEdgeHertz >= 0) || !(upperEdgeHertz >= lowerEdgeHertz))
            throw new OpException("mel_weight_matrix", [],
                $"invalid arguments: {numMelBins} mel bins, DFT length {dftLength}, sample rate {sampleRate}, edges {lowerEdgeHertz}–{upperEdgeHertz} Hz",
                LayerPath.Current);
        long rows = dftLength / 2 + 1;
        double Mel(double hz) => 2595 * Math.Log10(1 + hz / 700);
        double low = Mel(lowerEdgeHertz), step = (Mel(upperEdgeHertz) - low) / (numMelBins + 2);
        var edge = new long[numMelBins + 2];
        for (long i = 0; i < edge.Length; i++)
        {
            double hz = 700 * (Math.Pow(10, (i * step + low) / 2595) - 1);
            edge[i] = (long)Math.Floor((dftLength + 1) * hz / sampleRate);
        }
        var w = new double[rows * numMelBins];
        for (long m = 0; m < numMelBins; m++)
        {
            long left = edge[m], centre = edge[m + 1], right = edge[m + 2];
            // Bins above the one-sided spectrum (an upper edge past Nyquist) have no row.
            if (centre == left && centre < rows) w[centre * numMelBins + m] = 1;
            for (long j = left; j <= centre && centre > left && j < rows; j++) w[j * numMelBins + m] = (double)(j - left) / (centre - left);
            for (long j = centre; j < right && j < rows; j++) w[j * numMelBins + m] = (double)(right - j) / (right - centre);
        }
        return Cast(Tensor.FromArray(w, new Shape(rows, numMelBins), backend), dtype);
    }
}
