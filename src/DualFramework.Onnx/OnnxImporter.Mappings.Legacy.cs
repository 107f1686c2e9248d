using DualFramework.IR;
using DualFramework.Onnx.Proto;

namespace DualFramework.Onnx;

public static partial class OnnxImporter
{
    /// <summary>Op types whose opset 1–6 forms differ from today's and that the legacy table below maps (other ops are
    /// accepted at those opsets only when <see cref="LegacySafe"/> lists them).</summary>
    private static readonly HashSet<string> LegacyMapped = new(StringComparer.Ordinal)
    {
        "Add", "Sub", "Mul", "Div", "Pow", "And", "Or", "Xor", "Equal", "Less", "Greater", "Gemm", "Cast", "Concat", "Split", "Tile",
    };

    private sealed partial class Builder
    {
        // Opset 1–6 forms, tried before the current mapping of the same op type when the model's opset is below 7.
        private readonly Dictionary<string, Func<string, Value>> _legacy = new(StringComparer.Ordinal);

        /// <summary>
        /// The forms older models use: binary ops that broadcast only with <c>broadcast=1</c>, the second operand matching
        /// a contiguous run of the first's dims from <c>axis</c> (suffix by default) or holding one element; Gemm's
        /// <c>broadcast</c>; Cast's <c>to</c> as a type name; Concat's optional <c>axis</c> (1) before opset 4; Split's sizes as
        /// a second input (opset 1); Tile's scalar <c>tiles</c> and <c>axis</c> inputs (opsets 1–5). Each is rewritten to the
        /// current form and handed to the current mapping.
        /// </summary>
        private void AddLegacy()
        {
            foreach (var op in new[] { "Add", "Sub", "Mul", "Div", "Pow", "And", "Or", "Xor", "Equal", "Less", "Greater" })
                _legacy.Add(op, LegacyBinary);
            _legacy.Add("Gemm", op =>
            {
                if (Int("broadcast", 0) == 0 && Has(2))
                {
                    long m = In(0).Spec.Shape[Int("transA", 0) != 0 ? 1 : 0], n = In(1).Spec.Shape[Int("transB", 0) != 0 ? 0 : 1];
                    if (!In(2).Spec.Shape.ToArray().SequenceEqual([m, n]))
                        throw Bad($"C has shape {In(2).Spec.Shape}, not [{m}, {n}], and broadcast=0 (opset {opset} broadcasts C only when asked)");
                }
                return _mappings[op](op);
            });
            _legacy.Add("Cast", op =>
            {
                var to = Attr("to") ?? throw Bad("to is required");
                long code = to.Type == AttributeProto.Types.AttributeType.String ? TypeCode(to.S.ToStringUtf8()) : to.I;
                return CastTo(In(0), TensorData.DTypeOf((int)code, Where + " target type"));
            });
            _legacy.Add("Concat", op => opset < 4 && Attr("axis") == null ? WithAttr(op, OnnxAttr.Int("axis", 1)) : _mappings[op](op));
            _legacy.Add("Split", op => opset < 2 && Has(1) ? WithAttr(op, OnnxAttr.Ints("split", Whole(1)), dropInputsFrom: 1) : _mappings[op](op));
            _legacy.Add("Tile", op =>
            {
                if (!Has(2)) throw Bad($"opset {opset} Tile needs the tiles and axis inputs");
                var x = In(0);
                long[] tiles = Whole(1), axis = Whole(2);
                if (tiles.Length != 1 || axis.Length != 1) throw Bad("tiles and axis must be scalars");
                var reps = Enumerable.Repeat(1L, x.Spec.Shape.Rank).ToArray();
                reps[Axis(axis[0], x.Spec.Shape.Rank)] = tiles[0];
                return WithInput(op, 1, ConstLongs(reps, reps.Length));
            });
        }

        private Value LegacyBinary(string op)
        {
            Value a = In(0), b = In(1);
            long[] da = a.Spec.Shape.ToArray(), db = b.Spec.Shape.ToArray();
            if (Int("broadcast", 0) == 0)
            {
                if (!da.SequenceEqual(db))
                    throw Bad($"shapes {a.Spec.Shape} and {b.Spec.Shape} differ and broadcast=0 (opset {opset} broadcasts only when asked)");
                return _mappings[op](op);
            }
            long[] target;
            if (b.Spec.Shape.NumElements == 1) target = [];
            else
            {
                long axis = Int("axis", da.Length - db.Length);
                if (axis < 0) axis += da.Length;
                if (axis < 0 || axis + db.Length > da.Length || !da.AsSpan((int)axis, db.Length).SequenceEqual(db))
                    throw Bad($"with broadcast=1 the second shape {b.Spec.Shape} must equal the dims of the first {a.Spec.Shape} from axis {Int("axis", da.Length - db.Length)}");
                // Trailing size-1 dims line B up with A's dims from axis under today's right-aligned broadcasting.
                target = [.. db, .. Enumerable.Repeat(1L, da.Length - (int)axis - db.Length)];
            }
            return WithInput(op, 1, Reshape(b, target));
        }

        // Opset 1 Split sizes and opset 1–5 Tile counts may be stored as floats (the schemas type them like the data).
        private long[] Whole(int i) => ConstDoubles(i).Select(v => (long)Math.Round(v)).ToArray();

        // TensorProto.DataType numbers of the type names opset 1–5 Cast takes.
        private long TypeCode(string name) => name switch
        {
            "FLOAT" => 1,
            "UINT8" => 2,
            "INT8" => 3,
            "UINT16" => 4,
            "INT16" => 5,
            "INT32" => 6,
            "INT64" => 7,
            "STRING" => 8,
            "BOOL" => 9,
            "FLOAT16" => 10,
            "DOUBLE" => 11,
            "UINT32" => 12,
            "UINT64" => 13,
            "COMPLEX64" => 14,
            "COMPLEX128" => 15,
            _ => throw Bad($"unknown target type '{name}'"),
        };

        /// <summary>Runs the current mapping of <paramref name="op"/> on this node with operand <paramref name="i"/> replaced.</summary>
        private Value WithInput(string op, int i, Value v)
        {
            var node = _n.Clone();
            // A name no ONNX value can have (NUL is not allowed in names), so it cannot shadow one.
            node.Input[i] = $"{_n.Input[i]}\0legacy";
            Values[node.Input[i]] = v;
            return WithNode(op, node);
        }

        /// <summary>Runs the current mapping of <paramref name="op"/> on this node with an attribute added (or replaced) and,
        /// optionally, operands from <paramref name="dropInputsFrom"/> on removed.</summary>
        private Value WithAttr(string op, AttributeProto attr, int dropInputsFrom = int.MaxValue)
        {
            var node = _n.Clone();
            if (node.Attribute.FirstOrDefault(a => a.Name == attr.Name) is { } old) node.Attribute.Remove(old);
            node.Attribute.Add(attr);
            while (node.Input.Count > dropInputsFrom) node.Input.RemoveAt(node.Input.Count - 1);
            return WithNode(op, node);
        }

        private Value WithNode(string op, NodeProto node)
        {
            var original = _n;
            _n = node;
            try
            {
                return _mappings[op](op);
            }
            finally
            {
                _n = original;
            }
        }
    }
}
