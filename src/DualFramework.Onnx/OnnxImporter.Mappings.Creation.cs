using DualFramework.IR;
using DualFramework.Operators;

namespace DualFramework.Onnx;

public static partial class OnnxImporter
{
    private sealed partial class Builder
    {
        /// <summary>Ops whose result is a constant once shapes (and shape-input values) are known.</summary>
        private void AddCreation()
        {
            Map("Constant", _ =>
            {
                TensorSpec spec;
                byte[] data;
                if (Attr("value") is { } v) (spec, data) = TensorData.Read(v.T, options, null);
                else if (Attr("value_float") is { } f) (spec, data) = (new TensorSpec(Shape.Scalar, DType.Float32), BitConverter.GetBytes(f.F));
                else if (Attr("value_int") is { } i) (spec, data) = (new TensorSpec(Shape.Scalar, DType.Int64), BitConverter.GetBytes(i.I));
                else if (Attr("value_floats") is { } fs) (spec, data) = (new TensorSpec(new Shape((long)fs.Floats.Count), DType.Float32), fs.Floats.SelectMany(BitConverter.GetBytes).ToArray());
                else if (Attr("value_ints") is { } @is) (spec, data) = (new TensorSpec(new Shape((long)@is.Ints.Count), DType.Int64), @is.Ints.SelectMany(BitConverter.GetBytes).ToArray());
                else throw Bad("only value, value_float(s) and value_int(s) are supported");
                return Const(spec, data);
            });
            Map("ConstantOfShape", _ =>
            {
                var dims = ConstInts(0);
                TensorData.CheckDims(dims, options, Where);
                var (vs, vd) = Attr("value") is { } v ? TensorData.Read(v.T, options, null) : (new TensorSpec(Shape.Scalar, DType.Float32), new byte[4]);
                if (vs.Shape.NumElements != 1) throw Bad("value must have one element");
                long n = Prod(dims);
                var data = new byte[n * vd.Length];
                for (long i = 0; i < n; i++) vd.CopyTo(data, i * vd.Length);
                return Const(new TensorSpec(new Shape(dims), vs.DType), data);
            });
            Map("Shape", _ =>
            {
                // Shapes are static after import: fold to an int64 constant.
                var d = In(0).Spec.Shape.ToArray();
                int r = d.Length;
                long start = opset >= 15 ? Int("start", 0) : 0, end = opset >= 15 ? Int("end", r) : r;
                start = Math.Clamp(start < 0 ? start + r : start, 0, r);
                end = Math.Clamp(end < 0 ? end + r : end, start, r);
                var dims = d[(int)start..(int)end];
                return Const(new TensorSpec(new Shape((long)dims.Length), DType.Int64), dims.SelectMany(BitConverter.GetBytes).ToArray());
            });
            Map("Size", _ => Const(new TensorSpec(Shape.Scalar, DType.Int64), BitConverter.GetBytes(In(0).Spec.Shape.NumElements)));
            Map("Range", _ =>
            {
                var dtype = In(0).Spec.DType;
                if (dtype == DType.Bool || In(1).Spec.DType != dtype || In(2).Spec.DType != dtype) throw Bad("start, limit and delta must share a numeric dtype");
                double start = ConstScalar(0)!.Value, limit = ConstScalar(1)!.Value, delta = ConstScalar(2)!.Value;
                if (delta == 0) throw Bad("delta must not be 0");
                double count = Math.Max(Math.Ceiling((limit - start) / delta), 0);
                if (double.IsNaN(count) || count > options.MaxTensorElements) throw Bad($"the range [{start}, {limit}) step {delta} has too many elements");
                var data = new List<byte>();
                for (long i = 0; i < (long)count; i++) data.AddRange(OnnxTypes.ScalarBytes(start + i * delta, dtype));
                return Const(new TensorSpec(new Shape((long)count), dtype), data.ToArray());
            });
            Map("EyeLike", _ =>
            {
                var x = In(0);
                if (x.Spec.Shape.Rank != 2) throw Bad($"input must have rank 2, got {x.Spec.Shape}");
                var dtype = Attr("dtype") is { } dt ? TensorData.DTypeOf((int)dt.I, Where + " dtype") : x.Spec.DType;
                long n = x.Spec.Shape[0], m = x.Spec.Shape[1], k = Int("k", 0);
                int size = dtype.ElementSize();
                var one = OnnxTypes.ScalarBytes(1, dtype);
                var data = new byte[n * m * size];
                for (long i = 0; i < n; i++)
                    if (i + k >= 0 && i + k < m) one.CopyTo(data, (i * m + i + k) * size);
                return Const(new TensorSpec(new Shape(n, m), dtype), data);
            });
        }
    }
}
