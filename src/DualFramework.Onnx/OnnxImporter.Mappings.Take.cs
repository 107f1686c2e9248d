using DualFramework.IR;
using DualFramework.Operators;

namespace DualFramework.Onnx;

public static partial class OnnxImporter
{
    private sealed partial class Builder
    {
        /// <summary>Gather (on take) and Resize (interpolation tables applied with take and a weighted sum).</summary>
        private void AddTake()
        {
            Map("Resize", _ => ImportResize());
            Map("Upsample", _ => ImportUpsample());
            Map("ReverseSequence", _ => ReverseSequence());
            Map("Gather", _ =>
            {
                var x = In(0);
                int axis = Axis(Int("axis", 0), x.Spec.Shape.Rank);
                return Node(OpSet.Take, new TakeAttrs(axis), x, WrapIndex(In(1), x.Spec.Shape[axis]));
            });
        }

        /// <summary>Resize (opsets 10–17). Input shapes are static, so each resized axis becomes an interpolation table
        /// computed here (per output position: source indices and weights) applied with existing ops: a Take along the
        /// axis, then, when a position blends several sources, a weighted sum over the taps. No Core op is needed and the
        /// result is differentiable with respect to the data.</summary>
        private Value ImportResize()
        {
            if (opset < 10) throw Bad($"Resize does not exist at opset {opset}");
            var x = In(0);
            var d = x.Spec.Shape.ToArray();
            int rank = d.Length;
            string mode = Str("mode", "nearest");
            if (mode is not ("nearest" or "linear" or "cubic") || (opset < 11 && mode == "cubic")) throw Bad($"mode '{mode}' is not supported");
            // Resize-10 had no transformation attributes; it resized like Upsample (asymmetric, nearest rounds down).
            string ctm = opset >= 11 ? Str("coordinate_transformation_mode", "half_pixel") : "asymmetric";
            string nearest = opset >= 11 ? Str("nearest_mode", "round_prefer_floor") : "floor";
            if (ctm is not ("half_pixel" or "pytorch_half_pixel" or "align_corners" or "asymmetric" or "tf_half_pixel_for_nn" or "tf_crop_and_resize"))
                throw Bad($"coordinate_transformation_mode '{ctm}' is not supported");
            if (nearest is not ("round_prefer_floor" or "round_prefer_ceil" or "floor" or "ceil")) throw Bad($"nearest_mode '{nearest}' is not supported");
            double a = Float("cubic_coeff_a", -0.75f), extrapolation = Float("extrapolation_value", 0f);
            bool excludeOutside = Int("exclude_outside", 0) != 0;

            double[]? scales;
            long[]? sizes = null;
            if (opset < 11) scales = ConstDoubles(1);
            else
            {
                // Opset 11 passes an empty scales tensor when sizes are given; 13 may omit either.
                scales = Has(2) ? ConstDoubles(2) : null;
                if (scales is []) scales = null;
                sizes = Has(3) ? ConstInts(3) : null;
                if (sizes is []) sizes = null;
            }
            if ((scales == null) == (sizes == null)) throw Bad("exactly one of scales and sizes must be given");
            if ((scales?.Length ?? sizes!.Length) != rank) throw Bad($"scales/sizes have {scales?.Length ?? sizes!.Length} entries for a rank-{rank} input");
            if (opset < 11 && mode == "nearest" && scales!.Any(s => s < 1))
                throw Bad("nearest downsampling at opset 10 is not supported (its rounding is unspecified)");

            double[]? roi = null;
            if (ctm == "tf_crop_and_resize")
            {
                // The output size of a crop given by scales depends on the ROI in ways runtimes disagree on.
                if (sizes == null) throw Bad("tf_crop_and_resize with scales is not supported (give sizes)");
                roi = Has(1) ? ConstDoubles(1) : throw Bad("tf_crop_and_resize needs roi");
                if (roi.Length != 2 * rank) throw Bad($"roi has {roi.Length} entries for a rank-{rank} input");
            }

            return ResizeAxes(x, scales, sizes, mode, ctm, nearest, a, excludeOutside, roi, extrapolation);
        }

        /// <summary>Upsample (opsets 7–9; deprecated for Resize): Resize-10 semantics (asymmetric coordinates, nearest
        /// rounds down), scales from the attribute (7–8) or the input (9).</summary>
        private Value ImportUpsample()
        {
            if (opset < 7) throw Bad($"Upsample at opset {opset} (height_scale/width_scale attributes) is not supported");
            var x = In(0);
            string mode = Str("mode", "nearest");
            if (mode is not ("nearest" or "linear")) throw Bad($"mode '{mode}' is not supported");
            var scales = opset < 9 ? Floats("scales")?.Select(f => (double)f).ToArray() ?? throw Bad("the scales attribute is required") : ConstDoubles(1);
            if (scales.Length != x.Spec.Shape.Rank) throw Bad($"scales have {scales.Length} entries for a rank-{x.Spec.Shape.Rank} input");
            if (scales.Any(v => v < 1)) throw Bad("scales below 1 are not supported (Upsample only enlarges)");
            return ResizeAxes(x, scales, null, mode, "asymmetric", "floor", -0.75, false, null, 0);
        }

        /// <summary>Resizes each axis of <paramref name="x"/> with its interpolation table (<see cref="AxisTable"/>).</summary>
        private Value ResizeAxes(Value x, double[]? scales, long[]? sizes, string mode, string ctm, string nearest, double a,
            bool excludeOutside, double[]? roi, double extrapolation)
        {
            var d = x.Spec.Shape.ToArray();
            int rank = d.Length;
            var y = x;
            for (int axis = 0; axis < rank; axis++)
            {
                long n = d[axis];
                long m;
                double scale;
                if (sizes != null)
                {
                    m = sizes[axis];
                    if (m < 0) throw Bad($"negative size {m}");
                    if (n == 0) { if (m != 0) throw Bad($"cannot resize an empty axis {axis} to {m}"); continue; }
                    scale = (double)m / n;
                }
                else
                {
                    scale = scales![axis];
                    if (!(scale > 0) || double.IsInfinity(scale)) throw Bad($"scale {scale} must be positive and finite");
                    m = (long)Math.Floor(scale * n);
                }
                if (n == 0 || m == 0)
                {
                    if (m != n) throw Bad($"resizing axis {axis} from {n} to {m} elements is not supported");
                    continue;
                }
                var table = AxisTable(n, m, scale, mode, ctm, nearest, a, excludeOutside, roi == null ? null : (roi[axis], roi[axis + rank]));
                y = ApplyAxis(y, axis, table, extrapolation);
            }
            return y;
        }

        /// <summary>ReverseSequence (opset 10): per batch entry b, the first sequence_lens[b] steps along the time axis
        /// reversed. The source step of each (b, t), t &lt; len[b] ? len[b] − 1 − t : t, is computed from the run-time
        /// lengths and applied with gather_elements.</summary>
        private Value ReverseSequence()
        {
            var x = In(0);
            var d = x.Spec.Shape.ToArray();
            if (d.Length < 2) throw Bad($"input must have rank ≥ 2, got {x.Spec.Shape}");
            int batchAxis = Axis(Int("batch_axis", 1), d.Length), timeAxis = Axis(Int("time_axis", 0), d.Length);
            if (batchAxis + timeAxis != 1) throw Bad($"batch_axis {batchAxis} and time_axis {timeAxis} must be 0 and 1 in some order");
            var lens = In(1);
            if (!lens.Spec.DType.IsInteger() || lens.Spec.Shape.Rank != 1 || lens.Spec.Shape[0] != d[batchAxis])
                throw Bad($"sequence_lens must be integers of shape [{d[batchAxis]}], got {lens.Spec.DType.Name()} {lens.Spec.Shape}");
            long batch = d[batchAxis], steps = d[timeAxis];
            var len = Reshape(CastTo(lens, DType.Int64), [batch, 1]);
            var t = ConstLongs(Enumerable.Range(0, (int)steps).Select(v => (long)v).ToArray(), 1, steps);
            var src = Select(Bin(OpSet.Less, t, len), Bin(OpSet.Sub, Bin(OpSet.Sub, len, Sc(1, len)), t), t); // [batch, steps]
            if (batchAxis == 1) src = Node(OpSet.Permute, new PermuteAttrs([1, 0]), src);
            var dims = d.Select((v, i) => i < 2 ? v : 1).ToArray();
            var index = Node(OpSet.BroadcastTo, new ShapeAttrs(d), Reshape(src, dims));
            return Node(OpSet.GatherElements, new IndexAxisAttrs(timeAxis), x, index);
        }

        /// <summary>Sources of each output position along one axis: (index, weight) taps, and whether the position lies
        /// outside a tf_crop_and_resize ROI (it then takes extrapolation_value).</summary>
        private sealed record ResizeTable(List<(long Index, double Weight)>[] Taps, bool[] Outside);

        /// <summary>The ONNX reference's 1-D interpolation for output positions 0..m−1 of an axis of n elements.</summary>
        private static ResizeTable AxisTable(long n, long m, double scale, string mode, string ctm, string nearest, double a, bool excludeOutside,
            (double Start, double End)? roi)
        {
            var taps = new List<(long, double)>[m];
            var outside = new bool[m];
            // The reference uses the unfloored output length scale·n (= sizes when sizes are given).
            double outLen = scale * n;
            for (long i = 0; i < m; i++)
            {
                double src = ctm switch
                {
                    "half_pixel" => (i + 0.5) / scale - 0.5,
                    "pytorch_half_pixel" => outLen > 1 ? (i + 0.5) / scale - 0.5 : -0.5,
                    "align_corners" => outLen == 1 ? 0 : i * (n - 1) / (outLen - 1),
                    "asymmetric" => i / scale,
                    "tf_half_pixel_for_nn" => (i + 0.5) / scale,
                    _ => outLen > 1
                        ? roi!.Value.Start * (n - 1) + i * (roi.Value.End - roi.Value.Start) * (n - 1) / (outLen - 1)
                        : (roi!.Value.End - roi.Value.Start) * (n - 1) / 2 + roi.Value.Start * (n - 1),
                };
                var row = new List<(long, double)>();
                taps[i] = row;
                if (ctm == "tf_crop_and_resize" && (src < 0 || src > n - 1)) { outside[i] = true; continue; }
                // Neighbours start at the pixel left of src; at a whole src that is src − 1 with ratio 1 (the reference's
                // convention, which keeps cubic taps symmetric around integer positions).
                double fl = Math.Floor(src);
                long left = src == fl ? (long)fl - 1 : (long)fl;
                double ratio = src - left;
                double[] w;
                long first;
                switch (mode)
                {
                    case "nearest":
                        {
                            bool right = ratio == 1 || nearest switch
                            {
                                "round_prefer_floor" => ratio > 0.5,
                                "round_prefer_ceil" => ratio >= 0.5,
                                "floor" => false,
                                _ => true,
                            };
                            (first, w) = (left, right ? [0, 1] : [1, 0]);
                            break;
                        }
                    case "linear": (first, w) = (left, [1 - ratio, ratio]); break;
                    default:
                        {
                            double r0 = ratio + 1, r1 = ratio, r2 = 1 - ratio, r3 = 2 - ratio;
                            (first, w) = (left - 1, [
                                ((a * r0 - 5 * a) * r0 + 8 * a) * r0 - 4 * a,
                            ((a + 2) * r1 - (a + 3)) * r1 * r1 + 1,
                            ((a + 2) * r2 - (a + 3)) * r2 * r2 + 1,
                            ((a * r3 - 5 * a) * r3 + 8 * a) * r3 - 4 * a,
                        ]);
                            break;
                        }
                }
                if (excludeOutside)
                {
                    double sum = 0;
                    for (int k = 0; k < w.Length; k++)
                    {
                        if (first + k < 0 || first + k >= n) w[k] = 0;
                        sum += w[k];
                    }
                    if (sum != 0) for (int k = 0; k < w.Length; k++) w[k] /= sum;
                }
                // Neighbours past either end repeat the edge element (the reference pads with edge values).
                for (int k = 0; k < w.Length; k++)
                {
                    if (w[k] == 0) continue;
                    long idx = Math.Clamp(first + k, 0, n - 1);
                    int at = row.FindIndex(t => t.Item1 == idx);
                    if (at >= 0) row[at] = (idx, row[at].Item2 + w[k]);
                    else row.Add((idx, w[k]));
                }
            }
            return new ResizeTable(taps, outside);
        }

        /// <summary>Applies one axis's table: a gather of the taps and, unless every position copies one source, their
        /// weighted sum (plus extrapolation_value at positions outside the ROI).</summary>
        private Value ApplyAxis(Value x, int axis, ResizeTable t, double extrapolation)
        {
            long n = x.Spec.Shape[axis], m = t.Taps.Length;
            bool anyOutside = t.Outside.Any(o => o);
            bool copies = !anyOutside && t.Taps.All(r => r.Count == 1 && r[0].Weight == 1);
            if (copies && m == n && t.Taps.Select((r, i) => r[0].Index == i).All(b => b)) return x;
            if (copies) return Node(OpSet.Take, new TakeAttrs(axis), x, ConstLongs(t.Taps.Select(r => r[0].Index).ToArray(), m));
            if (!x.Spec.DType.IsFloating()) throw Bad($"{x.Spec.DType.Name()} inputs are supported only by resizes that copy elements (floating only otherwise)");

            int k = Math.Max(1, t.Taps.Max(r => r.Count));
            var idx = new long[m * k];
            var w = new double[m * k];
            for (long i = 0; i < m; i++)
                for (int j = 0; j < t.Taps[i].Count; j++)
                    (idx[i * k + j], w[i * k + j]) = t.Taps[i][j];
            int rank = x.Spec.Shape.Rank;
            // Taps and weights sit on axes (axis, axis + 1); the weights broadcast over the axes after them.
            var trailing = Enumerable.Repeat(1L, rank - axis - 1);
            var taps = Node(OpSet.Take, new TakeAttrs(axis), x, ConstLongs(idx, m, k));
            var weights = Doubles(w, x.Spec.DType, [m, k, .. trailing]);
            var y = Node(OpSet.Sum, new ReduceAttrs([axis + 1], false), Bin(OpSet.Mul, taps, weights));
            if (anyOutside && extrapolation != 0)
                y = Bin(OpSet.Add, y, Doubles(t.Outside.Select(o => o ? extrapolation : 0).ToArray(), x.Spec.DType, [m, .. trailing]));
            return y;
        }

        /// <summary>A constant of <paramref name="dtype"/> holding <paramref name="values"/> (computed in double).</summary>
        private Value Doubles(double[] values, DType dtype, long[] shape)
        {
            var bytes = System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan()).ToArray();
            return CastTo(Graph.AddConstant(new TensorSpec(new Shape(shape), DType.Float64), bytes), dtype);
        }
    }
}
