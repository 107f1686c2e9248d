namespace DualFramework;

public static partial class Ops
{
    /// <summary>
    /// Discrete Fourier transform along one axis (ONNX DFT, opset 17 layout): <paramref name="x"/> is (…, n, …, c) with
    /// the last axis c = 1 (real) or 2 (real, imaginary); the result is (…, k, …, 2) with k = the DFT length, or ⌊length / 2⌋
    /// + 1 when <paramref name="onesided"/>. Built from matrix products with cos / sin matrices computed in float64 and
    /// rounded once to x's dtype, so it runs on every backend and is differentiable.
    /// </summary>
    /// <param name="x">The signal; floating.</param>
    /// <param name="axis">The transformed axis (not the last; negative counts from the end).</param>
    /// <param name="inverse">Inverse transform: e^{+2πi kn / L} and a 1 / L factor.</param>
    /// <param name="onesided">Keep only the non-redundant bins 0 … ⌊L / 2⌋ (forward transform only).</param>
    /// <param name="length">DFT length L: the axis is zero-padded or truncated to it (its size when null).</param>
    public static Tensor Dft(Tensor x, int axis = 1, bool inverse = false, bool onesided = false, long? length = null)
    {
        int rank = x.Rank;
        long c = rank == 0 ? 0 : x.Shape[rank - 1];
        int a = axis < 0 ? axis + rank : axis;
        if (rank < 2 || c is not (1 or 2) || a < 0 || a >= rank - 1 || !x.DType.IsFloating())
            throw new OpException("dft", [x.Spec], $"expects a floating (…, n, …, 1 or 2) signal and an axis other than the last; got axis {axis}", LayerPath.Current);
        if (inverse && onesided) throw new OpException("dft", [x.Spec], "a one-sided inverse transform is not supported", LayerPath.Current);
        long n = x.Shape[a], l = length ?? n;
        if (l < 1) throw new OpException("dft", [x.Spec], $"DFT length {l} must be positive", LayerPath.Current);
        long k = onesided ? l / 2 + 1 : l;
        // Signal axis last, parts separate: (…, n) each.
        var moved = Permute(x, Enumerable.Range(0, rank).Where(i => i != a).Append(a).ToArray());
        if (l < n) moved = Slice(moved, rank - 1, 0, l);
        else if (l > n) moved = Pad(moved, [0, l - n]);
        var re = Squeeze(Slice(moved, rank - 2, 0, 1), rank - 2);
        Tensor? im = c == 2 ? Squeeze(Slice(moved, rank - 2, 1, 2), rank - 2) : null;
        var cos = new double[l * k];
        var sin = new double[l * k];
        for (long i = 0; i < l; i++)
            for (long j = 0; j < k; j++)
            {
                // (i·j) mod L keeps the angle small, so large lengths keep float64 accuracy.
                double theta = 2 * Math.PI * (i * j % l) / l;
                cos[i * k + j] = inverse ? Math.Cos(theta) / l : Math.Cos(theta);
                sin[i * k + j] = inverse ? Math.Sin(theta) / l : -Math.Sin(theta);
            }
        var cm = Cast(Tensor.FromArray(cos, new Shape(l, k), x.Backend), x.DType);
        var sm = Cast(Tensor.FromArray(sin, new Shape(l, k), x.Backend), x.DType);
        // (re + i·im)(cos + i·sin) with sin already signed for the direction.
        var outRe = MatMul(re, cm);
        var outIm = MatMul(re, sm);
        if (im != null)
        {
            outRe = Sub(outRe, MatMul(im, sm));
            outIm = Add(outIm, MatMul(im, cm));
        }
        var y = Concat([Unsqueeze(outRe, rank - 1), Unsqueeze(outIm, rank - 1)], rank - 1);
        // Back to (…, k, …, 2): the bins return to the transformed axis.
        var back = new int[rank];
        for (int i = 0, src = 0; i < rank; i++) back[i] = i == a ? rank - 2 : i == rank - 1 ? rank - 1 : src++;
        return Permute(y, back);
    }

    /// <summary>
    /// Short-time Fourier transform (ONNX STFT, opset 17): frames of <paramref name="signal"/> (batch, length, 1 or 2)
    /// taken every <paramref name="frameStep"/> samples, multiplied by <paramref name="window"/> when given, and
    /// transformed with <see cref="Dft"/>; the result is (batch, frames, bins, 2), frames = ⌊(length − frameLength) /
    /// frameStep⌋ + 1. (Unlike <c>torch.stft</c> there is no centring padding and no normalisation.)
    /// </summary>
    /// <param name="signal">The signal.</param>
    /// <param name="frameStep">Samples between frame starts.</param>
    /// <param name="window">Optional window (frameLength,), same dtype as the signal.</param>
    /// <param name="frameLength">Frame (and DFT) length; the window's length when null.</param>
    /// <param name="onesided">Keep only bins 0 … ⌊frameLength / 2⌋.</param>
    public static Tensor Stft(Tensor signal, long frameStep, Tensor? window = null, long? frameLength = null, bool onesided = true)
    {
        long len = frameLength ?? window?.Shape[0] ?? throw new OpException("stft", [signal.Spec], "needs a window or a frame length", LayerPath.Current);
        if (signal.Rank != 3 || signal.Shape[2] is not (1 or 2) || frameStep < 1 || len < 1 || len > signal.Shape[1])
            throw new OpException("stft", [signal.Spec], $"expects a (batch, length, 1 or 2) signal at least one frame long; got frame length {len}, step {frameStep}", LayerPath.Current);
        if (window != null && (window.Rank != 1 || window.Shape[0] != len))
            throw new OpException("stft", [signal.Spec, window.Spec], $"the window must have shape ({len})", LayerPath.Current);
        long frames = (signal.Shape[1] - len) / frameStep + 1;
        var idx = new long[frames * len];
        for (long f = 0; f < frames; f++)
            for (long j = 0; j < len; j++) idx[f * len + j] = f * frameStep + j;
        var framed = Take(signal, Tensor.FromArray(idx, new Shape(frames, len), signal.Backend), 1);
        if (window != null) framed = Mul(framed, Reshape(window, 1, 1, len, 1));
        return Dft(framed, 2, onesided: onesided);
    }
}
